"""POST /api/v1/visits/{id}/events: the visit state machine, its clock and its checklist."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import assert_error, event_count, iso, zulu
from tests.conftest import MONDAY, add_baseline, chicago

TUESDAY = MONDAY + timedelta(days=1)
CHECKLIST = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}

# Times of the visit's day (Monday): booked 08:00, the clock reads 09:00 when events come in.
CHECK_IN = chicago(MONDAY, 8)
START = chicago(MONDAY, 8, 5)
END = chicago(MONDAY, 8, 50)  # discharge due at 10:50 (120 minutes of observation)

# Bodies that would be valid for each type, so that only the transition can be wrong.
BODIES = {
    "check_in": {"type": "check_in"},
    "start_infusion": {"type": "start_infusion"},
    "end_infusion": {"type": "end_infusion"},
    "extend_observation": {"type": "extend_observation", "minutes": 15, "reason": "Drowsy"},
    "discharge": {"type": "discharge", "checklist": CHECKLIST, "override_reason": "Stable"},
    "no_show": {"type": "no_show"},
    "cancel": {"type": "cancel", "reason": "Patient called in sick"},
    "undo_check_in": {"type": "undo_check_in", "reason": "Wrong patient"},
    "undo_no_show": {"type": "undo_no_show", "reason": "Arrived late"},
    "reinstate": {"type": "reinstate", "reason": "Cancelled by mistake"},
}
# API.md's table: what each status allows.
ALLOWED = {
    "booked": {"check_in", "no_show", "cancel"},
    "checked_in": {"start_infusion", "no_show", "cancel", "undo_check_in"},
    "infusing": {"end_infusion"},
    "recovering": {"extend_observation", "discharge"},
    "discharged": set(),
    "cancelled": {"reinstate"},
    "no_show": {"undo_no_show"},
}
# How to reach each status from booked.
PATHS = {
    "booked": [],
    "checked_in": [("check_in", CHECK_IN)],
    "infusing": [("check_in", CHECK_IN), ("start_infusion", START)],
    "recovering": [("check_in", CHECK_IN), ("start_infusion", START), ("end_infusion", END)],
    "discharged": [
        ("check_in", CHECK_IN),
        ("start_infusion", START),
        ("end_infusion", END),
        ("discharge", chicago(MONDAY, 8, 55)),
    ],
    "cancelled": [("cancel", CHECK_IN)],
    "no_show": [("no_show", chicago(MONDAY, 8, 15))],  # no-show from 15 min after the start
}


@pytest.fixture
def visit_id(clinic, make_visit, frozen):
    """A visit booked for Monday 08:00; the clock then moves to Monday 09:00."""
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    add_baseline(visit.id, chicago(MONDAY, 8, 1))  # the pre-dose reading before START
    frozen.move_to(chicago(MONDAY, 9))
    return visit.id


@pytest.fixture
def post(api_as, clinic, visit_id):
    """Post an event to the visit as the practitioner (or another user)."""

    def call(body: dict, user=None, at=None):
        body = body | ({"at": iso(at)} if at is not None else {})
        return api_as(user or clinic.practitioner).post(f"/visits/{visit_id}/events", json=body)

    return call


@pytest.fixture
def reach(post):
    """Drive the visit to a status through the API."""

    def call(status: str) -> dict:
        response = None
        for type_, at in PATHS[status]:
            response = post(BODIES[type_], at=at)
            assert response.status_code == 200, response.get_json()
        return response.get_json() if response else None

    return call


def test_a_whole_visit(post, clinic):
    checked_in = post({"type": "check_in"}, user=clinic.clerk, at=CHECK_IN)
    assert checked_in.status_code == 200
    body = checked_in.get_json()
    assert body["status"] == "checked_in"
    assert body["checked_in_at"] == zulu(CHECK_IN)

    body = post({"type": "start_infusion"}, user=clinic.nurse, at=START).get_json()
    assert body["status"] == "infusing"
    assert body["infusion_started_at"] == zulu(START)

    body = post({"type": "end_infusion"}, user=clinic.nurse, at=END).get_json()
    assert body["status"] == "recovering"
    assert body["infusion_ended_at"] == zulu(END)
    assert body["discharge_due_at"] == zulu(END + timedelta(minutes=120))

    extend = {"type": "extend_observation", "minutes": 30, "reason": "Still dizzy"}
    body = post(extend, user=clinic.nurse, at=chicago(MONDAY, 8, 55)).get_json()
    assert body["status"] == "recovering"
    assert body["discharge_due_at"] == zulu(END + timedelta(minutes=150))

    discharge = {
        "type": "discharge",
        "checklist": CHECKLIST,
        "override_reason": "Practitioner reviewed, stable",
    }
    response = post(discharge, at=chicago(MONDAY, 8, 58))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "discharged"
    assert body["discharged_at"] == zulu(chicago(MONDAY, 8, 58))

    lifecycle = [e for e in body["events"] if e["type"] in BODIES]
    assert [e["type"] for e in lifecycle] == [
        "check_in",
        "start_infusion",
        "end_infusion",
        "extend_observation",
        "discharge",
    ]
    assert [e["by"] for e in lifecycle] == [
        clinic.clerk.id,
        clinic.nurse.id,
        clinic.nurse.id,
        clinic.nurse.id,
        clinic.practitioner.id,
    ]
    assert lifecycle[0]["at"] == zulu(CHECK_IN)
    assert all(e["recorded_at"].endswith("Z") for e in lifecycle)
    assert lifecycle[3]["minutes"] == 30 and lifecycle[3]["reason"] == "Still dizzy"
    assert lifecycle[4]["checklist"] == CHECKLIST
    assert lifecycle[4]["override_reason"] == "Practitioner reviewed, stable"


def test_at_defaults_to_now(post, frozen):
    body = post({"type": "check_in"}).get_json()
    assert body["checked_in_at"].startswith(zulu(chicago(MONDAY, 9))[:16])
    event = next(e for e in body["events"] if e["type"] == "check_in")
    assert event["at"] == body["checked_in_at"]
    assert event["recorded_at"][:16] == event["at"][:16]


def test_cancel_keeps_its_reason(post, reach):
    body = post(BODIES["cancel"]).get_json()
    assert body["status"] == "cancelled"
    assert body["cancel_reason"] == "Patient called in sick"


def test_no_show_from_checked_in(post, reach, clinic):
    reach("checked_in")
    assert post({"type": "no_show"}, user=clinic.clerk).get_json()["status"] == "no_show"


ILLEGAL = [
    (status, type_)
    for status, allowed in ALLOWED.items()
    for type_ in BODIES
    if type_ not in allowed
]


@pytest.mark.parametrize(("status", "type_"), ILLEGAL)
def test_illegal_transition_is_409(post, reach, api_as, clinic, visit_id, status, type_):
    reach(status)
    before = api_as(clinic.clerk).get(f"/visits/{visit_id}").get_json()
    events = event_count()
    body = assert_error(post(BODIES[type_]), 409, "conflict")
    assert [reason["rule"] for reason in body["reasons"]] == ["illegal_transition"]
    assert body["reasons"][0]["message"] == body["message"]
    assert api_as(clinic.clerk).get(f"/visits/{visit_id}").get_json() == before
    assert event_count() == events


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("type_", ["start_infusion", "end_infusion"])
def test_front_desk_may_not_run_the_infusion(post, reach, clinic, type_):
    reach("checked_in" if type_ == "start_infusion" else "infusing")
    events = event_count()
    assert_error(post(BODIES[type_], user=clinic.clerk), 403, "forbidden")
    assert event_count() == events


def test_front_desk_may_not_discharge_or_extend(post, reach, clinic):
    reach("recovering")
    assert_error(post(BODIES["extend_observation"], user=clinic.clerk), 403, "forbidden")
    assert_error(post(BODIES["discharge"], user=clinic.clerk), 403, "forbidden")


@pytest.mark.parametrize("type_", ["check_in", "no_show", "cancel"])
def test_admin_is_refused_and_nothing_changes(post, api_as, clinic, visit_id, type_):
    events = event_count()
    assert_error(post(BODIES[type_], user=clinic.admin), 403, "forbidden")
    assert event_count() == events
    assert api_as(clinic.admin).get(f"/visits/{visit_id}").get_json()["status"] == "booked"


def test_admin_hears_403_before_any_body_check(post, api_as, clinic, visit_id):
    assert_error(post({"type": "teleport", "at": "soon"}, user=clinic.admin), 403, "forbidden")
    response = api_as(clinic.admin).post(
        f"/visits/{visit_id}/events", data="{oops", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 403, "forbidden")


# ---------------------------------------------------------------- discharge


def test_nurse_may_not_discharge_early(post, reach, clinic):
    reach("recovering")
    early = {"type": "discharge", "checklist": CHECKLIST, "override_reason": "Looks fine"}
    assert_error(post(early, user=clinic.nurse), 409, "conflict")


def test_practitioner_needs_an_override_reason_to_discharge_early(post, reach):
    reach("recovering")
    assert_error(post({"type": "discharge", "checklist": CHECKLIST}), 409, "conflict")
    blank = {"type": "discharge", "checklist": CHECKLIST, "override_reason": "  "}
    assert_error(post(blank), 409, "conflict")
    with_reason = {"type": "discharge", "checklist": CHECKLIST, "override_reason": "Reviewed"}
    assert post(with_reason).get_json()["status"] == "discharged"


def test_nurse_discharges_once_due(post, reach, clinic, frozen):
    reach("recovering")
    frozen.move_to(chicago(MONDAY, 10, 51))
    response = post({"type": "discharge", "checklist": CHECKLIST}, user=clinic.nurse)
    assert response.status_code == 200
    assert response.get_json()["status"] == "discharged"


def test_an_extension_delays_the_nurses_discharge(post, reach, clinic, frozen):
    reach("recovering")
    post(BODIES["extend_observation"], user=clinic.nurse)  # due 10:50 -> 11:05
    frozen.move_to(chicago(MONDAY, 10, 55))
    discharge = {"type": "discharge", "checklist": CHECKLIST}
    assert_error(post(discharge, user=clinic.nurse), 409, "conflict")
    frozen.move_to(chicago(MONDAY, 11, 6))
    assert post(discharge, user=clinic.nurse).status_code == 200


@pytest.mark.parametrize(
    "checklist",
    [
        {"padss": 8, "escort_name": "Sam", "vitals_stable": True},
        {"padss": 10, "escort_name": " ", "vitals_stable": True},
        {"padss": 10, "escort_name": "Sam", "vitals_stable": False},
    ],
)
def test_discharge_refused_by_the_checklist(post, reach, clinic, frozen, checklist):
    reach("recovering")
    frozen.move_to(chicago(MONDAY, 11))
    response = post({"type": "discharge", "checklist": checklist}, user=clinic.nurse)
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("checklist", "field"),
    [
        (None, "checklist"),
        ("all good", "checklist"),
        ({"padss": "10", "escort_name": "Sam", "vitals_stable": True}, "checklist.padss"),
        ({"padss": 11, "escort_name": "Sam", "vitals_stable": True}, "checklist.padss"),
        ({"padss": True, "escort_name": "Sam", "vitals_stable": True}, "checklist.padss"),
        ({"padss": 10, "vitals_stable": True}, "checklist.escort_name"),
        ({"padss": 10, "escort_name": "Sam", "vitals_stable": "yes"}, "checklist.vitals_stable"),
        ({"padss": 10, "escort_name": "S" * 500, "vitals_stable": True}, "checklist.escort_name"),
    ],
)
def test_discharge_with_a_bad_checklist_is_422(post, reach, clinic, frozen, checklist, field):
    reach("recovering")
    frozen.move_to(chicago(MONDAY, 11))
    body = {"type": "discharge"} | ({"checklist": checklist} if checklist is not None else {})
    response = post(body, user=clinic.nurse)
    assert field in assert_error(response, 422, "invalid")["fields"]


# ---------------------------------------------------------------- extra fields


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"minutes": 0, "reason": "x"}, "minutes"),
        ({"minutes": 241, "reason": "x"}, "minutes"),
        ({"minutes": "15", "reason": "x"}, "minutes"),
        ({"minutes": 15.5, "reason": "x"}, "minutes"),
        ({"reason": "x"}, "minutes"),
        ({"minutes": 15}, "reason"),
        ({"minutes": 15, "reason": "   "}, "reason"),
        ({"minutes": 15, "reason": 42}, "reason"),
        ({"minutes": 15, "reason": "r" * 501}, "reason"),
    ],
)
def test_extend_observation_needs_minutes_and_a_reason(
    post, reach, api_as, clinic, visit_id, body, field
):
    recovering = reach("recovering")
    events = event_count()
    response = post({"type": "extend_observation"} | body)
    assert field in assert_error(response, 422, "invalid")["fields"]
    assert event_count() == events
    assert api_as(clinic.nurse).get(f"/visits/{visit_id}").get_json() == recovering


def test_extend_by_the_limits(post, reach):
    reach("recovering")
    body = post({"type": "extend_observation", "minutes": 1, "reason": "a"}).get_json()
    assert body["discharge_due_at"] == zulu(END + timedelta(minutes=121))
    body = post({"type": "extend_observation", "minutes": 240, "reason": "b"}).get_json()
    assert body["discharge_due_at"] == zulu(END + timedelta(minutes=361))


@pytest.mark.parametrize("reason", [None, "", "  ", 7])
def test_cancel_needs_a_reason(post, api_as, clinic, visit_id, reason):
    body = {"type": "cancel"} | ({"reason": reason} if reason is not None else {})
    assert "reason" in assert_error(post(body), 422, "invalid")["fields"]
    assert api_as(clinic.clerk).get(f"/visits/{visit_id}").get_json()["status"] == "booked"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": "teleport"}, "type"),
        ({"type": 3}, "type"),
        ({"type": ""}, "type"),
        ({"type": "check_in", "at": "2026-11-30T08:30:00"}, "at"),
        ({"type": "check_in", "at": "yesterday"}, "at"),
        ({"type": "check_in", "at": 1764511200}, "at"),
    ],
)
def test_bad_event_bodies_are_422(post, body, field):
    events = event_count()
    assert field in assert_error(post(body), 422, "invalid")["fields"]
    assert event_count() == events


def test_fields_an_event_does_not_take_are_ignored(post):
    response = post({"type": "check_in", "colour": "red"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "checked_in"


def test_event_on_unknown_visit_is_404(api_as, clinic):
    response = api_as(clinic.nurse).post("/visits/777/events", json={"type": "check_in"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("raw", ["{not json", "[]", '"check_in"', "null"])
def test_event_body_not_an_object_is_400(api_as, clinic, visit_id, raw):
    response = api_as(clinic.nurse).post(
        f"/visits/{visit_id}/events", data=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "bad_request")


# ---------------------------------------------------------------- the event clock


@pytest.fixture
def tuesday_visit(clinic, make_visit, frozen, api_as):
    """A visit for Tuesday 08:00 with the clock at Tuesday 08:00; returns a poster."""
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 8))
    add_baseline(visit.id, chicago(TUESDAY, 7, 40))  # before any start these tests try
    frozen.move_to(chicago(TUESDAY, 8))

    def call(body: dict, at=None):
        body = body | ({"at": iso(at)} if at is not None else {})
        return api_as(clinic.nurse).post(f"/visits/{visit.id}/events", json=body)

    return call


def test_a_late_entry_up_to_12_hours_back_is_accepted(tuesday_visit, frozen):
    at = chicago(TUESDAY, 8)  # inside the visit's window, entered almost 12 hours later
    frozen.move_to(at + timedelta(hours=11, minutes=59))
    response = tuesday_visit({"type": "check_in"}, at=at)
    assert response.status_code == 200
    assert response.get_json()["checked_in_at"] == zulu(at)


def test_an_entry_13_hours_back_is_422(tuesday_visit):
    at = chicago(TUESDAY, 8) - timedelta(hours=13)
    assert (
        "at" in assert_error(tuesday_visit({"type": "check_in"}, at=at), 422, "invalid")["fields"]
    )


def test_an_entry_3_minutes_ahead_is_422_but_1_minute_is_fine(tuesday_visit):
    ahead = chicago(TUESDAY, 8) + timedelta(minutes=3)
    assert_error(tuesday_visit({"type": "check_in"}, at=ahead), 422, "invalid")
    soon = chicago(TUESDAY, 8) + timedelta(minutes=1)
    assert tuesday_visit({"type": "check_in"}, at=soon).status_code == 200


def test_an_entry_before_the_previous_event_is_422(tuesday_visit):
    assert tuesday_visit({"type": "check_in"}, at=chicago(TUESDAY, 7, 50)).status_code == 200
    response = tuesday_visit({"type": "start_infusion"}, at=chicago(TUESDAY, 7, 45))
    assert "at" in assert_error(response, 422, "invalid")["fields"]
    same = tuesday_visit({"type": "start_infusion"}, at=chicago(TUESDAY, 7, 50))
    assert same.get_json()["status"] == "infusing"


def test_an_offset_is_an_instant_whatever_the_zone(tuesday_visit):
    at = "2026-12-01T13:55:00Z"  # 07:55 in Chicago
    response = tuesday_visit({"type": "check_in", "at": at})
    assert response.get_json()["checked_in_at"] == "2026-12-01T13:55:00Z"
    assert tuesday_visit({"type": "start_infusion", "at": "2026-12-01T07:56:00-06:00"}).json[
        "infusion_started_at"
    ] == zulu(chicago(TUESDAY, 7, 56))
