"""Courses through the API: dry run, booking all or nothing, reading, moving "this" and
"this and the following" across DST (local time kept), cancelling the rest, adding a date,
one "changed" message for a whole move, 409 bodies with dates, 422, 403 and 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AuditEvent, Course, PatientMessage, Visit
from clinic.services.patients import set_consents
from tests.api.conftest import assert_error, iso, zulu
from tests.conftest import MONDAY, NOW, chicago

CHICAGO = ZoneInfo("America/Chicago")
# Monday and Thursday.
MON_THU = [0, 3]


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(CHICAGO)


@pytest.fixture
def course(api_as, clinic):
    """Book a course through the API: course(first_start, count=4, **fields) -> response."""

    def call(first: datetime, count: int = 4, user=None, **fields):
        body = {
            "patient_id": clinic.patient.id,
            "first_start": iso(first),
            "weekdays": MON_THU,
            "count": count,
            "dry_run": False,
        } | fields
        return api_as(user or clinic.clerk).post("/courses", json=body)

    return call


def test_dry_run_checks_every_date_and_writes_nothing(course):
    answer = course(chicago(MONDAY, 9), dry_run=True)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    dates = answer.get_json()["dates"]
    assert [_local(d["infusion_start"]).strftime("%a %H:%M") for d in dates] == [
        "Mon 09:00",
        "Thu 09:00",
        "Mon 09:00",
        "Thu 09:00",
    ]
    assert all(d["ok"] and d["reasons"] == [] and d["alternatives"] == [] for d in dates)
    assert db.session.scalar(select(func.count(Visit.id))) == 0
    assert db.session.scalar(select(func.count(Course.id))) == 0


def test_booking_answers_the_course_and_reading_it_back(api_as, clinic, course):
    answer = course(chicago(MONDAY, 9))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert len(body["visits"]) == 4
    read = api_as(clinic.clerk).get(f"/courses/{body['id']}").get_json()
    assert read == body
    assert (read["patient_id"], read["site_id"], read["planned"], read["completed"]) == (
        clinic.patient.id,
        clinic.site.id,
        4,
        0,
    )
    listed = api_as(clinic.nurse).get(f"/courses?patient_id={clinic.patient.id}").get_json()
    assert [c["id"] for c in listed] == [body["id"]]


def test_a_clash_refuses_the_whole_course_with_dates_and_alternatives(api_as, clinic, course, book):
    # The patient already has a visit on the third date.
    third = chicago(MONDAY + timedelta(days=7), 9)
    assert book(third).status_code == 201
    answer = course(chicago(MONDAY, 9))
    body = assert_error_with_dates(answer)
    assert [d["ok"] for d in body["dates"]] == [True, True, False, True]
    refused = body["dates"][2]
    assert refused["reasons"] and all({"rule", "message"} == set(r) for r in refused["reasons"])
    starts = [
        datetime.fromisoformat(a["infusion_start"].replace("Z", "+00:00"))
        for a in refused["alternatives"]
    ]
    assert starts, "alternatives offered"
    distances = [abs(s - third) for s in starts]
    assert distances == sorted(distances)  # the closest to what was asked first
    assert db.session.scalar(select(func.count(Visit.id))) == 1  # nothing written


def assert_error_with_dates(response) -> dict:
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "conflict" and body["message"]
    assert isinstance(body["fields"], dict)
    assert isinstance(body["dates"], list)
    return body


def test_move_this_moves_one_date(api_as, clinic, course):
    body = course(chicago(MONDAY, 9)).get_json()
    second = body["visits"][1]
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": second["id"],
            "scope": "this",
            "infusion_start": iso(chicago(MONDAY + timedelta(days=4), 11)),
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    visits = answer.get_json()["visits"]
    assert [_local(v["infusion_start"]).strftime("%m-%d %H:%M") for v in visits] == [
        "11-30 09:00",
        "12-04 11:00",
        "12-07 09:00",
        "12-10 09:00",
    ]


@pytest.mark.parametrize("days", [2, -2])
def test_following_may_land_on_a_siblings_old_slot(api_as, clinic, course, days):
    # Mon/Wed moved two days later (or Wed/Fri two days earlier): each date takes the slot
    # its neighbour leaves, which is free once the neighbour has moved.
    first = MONDAY + timedelta(days=0 if days > 0 else 2)
    body = course(chicago(first, 9), weekdays=[0, 2] if days > 0 else [2, 4]).get_json()
    old = [_local(v["infusion_start"]) for v in body["visits"]]
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": body["visits"][0]["id"],
            "scope": "following",
            "infusion_start": iso(old[0] + timedelta(days=days)),
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    moved = [_local(v["infusion_start"]) for v in answer.get_json()["visits"]]
    assert moved == [start + timedelta(days=days) for start in old]
    assert moved[0] == old[1] if days > 0 else moved[1] == old[0]


@pytest.fixture
def march(clinic, make_shift):
    """Staff on duty for the weeks around the 2027-03-14 DST change."""
    for role in ("nurse", "practitioner"):
        make_shift(
            clinic.site,
            role,
            starts_at=chicago(datetime(2027, 3, 1).date(), 7),
            ends_at=chicago(datetime(2027, 3, 26).date(), 19),
        )


def test_following_keeps_local_time_across_dst_and_sends_one_changed_message(
    api_as, clinic, course, march
):
    patient = clinic.patient
    patient.email = "dana@example.test"
    set_consents("patient", patient, {"email": True}, NOW)
    db.session.commit()
    first = chicago(datetime(2027, 3, 8).date(), 9)  # Monday before the change
    body = course(first, count=4).get_json()
    assert body.get("visits"), body
    before = db.session.scalar(
        select(func.count(PatientMessage.id)).where(PatientMessage.kind == "changed")
    )
    second = body["visits"][1]  # Thursday 11 March
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": second["id"],
            "scope": "following",
            "infusion_start": iso(chicago(datetime(2027, 3, 12).date(), 10)),
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    visits = answer.get_json()["visits"]
    assert [_local(v["infusion_start"]).strftime("%m-%d %H:%M") for v in visits] == [
        "03-08 09:00",
        "03-12 10:00",
        "03-16 10:00",  # after the change: still 10:00 local
        "03-19 10:00",
    ]
    assert visits[2]["infusion_start"] == zulu(datetime(2027, 3, 16, 15, tzinfo=UTC))
    db.session.rollback()
    changed = db.session.scalar(
        select(func.count(PatientMessage.id)).where(PatientMessage.kind == "changed")
    )
    assert changed - before == 1  # one message (per channel) for the whole move
    moves = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "visit.reschedule")
    )
    assert moves == 3


def test_following_onto_a_new_weekday_pattern(api_as, clinic, course):
    body = course(chicago(MONDAY, 9)).get_json()
    clerk = api_as(clinic.clerk)
    move = {
        "from_visit_id": body["visits"][1]["id"],
        "scope": "following",
        "infusion_start": iso(chicago(MONDAY + timedelta(days=4), 11)),  # Friday
        "weekdays": [1, 4],  # Tuesday and Friday
    }
    answer = clerk.post(f"/courses/{body['id']}/reschedule", json=move)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [
        _local(v["infusion_start"]).strftime("%a %m-%d %H:%M") for v in answer.get_json()["visits"]
    ] == ["Mon 11-30 09:00", "Fri 12-04 11:00", "Tue 12-08 11:00", "Fri 12-11 11:00"]
    only_this = clerk.post(f"/courses/{body['id']}/reschedule", json=move | {"scope": "this"})
    assert "weekdays" in assert_error(only_this, 422, "invalid")["fields"]
    bad_day = clerk.post(f"/courses/{body['id']}/reschedule", json=move | {"weekdays": [7]})
    assert "weekdays" in assert_error(bad_day, 422, "invalid")["fields"]


def test_following_with_a_clash_in_the_middle_writes_nothing(api_as, clinic, course, book):
    body = course(chicago(MONDAY, 9)).get_json()
    # Another patient fills every chair on the third moved date at the new time.
    blocker_start = chicago(MONDAY + timedelta(days=8), 9)
    for _ in clinic.chairs:
        other = clinic.new_patient()
        assert book(blocker_start, patient=other).status_code == 201
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": body["visits"][0]["id"],
            "scope": "following",
            "infusion_start": iso(chicago(MONDAY + timedelta(days=1), 9)),  # a day later
        },
    )
    refused = assert_error_with_dates(answer)
    assert [d["ok"] for d in refused["dates"]] == [True, True, False, True]
    assert refused["dates"][2]["alternatives"]
    db.session.rollback()
    unchanged = api_as(clinic.clerk).get(f"/courses/{body['id']}").get_json()
    assert unchanged["visits"] == body["visits"]


def test_cancel_the_rest_and_add_a_date(api_as, clinic, course):
    patient = clinic.patient
    patient.email = "dana@example.test"
    set_consents("patient", patient, {"email": True}, NOW)
    db.session.commit()
    body = course(chicago(MONDAY, 9)).get_json()
    clerk = api_as(clinic.clerk)
    answer = clerk.post(
        f"/courses/{body['id']}/cancel",
        json={"from_visit_id": body["visits"][2]["id"], "scope": "following", "reason": "ill"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    cancelled = answer.get_json()
    assert [v["status"] for v in cancelled["visits"]] == [
        "booked",
        "booked",
        "cancelled",
        "cancelled",
    ]
    assert cancelled["planned"] == 2
    db.session.rollback()
    told = db.session.scalars(
        select(PatientMessage.visit_id).where(PatientMessage.kind == "cancelled")
    ).all()
    assert told == [body["visits"][2]["id"]]  # one "cancelled" message for the whole cancel
    audited = db.session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "course.cancel")
    ).all()
    assert [(d["scope"], d["visits"]) for d in audited] == [("following", 2)]
    added = clerk.post(
        f"/courses/{body['id']}/visits",
        json={"infusion_start": iso(chicago(MONDAY + timedelta(days=9), 10))},
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["planned"] == 3
    # A clash when adding: 409 with the usual reasons.
    again = clerk.post(
        f"/courses/{body['id']}/visits",
        json={"infusion_start": iso(chicago(MONDAY + timedelta(days=9), 10))},
    )
    assert again.status_code == 409
    assert again.get_json()["reasons"] and again.get_json()["alternatives"]


def test_bad_input_is_422(api_as, clinic, course):
    bad = course(chicago(MONDAY, 9), weekdays=[7], count=0)
    body = assert_error(bad, 422, "invalid")
    assert {"weekdays", "count"} <= set(body["fields"]) or "weekdays" in str(body["fields"])
    made = course(chicago(MONDAY, 9)).get_json()
    wrong_scope = api_as(clinic.clerk).post(
        f"/courses/{made['id']}/reschedule",
        json={"from_visit_id": made["visits"][0]["id"], "scope": "all", "infusion_start": "x"},
    )
    assert set(assert_error(wrong_scope, 422, "invalid")["fields"]) >= {"scope"}
    no_reason = api_as(clinic.clerk).post(
        f"/courses/{made['id']}/cancel",
        json={"from_visit_id": made["visits"][0]["id"], "scope": "this", "reason": " "},
    )
    assert_error(no_reason, 422, "invalid")


def test_roles_and_objects(api_as, clinic, course, make_site, make_user):
    made = course(chicago(MONDAY, 9)).get_json()
    nurse = api_as(clinic.nurse)
    move = {
        "from_visit_id": made["visits"][0]["id"],
        "scope": "this",
        "infusion_start": iso(chicago(MONDAY + timedelta(days=1), 9)),
    }
    assert nurse.get(f"/courses/{made['id']}").status_code == 200
    elsewhere = make_user("front_desk", [make_site(name="Elsewhere")])
    outsider = api_as(elsewhere)
    assert_error(outsider.get(f"/courses/{made['id']}"), 404, "not_found")
    assert_error(outsider.post(f"/courses/{made['id']}/reschedule", json=move), 404, "not_found")
    assert_error(api_as(clinic.clerk).get("/courses/999999"), 404, "not_found")
    admin = api_as(clinic.admin)  # reads, never books
    assert admin.get(f"/courses/{made['id']}").status_code == 200
    assert_error(admin.post(f"/courses/{made['id']}/reschedule", json=move), 403, "forbidden")
    assert_error(admin.post(f"/courses/{made['id']}/visits", json={}), 403, "forbidden")
    body = {"patient_id": clinic.patient.id, "first_start": move["infusion_start"]}
    assert_error(admin.post("/courses", json=body), 403, "forbidden")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Visit.id))) == 4


def test_only_a_booked_visit_moves(api_as, clinic, course):
    body = course(chicago(MONDAY, 9)).get_json()
    ids = [v["id"] for v in body["visits"]]
    db.session.get(Visit, ids[0]).status = "checked_in"
    db.session.get(Visit, ids[2]).status = "checked_in"
    db.session.commit()
    before = api_as(clinic.clerk).get(f"/courses/{body['id']}").get_json()
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": ids[0],
            "scope": "following",
            "infusion_start": iso(chicago(MONDAY + timedelta(days=1), 9)),
        },
    )
    assert_error(answer, 409, "conflict")
    db.session.rollback()
    assert api_as(clinic.clerk).get(f"/courses/{body['id']}").get_json() == before
    # From a booked visit, "following" moves the later booked visits and leaves the
    # checked-in one where it is, still checked in.
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": ids[1],
            "scope": "following",
            "infusion_start": iso(chicago(MONDAY + timedelta(days=4), 11)),
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    after = {v["id"]: v for v in answer.get_json()["visits"]}
    assert [after[i]["status"] for i in ids] == ["checked_in", "booked", "checked_in", "booked"]
    old = {v["id"]: v for v in before["visits"]}
    assert after[ids[2]]["infusion_start"] == old[ids[2]]["infusion_start"]
    assert after[ids[3]]["infusion_start"] != old[ids[3]]["infusion_start"]
