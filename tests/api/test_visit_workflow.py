"""Issue 8, bugs 1 and 4: the visit's window, undo events, and chairs held by who is in them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent
from tests.api.conftest import assert_error, event_count, iso, rules, zulu
from tests.conftest import MONDAY, add_baseline, chicago

FRIDAY_BEFORE = MONDAY - timedelta(days=3)
TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def monday_13(clinic, make_visit):
    """A visit booked for Monday 13:00 in the first chair (45 + 120 minutes)."""
    return make_visit(
        clinic.clerk, clinic.patient, chicago(MONDAY, 13), chair_id=clinic.chairs[0].id
    )


@pytest.fixture
def event(api_as, clinic):
    """Post an event to a visit as the front desk (or another user)."""

    def call(visit, type_: str, user=None, **body):
        body = {"type": type_} | {k: iso(v) if k == "at" else v for k, v in body.items()}
        return api_as(user or clinic.clerk).post(f"/visits/{visit.id}/events", json=body)

    return call


# ---------------------------------------------------------------- site settings


def test_the_site_object_has_the_two_settings_with_their_defaults(api_as, clinic):
    site = api_as(clinic.clerk).get(f"/sites/{clinic.site.id}").get_json()
    assert site["check_in_open_minutes"] == 120
    assert site["no_show_after_minutes"] == 15


def test_admin_changes_them_and_creates_a_site_with_them(api_as, clinic):
    admin = api_as(clinic.admin)
    changed = admin.patch(
        f"/sites/{clinic.site.id}", json={"check_in_open_minutes": 60, "no_show_after_minutes": 30}
    )
    assert changed.status_code == 200
    assert changed.get_json()["check_in_open_minutes"] == 60
    assert changed.get_json()["no_show_after_minutes"] == 30
    assert changed.get_json()["nurse_ratio"] == 4
    created = admin.post("/sites", json={"name": "Dallas", "check_in_open_minutes": 90})
    assert created.status_code == 201
    assert created.get_json()["check_in_open_minutes"] == 90
    assert created.get_json()["no_show_after_minutes"] == 15


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("check_in_open_minutes", -1),
        ("check_in_open_minutes", 721),
        ("check_in_open_minutes", "120"),
        ("check_in_open_minutes", None),
        ("no_show_after_minutes", 241),
        ("no_show_after_minutes", 1.5),
    ],
)
def test_out_of_range_settings_are_422_naming_the_field(api_as, clinic, field, value):
    response = api_as(clinic.admin).patch(f"/sites/{clinic.site.id}", json={field: value})
    assert field in assert_error(response, 422, "invalid")["fields"]


def test_the_openapi_document_describes_them(client):
    site = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Site"]
    assert site["properties"]["check_in_open_minutes"]["maximum"] == 720
    assert site["properties"]["no_show_after_minutes"]["maximum"] == 240


# ---------------------------------------------------------------- the visit's window


def test_check_in_days_early_is_409_not_today(monday_13, event, frozen):
    frozen.move_to(chicago(FRIDAY_BEFORE, 13))
    events = event_count()
    body = assert_error(event(monday_13, "check_in"), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["not_today"]
    assert "Mon 30 Nov" in body["reasons"][0]["message"]
    assert event_count() == events


def test_check_in_opens_with_the_site_setting(monday_13, event, frozen, api_as, clinic):
    frozen.move_to(chicago(MONDAY, 10, 59))
    assert rules(event(monday_13, "check_in")) == ["not_today"]
    frozen.move_to(chicago(MONDAY, 11))
    assert event(monday_13, "check_in").get_json()["status"] == "checked_in"


def test_a_wider_window_set_by_the_admin_is_used(monday_13, event, frozen, api_as, clinic):
    api_as(clinic.admin).patch(f"/sites/{clinic.site.id}", json={"check_in_open_minutes": 240})
    frozen.move_to(chicago(MONDAY, 9))
    assert event(monday_13, "check_in").status_code == 200


def test_start_infusion_after_the_planned_observation_end_is_409(monday_13, event, frozen, clinic):
    frozen.move_to(chicago(MONDAY, 12))
    assert event(monday_13, "check_in").status_code == 200
    add_baseline(monday_13.id, chicago(MONDAY, 13))
    frozen.move_to(chicago(MONDAY, 16))  # planned observation end: 15:45
    assert rules(event(monday_13, "start_infusion", user=clinic.nurse)) == ["not_today"]
    late_entry = event(monday_13, "start_infusion", user=clinic.nurse, at=chicago(MONDAY, 13, 5))
    assert late_entry.get_json()["status"] == "infusing"


def test_no_show_before_start_plus_grace_is_409_too_early(monday_13, event, frozen):
    frozen.move_to(chicago(MONDAY, 11, 21))  # 1 h 39 min before the start: issue 8
    body = assert_error(event(monday_13, "no_show"), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["too_early"]
    frozen.move_to(chicago(MONDAY, 13, 14))
    assert rules(event(monday_13, "no_show")) == ["too_early"]
    frozen.move_to(chicago(MONDAY, 13, 15))
    assert event(monday_13, "no_show").get_json()["status"] == "no_show"


def test_a_refused_event_is_audited_with_its_rule(monday_13, event, frozen):
    frozen.move_to(chicago(FRIDAY_BEFORE, 13))
    event(monday_13, "check_in")
    row = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "visit.event.check_in")
    ).one()
    assert row.outcome == "refused" and row.detail["rules"] == ["not_today"]


# ---------------------------------------------------------------- undo


@pytest.mark.parametrize("type_", ["undo_check_in", "undo_no_show", "reinstate"])
def test_every_undo_needs_a_reason(monday_13, event, frozen, type_):
    frozen.move_to(chicago(MONDAY, 13, 20))
    before = {"undo_check_in": "check_in", "undo_no_show": "no_show", "reinstate": "cancel"}
    event(monday_13, before[type_], reason="Unwell")
    for body in ({}, {"reason": "  "}):
        response = event(monday_13, type_, **body)
        assert "reason" in assert_error(response, 422, "invalid")["fields"]


def test_undo_check_in_puts_the_visit_back_to_booked_and_audits_it(monday_13, event, frozen):
    frozen.move_to(chicago(MONDAY, 12, 30))
    event(monday_13, "check_in")
    body = event(monday_13, "undo_check_in", reason="Checked in the wrong patient").get_json()
    assert body["status"] == "booked" and body["checked_in_at"] is None
    undo = body["events"][-1]
    assert undo["type"] == "undo_check_in" and undo["reason"] == "Checked in the wrong patient"
    row = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "visit.event.undo_check_in")
    ).one()
    assert row.outcome == "ok" and row.object_id == monday_13.id


def test_undo_check_in_only_before_the_infusion_starts(monday_13, event, frozen, clinic):
    frozen.move_to(chicago(MONDAY, 12, 30))
    event(monday_13, "check_in")
    add_baseline(monday_13.id, chicago(MONDAY, 12, 30))
    event(monday_13, "start_infusion", user=clinic.nurse)
    assert rules(event(monday_13, "undo_check_in", reason="Oops")) == ["illegal_transition"]


def test_undo_no_show_the_same_day(monday_13, event, frozen):
    frozen.move_to(chicago(MONDAY, 13, 20))
    event(monday_13, "no_show")
    body = event(monday_13, "undo_no_show", reason="Arrived late").get_json()
    assert body["status"] == "booked"
    # Booked again, the patient can still be checked in inside the window.
    assert event(monday_13, "check_in").get_json()["status"] == "checked_in"


def test_undo_no_show_on_another_day_is_409_not_today(monday_13, event, frozen):
    frozen.move_to(chicago(MONDAY, 13, 20))
    event(monday_13, "no_show")
    frozen.move_to(chicago(TUESDAY, 8))
    assert rules(event(monday_13, "undo_no_show", reason="Late")) == ["not_today"]


def test_undo_no_show_is_refused_when_the_chair_was_given_away(
    monday_13, event, frozen, book, clinic
):
    frozen.move_to(chicago(MONDAY, 13, 20))
    event(monday_13, "no_show")
    other = clinic.new_patient()
    taken = book(chicago(MONDAY, 13, 30), patient=other, chair_id=clinic.chairs[0].id)
    assert taken.status_code == 201
    assert rules(event(monday_13, "undo_no_show", reason="Arrived late")) == ["chair_busy"]


def test_reinstate_a_cancelled_visit(monday_13, event, api_as, clinic):
    event(monday_13, "cancel", reason="Patient unwell")
    body = event(monday_13, "reinstate", reason="Feels better").get_json()
    assert body["status"] == "booked" and body["cancel_reason"] is None
    assert [e["type"] for e in body["events"]] == ["cancel", "reinstate"]


def test_reinstate_runs_every_booking_rule_and_lists_the_broken_ones(
    monday_13, event, book, clinic, frozen
):
    event(monday_13, "cancel", reason="Patient unwell")
    other = clinic.new_patient()
    assert book(chicago(MONDAY, 13), patient=other, chair_id=clinic.chairs[0].id).status_code == 201
    body = assert_error(event(monday_13, "reinstate", reason="Back"), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["chair_busy"]
    frozen.move_to(chicago(MONDAY, 14))
    assert set(rules(event(monday_13, "reinstate", reason="Back"))) == {"chair_busy", "in_the_past"}


def test_reinstating_into_a_chair_taken_out_of_service_is_409(monday_13, event, api_as, clinic):
    event(monday_13, "cancel", reason="Patient unwell")
    api_as(clinic.admin).patch(f"/chairs/{clinic.chairs[0].id}", json={"active": False})
    body = assert_error(event(monday_13, "reinstate", reason="Back"), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["chair_busy"]
    assert "out of service" in body["message"]


def test_the_front_desk_nurse_and_practitioner_may_undo_but_not_the_admin(monday_13, event, clinic):
    event(monday_13, "cancel", reason="Unwell")
    assert_error(event(monday_13, "reinstate", user=clinic.admin, reason="x"), 403, "forbidden")
    assert event(monday_13, "reinstate", user=clinic.nurse, reason="x").status_code == 200


# ---------------------------------------------------------------- who is in the chair


def test_a_late_infusion_keeps_its_chair_busy_for_availability_and_booking(
    monday_13, event, frozen, api_as, book, clinic
):
    # Planned 13:00-13:45 + 120 min, chair 1 free at 16:00; the infusion starts at 14:00.
    frozen.move_to(chicago(MONDAY, 12, 50))
    event(monday_13, "check_in")
    frozen.move_to(chicago(MONDAY, 14))
    add_baseline(monday_13.id, chicago(MONDAY, 13, 55))
    event(monday_13, "start_infusion", user=clinic.nurse)
    slots = api_as(clinic.clerk).get(
        f"/availability?site_id={clinic.site.id}&date={MONDAY.isoformat()}&limit=1000"
    )
    chair_1 = [s["infusion_start"] for s in slots.get_json()["slots"] if s["chair_id"] == 1]
    assert zulu(chicago(MONDAY, 16)) not in chair_1
    other = clinic.new_patient()
    refused = book(
        chicago(MONDAY, 16), patient=other, chair_id=clinic.chairs[0].id, infusion_minutes=45
    )
    assert "chair_busy" in rules(refused)


def test_an_early_check_in_holds_the_chair_from_then(monday_13, event, frozen, book, clinic):
    frozen.move_to(chicago(MONDAY, 11))
    event(monday_13, "check_in")
    other = clinic.new_patient()
    # 11:15-12:00 + 60 min of observation ends before 13:00 under the plan, not in reality.
    refused = book(
        chicago(MONDAY, 11, 15),
        patient=other,
        chair_id=clinic.chairs[0].id,
        observation_minutes=60,
    )
    assert rules(refused) == ["chair_busy"]


# ---------------------------------------------------------------- the dashboard


def test_the_dashboard_gives_the_planned_day_of_each_visit(
    monday_13, event, frozen, api_as, clinic
):
    frozen.move_to(chicago(MONDAY, 12, 50))
    event(monday_13, "check_in")
    row = api_as(clinic.nurse).get("/dashboard").get_json()["visits"][0]
    assert row["planned_date"] == "2026-11-30" and row["planned_today"] is True
    frozen.move_to(chicago(TUESDAY, 7))  # left checked in overnight
    row = api_as(clinic.nurse).get("/dashboard").get_json()["visits"][0]
    assert row["planned_date"] == "2026-11-30" and row["planned_today"] is False
