"""The reports' pure figures: ranges of local days, open minutes across DST, clipping, p90."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from clinic.domain.booking import OpeningHours
from clinic.domain.intervals import Interval
from clinic.domain.reports import (
    MAX_REPORT_DAYS,
    clipped,
    median,
    open_days,
    percentile,
    range_problems,
)

CHICAGO = ZoneInfo("America/Chicago")
ROUND_THE_CLOCK = OpeningHours({d: (0, 1440) for d in range(7)})
OFFICE = OpeningHours({d: (8 * 60, 18 * 60) if d < 5 else None for d in range(7)})


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 2, hour, minute, tzinfo=UTC)


def test_the_dst_days_have_23_and_25_hours():
    spring = open_days(date(2026, 3, 7), date(2026, 3, 9), ROUND_THE_CLOCK, CHICAGO)
    autumn = open_days(date(2026, 10, 31), date(2026, 11, 2), ROUND_THE_CLOCK, CHICAGO)
    assert [d.open_minutes for d in spring] == [1440, 1380, 1440]
    assert [d.open_minutes for d in autumn] == [1440, 1500, 1440]


def test_office_hours_stay_ten_hours_across_the_change_and_closed_days_count_zero():
    days = open_days(date(2026, 10, 31), date(2026, 11, 2), OFFICE, CHICAGO)
    assert [(d.day.isoformat(), d.open_minutes) for d in days] == [
        ("2026-10-31", 0),
        ("2026-11-01", 0),
        ("2026-11-02", 600),
    ]
    # After the change Austin is UTC-6: 08:00-18:00 is 14:00-00:00 UTC.
    assert days[2].hours == Interval(utc(14), datetime(2026, 11, 3, tzinfo=UTC))


def test_clipping_keeps_the_part_inside_the_window():
    window = Interval(utc(14), utc(20))
    assert clipped(utc(13), utc(15), window) == Interval(utc(14), utc(15))
    assert clipped(utc(15), utc(16), window) == Interval(utc(15), utc(16))
    assert clipped(utc(19), utc(21), window) == Interval(utc(19), utc(20))
    assert clipped(utc(10), utc(14), window) is None  # half-open: touching is not meeting
    assert clipped(utc(20), utc(21), window) is None


@pytest.mark.parametrize(
    ("first", "last", "problem"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), None),
        (date(2028, 1, 1), date(2028, 12, 31), None),  # a leap year: 366 days
        (date(2026, 1, 2), date(2026, 1, 1), "Must be on or after the first day."),
        (date(2026, 1, 1), date(2027, 1, 2), f"A report covers at most {MAX_REPORT_DAYS} days."),
    ],
)
def test_a_range_is_one_to_366_days(first, last, problem):
    assert range_problems(first, last) == ({"to": problem} if problem else {})


def test_days_far_from_now_are_refused_before_any_datetime_overflows():
    outside = "Must be between 2000-01-01 and 2199-12-31."
    assert range_problems(date(9999, 12, 31), date(9999, 12, 31)) == {
        "from": outside,
        "to": outside,
    }
    assert range_problems(date(1, 1, 1), date(2026, 1, 1)) == {"from": outside}


def test_median_and_p90_interpolate_like_percentile_cont():
    assert median([]) is None
    assert median([7]) == 7
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 10]) == 2.5
    assert percentile([45, 50, 45], 0.9) == pytest.approx(49.0)
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)
    assert percentile([5, 1], 1.0) == 5
