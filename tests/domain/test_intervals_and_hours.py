"""Half-open intervals and a site's opening hours, DST days included."""

from datetime import UTC, date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.domain.booking import OpeningHours
from clinic.domain.intervals import Interval, covered, merge

from .factories import CHICAGO, local, span

EVERY_DAY = OpeningHours({d: (9 * 60, 17 * 60) for d in range(7)})
AROUND_THE_CLOCK = OpeningHours({d: (0, 1440) for d in range(7)})


def test_touching_intervals_do_not_overlap():
    assert not span("09:00", "10:00").overlaps(span("10:00", "11:00"))
    assert span("09:00", "10:01").overlaps(span("10:00", "11:00"))


def test_naive_bounds_are_refused():
    with pytest.raises(ValueError):
        Interval(local("09:00").replace(tzinfo=None), local("10:00"))


def test_covered_by_a_handoff_union_but_not_across_a_gap():
    assert covered(span("09:00", "12:00"), [span("08:00", "10:00"), span("10:00", "13:00")])
    assert not covered(span("09:00", "12:00"), [span("08:00", "10:00"), span("10:01", "13:00")])


@given(st.lists(st.tuples(st.integers(0, 600), st.integers(0, 120)), max_size=8))
def test_merge_keeps_every_instant_and_returns_disjoint_blocks(raw):
    base = local("00:00")
    pieces = [
        Interval(base + timedelta(minutes=s), base + timedelta(minutes=s + n)) for s, n in raw
    ]
    merged = merge(pieces)
    assert all(a.end < b.start for a, b in pairwise(merged))
    for piece in pieces:
        assert covered(piece, merged)


@pytest.mark.parametrize(
    ("day", "hours", "length"),
    [
        ("2026-03-08", EVERY_DAY, timedelta(hours=8)),
        ("2026-11-01", EVERY_DAY, timedelta(hours=8)),
        ("2026-03-08", AROUND_THE_CLOCK, timedelta(hours=23)),
        ("2026-11-01", AROUND_THE_CLOCK, timedelta(hours=25)),
        ("2026-03-10", AROUND_THE_CLOCK, timedelta(hours=24)),
    ],
)
def test_open_interval_length_on_dst_days(day, hours, length):
    interval = hours.interval_on(date.fromisoformat(day), CHICAGO)
    assert interval.end - interval.start == length


@pytest.mark.parametrize("day", ["2026-03-06", "2026-03-08", "2026-03-09", "2026-11-02"])
def test_nine_oclock_opening_stays_nine_local_across_dst(day):
    interval = EVERY_DAY.interval_on(date.fromisoformat(day), CHICAGO)
    assert interval.start == local(f"{day} 09:00")
    assert interval.start.astimezone(CHICAGO).hour == 9
    assert interval.end.astimezone(CHICAGO).hour == 17


def test_utc_offsets_of_nine_oclock_before_and_after_each_dst_change():
    def utc_hour(day: str) -> int:
        return EVERY_DAY.interval_on(date.fromisoformat(day), CHICAGO).start.hour

    assert (utc_hour("2026-03-06"), utc_hour("2026-03-09")) == (15, 14)
    assert (utc_hour("2026-10-30"), utc_hour("2026-11-02")) == (14, 15)


def test_interval_is_in_utc():
    interval = EVERY_DAY.interval_on(date(2026, 3, 10), CHICAGO)
    assert interval.start.tzinfo is UTC and interval.end.tzinfo is UTC


def test_close_at_1440_is_next_local_midnight():
    hours = OpeningHours({1: (20 * 60, 1440)})
    interval = hours.interval_on(date(2026, 3, 10), CHICAGO)
    assert interval == Interval(local("2026-03-10 20:00"), local("2026-03-11 00:00"))


def test_closed_or_missing_day_has_no_interval():
    hours = OpeningHours({0: (480, 1080), 6: None})
    assert hours.interval_on(date(2026, 3, 15), CHICAGO) is None  # Sunday: None
    assert hours.interval_on(date(2026, 3, 10), CHICAGO) is None  # Tuesday: not listed
