"""POST and GET /api/v1/visits/{id}/observations: readings, their flags, their refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Observation, Visit
from tests.api.conftest import assert_error, iso, zulu
from tests.conftest import MONDAY, add_negative_screen, chicago

CHECK_IN = chicago(MONDAY, 8)
START = chicago(MONDAY, 8, 5)
END = chicago(MONDAY, 8, 50)
CLOCK = chicago(MONDAY, 9)  # the clock when readings come in
NORMAL = {"systolic": 120, "diastolic": 80, "heart_rate": 72, "spo2": 98}
STEPS = {
    "checked_in": [("check_in", CHECK_IN)],
    "infusing": [("check_in", CHECK_IN), ("start_infusion", START)],
    "recovering": [("check_in", CHECK_IN), ("start_infusion", START), ("end_infusion", END)],
}


def about(value, expected: datetime) -> bool:
    """Tell whether an instant (or its API text) is within a few seconds of `expected`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return abs(value - expected) < timedelta(seconds=5)


def observation_count() -> int:
    """Count every reading row."""
    return db.session.scalar(select(func.count(Observation.id)))


@pytest.fixture
def visit_id(clinic, make_visit, frozen):
    """A visit booked for Monday 08:00; the clock then moves to 09:00."""
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    frozen.move_to(CLOCK)
    return visit.id


@pytest.fixture
def reach(api_as, clinic, visit_id):
    """Drive the visit to checked_in, infusing or recovering through the API."""

    def call(status: str) -> None:
        for type_, at in STEPS[status]:
            body = {"type": type_, "at": iso(at)}
            if type_ == "start_infusion":
                # These tests count and flag their own readings: no baseline is written, the
                # practitioner starts without one (the pre-dose rule is tested elsewhere).
                body["override_reason"] = "Baseline taken on paper"
                add_negative_screen(visit_id, at)
            response = api_as(clinic.practitioner).post(f"/visits/{visit_id}/events", json=body)
            assert response.status_code == 200, response.get_json()

    return call


@pytest.fixture
def record(api_as, clinic, visit_id):
    """Post a reading as the nurse (or another user): record({...}, user=, at=)."""

    def call(values: dict | None = None, user=None, at=None, **changes):
        body = (NORMAL if values is None else values) | changes
        if at is not None:
            body = body | {"at": iso(at)}
        return api_as(user or clinic.nurse).post(f"/visits/{visit_id}/observations", json=body)

    return call


def test_a_reading_answers_201_with_every_field(record, reach, clinic, visit_id):
    reach("infusing")
    body = {
        **NORMAL,
        "respiratory_rate": 16,
        "dissociation": 2,
        "nausea": 1,
        "dizziness": 0,
        "moaas": 4,
        "note": "Feels floaty",
    }
    response = record(body, at=chicago(MONDAY, 8, 45))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert list(answer) == [
        "id",
        "visit_id",
        "at",
        "recorded_at",
        "by",
        "systolic",
        "diastolic",
        "heart_rate",
        "spo2",
        "respiratory_rate",
        "dissociation",
        "nausea",
        "dizziness",
        "moaas",
        "note",
        "flags",
    ]
    assert answer["visit_id"] == visit_id
    assert answer["at"] == zulu(chicago(MONDAY, 8, 45))
    assert about(answer["recorded_at"], CLOCK)
    assert answer["by"] == clinic.nurse.id
    assert answer["respiratory_rate"] == 16 and answer["dissociation"] == 2
    assert answer["moaas"] == 4
    assert answer["note"] == "Feels floaty"
    assert answer["flags"] == []


def test_at_defaults_to_now_and_optional_fields_to_null(record, reach):
    reach("checked_in")
    answer = record().get_json()
    assert about(answer["at"], CLOCK) and answer["at"] == answer["recorded_at"]
    assert answer["respiratory_rate"] is None and answer["dissociation"] is None
    assert answer["moaas"] is None and "sedation" not in answer["flags"]
    assert answer["note"] == ""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"systolic": 159, "diastolic": 99}, []),
        ({"systolic": 160, "diastolic": 90}, ["bp_high"]),
        ({"systolic": 150, "diastolic": 100}, ["bp_high"]),
        ({"systolic": 180, "diastolic": 100}, ["bp_high", "bp_critical"]),
        ({"heart_rate": 120}, []),
        ({"heart_rate": 121}, ["hr_high"]),
        ({"heart_rate": 50}, []),
        ({"heart_rate": 49}, ["hr_low"]),
        ({"spo2": 92}, []),
        ({"spo2": 91}, ["spo2_low"]),
        ({"moaas": 5}, []),
        ({"moaas": 4}, []),
        ({"moaas": 3}, ["sedation"]),
        ({"moaas": 0}, ["sedation"]),
        ({"spo2": 91, "moaas": 2}, ["spo2_low", "sedation"]),
    ],
)
def test_flags_against_the_default_thresholds(record, reach, values, expected):
    reach("infusing")
    assert record(NORMAL | values).get_json()["flags"] == expected


def test_bp_above_baseline_compares_with_the_visits_first_reading(record, reach):
    reach("infusing")
    first = record(at=chicago(MONDAY, 8, 2)).get_json()  # 120/80
    assert first["flags"] == []
    # 20 % over 120/80 is 144/96: exactly that is not above, one more is.
    assert record(systolic=144, diastolic=96, at=chicago(MONDAY, 8, 20)).get_json()["flags"] == []
    assert record(systolic=145, at=chicago(MONDAY, 8, 30)).get_json()["flags"] == [
        "bp_above_baseline"
    ]
    assert record(diastolic=97, at=chicago(MONDAY, 8, 40)).get_json()["flags"] == [
        "bp_above_baseline"
    ]
    # Still against the first reading, not the latest: 140 is within 20 % of 120.
    assert record(systolic=140, at=chicago(MONDAY, 8, 45)).get_json()["flags"] == []


def test_a_late_entry_before_the_first_reading_becomes_the_baseline(
    record, reach, api_as, clinic, visit_id
):
    reach("infusing")
    record(systolic=150, diastolic=90, at=chicago(MONDAY, 8, 30))
    late = record(systolic=110, diastolic=70, at=chicago(MONDAY, 8, 1)).get_json()
    assert late["flags"] == []
    listed = api_as(clinic.nurse).get(f"/visits/{visit_id}/observations").get_json()
    assert [o["at"] for o in listed] == [zulu(chicago(MONDAY, 8, 1)), zulu(chicago(MONDAY, 8, 30))]
    # 150 is more than 20 % over the new baseline of 110.
    assert listed[1]["flags"] == ["bp_above_baseline"]


def test_site_thresholds_override_the_defaults(record, reach, clinic):
    clinic.site.vital_thresholds = {"bp_high": [150, 95], "spo2_low": 94}
    db.session.commit()
    reach("infusing")
    assert record(systolic=152, diastolic=90, spo2=93).get_json()["flags"] == [
        "bp_high",
        "spo2_low",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"systolic": None}, "systolic"),
        ({"diastolic": None}, "diastolic"),
        ({"heart_rate": None}, "heart_rate"),
        ({"spo2": None}, "spo2"),
        ({"spo2": 101}, "spo2"),
        ({"heart_rate": "80"}, "heart_rate"),
        ({"heart_rate": 80.5}, "heart_rate"),
        ({"systolic": True}, "systolic"),
        ({"systolic": 301}, "systolic"),
        ({"systolic": 90, "diastolic": 90}, "diastolic"),
        ({"respiratory_rate": 61}, "respiratory_rate"),
        ({"dissociation": 5}, "dissociation"),
        ({"nausea": -1}, "nausea"),
        ({"dizziness": 4}, "dizziness"),
        ({"moaas": 6}, "moaas"),
        ({"moaas": -1}, "moaas"),
        ({"moaas": 2.5}, "moaas"),
        ({"moaas": "3"}, "moaas"),
        ({"moaas": False}, "moaas"),
        ({"note": "n" * 1001}, "note"),
        ({"note": 12}, "note"),
        ({"at": "2026-11-30T08:30:00"}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"at": iso(CLOCK - timedelta(hours=12, minutes=1))}, "at"),
        ({"at": iso(CLOCK + timedelta(minutes=3))}, "at"),
    ],
)
def test_a_bad_reading_is_422_and_writes_nothing(record, reach, change, field):
    reach("recovering")
    body = {k: v for k, v in (NORMAL | change).items() if v is not None}
    response = record(body)
    assert field in assert_error(response, 422, "invalid")["fields"]
    assert observation_count() == 0


def test_every_error_of_a_reading_is_reported_at_once(record, reach):
    reach("recovering")
    response = record({"systolic": 400, "spo2": 20, "at": "noon"})
    fields = assert_error(response, 422, "invalid")["fields"]
    assert {"systolic", "diastolic", "heart_rate", "spo2", "at"} <= set(fields)


def test_fields_it_does_not_take_are_ignored(record, reach):
    reach("recovering")
    response = record(NORMAL | {"temperature": 37.2, "id": 99})
    assert response.status_code == 201
    assert "temperature" not in response.get_json() and response.get_json()["id"] != 99


def test_at_bounds_are_the_events(record, reach):
    reach("recovering")
    assert record(at=CLOCK - timedelta(hours=11, minutes=59)).status_code == 201
    assert record(at=CLOCK + timedelta(minutes=2)).status_code == 201


def test_not_json_is_400(api_as, clinic, visit_id, reach):
    reach("recovering")
    response = api_as(clinic.nurse).post(
        f"/visits/{visit_id}/observations", data="systolic=120", content_type="text/plain"
    )
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("status", ["checked_in", "infusing", "recovering"])
def test_readings_are_taken_while_the_patient_is_in_care(record, reach, status):
    reach(status)
    assert record().status_code == 201


def test_a_booked_visit_takes_no_reading(record):
    assert_error(record(), 409, "conflict")
    assert observation_count() == 0


def test_a_discharged_visit_takes_no_reading(record, reach, api_as, clinic, visit_id):
    reach("recovering")
    discharge = {
        "type": "discharge",
        "checklist": {"padss": 10, "escort_name": "Sam", "vitals_stable": True},
        "override_reason": "Reviewed",
    }
    response = api_as(clinic.practitioner).post(f"/visits/{visit_id}/events", json=discharge)
    assert response.status_code == 200
    assert_error(record(), 409, "conflict")
    assert observation_count() == 0


def test_cancelled_visit_takes_no_reading(record, api_as, clinic, visit_id):
    api_as(clinic.clerk).post(f"/visits/{visit_id}/events", json={"type": "cancel", "reason": "x"})
    assert_error(record(), 409, "conflict")


def test_front_desk_and_admin_may_not_record(record, reach, clinic):
    reach("recovering")
    assert_error(record(user=clinic.clerk), 403, "forbidden")
    assert_error(record(user=clinic.admin), 403, "forbidden")
    assert record(user=clinic.practitioner).status_code == 201
    assert observation_count() == 1


def test_another_sites_visit_is_404(record, reach, make_site, make_user):
    reach("recovering")
    stranger = make_user("nurse", [make_site(name="Dallas")])
    assert_error(record(user=stranger), 404, "not_found")
    assert observation_count() == 0


def test_unknown_visit_is_404(api_as, clinic):
    for path in ("/visits/999999/observations", "/visits/99999999999/observations"):
        assert_error(api_as(clinic.nurse).post(path, json=NORMAL), 404, "not_found")
        assert_error(api_as(clinic.nurse).get(path), 404, "not_found")


def test_list_is_oldest_first_and_every_role_may_read(record, reach, api_as, clinic, visit_id):
    reach("recovering")
    record(systolic=130, at=chicago(MONDAY, 8, 55))
    record(systolic=110, at=chicago(MONDAY, 8, 3))
    record(systolic=125, at=chicago(MONDAY, 8, 45))
    for user in (clinic.clerk, clinic.nurse, clinic.practitioner, clinic.admin):
        listed = api_as(user).get(f"/visits/{visit_id}/observations")
        assert listed.status_code == 200
        assert [o["systolic"] for o in listed.get_json()] == [110, 125, 130]


def test_list_of_a_visit_without_readings_is_empty(api_as, clinic, visit_id):
    assert api_as(clinic.nurse).get(f"/visits/{visit_id}/observations").get_json() == []


def test_readings_and_events_touch_the_visits_updated_at(
    record, reach, visit_id, frozen, api_as, clinic
):
    reach("recovering")
    frozen.move_to(CLOCK + timedelta(minutes=1))
    record()
    db.session.expire_all()
    assert about(db.session.get(Visit, visit_id).updated_at, CLOCK + timedelta(minutes=1))
    frozen.move_to(CLOCK + timedelta(minutes=2))
    extend = {"type": "extend_observation", "minutes": 10, "reason": "Dizzy"}
    assert api_as(clinic.nurse).post(f"/visits/{visit_id}/events", json=extend).status_code == 200
    db.session.expire_all()
    assert about(db.session.get(Visit, visit_id).updated_at, CLOCK + timedelta(minutes=2))
