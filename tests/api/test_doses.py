"""POST and GET /api/v1/visits/{id}/doses, and the clearance's mg/kg order (API.md, "Doses")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AuditEvent, Dose
from tests.api.conftest import assert_error, iso, rules, zulu
from tests.conftest import MONDAY, add_baseline, chicago

CHECK_IN = chicago(MONDAY, 8)
CLOCK = chicago(MONDAY, 8, 30)
DOSE = {"drug": "Ketamine", "dose_mg": 40, "lot": "KT-2291", "route": "IV"}


def dose_count() -> int:
    return db.session.scalar(select(func.count(Dose.id)))


def audit_actions(prefix: str) -> list[tuple[str, str]]:
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
    )
    return [(row.action, row.outcome) for row in rows]


@pytest.fixture
def ordered(clinic, make_patient, make_clearance):
    """A patient of 80 kg whose clearance orders 0.5 mg/kg: 40 mg expected."""
    patient = make_patient(clinic.site, weight_kg=80.0)
    make_clearance(patient, practitioner=clinic.practitioner, mg_per_kg=Decimal("0.500"))
    return patient


@pytest.fixture
def visit_id(clinic, make_visit, ordered, api_as, frozen):
    """The ordered patient's visit, checked in at 08:00; the clock reads 08:30."""
    visit = make_visit(clinic.clerk, ordered, chicago(MONDAY, 8))
    frozen.move_to(CLOCK)
    body = {"type": "check_in", "at": iso(CHECK_IN)}
    assert api_as(clinic.clerk).post(f"/visits/{visit.id}/events", json=body).status_code == 200
    return visit.id


@pytest.fixture
def give(api_as, clinic, visit_id):
    """Post a dose as the nurse (or another user): give(user=, **changes)."""

    def call(user=None, body=None, **changes):
        payload = (DOSE if body is None else body) | changes
        return api_as(user or clinic.nurse).post(f"/visits/{visit_id}/doses", json=payload)

    return call


def test_a_dose_answers_201_with_the_object(give, clinic, visit_id):
    at = chicago(MONDAY, 8, 25)
    response = give(at=iso(at))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "visit_id": visit_id,
        "drug": "Ketamine",
        "dose_mg": 40.0,
        "lot": "KT-2291",
        "at": zulu(at),
        "route": "IV",
        "recorded_by": clinic.nurse.id,
        "confirmed_by": None,
    }
    assert audit_actions("dose.") == [("dose.create", "ok")]


def test_at_defaults_to_now_and_route_to_the_types(give, visit_id):
    body = give(body={"drug": "Ketamine", "dose_mg": 41.25, "lot": "KT-2291"}).get_json()
    assert body["at"].startswith(zulu(CLOCK)[:16])
    assert body["route"] == "IV"  # the site's default type is IV ketamine
    assert body["dose_mg"] == 41.25


def test_a_route_is_kept_in_its_usual_spelling(give):
    assert give(route="iv").get_json()["route"] == "IV"
    assert give(route="Intranasal", dose_mg=56).get_json()["route"] == "intranasal"


def test_the_list_is_by_time_and_every_role_reads_it(give, api_as, clinic, visit_id):
    later = give(at=iso(chicago(MONDAY, 8, 28)), lot="B").get_json()
    earlier = give(at=iso(chicago(MONDAY, 8, 10)), lot="A").get_json()
    for user in (clinic.nurse, clinic.practitioner, clinic.clerk, clinic.admin):
        listed = api_as(user).get(f"/visits/{visit_id}/doses")
        assert listed.status_code == 200
        assert [d["id"] for d in listed.get_json()] == [earlier["id"], later["id"]]


# ---------------------------------------------------------------- the mg/kg check


@pytest.mark.parametrize("mg", [36, 40, 44, 43.99, 36.5])
def test_within_10_percent_of_the_order_is_recorded(give, mg):
    response = give(dose_mg=mg)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["confirmed_by"] is None


@pytest.mark.parametrize("mg", [35.99, 44.01, 80, 4])
def test_more_than_10_percent_off_needs_a_practitioner(give, mg):
    before = dose_count()
    body = assert_error(give(dose_mg=mg), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["dose_confirmation_required"]
    assert "ordered 40 mg (0.5 mg/kg for 80 kg)" in body["message"]
    assert "Only a practitioner may confirm" in body["message"]
    assert dose_count() == before
    assert audit_actions("dose.") == [("dose.create", "refused")]


def test_a_nurse_cannot_confirm(give):
    assert rules(give(dose_mg=60, confirm=True)) == ["dose_confirmation_required"]


def test_a_practitioner_confirms_with_confirm_true(give, clinic):
    assert rules(give(user=clinic.practitioner, dose_mg=60)) == ["dose_confirmation_required"]
    response = give(user=clinic.practitioner, dose_mg=60, confirm=True)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["confirmed_by"] == clinic.practitioner.id
    assert body["recorded_by"] == clinic.practitioner.id
    assert audit_actions("dose.") == [("dose.create", "refused"), ("dose.confirm", "ok")]


def test_a_dose_on_the_order_is_not_confirmed_even_when_asked(give, clinic):
    body = give(user=clinic.practitioner, confirm=True).get_json()
    assert body["confirmed_by"] is None


def test_only_an_iv_dose_is_checked(give):
    assert give(route="IM", dose_mg=100).status_code == 201


def test_without_a_weight_or_an_order_nothing_is_checked(
    api_as, clinic, make_visit, make_patient, make_clearance, frozen
):
    unweighed = make_patient(clinic.site)
    make_clearance(unweighed, practitioner=clinic.practitioner, mg_per_kg=Decimal("0.5"))
    no_order = make_patient(clinic.site, weight_kg=80.0)
    make_clearance(no_order, practitioner=clinic.practitioner)
    for n, patient in enumerate((unweighed, no_order)):
        visit = make_visit(
            clinic.clerk, patient, chicago(MONDAY, 8), chair_id=clinic.chairs[n + 1].id
        )
        frozen.move_to(CLOCK)
        api_as(clinic.clerk).post(
            f"/visits/{visit.id}/events", json={"type": "check_in", "at": iso(CHECK_IN)}
        )
        response = api_as(clinic.nurse).post(
            f"/visits/{visit.id}/doses", json=DOSE | {"dose_mg": 90}
        )
        assert response.status_code == 201, response.get_json()


def test_a_void_or_lapsed_clearance_gives_no_order(
    api_as, clinic, make_visit, make_patient, make_clearance, frozen
):
    patient = make_patient(clinic.site, weight_kg=80.0)
    make_clearance(patient, practitioner=clinic.practitioner)  # the valid one: no order
    make_clearance(
        patient,
        practitioner=clinic.practitioner,
        mg_per_kg=Decimal("0.5"),
        evaluated_on=MONDAY - timedelta(days=400),
        valid_until=MONDAY - timedelta(days=200),
    )
    visit = make_visit(clinic.clerk, patient, chicago(MONDAY, 8))
    frozen.move_to(CLOCK)
    api_as(clinic.clerk).post(
        f"/visits/{visit.id}/events", json={"type": "check_in", "at": iso(CHECK_IN)}
    )
    response = api_as(clinic.nurse).post(f"/visits/{visit.id}/doses", json=DOSE | {"dose_mg": 90})
    assert response.status_code == 201


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"drug": ""}, "drug"),
        ({"drug": None}, "drug"),
        ({"drug": "x" * 81}, "drug"),
        ({"lot": "   "}, "lot"),
        ({"lot": "x" * 41}, "lot"),
        ({"dose_mg": 0}, "dose_mg"),
        ({"dose_mg": -5}, "dose_mg"),
        ({"dose_mg": "40"}, "dose_mg"),
        ({"dose_mg": True}, "dose_mg"),
        ({"dose_mg": 40.125}, "dose_mg"),
        ({"dose_mg": 20000}, "dose_mg"),
        ({"route": "x" * 21}, "route"),
        ({"at": "2026-11-30T08:10:00"}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-11-30T15:00:00Z"}, "at"),  # 09:00 in Austin: half an hour ahead
        ({"at": "2026-11-29T14:00:00Z"}, "at"),  # more than 12 hours back
    ],
)
def test_a_bad_field_is_422_and_writes_nothing(give, change, field):
    before = dose_count()
    body = assert_error(give(**change), 422, "invalid")
    assert field in body["fields"], body
    assert dose_count() == before


def test_a_missing_field_is_422(give):
    body = assert_error(give(body={"dose_mg": 40}), 422, "invalid")
    assert {"drug", "lot"} <= set(body["fields"])


def test_front_desk_and_admin_may_not_record(give, clinic):
    assert_error(give(user=clinic.clerk), 403, "forbidden")
    assert_error(give(user=clinic.admin), 403, "forbidden")
    assert dose_count() == 0


def test_another_sites_visit_is_404(api_as, clinic, make_site, make_user, visit_id):
    elsewhere = make_user("nurse", [make_site(name="Dallas")])
    assert_error(api_as(elsewhere).post(f"/visits/{visit_id}/doses", json=DOSE), 404, "not_found")
    assert_error(api_as(elsewhere).get(f"/visits/{visit_id}/doses"), 404, "not_found")
    assert_error(api_as(clinic.nurse).get("/visits/99999/doses"), 404, "not_found")


def test_a_visit_not_in_care_takes_no_dose(api_as, clinic, make_visit, ordered, frozen):
    visit = make_visit(clinic.clerk, ordered, chicago(MONDAY, 10), chair_id=clinic.chairs[2].id)
    response = api_as(clinic.nurse).post(f"/visits/{visit.id}/doses", json=DOSE)
    assert rules(response) == ["illegal_transition"]
    assert dose_count() == 0


def test_doses_are_taken_while_infusing_and_recovering(give, api_as, clinic, visit_id):
    add_baseline(visit_id, chicago(MONDAY, 8, 5))
    events = api_as(clinic.nurse)
    started = {"type": "start_infusion", "at": iso(chicago(MONDAY, 8, 10))}
    assert events.post(f"/visits/{visit_id}/events", json=started).status_code == 200
    assert give(at=iso(chicago(MONDAY, 8, 10))).status_code == 201
    ended = {"type": "end_infusion", "at": iso(chicago(MONDAY, 8, 20))}
    assert events.post(f"/visits/{visit_id}/events", json=ended).status_code == 200
    assert give(dose_mg=4, route="IM", drug="Ondansetron").status_code == 201


# ---------------------------------------------------------------- the clearance's order


def test_a_clearance_takes_and_answers_mg_per_kg(api_as, clinic):
    api = api_as(clinic.practitioner)
    body = {
        "evaluated_on": "2026-11-20",
        "valid_until": "2027-05-20",
        "cleared": True,
        "consent_signed": True,
        "mg_per_kg": 0.75,
    }
    created = api.post(f"/patients/{clinic.patient.id}/clearances", json=body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["mg_per_kg"] == 0.75
    clearance_id = created.get_json()["id"]
    path = f"/patients/{clinic.patient.id}/clearances/{clearance_id}"
    corrected = api.patch(path, json={"mg_per_kg": 0.5})
    assert corrected.status_code == 200 and corrected.get_json()["mg_per_kg"] == 0.5
    listed = api.get(f"/patients/{clinic.patient.id}/clearances").get_json()
    assert {c["id"]: c["mg_per_kg"] for c in listed}[clearance_id] == 0.5
    assert all("mg_per_kg" in c for c in listed)


@pytest.mark.parametrize("value", [0.01, 2.5, 0.1234, "0.5", True])
def test_a_bad_mg_per_kg_is_422(api_as, clinic, value):
    body = {
        "evaluated_on": "2026-11-20",
        "valid_until": "2027-05-20",
        "cleared": True,
        "consent_signed": True,
        "mg_per_kg": value,
    }
    response = api_as(clinic.practitioner).post(
        f"/patients/{clinic.patient.id}/clearances", json=body
    )
    assert "mg_per_kg" in assert_error(response, 422, "invalid")["fields"]
