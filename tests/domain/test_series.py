"""Moving a course's dates keeps their local time across DST (America/Chicago, 2026)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.series import move_series

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
