"""GET /api/v1/dashboard: contents, privacy, countdown, roles, ETag and query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import jsonify
from sqlalchemy import event

from clinic.extensions import db
from clinic.services import tokens
from tests.api.conftest import assert_error, iso, zulu
from tests.conftest import MONDAY, chicago, statements_of
from tests.services.visit_rows import put_reading, put_visit

EIGHT = chicago(MONDAY, 8)
DUE = chicago(MONDAY, 10, 45)  # a recovering visit booked at 08:00: 45 + 120 minutes
CONTRACT = [
    "id",
    "patient_label",
    "chair",
    "status",
    "infusion_started_at",
    "infusion_ended_at",
    "discharge_due_at",
    "seconds_to_discharge_due",
    "overdue",
    "latest_observation",
    "flags",
    "vitals_due",
]


@pytest.fixture
def seat(clinic, make_patient, make_chair):
    """Seat a new patient (Avery Quinn) in a chair, in a phase of the day."""

    def call(status: str, chair=None, start=EIGHT, site=None, **kwargs):
        site = site or clinic.site
        patient = make_patient(site, given_name="Avery", family_name="Quinn")
        return put_visit(site, chair or make_chair(site), patient, status, start, **kwargs)

    return call


@pytest.fixture
def board(api_as, clinic, frozen):
    """Read the dashboard as the nurse (or another user) at an instant."""

    def call(at=None, user=None, headers=None, **params):
        if at is not None:
            frozen.move_to(at)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return api_as(user or clinic.nurse).get(f"/dashboard?{query}", headers=headers or {})

    return call


def test_every_patient_in_care_and_nothing_else(board, seat, clinic, make_site):
    shown = [seat("checked_in", start=chicago(MONDAY, 10)), seat("infusing"), seat("recovering")]
    for status in ("booked", "discharged", "cancelled", "no_show"):
        seat(status)
    seat("recovering", site=make_site(name="Dallas"))
    response = board(chicago(MONDAY, 9))
    assert response.status_code == 200
    body = response.get_json()
    assert list(body)[:2] == ["server_time", "visits"]
    assert {v["id"] for v in body["visits"]} == {v.id for v in shown}
    assert {v["status"] for v in body["visits"]} == {"checked_in", "infusing", "recovering"}
    for visit in body["visits"]:
        assert list(visit)[: len(CONTRACT)] == CONTRACT


def test_a_row_shows_initials_and_the_chairs_name_never_the_full_name(
    board, seat, clinic, make_chair
):
    chair = make_chair(clinic.site, "Window chair")
    visit = seat("recovering", chair=chair)
    response = board(chicago(MONDAY, 9))
    row = response.get_json()["visits"][0]
    assert row["id"] == visit.id
    assert row["patient_label"] == "AQ"
    assert row["chair"] == "Window chair"
    assert row["infusion_started_at"] == zulu(EIGHT)
    assert row["infusion_ended_at"] == zulu(chicago(MONDAY, 8, 45))
    assert row["discharge_due_at"] == zulu(DUE)
    text = response.get_data(as_text=True)
    assert "Avery" not in text and "Quinn" not in text and visit.patient.mrn not in text


def test_server_time_and_seconds_to_discharge_due(board, seat):
    seat("recovering")
    body = board(DUE - timedelta(minutes=10)).get_json()
    assert body["server_time"].endswith("Z")
    row = body["visits"][0]
    # The clock ticks while the request runs: allow a second or two.
    assert 598 <= row["seconds_to_discharge_due"] <= 600
    assert row["countdown"] == "amber" and row["overdue"] is False


@pytest.mark.parametrize(
    ("after_due", "overdue"),
    [(timedelta(minutes=14, seconds=50), False), (timedelta(minutes=15, seconds=2), True)],
)
def test_overdue_after_the_sites_minutes(board, seat, after_due, overdue):
    seat("recovering")
    row = board(DUE + after_due).get_json()["visits"][0]
    assert row["overdue"] is overdue
    assert row["seconds_to_discharge_due"] < 0


def test_not_overdue_before_the_infusion_ends(board, seat):
    seat("infusing")
    row = board(chicago(MONDAY, 8, 30)).get_json()["visits"][0]
    assert row["discharge_due_at"] is None and row["seconds_to_discharge_due"] is None
    assert row["overdue"] is False and row["countdown"] == "none"


def test_latest_observation_flags_and_vitals_due(board, seat, api_as, clinic):
    visit = seat("infusing")
    put_reading(visit, chicago(MONDAY, 7, 55))
    row = board(chicago(MONDAY, 8, 41)).get_json()["visits"][0]
    assert row["latest_observation"]["at"] == zulu(chicago(MONDAY, 7, 55))
    assert row["flags"] == []
    assert [(d["kind"], d["due_at"]) for d in row["vitals_due"]] == [
        ("peak", zulu(chicago(MONDAY, 8, 40)))
    ]
    assert row["vitals_missed"] == []
    reading = {"systolic": 182, "diastolic": 100, "heart_rate": 80, "spo2": 97}
    posted = api_as(clinic.nurse).post(f"/visits/{visit.id}/observations", json=reading)
    assert posted.status_code == 201
    row = board().get_json()["visits"][0]
    assert row["latest_observation"]["id"] == posted.get_json()["id"]
    assert row["flags"] == ["bp_high", "bp_critical", "bp_above_baseline"]
    assert row["vitals_due"] == []


def test_a_long_infusion_shows_its_clash_with_the_chairs_next_booking(
    board, seat, clinic, make_chair
):
    chair = make_chair(clinic.site)
    seat("recovering", chair=chair, ended_late=20)  # chair free at 11:20
    seat("booked", chair=chair, start=chicago(MONDAY, 11))
    row = board(chicago(MONDAY, 9)).get_json()["visits"][0]
    assert row["chair_clash_minutes"] == 20
    assert row["next_chair_booking_at"] == zulu(chicago(MONDAY, 11))
    assert row["expected_chair_release"] == zulu(chicago(MONDAY, 11, 20))


@pytest.mark.parametrize("role", ["front_desk", "nurse", "practitioner", "admin"])
def test_every_role_may_read_the_dashboard(board, seat, clinic, make_user, role):
    seat("recovering")
    user = make_user(role, [clinic.site])
    response = board(chicago(MONDAY, 9), user=user, site_id=clinic.site.id)
    assert response.status_code == 200
    assert len(response.get_json()["visits"]) == 1


def test_site_id_defaults_to_the_callers_only_site(board, clinic, make_site, make_user, seat):
    seat("recovering")
    assert len(board(chicago(MONDAY, 9)).get_json()["visits"]) == 1
    two = make_user("nurse", [clinic.site, make_site(name="Dallas")])
    assert "site_id" in assert_error(board(user=two), 422, "invalid")["fields"]
    assert "site_id" in assert_error(board(user=clinic.admin), 422, "invalid")["fields"]
    assert board(user=clinic.admin, site_id=clinic.site.id).status_code == 200


def test_another_site_or_a_bad_site_id(board, clinic, make_site):
    dallas = make_site(name="Dallas")
    assert_error(board(site_id=dallas.id), 404, "not_found")
    assert_error(board(site_id=999999), 404, "not_found")
    assert_error(board(site_id="abc"), 422, "invalid")
    assert_error(board(site_id=2**40), 422, "invalid")


def test_no_token_is_401(client):
    assert_error(client.get("/api/v1/dashboard"), 401, "unauthorized")


# ---------------------------------------------------------------- ETag


def test_an_unchanged_dashboard_answers_304_even_as_the_seconds_tick(board, seat):
    seat("recovering")
    first = board(DUE - timedelta(minutes=30))
    etag = first.headers["ETag"]
    assert etag and first.headers["X-Server-Time"] == first.get_json()["server_time"]
    # Five seconds later the countdown has moved, but nothing the ETag covers has.
    again = board(DUE - timedelta(minutes=30, seconds=-5), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["X-Server-Time"].startswith("2026-11-30T")


def test_a_reading_or_an_event_changes_the_etag(board, seat, api_as, clinic):
    visit = seat("recovering")
    at = DUE - timedelta(minutes=30)
    etag = board(at).headers["ETag"]
    reading = {"systolic": 120, "diastolic": 80, "heart_rate": 70, "spo2": 98}
    api_as(clinic.nurse).post(f"/visits/{visit.id}/observations", json=reading)
    changed = board(headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    etag = changed.headers["ETag"]
    assert board(headers={"If-None-Match": etag}).status_code == 304
    extend = {"type": "extend_observation", "minutes": 15, "reason": "Dizzy"}
    api_as(clinic.nurse).post(f"/visits/{visit.id}/events", json=extend)
    changed = board(headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["visits"][0]["discharge_due_at"] == zulu(DUE + timedelta(minutes=15))


def test_a_patient_arriving_or_leaving_changes_the_etag(board, seat, api_as, clinic, make_visit):
    seat("recovering")
    etag = board(chicago(MONDAY, 9)).headers["ETag"]
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 10))
    assert board(headers={"If-None-Match": etag}).status_code == 304  # booked: not shown
    api_as(clinic.clerk).post(
        f"/visits/{visit.id}/events", json={"type": "check_in", "at": iso(chicago(MONDAY, 9))}
    )
    assert board(headers={"If-None-Match": etag}).status_code == 200


def test_turning_overdue_changes_the_etag(board, seat):
    seat("recovering")
    etag = board(DUE + timedelta(minutes=14, seconds=58)).headers["ETag"]
    assert (
        board(DUE + timedelta(minutes=15, seconds=1), headers={"If-None-Match": etag}).status_code
        == 200
    )


# ---------------------------------------------------------------- queries


def test_the_number_of_queries_does_not_grow_with_the_visits(board, seat, clinic):
    def seat_many(count: int) -> None:
        for i in range(count):
            visit = seat(("checked_in", "infusing", "recovering")[i % 3])
            put_reading(visit, chicago(MONDAY, 7, 55))
            put_reading(visit, chicago(MONDAY, 8, 40), systolic=150)
            seat("booked", chair=visit.chair, start=chicago(MONDAY, 12))

    def queries() -> tuple[int, int]:
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = board(chicago(MONDAY, 9))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements), len(response.get_json()["visits"])

    seat_many(3)
    few, rows = queries()
    assert rows == 3
    seat_many(27)
    many, rows = queries()
    assert rows == 30
    assert many == few


def test_a_renamed_chair_or_patient_shows_on_the_very_next_request(board, seat, clinic, make_chair):
    # Neither touches the visit's updated_at: a cache keyed on the visits alone would miss both.
    chair = make_chair(clinic.site, "Window chair")
    visit = seat("recovering", chair=chair)
    first = board(chicago(MONDAY, 9))
    etag = first.headers["ETag"]
    chair.name = "Garden chair"
    db.session.commit()
    renamed = board(headers={"If-None-Match": etag})
    assert renamed.status_code == 200
    assert renamed.get_json()["visits"][0]["chair"] == "Garden chair"
    visit.patient.given_name = "Blake"
    db.session.commit()
    row = board(headers={"If-None-Match": renamed.headers["ETag"]}).get_json()["visits"][0]
    assert row["patient_label"] == "BQ"


def test_an_unchanged_dashboard_poll_reads_the_version_and_builds_nothing(
    api_as, seat, clinic, frozen
):
    for i in range(30):
        visit = seat(("checked_in", "infusing", "recovering")[i % 3])
        put_reading(visit, chicago(MONDAY, 7, 55))
    frozen.move_to(chicago(MONDAY, 9))
    api = api_as(clinic.nurse)
    first = api.get("/dashboard")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    for warm_token in (False, True):
        if not warm_token:
            tokens.forget_checked()
        again, statements = statements_of(
            lambda: api.get("/dashboard", headers={"If-None-Match": etag})
        )
        assert again.status_code == 304
        # The token with its user and sites (or, checked by this process a moment ago, the
        # user and sites alone: never a kept copy), and the site's board version: no visit,
        # reading or audit row is read or written.
        assert len(statements) == 2, statements
        assert "board_version" in statements[-1]


def test_a_kept_answer_has_its_clock_fields_at_the_request(board, seat):
    seat("recovering")
    first = board(DUE - timedelta(minutes=10, seconds=30)).get_json()
    kept = board(DUE - timedelta(minutes=10, seconds=10)).get_json()  # same minute: kept
    assert kept["server_time"] > first["server_time"]
    moved = (
        first["visits"][0]["seconds_to_discharge_due"]
        - kept["visits"][0]["seconds_to_discharge_due"]
    )
    assert 19 <= moved <= 21  # the clock ticks while a request runs
    steady = [
        {k: v for k, v in body["visits"][0].items() if k != "seconds_to_discharge_due"}
        for body in (first, kept)
    ]
    assert steady[0] == steady[1]


def test_a_kept_answer_is_the_text_jsonify_writes(app, board, seat, clinic):
    seat("recovering")
    seat("infusing", chair=None)  # no discharge due yet: its seconds are null
    board(DUE - timedelta(minutes=10, seconds=30))
    kept = board(DUE - timedelta(minutes=10, seconds=10))  # same minute: from the kept text
    body = kept.get_json()
    assert [v["seconds_to_discharge_due"] for v in body["visits"]].count(None) == 1
    with app.test_request_context():
        assert kept.get_data() == jsonify(body).get_data()
