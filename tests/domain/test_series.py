"""Moving a course's dates keeps their local time across DST (America/Chicago, 2026)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.domain.series import move_series, repattern

CHICAGO = ZoneInfo("America/Chicago")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def test_following_keeps_local_time_across_spring_forward():
    starts = [
        local(2026, 3, 2, 9),
        local(2026, 3, 5, 9),
        local(2026, 3, 9, 9),
        local(2026, 3, 12, 9),
    ]
    moved = move_series(starts, local(2026, 3, 3, 9), CHICAGO, following=True)
    assert [m.astimezone(CHICAGO).replace(tzinfo=None) for m in moved] == [
        datetime(2026, 3, 3, 9),
        datetime(2026, 3, 6, 9),
        datetime(2026, 3, 10, 9),
        datetime(2026, 3, 13, 9),
    ]
    # Before the change 09:00 is 15:00 UTC, after it 14:00 UTC.
    assert moved[0] == datetime(2026, 3, 3, 15, tzinfo=UTC)
    assert moved[2] == datetime(2026, 3, 10, 14, tzinfo=UTC)


def test_following_keeps_local_time_across_fall_back():
    starts = [local(2026, 10, 26, 9), local(2026, 10, 29, 9), local(2026, 11, 2, 9)]
    moved = move_series(starts, local(2026, 10, 27, 10, 30), CHICAGO, following=True)
    assert [m.astimezone(CHICAGO).replace(tzinfo=None) for m in moved] == [
        datetime(2026, 10, 27, 10, 30),
        datetime(2026, 10, 30, 10, 30),
        datetime(2026, 11, 3, 10, 30),
    ]
    assert moved[2] - moved[1] == timedelta(days=4, hours=1)  # one more hour in the night


def test_this_moves_only_the_chosen_date():
    starts = [local(2026, 3, 2, 9), local(2026, 3, 9, 9)]
    moved = move_series(starts, local(2026, 3, 3, 11), CHICAGO, following=False)
    assert moved == [local(2026, 3, 3, 11).astimezone(UTC), starts[1].astimezone(UTC)]


def test_empty_series_moves_nothing():
    assert move_series([], local(2026, 3, 3, 9), CHICAGO, following=True) == []


def test_a_new_pattern_takes_the_next_chosen_weekdays_at_the_new_local_time():
    # From Monday/Thursday to Tuesday/Friday 10:30 across the fall-back change (1 November).
    moved = repattern(local(2026, 10, 27, 10, 30), 4, {1, 4}, CHICAGO)
    assert [m.astimezone(CHICAGO).replace(tzinfo=None) for m in moved] == [
        datetime(2026, 10, 27, 10, 30),
        datetime(2026, 10, 30, 10, 30),
        datetime(2026, 11, 3, 10, 30),
        datetime(2026, 11, 6, 10, 30),
    ]
    assert moved[1] == datetime(2026, 10, 30, 15, 30, tzinfo=UTC)  # CDT
    assert moved[2] == datetime(2026, 11, 3, 16, 30, tzinfo=UTC)  # CST


def test_a_new_pattern_starts_on_the_chosen_date_whatever_its_weekday():
    # The first date is where the desk put it (a Wednesday); the rest are weekly Mondays.
    moved = repattern(local(2026, 3, 4, 9), 3, {0}, CHICAGO)
    assert [m.astimezone(CHICAGO).date().isoformat() for m in moved] == [
        "2026-03-04",
        "2026-03-09",  # after spring forward: still 09:00 local
        "2026-03-16",
    ]
    assert {m.astimezone(CHICAGO).hour for m in moved} == {9}


@pytest.mark.parametrize("weekdays", [set(), {7}, {-1, 2}])
def test_a_new_pattern_needs_real_weekdays(weekdays):
    with pytest.raises(ValueError):
        repattern(local(2026, 3, 4, 9), 3, weekdays, CHICAGO)
