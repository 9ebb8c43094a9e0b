"""A REMS session's monitoring form and its discharge gates (API.md, "Treatment types and REMS").

The session: booked Monday 08:00, checked in 08:00, a baseline reading 08:02, the first
device 08:05 (three 28 mg devices, 08:05-08:15), readings at 08:30, 08:44 and 09:55; the
REMS monitoring lasts until 10:05. The clock reads 10:40 while the events come in late.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from clinic.domain.treatments import FORM_FIELDS
from clinic.extensions import db
from clinic.models import AuditEvent, Dose, Observation, Visit
from clinic.services import treatment_types
from clinic.types import utcnow
from tests.api.conftest import assert_error, iso, rules
from tests.conftest import MONDAY, add_baseline, add_negative_screen, chicago
from tests.rems_sessions import SPRAVATO as REMS_TYPE

CHECKLIST = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}
CHECK_IN = chicago(MONDAY, 8)
FIRST_DEVICE = chicago(MONDAY, 8, 5)
END = chicago(MONDAY, 8, 20)
CLOCK = chicago(MONDAY, 10, 40)
ANSWERS = {
    "concomitant": {
        "benzodiazepines": False,
        "non_benzodiazepine_sedative_hypnotics": False,
        "psychostimulants": True,
        "maois": False,
    },
    "ready_to_leave_minutes": 90,
}
READING = {"systolic": 128, "diastolic": 82, "heart_rate": 72, "spo2": 98, "moaas": 5}


def spravato_type(clinic) -> int:
    """Add the REMS type to the clinic's site; certify the site and enrol the patient."""
    values = REMS_TYPE
    made = treatment_types.save_type(None, clinic.site, values, now=utcnow())
    clinic.site.rems_certified_on = MONDAY - timedelta(days=30)
    clinic.site.rems_authorized_representative = "Dr. Rivera"
    clinic.patient.rems_enrolled_on = MONDAY - timedelta(days=7)
    clinic.patient.rems_patient_id = "RP-1001"
    db.session.commit()
    return made.id


def add_dose(visit_id: int, at: datetime, mg: int = 28, lot: str = "LOT-A1") -> None:
    """Record a nasal device directly (the doses API is not this module's)."""
    db.session.add(
        Dose(
            visit_id=visit_id, drug="esketamine", dose_mg=Decimal(mg), lot=lot, at=at, route="nasal"
        )
    )
    db.session.commit()


@pytest.fixture
def session(api_as, clinic, make_visit, frozen):
    """A REMS session in recovery, its doses and readings recorded; returns helpers."""
    type_id = spravato_type(clinic)
    visit = make_visit(clinic.clerk, clinic.patient, CHECK_IN, treatment_type_id=type_id)
    frozen.move_to(CLOCK)
    nurse = api_as(clinic.nurse)

    def event(body: dict, at: datetime, user=None):
        path = f"/visits/{visit.id}/events"
        return (user or nurse).post(path, json=body | {"at": iso(at)})

    def reading(at: datetime, **values):
        path = f"/visits/{visit.id}/observations"
        response = nurse.post(path, json=READING | values | {"at": iso(at)})
        assert response.status_code == 201, response.get_data(as_text=True)

    assert event({"type": "check_in"}, CHECK_IN).status_code == 200
    reading(chicago(MONDAY, 8, 2), systolic=124, diastolic=80)
    add_negative_screen(visit.id, chicago(MONDAY, 8, 2))
    assert event({"type": "start_infusion"}, FIRST_DEVICE).status_code == 200
    for minutes in (0, 5, 10):
        add_dose(visit.id, FIRST_DEVICE + timedelta(minutes=minutes))
    assert event({"type": "end_infusion"}, END).status_code == 200
    reading(chicago(MONDAY, 8, 30), systolic=150, diastolic=92, moaas=3)  # 25 min: not "at 40"
    reading(chicago(MONDAY, 8, 44), systolic=138, diastolic=88, dissociation=2)  # 39 min
    reading(chicago(MONDAY, 9, 55), systolic=126, diastolic=80, respiratory_rate=14)
    return {"visit": visit, "event": event, "reading": reading, "type_id": type_id}


def discharge(session, at: datetime, user=None, **extra):
    """Post a discharge of the session at `at`."""
    body = {"type": "discharge", "checklist": CHECKLIST} | extra
    return session["event"](body, at, user)


def form(api_as, user, visit_id: int):
    """Read the session's form as a user."""
    return api_as(user).get(f"/visits/{visit_id}/rems-form")


# ---------------------------------------------------------------- the discharge gates


def test_nobody_discharges_before_two_hours_from_the_first_device(api_as, clinic, session):
    api_as(clinic.nurse).patch(f"/visits/{session['visit'].id}/rems", json=ANSWERS)
    early = chicago(MONDAY, 10, 4)
    nurse = discharge(session, early)
    assert "rems_minimum_monitoring" in rules(nurse)
    practitioner = discharge(
        session, early, api_as(clinic.practitioner), override_reason="Stable, wants to leave"
    )
    assert rules(practitioner) == ["rems_minimum_monitoring"]
    assert "10:05" in practitioner.get_json()["message"]
    assert db.session.get(Visit, session["visit"].id).discharged_at is None
    [refused, *_] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.outcome == "refused", AuditEvent.action.like("visit.%"))
    )
    assert "rems_minimum_monitoring" in refused.detail["rules"]


def test_the_two_hours_run_from_the_sessions_start(api_as, clinic, session):
    """API.md: infusion_started_at + observation_minutes, however late the first dose is noted."""
    visit_id = session["visit"].id
    for dose in db.session.scalars(select(Dose).where(Dose.visit_id == visit_id)):
        dose.at += timedelta(minutes=5)  # 08:10, 08:15, 08:20
    db.session.commit()
    session["reading"](chicago(MONDAY, 8, 50))  # 40 minutes after the first dose
    api_as(clinic.nurse).patch(f"/visits/{visit_id}/rems", json=ANSWERS)
    practitioner = api_as(clinic.practitioner)
    early = discharge(session, chicago(MONDAY, 10, 4), practitioner, override_reason="Stable")
    assert rules(early) == ["rems_minimum_monitoring"]
    on_time = discharge(session, chicago(MONDAY, 10, 5), practitioner, override_reason="Stable")
    assert on_time.status_code == 200, on_time.get_data(as_text=True)
    assert form(api_as, clinic.nurse, visit_id).get_json()["total_minutes"] == 115


def test_an_incomplete_form_refuses_the_discharge_naming_its_fields(api_as, clinic, session):
    response = discharge(session, chicago(MONDAY, 10, 25))
    body = assert_error(response, 409, "conflict")
    [reason] = body["reasons"]
    missing = ["ready_to_leave_minutes", *(f"concomitant.{n}" for n in ANSWERS["concomitant"])]
    assert reason["rule"] == "rems_incomplete"
    assert reason["fields"] == missing
    assert list(body["fields"]) == missing
    assert "Lot number" not in reason["message"] and "MAOIs" in reason["message"]


def test_a_complete_form_after_two_hours_discharges(api_as, clinic, session):
    visit_id = session["visit"].id
    answered = api_as(clinic.nurse).patch(f"/visits/{visit_id}/rems", json=ANSWERS)
    assert answered.status_code == 200, answered.get_data(as_text=True)
    assert answered.get_json()["missing"] == ["total_minutes"]  # set by the discharge
    response = discharge(session, chicago(MONDAY, 10, 25))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = form(api_as, clinic.nurse, visit_id).get_json()
    assert body["complete"] is True and body["missing"] == []
    assert body["total_minutes"] == 140  # 08:05 to 10:25


def test_the_form_is_read_as_of_the_proposed_discharge(api_as, clinic, session):
    """Without a reading between the 40-minute window and the discharge, the BP before leaving
    (and the vitals after monitoring) are missing; a later discharge after a reading passes."""
    visit_id = session["visit"].id
    api_as(clinic.nurse).patch(f"/visits/{visit_id}/rems", json=ANSWERS)
    late = db.session.scalar(
        select(Observation).where(Observation.visit_id == visit_id).order_by(Observation.at.desc())
    )
    db.session.delete(late)  # the 09:55 reading
    db.session.commit()
    session["reading"](chicago(MONDAY, 10, 30), systolic=122, diastolic=78)
    refused = assert_error(discharge(session, chicago(MONDAY, 10, 25)), 409, "conflict")
    assert refused["reasons"][0]["fields"] == ["vitals_acceptable_after", "bp.before_leaving"]
    assert discharge(session, chicago(MONDAY, 10, 35)).status_code == 200
    body = form(api_as, clinic.nurse, visit_id).get_json()
    assert body["bp"]["before_leaving"] == "122/78" and body["total_minutes"] == 150


def test_a_session_without_doses_lacks_the_dose_and_the_lot(api_as, clinic, session):
    visit_id = session["visit"].id
    for dose in db.session.scalars(select(Dose).where(Dose.visit_id == visit_id)):
        db.session.delete(dose)
    db.session.commit()
    api_as(clinic.nurse).patch(f"/visits/{visit_id}/rems", json=ANSWERS)
    body = assert_error(discharge(session, chicago(MONDAY, 10, 25)), 409, "conflict")
    [reason] = body["reasons"]
    assert reason["fields"][:2] == ["dose_mg", "lot"]


def test_an_iv_visit_is_discharged_as_before(api_as, clinic, make_visit, frozen):
    visit = make_visit(clinic.clerk, clinic.new_patient(mrn="MRN-IV"), chicago(MONDAY, 8))
    add_baseline(visit.id, chicago(MONDAY, 8, 2))  # the pre-dose reading its start needs
    frozen.move_to(CLOCK)
    nurse = api_as(clinic.nurse)
    for type_, at in (
        ("check_in", CHECK_IN),
        ("start_infusion", FIRST_DEVICE),
        ("end_infusion", END),
    ):
        nurse.post(f"/visits/{visit.id}/events", json={"type": type_, "at": iso(at)})
    late = {"type": "discharge", "checklist": CHECKLIST, "at": iso(chicago(MONDAY, 10, 25))}
    assert nurse.post(f"/visits/{visit.id}/events", json=late).status_code == 200
    assert_error(form(api_as, clinic.nurse, visit.id), 409, "conflict")


# ---------------------------------------------------------------- the form's values


def test_the_form_reads_the_record(api_as, clinic, session):
    visit_id = session["visit"].id
    body = form(api_as, clinic.clerk, visit_id).get_json()
    assert body["dose_mg"] == 84 and body["dose_option"] == "84"
    assert body["lot"] == "LOT-A1"
    assert body["treatment_date"] == "2026-11-30"
    assert body["bp"] == {"before": "124/80", "at_40": "138/88", "before_leaving": "126/80"}
    assert body["sedation"] is True  # MOAA/S 3 at 08:30
    assert body["dissociation"] is True
    assert body["respiratory_depression"] is False
    assert body["vitals_acceptable_before"] is True
    assert body["total_minutes"] is None  # not discharged yet
    assert body["concomitant"] == dict.fromkeys(ANSWERS["concomitant"])
    assert body["ready_to_leave_minutes"] is None
    assert body["first_treatment"] is True and body["enrolled"] is True
    assert body["rems_patient_id"] == "RP-1001"
    assert body["site_certification"]["authorized_representative"] == "Dr. Rivera"
    assert body["complete"] is False
    assert body["missing"] == [
        name
        for name in FORM_FIELDS
        if name in {"total_minutes", "ready_to_leave_minutes"} or name.startswith("concomitant.")
    ]


def test_the_40_minute_bp_is_taken_35_to_45_minutes_after_the_first_device(api_as, clinic, session):
    visit_id = session["visit"].id
    session["reading"](chicago(MONDAY, 8, 49), systolic=132, diastolic=84)  # 44 min: farther
    session["reading"](chicago(MONDAY, 8, 45), systolic=134, diastolic=86)  # 40 min: nearest
    assert form(api_as, clinic.nurse, visit_id).get_json()["bp"]["at_40"] == "134/86"


def test_mixed_doses_add_up_and_list_their_lots(api_as, clinic, session):
    visit_id = session["visit"].id
    add_dose(visit_id, FIRST_DEVICE + timedelta(minutes=12), mg=28, lot="LOT-B2")
    body = form(api_as, clinic.nurse, visit_id).get_json()
    assert body["dose_mg"] == 112 and body["dose_option"] == "other"
    assert body["lot"] == "LOT-A1, LOT-B2"


def test_a_second_session_is_not_the_first_treatment(api_as, clinic, make_visit, session):
    discharged = session["visit"]
    api_as(clinic.nurse).patch(f"/visits/{discharged.id}/rems", json=ANSWERS)
    assert discharge(session, chicago(MONDAY, 10, 25)).status_code == 200
    later = make_visit(
        clinic.clerk,
        clinic.patient,
        chicago(MONDAY + timedelta(days=2), 9),
        treatment_type_id=session["type_id"],
    )
    assert form(api_as, clinic.nurse, later.id).get_json()["first_treatment"] is False
    assert form(api_as, clinic.nurse, discharged.id).get_json()["first_treatment"] is True


# ---------------------------------------------------------------- the answers


def test_answers_are_recorded_and_audited(api_as, clinic, session):
    visit_id = session["visit"].id
    response = api_as(clinic.practitioner).patch(f"/visits/{visit_id}/rems", json=ANSWERS)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["concomitant"] == ANSWERS["concomitant"]
    assert body["ready_to_leave_minutes"] == 90
    only = api_as(clinic.nurse).patch(
        f"/visits/{visit_id}/rems", json={"ready_to_leave_minutes": 0}
    )
    assert only.get_json()["ready_to_leave_minutes"] == 0
    assert only.get_json()["concomitant"] == ANSWERS["concomitant"]
    rows = list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.rems_form"))
    )
    assert [row.detail for row in rows] == [
        {"changed": ["concomitant", "ready_to_leave_minutes"]},
        {"changed": ["ready_to_leave_minutes"]},
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"ready_to_leave_minutes": -1}, "ready_to_leave_minutes"),
        ({"ready_to_leave_minutes": 1441}, "ready_to_leave_minutes"),
        ({"ready_to_leave_minutes": "90"}, "ready_to_leave_minutes"),
        ({"ready_to_leave_minutes": 90.5}, "ready_to_leave_minutes"),
        ({"ready_to_leave_minutes": None}, "ready_to_leave_minutes"),
        ({"concomitant": {"benzodiazepines": False}}, "concomitant"),
        ({"concomitant": ANSWERS["concomitant"] | {"maois": "no"}}, "concomitant"),
        ({"concomitant": [False, False, False, False]}, "concomitant"),
        ({"concomitant": None}, "concomitant"),
    ],
)
def test_bad_answers_are_a_422_naming_the_field(api_as, clinic, session, body, field):
    visit_id = session["visit"].id
    response = api_as(clinic.nurse).patch(f"/visits/{visit_id}/rems", json=body)
    assert field in assert_error(response, 422, "invalid")["fields"]
    visit = db.session.get(Visit, visit_id)
    assert visit.rems_concomitant is None and visit.ready_to_leave_minutes is None


def test_answers_for_an_iv_visit_are_a_409(api_as, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))
    response = api_as(clinic.nurse).patch(f"/visits/{visit.id}/rems", json=ANSWERS)
    assert_error(response, 409, "conflict")
    assert db.session.get(Visit, visit.id).rems_concomitant is None


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("role", ["clerk", "admin"])
def test_only_clinicians_answer_the_form(api_as, clinic, session, role):
    visit_id = session["visit"].id
    response = api_as(getattr(clinic, role)).patch(f"/visits/{visit_id}/rems", json=ANSWERS)
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("role", ["clerk", "nurse", "practitioner", "admin"])
def test_staff_who_see_the_visit_read_the_form(api_as, clinic, session, role):
    assert form(api_as, getattr(clinic, role), session["visit"].id).status_code == 200


def test_another_sites_staff_and_unknown_visits_get_a_404(
    api_as, clinic, session, make_site, make_user
):
    stranger = make_user("nurse", [make_site(name="Dallas")])
    visit_id = session["visit"].id
    assert_error(form(api_as, stranger, visit_id), 404, "not_found")
    assert_error(api_as(stranger).patch(f"/visits/{visit_id}/rems", json=ANSWERS), 404, "not_found")
    assert_error(form(api_as, clinic.nurse, 999999), 404, "not_found")
    assert_error(api_as(clinic.nurse).patch("/visits/0/rems", json=ANSWERS), 404, "not_found")


def test_without_a_token_it_is_a_401(client, session):
    response = client.get(f"/api/v1/visits/{session['visit'].id}/rems-form")
    assert_error(response, 401, "unauthorized")
