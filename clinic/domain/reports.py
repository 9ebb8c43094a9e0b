"""The owner's reports: date ranges in site-local days, clipped intervals, medians and p90s.

Pure functions: the service sums and counts in SQL and hands the few numbers left here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.booking import OpeningHours
from clinic.domain.intervals import Interval

# One report covers at most a leap year of local days (a year's report answers in < 1 s).
MAX_REPORT_DAYS = 366
# Days a report may name (as the day pages): far enough to be any clinic's, near enough that
# a day's bounds in any time zone stay valid datetimes.
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


@dataclass(frozen=True)
class OpenDay:
    """One local day of a report and its open hours as UTC instants (None: closed)."""

    day: date
    hours: Interval | None

    @property
    def open_minutes(self) -> int:
        """Return how long the site is open that day (a DST day may have 23 or 25 hours)."""
        return 0 if self.hours is None else minutes_of(self.hours)


def range_problems(first: date, last: date) -> dict[str, str]:
    """Return what is wrong with a report's range of days, by field (both days included)."""
    outside = f"Must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
    problems = {
        name: outside
        for name, day in (("from", first), ("to", last))
        if not EARLIEST <= day <= LATEST
    }
    if problems:
        return problems
    if last < first:
        return {"to": "Must be on or after the first day."}
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        return {"to": f"A report covers at most {MAX_REPORT_DAYS} days."}
    return {}


def open_days(first: date, last: date, hours: OpeningHours, tz: ZoneInfo) -> list[OpenDay]:
    """Return every local day from first to last with its open interval."""
    count = (last - first).days + 1
    days = (first + timedelta(days=n) for n in range(count))
    return [OpenDay(day, hours.interval_on(day, tz)) for day in days]


def minutes_of(interval: Interval) -> int:
    """Return an interval's length in whole minutes (absolute time, DST-proof)."""
    return round((interval.end - interval.start).total_seconds() / 60)


def clipped(start: datetime, end: datetime, window: Interval) -> Interval | None:
    """Return the part of [start, end) inside the window, or None when they do not meet."""
    low, high = max(start, window.start), min(end, window.end)
    return Interval(low, high) if low < high else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Return the linearly interpolated percentile (PostgreSQL's percentile_cont), or None."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below, above = math.floor(position), math.ceil(position)
    share = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * share


def median(values: Sequence[float]) -> float | None:
    """Return the median of the values, or None when there are none."""
    return percentile(values, 0.5)


def rounded(value: float | None, places: int = 1) -> float | None:
    """Round a figure for an answer; None stays None."""
    return None if value is None else round(value, places)
