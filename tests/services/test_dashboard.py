"""The dashboard service: who is on it, their countdowns, vitals due, and chair clashes."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from clinic.extensions import db
from clinic.services.dashboard import load_dashboard
from clinic.services.errors import Invalid, NotFound
from tests.conftest import MONDAY, add_negative_screen, chicago
from tests.services.visit_rows import put_reading, put_visit

EIGHT = chicago(MONDAY, 8)


@contextmanager
def counting_queries():
    """Count the SQL statements sent while the block runs."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def ward(clinic, make_chair, make_patient):
    """Austin with six chairs and a helper that seats a new patient in a phase of the day."""
    chairs = clinic.chairs + [make_chair(clinic.site, f"Chair {i}") for i in range(4, 7)]

    def seat(status: str, chair: int = 0, start=EIGHT, **kwargs):
        patient = make_patient(clinic.site, given_name="Avery", family_name="Quinn")
        return put_visit(clinic.site, chairs[chair], patient, status, start, **kwargs)

    clinic.chairs = chairs
    clinic.seat = seat
    return clinic


def test_only_patients_in_care_at_the_site_are_shown(ward, make_site, make_chair, make_patient):
    shown = [
        ward.seat("checked_in", 0, start=chicago(MONDAY, 10)),
        ward.seat("infusing", 1),
        ward.seat("recovering", 2),
    ]
    for status in ("booked", "discharged", "cancelled", "no_show"):
        ward.seat(status, 3)
    dallas = make_site(name="Dallas")
    put_visit(dallas, make_chair(dallas), make_patient(dallas), "recovering", EIGHT)

    board = load_dashboard(ward.nurse, ward.site.id, chicago(MONDAY, 9))
    assert [row.visit.id for row in board.rows] == [v.id for v in shown]
    assert board.site == ward.site and board.now == chicago(MONDAY, 9)
    row = board.rows[1]
    assert row.patient_label == "AQ"
    assert row.chair == ward.chairs[1].name
    assert row.recovery_chair == ward.chairs[1].name  # chair mode: recovers in the chair
    assert row.expected_bay_release is None and row.bay_clash_minutes == 0


def test_the_site_defaults_to_the_users_only_site(ward, make_site, make_user):
    ward.seat("recovering")
    assert len(load_dashboard(ward.nurse, None, chicago(MONDAY, 9)).rows) == 1
    two_sites = make_user("nurse", [ward.site, make_site(name="Dallas")])
    with pytest.raises(Invalid):
        load_dashboard(two_sites, None, chicago(MONDAY, 9))
    with pytest.raises(NotFound):
        load_dashboard(make_user("nurse", [make_site(name="Waco")]), ward.site.id, EIGHT)


@pytest.mark.parametrize(
    ("after_due", "countdown", "seconds", "overdue"),
    [
        (timedelta(minutes=-11), "ok", 660, False),
        (timedelta(minutes=-10), "amber", 600, False),
        (timedelta(seconds=-1), "amber", 1, False),
        (timedelta(0), "due", 0, False),
        (timedelta(minutes=15), "due", -900, False),
        (timedelta(minutes=15, seconds=1), "overdue", -901, True),
    ],
)
def test_countdown_to_discharge_due(ward, after_due, countdown, seconds, overdue):
    visit = ward.seat("recovering")  # infusion 08:00-08:45, due 10:45
    row = load_dashboard(ward.nurse, ward.site.id, visit.discharge_due_at + after_due).rows[0]
    assert row.countdown == countdown
    assert row.seconds_to_discharge_due == seconds
    assert row.overdue is overdue


def test_overdue_follows_the_sites_setting(ward):
    ward.site.overdue_after_minutes = 5
    db.session.commit()
    visit = ward.seat("recovering")
    later = visit.discharge_due_at + timedelta(minutes=5, seconds=1)
    assert load_dashboard(ward.nurse, ward.site.id, later).rows[0].overdue is True


def test_no_countdown_before_the_infusion_ends(ward):
    ward.seat("infusing")
    row = load_dashboard(ward.nurse, ward.site.id, chicago(MONDAY, 8, 30)).rows[0]
    assert row.countdown == "none"
    assert row.seconds_to_discharge_due is None and row.overdue is False


def test_phase_and_minutes_in_it(ward):
    ward.seat("infusing")
    row = load_dashboard(
        ward.nurse,
        ward.site.id,
        chicago(
            MONDAY,
            8,
            30,
        ),
    ).rows[0]
    assert row.phase_started_at == EIGHT
    assert row.minutes_in_phase == 30


def test_latest_reading_and_its_flags(ward):
    visit = ward.seat("recovering")
    put_reading(visit, chicago(MONDAY, 8, 50), systolic=170, flags=["bp_high"])
    put_reading(visit, chicago(MONDAY, 7, 55))
    row = load_dashboard(ward.nurse, ward.site.id, chicago(MONDAY, 9)).rows[0]
    assert row.latest.at == chicago(MONDAY, 8, 50)
    assert row.flags == ["bp_high"]
    assert [r.at for r in row.readings] == [chicago(MONDAY, 7, 55), chicago(MONDAY, 8, 50)]


def test_vitals_due_and_missed(ward):
    visit = ward.seat("infusing")  # checked in 07:50, started 08:00
    now = chicago(MONDAY, 8, 41)
    row = load_dashboard(ward.nurse, ward.site.id, now).rows[0]
    # No baseline was taken before the start (missed); the 40-minute reading is due.
    assert [(i.kind, i.state) for i in row.vitals] == [("baseline", "missed"), ("peak", "due")]
    assert [i.kind for i in row.vitals_due] == ["peak"]
    assert [i.kind for i in row.vitals_missed] == ["baseline"]
    assert row.vitals_next.kind == "peak"
    put_reading(visit, chicago(MONDAY, 7, 55))
    put_reading(visit, chicago(MONDAY, 8, 40))
    row = load_dashboard(ward.nurse, ward.site.id, now).rows[0]
    assert [i.state for i in row.vitals] == ["done", "done"]
    assert row.vitals_due == [] and row.vitals_missed == [] and row.vitals_next is None


def test_on_time_visit_does_not_clash_with_the_next_booking(ward):
    ward.seat("recovering", 0)  # chair held until 10:45 + 15 min turnover
    following = ward.seat("booked", 0, start=chicago(MONDAY, 11))
    row = load_dashboard(ward.nurse, ward.site.id, chicago(MONDAY, 9)).rows[0]
    assert row.next_chair_booking.visit_id == following.id
    assert row.expected_chair_release == chicago(MONDAY, 11)
    assert row.chair_clash_minutes == 0


def test_a_long_infusion_clashes_with_the_chairs_next_booking(ward):
    ward.seat("recovering", 0, ended_late=20)  # due 11:05, chair free at 11:20
    ward.seat("booked", 0, start=chicago(MONDAY, 11))
    ward.seat("booked", 0, start=chicago(MONDAY, 14))
    ward.seat("booked", 1, start=chicago(MONDAY, 11))  # another chair: not this one's
    row = load_dashboard(ward.nurse, ward.site.id, chicago(MONDAY, 9)).rows[0]
    assert row.next_chair_booking.starts_at == chicago(MONDAY, 11)
    assert row.chair_clash_minutes == 20


def test_an_infusion_still_running_past_its_end_pushes_the_release(ward):
    ward.seat("infusing", 0)  # planned end 08:45; still running at 09:00
    ward.seat("booked", 0, start=chicago(MONDAY, 11))
    row = load_dashboard(ward.nurse, ward.site.id, chicago(MONDAY, 9)).rows[0]
    # Ends no earlier than now (09:00): + 120 observation + 15 turnover = 11:15.
    assert row.expected_chair_release == chicago(MONDAY, 11, 15)
    assert row.chair_clash_minutes == 15


def test_bay_mode_clashes_on_the_chair_and_on_the_bay(ward, make_chair):
    ward.site.recovery_mode = "bay"
    db.session.commit()
    bay = make_chair(ward.site, "Bay 1", kind="recovery_bay")
    ward.seat("infusing", 0, bay=bay)  # still infusing at 09:10, planned to end 08:45
    ward.seat("booked", 0, start=chicago(MONDAY, 9), bay=None)
    ward.seat("booked", 1, start=chicago(MONDAY, 10), bay=bay)  # bay from 10:45
    now = chicago(MONDAY, 9, 10)
    row = load_dashboard(ward.nurse, ward.site.id, now).rows[0]
    assert row.recovery_chair == "Bay 1"
    assert row.expected_chair_release == now + timedelta(minutes=15)
    assert row.chair_clash_minutes == 25  # chair free at 09:25, next starts 09:00
    assert row.next_bay_booking.starts_at == chicago(MONDAY, 10, 45)
    assert row.expected_bay_release == now + timedelta(minutes=135)  # 11:25
    assert row.bay_clash_minutes == 40


def test_a_constant_number_of_queries_whatever_the_number_of_visits(ward, make_chair):
    def seat_many(count: int, first_chair: int) -> None:
        for i in range(count):
            chair = make_chair(ward.site, f"Extra {first_chair + i}")
            ward.chairs.append(chair)
            index = len(ward.chairs) - 1
            visit = ward.seat(("checked_in", "infusing", "recovering")[i % 3], index)
            put_reading(visit, chicago(MONDAY, 7, 55))
            put_reading(visit, chicago(MONDAY, 8, 40), systolic=150)
            add_negative_screen(visit.id, chicago(MONDAY, 7, 50))
            ward.seat("booked", index, start=chicago(MONDAY, 12))

    def queries() -> int:
        site_id, nurse = ward.site.id, ward.nurse
        db.session.expire_all()
        with counting_queries() as statements:
            board = load_dashboard(nurse, site_id, chicago(MONDAY, 9))
            assert all(row.latest is not None for row in board.rows)
            # The day's screener is read for every card: nothing is due.
            assert {row.screen.state for row in board.rows} == {""}
        return len(statements), len(board.rows)

    seat_many(3, 100)
    few, rows = queries()
    assert rows == 3
    seat_many(27, 200)
    many, rows = queries()
    assert rows == 30
    assert many == few
    # The site, the user and their sites (access), visits, readings, next bookings, and the
    # screening: measures, reviews.
    assert few <= 8
