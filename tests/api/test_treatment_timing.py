"""A visit's times follow its treatment type, through the API (API.md, "Treatment types and
REMS"): Spravato is observed two hours from the first device, IV from the infusion's end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent
from tests.api.conftest import assert_error, iso, rules, zulu
from tests.api.test_rems_enrollment import certify, enrol
from tests.api.test_treatment_types import SPRAVATO
from tests.conftest import MONDAY, add_negative_screen, chicago

CHECKLIST = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}
READING = {"systolic": 122, "diastolic": 78, "heart_rate": 70, "spo2": 98}


@pytest.fixture
def spravato(api_as, clinic):
    """The REMS type Spravato at a certified site, the clinic's patient enrolled; its id."""
    response = api_as(clinic.admin).post(
        "/treatment-types", json=SPRAVATO | {"site_id": clinic.site.id}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    certify(api_as, clinic)
    assert enrol(api_as, clinic).status_code == 200
    return response.get_json()["id"]


@pytest.fixture
def event(api_as, clinic):
    """Post an event to a visit as the nurse: event(visit_id, type, at, **fields)."""

    def call(visit_id, type_, at, **fields):
        body = {"type": type_, "at": iso(at)} | fields
        response = api_as(clinic.nurse).post(f"/visits/{visit_id}/events", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return call


def _begin(api_as, clinic, frozen, event, visit_id, start):
    """Check in 10 minutes before the start, take a baseline reading, start at `start`."""
    frozen.move_to(start + timedelta(minutes=1))
    event(visit_id, "check_in", start - timedelta(minutes=10))
    reading = READING | {"at": iso(start - timedelta(minutes=5))}
    taken = api_as(clinic.nurse).post(f"/visits/{visit_id}/observations", json=reading)
    assert taken.status_code == 201, taken.get_data(as_text=True)
    add_negative_screen(visit_id, start - timedelta(minutes=5))
    return event(visit_id, "start_infusion", start)


# ---------------------------------------------------------------- booking


def test_a_spravato_visit_is_planned_two_hours_from_its_first_device(book, spravato):
    response = book(chicago(MONDAY, 9), treatment_type_id=spravato)
    assert response.status_code == 201, response.get_data(as_text=True)
    visit = response.get_json()
    assert visit["treatment_type_id"] == spravato
    assert (visit["infusion_minutes"], visit["observation_minutes"]) == (15, 120)
    assert visit["infusion_start"] == zulu(chicago(MONDAY, 9))
    assert visit["infusion_end"] == zulu(chicago(MONDAY, 9, 15))
    assert visit["observation_end"] == zulu(chicago(MONDAY, 11))


def test_a_spravato_visit_holds_its_chair_to_the_observation_end_and_turnover(
    book, clinic, spravato
):
    chair = clinic.chairs[0].id
    first = book(chicago(MONDAY, 9), chair_id=chair, treatment_type_id=spravato)
    assert first.status_code == 201, first.get_data(as_text=True)
    other = clinic.new_patient()
    inside = book(chicago(MONDAY, 10, 30), chair_id=chair, patient=other)
    assert rules(inside) == ["chair_busy"]
    assert "until 11:15" in inside.get_json()["reasons"][0]["message"]
    # After 11:00 + 15 minutes of turnover the chair is free again.
    after = book(chicago(MONDAY, 11, 15), chair_id=chair, patient=other)
    assert after.status_code == 201, after.get_data(as_text=True)


def test_an_iv_visit_is_unchanged(book, clinic, spravato):
    response = book(chicago(MONDAY, 9))
    assert response.status_code == 201, response.get_data(as_text=True)
    visit = response.get_json()
    assert visit["treatment_type_id"] == clinic.site.default_treatment_type_id
    assert (visit["infusion_minutes"], visit["observation_minutes"]) == (45, 120)
    assert visit["infusion_end"] == zulu(chicago(MONDAY, 9, 45))
    assert visit["observation_end"] == zulu(chicago(MONDAY, 11, 45))


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"infusion_minutes": 45}, "infusion_minutes"),  # the IV default, not Spravato's 10-15
        ({"infusion_minutes": 9}, "infusion_minutes"),
        ({"observation_minutes": 90}, "observation_minutes"),  # REMS: at least 120
    ],
)
def test_minutes_outside_the_types_ranges_are_422(book, spravato, fields, named):
    response = book(chicago(MONDAY, 9), treatment_type_id=spravato, **fields)
    body = assert_error(response, 422, "invalid")
    assert list(body["fields"]) == [named]


def test_minutes_inside_the_types_ranges_are_booked(book, spravato):
    response = book(
        chicago(MONDAY, 9), treatment_type_id=spravato, infusion_minutes=10, observation_minutes=150
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["observation_end"] == zulu(chicago(MONDAY, 11, 30))


def test_a_moved_visit_keeps_its_type_and_its_counting(api_as, book, clinic, spravato):
    visit = book(chicago(MONDAY, 9), treatment_type_id=spravato).get_json()
    moved = api_as(clinic.clerk).patch(
        f"/visits/{visit['id']}", json={"infusion_start": iso(chicago(MONDAY, 13))}
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    body = moved.get_json()
    assert body["treatment_type_id"] == spravato
    assert body["observation_end"] == zulu(chicago(MONDAY, 15))
    too_long = api_as(clinic.clerk).patch(f"/visits/{visit['id']}", json={"infusion_minutes": 45})
    assert list(assert_error(too_long, 422, "invalid")["fields"]) == ["infusion_minutes"]


def test_availability_follows_the_type_named(api_as, clinic, spravato):
    query = f"/availability?site_id={clinic.site.id}&date={MONDAY}&limit=1"
    [iv] = api_as(clinic.clerk).get(query).get_json()["slots"]
    [rems] = api_as(clinic.clerk).get(f"{query}&treatment_type_id={spravato}").get_json()["slots"]
    assert rems["infusion_start"] == iv["infusion_start"] == zulu(chicago(MONDAY, 8))
    assert iv["observation_end"] == zulu(chicago(MONDAY, 10, 45))
    assert rems["infusion_end"] == zulu(chicago(MONDAY, 8, 15))
    assert rems["observation_end"] == zulu(chicago(MONDAY, 10))
    wrong = api_as(clinic.clerk).get(f"{query}&treatment_type_id={spravato}&infusion_minutes=45")
    assert "infusion_minutes" in assert_error(wrong, 422, "invalid")["fields"]


# ---------------------------------------------------------------- discharge due


@pytest.mark.parametrize("ended_after", [8, 25])  # administration ended early, or late
def test_discharge_is_due_two_hours_after_the_first_device(
    api_as, book, clinic, frozen, event, spravato, ended_after
):
    visit_id = book(chicago(MONDAY, 9), treatment_type_id=spravato).get_json()["id"]
    first_device = chicago(MONDAY, 9, 2)
    started = _begin(api_as, clinic, frozen, event, visit_id, first_device)
    due = zulu(chicago(MONDAY, 11, 2))
    assert started["discharge_due_at"] == due  # known from the first device on
    ended_at = first_device + timedelta(minutes=ended_after)
    frozen.move_to(ended_at)
    ended = event(visit_id, "end_infusion", ended_at)
    assert ended["infusion_ended_at"] == zulu(ended_at)
    assert ended["discharge_due_at"] == due
    extended = event(
        visit_id, "extend_observation", ended_at, minutes=20, reason="Dissociation persists"
    )
    assert extended["discharge_due_at"] == zulu(chicago(MONDAY, 11, 22))


def test_an_iv_visits_discharge_is_due_after_the_infusions_end(api_as, book, clinic, frozen, event):
    visit_id = book(chicago(MONDAY, 9)).get_json()["id"]
    started = _begin(api_as, clinic, frozen, event, visit_id, chicago(MONDAY, 9))
    assert started["discharge_due_at"] is None
    frozen.move_to(chicago(MONDAY, 9, 50))
    ended = event(visit_id, "end_infusion", chicago(MONDAY, 9, 50))
    assert ended["discharge_due_at"] == zulu(chicago(MONDAY, 11, 50))


# ---------------------------------------------------------------- one truth


def _default_type(api_as, clinic) -> dict:
    listed = api_as(clinic.admin).get(f"/treatment-types?site_id={clinic.site.id}").get_json()
    return next(t for t in listed if t["id"] == clinic.site.default_treatment_type_id)


def test_the_sites_minute_settings_change_its_default_type(api_as, book, clinic):
    site = f"/sites/{clinic.site.id}"
    changed = api_as(clinic.admin).patch(
        site,
        json={
            "infusion_minutes": {"min": 30, "max": 90, "default": 60},
            "observation_minutes": {"min": 45, "default": 90},
        },
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    default = _default_type(api_as, clinic)
    assert default["administration_minutes"] == {"min": 30, "max": 90, "default": 60}
    assert default["observation_minutes"] == {"min": 45, "default": 90}
    booked = book(chicago(MONDAY, 9)).get_json()
    assert (booked["infusion_minutes"], booked["observation_minutes"]) == (60, 90)
    trail = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "admin.treatment_type.update")
    ).all()
    assert [(e.object_id, e.detail["cause"]) for e in trail] == [(default["id"], "site_settings")]


def test_the_default_types_minutes_change_the_sites_settings(api_as, book, clinic):
    type_id = clinic.site.default_treatment_type_id
    changed = api_as(clinic.admin).patch(
        f"/treatment-types/{type_id}",
        json={"administration_minutes": {"min": 40, "max": 75, "default": 50}},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    site = api_as(clinic.admin).get(f"/sites/{clinic.site.id}").get_json()
    assert site["infusion_minutes"] == {"min": 40, "max": 75, "default": 50}
    assert book(chicago(MONDAY, 9)).get_json()["infusion_minutes"] == 50
    # Beyond the site's own limits (5-240) the default type cannot go.
    beyond = api_as(clinic.admin).patch(
        f"/treatment-types/{type_id}",
        json={"administration_minutes": {"min": 40, "max": 300, "default": 50}},
    )
    assert "administration_minutes" in assert_error(beyond, 422, "invalid")["fields"]


def test_a_new_default_type_brings_its_minutes_to_the_site(api_as, clinic, spravato):
    site = f"/sites/{clinic.site.id}"
    moved = api_as(clinic.admin).patch(site, json={"default_treatment_type_id": spravato})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    body = moved.get_json()
    assert body["infusion_minutes"] == SPRAVATO["administration_minutes"]
    assert body["observation_minutes"] == SPRAVATO["observation_minutes"]
    # A REMS default type refuses the site's shorter observation.
    shorter = api_as(clinic.admin).patch(site, json={"observation_minutes": {"min": 60}})
    assert "observation_minutes" in assert_error(shorter, 422, "invalid")["fields"]


# ---------------------------------------------------------------- dashboard


def _row(api_as, clinic, visit_id) -> dict:
    board = api_as(clinic.nurse).get(f"/dashboard?site_id={clinic.site.id}")
    assert board.status_code == 200, board.get_data(as_text=True)
    return next(v for v in board.get_json()["visits"] if v["id"] == visit_id)


def test_the_dashboard_counts_a_rems_session_down_from_its_first_device(
    api_as, book, clinic, frozen, event, spravato
):
    chairs = [c.id for c in clinic.chairs]
    rems = book(chicago(MONDAY, 9), chair_id=chairs[0], treatment_type_id=spravato).get_json()
    iv = book(chicago(MONDAY, 9), chair_id=chairs[1], patient=clinic.new_patient()).get_json()
    for visit in (rems, iv):
        _begin(api_as, clinic, frozen, event, visit["id"], chicago(MONDAY, 9))

    frozen.move_to(chicago(MONDAY, 9, 5))
    during = _row(api_as, clinic, rems["id"])
    assert during["status"] == "infusing"
    assert during["discharge_due_at"] == zulu(chicago(MONDAY, 11))
    assert during["seconds_to_discharge_due"] == 115 * 60
    assert during["treatment_type_id"] == spravato
    assert _row(api_as, clinic, iv["id"])["discharge_due_at"] is None

    frozen.move_to(chicago(MONDAY, 9, 12))
    event(rems["id"], "end_infusion", chicago(MONDAY, 9, 12))
    after = _row(api_as, clinic, rems["id"])
    assert after["status"] == "recovering"
    assert after["discharge_due_at"] == zulu(chicago(MONDAY, 11))


def test_a_rems_sessions_40_minute_bp_counts_only_from_35_to_45_minutes(
    api_as, book, clinic, frozen, event, spravato
):
    chairs = [c.id for c in clinic.chairs]
    rems = book(chicago(MONDAY, 9), chair_id=chairs[0], treatment_type_id=spravato).get_json()
    iv = book(chicago(MONDAY, 9), chair_id=chairs[1], patient=clinic.new_patient()).get_json()
    for visit in (rems, iv):
        _begin(api_as, clinic, frozen, event, visit["id"], chicago(MONDAY, 9))
    frozen.move_to(chicago(MONDAY, 9, 33) + timedelta(seconds=30))
    for visit in (rems, iv):  # 33 minutes after the start: inside IV's 30-50, not REMS's 35-45
        reading = READING | {"at": iso(chicago(MONDAY, 9, 33))}
        taken = api_as(clinic.nurse).post(f"/visits/{visit['id']}/observations", json=reading)
        assert taken.status_code == 201, taken.get_data(as_text=True)

    frozen.move_to(chicago(MONDAY, 9, 41))
    peak = {"kind": "peak", "due_at": zulu(chicago(MONDAY, 9, 40)), "state": "due"}
    rems_due = _row(api_as, clinic, rems["id"])["vitals_due"]
    assert [item | {"reading_at": None} for item in rems_due] == [peak | {"reading_at": None}]
    assert _row(api_as, clinic, iv["id"])["vitals_due"] == []

    # A reading at 42 minutes is the REMS form's 40-minute blood pressure.
    frozen.move_to(chicago(MONDAY, 9, 42) + timedelta(seconds=30))
    reading = READING | {"at": iso(chicago(MONDAY, 9, 42))}
    api_as(clinic.nurse).post(f"/visits/{rems['id']}/observations", json=reading)
    assert _row(api_as, clinic, rems["id"])["vitals_due"] == []
