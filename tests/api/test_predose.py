"""start_infusion's pre-dose gates: a baseline reading in the 30 minutes before, the type's
blood-pressure limit, and a practitioner's reasoned override (API.md, "Visit events")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import treatment_types
from clinic.types import utcnow
from tests.api.conftest import assert_error, event_count, iso, rules, zulu
from tests.conftest import MONDAY, add_negative_screen, chicago
from tests.rems_sessions import SPRAVATO_WITH_LIMIT

CHECK_IN = chicago(MONDAY, 8)
START = chicago(MONDAY, 8, 20)
READING = {"systolic": 124, "diastolic": 80, "heart_rate": 70, "spo2": 98}
# Spravato's label: hold the dose above 140/90.
LIMITED = SPRAVATO_WITH_LIMIT | {"rems": False}  # the limit without the REMS gates


@pytest.fixture
def checked_in(clinic, make_visit, api_as, frozen):
    """Book a visit of the site's default IV type (or another type) for Monday 08:00 and
    check it in; the clock then reads 08:25."""

    def make(type_id: int | None = None):
        visit = make_visit(
            clinic.clerk, clinic.new_patient(), chicago(MONDAY, 8), treatment_type_id=type_id
        )
        frozen.move_to(chicago(MONDAY, 8, 25))
        body = {"type": "check_in", "at": iso(CHECK_IN)}
        assert api_as(clinic.clerk).post(f"/visits/{visit.id}/events", json=body).status_code == 200
        add_negative_screen(visit.id, CHECK_IN)  # these tests are about the vital signs
        return visit.id

    return make


@pytest.fixture
def limited_type(clinic):
    """A treatment type of the site that holds the dose above 140/90."""
    return treatment_types.save_type(None, clinic.site, LIMITED, now=utcnow()).id


def reading(api_as, user, visit_id, at, **values):
    """Record a reading through the API and check it was taken."""
    body = READING | values | {"at": iso(at)}
    response = api_as(user).post(f"/visits/{visit_id}/observations", json=body)
    assert response.status_code == 201, response.get_json()


def start(api_as, user, visit_id, at=START, **extra):
    """Post start_infusion at `at`."""
    body = {"type": "start_infusion", "at": iso(at)} | extra
    return api_as(user).post(f"/visits/{visit_id}/events", json=body)


def visit_of(api_as, clinic, visit_id) -> dict:
    return api_as(clinic.nurse).get(f"/visits/{visit_id}").get_json()


# ---------------------------------------------------------------- the baseline


def test_the_migrated_iv_default_needs_a_baseline_too(api_as, clinic, checked_in):
    visit_id = checked_in()
    events = event_count()
    body = assert_error(start(api_as, clinic.nurse, visit_id), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["predose_vitals_missing"]
    assert "30 minutes" in body["reasons"][0]["message"]
    assert "Only a practitioner may override" in body["reasons"][0]["message"]
    assert event_count() == events
    assert visit_of(api_as, clinic, visit_id)["status"] == "checked_in"


def test_a_reading_in_the_30_minutes_before_lets_the_nurse_start(api_as, clinic, checked_in):
    visit_id = checked_in()
    reading(api_as, clinic.nurse, visit_id, START - timedelta(minutes=10))
    response = start(api_as, clinic.nurse, visit_id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "infusing" and body["infusion_started_at"] == zulu(START)
    started = body["events"][-1]
    assert "override_reason" not in started and "overridden" not in started


@pytest.mark.parametrize(
    ("minutes_before", "allowed"),
    [(0, True), (29, True), (30, False), (45, False), (-1, False)],
)
def test_the_window_is_the_30_minutes_up_to_the_start(
    api_as, clinic, checked_in, minutes_before, allowed
):
    # A reading at the start's own minute counts; one exactly 30 minutes old does not, nor
    # one taken after the start.
    visit_id = checked_in()
    reading(api_as, clinic.nurse, visit_id, START - timedelta(minutes=minutes_before))
    response = start(api_as, clinic.nurse, visit_id)
    if allowed:
        assert response.status_code == 200, response.get_json()
    else:
        assert rules(response) == ["predose_vitals_missing"]


def test_a_nurse_cannot_override_even_with_a_reason(api_as, clinic, checked_in):
    visit_id = checked_in()
    response = start(api_as, clinic.nurse, visit_id, override_reason="Patient in a hurry")
    assert rules(response) == ["predose_vitals_missing"]
    assert visit_of(api_as, clinic, visit_id)["status"] == "checked_in"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_practitioner_needs_a_reason(api_as, clinic, checked_in, reason):
    visit_id = checked_in()
    extra = {} if reason is None else {"override_reason": reason}
    body = assert_error(start(api_as, clinic.practitioner, visit_id, **extra), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["predose_vitals_missing"]
    assert "Give an override reason" in body["message"]


def test_a_practitioners_override_is_kept_on_the_event_and_audited(api_as, clinic, checked_in):
    visit_id = checked_in()
    response = start(
        api_as, clinic.practitioner, visit_id, override_reason="  Manual BP 118/76 on paper "
    )
    assert response.status_code == 200, response.get_json()
    started = response.get_json()["events"][-1]
    assert started["type"] == "start_infusion" and started["by"] == clinic.practitioner.id
    assert started["override_reason"] == "Manual BP 118/76 on paper"
    assert started["overridden"] == ["predose_vitals_missing"]
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "visit.predose_override")
    ).all()
    assert [(r.actor_id, r.object_id, r.outcome) for r in rows] == [
        (clinic.practitioner.id, visit_id, "ok")
    ]


def test_an_override_reason_that_is_not_text_is_422(api_as, clinic, checked_in):
    visit_id = checked_in()
    response = start(api_as, clinic.practitioner, visit_id, override_reason=42)
    assert "override_reason" in assert_error(response, 422, "invalid")["fields"]


def test_the_state_machine_comes_before_the_predose_rules(api_as, clinic, make_visit, frozen):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    frozen.move_to(chicago(MONDAY, 8, 25))
    assert rules(start(api_as, clinic.nurse, visit.id)) == ["illegal_transition"]


# ---------------------------------------------------------------- the type's BP limit


@pytest.mark.parametrize(
    ("pressure", "allowed"),
    [((140, 90), True), ((141, 80), False), ((130, 91), False), ((120, 70), True)],
)
def test_the_types_limit_reads_the_latest_reading(
    api_as, clinic, checked_in, limited_type, pressure, allowed
):
    visit_id = checked_in(limited_type)
    systolic, diastolic = pressure
    reading(api_as, clinic.nurse, visit_id, START - timedelta(minutes=20), systolic=150)
    reading(
        api_as,
        clinic.nurse,
        visit_id,
        START - timedelta(minutes=5),
        systolic=systolic,
        diastolic=diastolic,
    )
    response = start(api_as, clinic.nurse, visit_id)
    if allowed:  # at the limit is not above it; the earlier 150 no longer counts
        assert response.status_code == 200, response.get_json()
    else:
        body = assert_error(response, 409, "conflict")
        assert [r["rule"] for r in body["reasons"]] == ["predose_bp_high"]
        assert f"{systolic}/{diastolic}" in body["message"] and "140/90" in body["message"]


def test_a_type_without_a_limit_ignores_a_high_pressure(api_as, clinic, checked_in):
    visit_id = checked_in()
    reading(api_as, clinic.nurse, visit_id, START - timedelta(minutes=5), systolic=178)
    assert start(api_as, clinic.nurse, visit_id).status_code == 200


def test_a_high_pressure_is_a_practitioners_override_too(api_as, clinic, checked_in, limited_type):
    visit_id = checked_in(limited_type)
    reading(api_as, clinic.nurse, visit_id, START - timedelta(minutes=5), systolic=152)
    assert rules(start(api_as, clinic.nurse, visit_id, override_reason="Anxious")) == [
        "predose_bp_high"
    ]
    response = start(
        api_as, clinic.practitioner, visit_id, override_reason="White-coat; rechecked 138/88"
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["events"][-1]["overridden"] == ["predose_bp_high"]
