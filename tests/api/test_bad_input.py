"""A corpus of bad requests to the visit endpoints: each gets its documented error, no 5xx,
and nothing is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import assert_error, event_count, iso, visit_count
from tests.conftest import MONDAY, chicago

TUESDAY = MONDAY + timedelta(days=1)
START = iso(chicago(TUESDAY, 9))
JSON = {"Content-Type": "application/json"}

NOT_AN_OBJECT = [
    "{not json",
    '{"patient_id": 1,}',
    "[]",
    '[{"patient_id": 1}]',
    '"a string"',
    "42",
    "null",
    "true",
    "",
    b"\xff\xfe",
    "[" * 100_000,
    '{"a":' * 100_000,
]


@pytest.fixture
def api(api_as, clinic):
    """The clerk's API client."""
    return api_as(clinic.clerk)


@pytest.fixture
def body(clinic):
    """A valid booking body to spoil one field at a time."""
    return {"patient_id": clinic.patient.id, "infusion_start": START}


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
def test_post_visits_with_a_body_that_is_not_an_object_is_400(api, raw):
    response = api.post("/visits", data=raw, headers=JSON)
    assert_error(response, 400, "bad_request")
    assert visit_count() == 0


def test_post_visits_with_a_form_body_is_400(api, clinic):
    response = api.post("/visits", data={"patient_id": clinic.patient.id, "infusion_start": START})
    assert_error(response, 400, "bad_request")
    assert visit_count() == 0


@pytest.mark.parametrize("raw", ["{not json", "[]", "null"])
def test_patch_visit_with_a_body_that_is_not_an_object_is_400(api, book, clinic, raw):
    visit = book(chicago(TUESDAY, 9)).get_json()
    response = api.patch(f"/visits/{visit['id']}", data=raw, headers=JSON)
    assert_error(response, 400, "bad_request")
    assert api.get(f"/visits/{visit['id']}").get_json() == visit


SPOILED = [
    # (changes to the valid body, the field named in the error)
    ({"patient_id": None}, "patient_id"),
    ({"patient_id": "1"}, "patient_id"),
    ({"patient_id": 1.5}, "patient_id"),
    ({"patient_id": True}, "patient_id"),
    ({"patient_id": [1]}, "patient_id"),
    ({"patient_id": 0}, "patient_id"),
    ({"patient_id": -3}, "patient_id"),
    ({"patient_id": 10**30}, "patient_id"),
    ({"infusion_start": None}, "infusion_start"),
    ({"infusion_start": ""}, "infusion_start"),
    ({"infusion_start": 1764594000}, "infusion_start"),
    ({"infusion_start": "2026-12-01"}, "infusion_start"),
    ({"infusion_start": "2026-12-01T09:00:00"}, "infusion_start"),
    ({"infusion_start": "2026-12-01 09:00"}, "infusion_start"),
    ({"infusion_start": "tomorrow at nine"}, "infusion_start"),
    ({"infusion_start": "2026-13-01T09:00:00Z"}, "infusion_start"),
    ({"infusion_start": "2026-12-01T25:00:00-06:00"}, "infusion_start"),
    ({"infusion_start": "9999-12-31T23:59:59-14:00"}, "infusion_start"),
    ({"infusion_start": "0001-01-01T00:00:00+14:00"}, "infusion_start"),
    ({"infusion_start": {"at": START}}, "infusion_start"),
    ({"site_id": "Austin"}, "site_id"),
    ({"site_id": {}}, "site_id"),
    ({"chair_id": "a"}, "chair_id"),
    ({"chair_id": 2.0}, "chair_id"),
    ({"chair_id": 10**20}, "chair_id"),
    ({"infusion_minutes": "45"}, "infusion_minutes"),
    ({"infusion_minutes": 45.5}, "infusion_minutes"),
    ({"infusion_minutes": 0}, "infusion_minutes"),
    ({"infusion_minutes": -45}, "infusion_minutes"),
    ({"infusion_minutes": 44}, "infusion_minutes"),
    ({"infusion_minutes": 61}, "infusion_minutes"),
    ({"infusion_minutes": 10**12}, "infusion_minutes"),
    ({"observation_minutes": []}, "observation_minutes"),
    ({"observation_minutes": 59}, "observation_minutes"),
    ({"observation_minutes": 721}, "observation_minutes"),
    ({"notes": 123}, "notes"),
    ({"notes": ["a"]}, "notes"),
    ({"notes": "n" * 2001}, "notes"),
    ({"notes": "bad\x00byte"}, "notes"),
]


def test_post_visits_ignores_fields_it_does_not_know(api, body):
    response = api.post("/visits", json=body | {"colour": "red", "status": "discharged"})
    assert response.status_code == 201
    assert response.get_json()["status"] == "booked"


@pytest.mark.parametrize(("changes", "field"), SPOILED)
def test_post_visits_with_a_bad_field_is_422(api, body, changes, field):
    response = api.post("/visits", json=body | changes)
    assert field in assert_error(response, 422, "invalid")["fields"]
    assert visit_count() == 0


def test_post_visits_with_nothing_names_every_required_field(api):
    body = assert_error(api.post("/visits", json={}), 422, "invalid")
    assert set(body["fields"]) == {"patient_id", "infusion_start"}
    assert visit_count() == 0


def test_post_visits_collects_every_field_error_at_once(api):
    response = api.post(
        "/visits", json={"patient_id": "x", "infusion_start": "2026-12-01T09:00", "notes": 5}
    )
    body = assert_error(response, 422, "invalid")
    assert set(body["fields"]) == {"patient_id", "infusion_start", "notes"}
    assert all(isinstance(m, list) and m for m in body["fields"].values())


def test_notes_at_the_limit_are_kept(api, body):
    response = api.post("/visits", json=body | {"notes": "n" * 2000})
    assert response.status_code == 201
    assert response.get_json()["notes"] == "n" * 2000


@pytest.mark.parametrize(
    ("name", "value"), [("patient_id", 999), ("chair_id", 999), ("site_id", 9)]
)
def test_post_visits_with_unknown_ids_is_404(api, body, name, value):
    assert_error(api.post("/visits", json=body | {name: value}), 404, "not_found")
    assert visit_count() == 0


def test_post_visits_with_other_site_ids_is_404(
    api, body, make_site, make_chair, make_patient, make_clearance
):
    other = make_site(name="Houston")
    chair = make_chair(other)
    patient = make_patient(other)
    make_clearance(patient)
    for changes in ({"patient_id": patient.id}, {"chair_id": chair.id}, {"site_id": other.id}):
        assert_error(api.post("/visits", json=body | changes), 404, "not_found")
    assert visit_count() == 0


def test_a_past_time_is_409_in_the_past(api, body, frozen):
    frozen.move_to(chicago(MONDAY, 12))
    response = api.post("/visits", json=body | {"infusion_start": iso(chicago(MONDAY, 9))})
    assert [r["rule"] for r in assert_error(response, 409, "conflict")["reasons"]] == [
        "in_the_past"
    ]
    assert visit_count() == 0


def test_a_closed_day_is_409_outside_opening_hours(api, body):
    sunday = iso(chicago(MONDAY + timedelta(days=6), 10))
    response = api.post("/visits", json=body | {"infusion_start": sunday})
    reasons = assert_error(response, 409, "conflict")["reasons"]
    assert "outside_opening_hours" in [r["rule"] for r in reasons]
    assert visit_count() == 0


def test_an_oversize_body_is_refused_without_a_5xx(api, body):
    response = api.post("/visits", json=body | {"notes": "n" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.get_json()["error"]
    assert visit_count() == 0


@pytest.mark.parametrize("path", ["/visits/abc", "/visits/-1", "/visits/0", "/visits/1.5"])
def test_odd_visit_paths_are_404(api, path):
    assert_error(api.get(path), 404, "not_found")


def test_wrong_method_is_405_json(api):
    response = api.delete("/visits")
    assert response.status_code == 405
    assert response.get_json()["error"]


# ---------------------------------------------------------------- events and reschedule


@pytest.fixture
def visit_id(book):
    """A booked visit's id."""
    return book(chicago(TUESDAY, 9)).get_json()["id"]


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
def test_events_with_a_body_that_is_not_an_object_is_400(api, visit_id, raw):
    events = event_count()
    response = api.post(f"/visits/{visit_id}/events", data=raw, headers=JSON)
    assert_error(response, 400, "bad_request")
    assert event_count() == events


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "cancel", "reason": "nul\x00"}, "reason"),
        ({"type": "cancel", "reason": "r" * 501}, "reason"),
        ({"type": "check_in", "at": "9999-12-31T23:59:59-14:00"}, "at"),
        ({"type": "check_in", "at": "0001-01-01T00:00:00+14:00"}, "at"),
        ({"type": "check_in", "at": ""}, "at"),
        ({"type": ["check_in"]}, "type"),
        ({"type": "t" * 10_000}, "type"),
    ],
)
def test_bad_event_fields_are_422(api, api_as, clinic, visit_id, event, field):
    events = event_count()
    response = api_as(clinic.practitioner).post(f"/visits/{visit_id}/events", json=event)
    assert field in assert_error(response, 422, "invalid")["fields"]
    assert event_count() == events
    assert api.get(f"/visits/{visit_id}").get_json()["status"] == "booked"


@pytest.mark.parametrize(
    "changes",
    [
        {"infusion_start": "2026-12-01T12:00:00"},
        {"infusion_start": "0001-01-01T00:00:00+14:00"},
        {"infusion_minutes": 1000},
        {"infusion_minutes": 44},
        {"observation_minutes": 721},
        {"chair_id": 10**20},
        {"notes": "not reschedulable"},
    ],
)
def test_bad_reschedules_are_422_and_change_nothing(api, visit_id, changes):
    before = api.get(f"/visits/{visit_id}").get_json()
    assert_error(api.patch(f"/visits/{visit_id}", json=changes), 422, "invalid")
    assert api.get(f"/visits/{visit_id}").get_json() == before


def test_reschedule_to_an_unknown_or_foreign_chair_is_404(api, visit_id, make_site, make_chair):
    other = make_chair(make_site(name="Waco"))
    before = api.get(f"/visits/{visit_id}").get_json()
    assert_error(api.patch(f"/visits/{visit_id}", json={"chair_id": 999}), 404, "not_found")
    assert_error(api.patch(f"/visits/{visit_id}", json={"chair_id": other.id}), 404, "not_found")
    assert api.get(f"/visits/{visit_id}").get_json() == before
