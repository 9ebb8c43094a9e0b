"""Dates and times read the same on every page: 24-hour clock, "Mon 30 Nov" days."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from clinic.web.dates import day, hm, hm_until, weekday, when

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CHICAGO = ZoneInfo("America/Chicago")
AFTERNOON = datetime(2026, 11, 30, 20, 5, tzinfo=UTC)  # 14:05 in Austin


def test_times_are_24_hour_in_the_sites_zone():
    assert hm(AFTERNOON, CHICAGO) == "14:05"
    assert hm(AFTERNOON, "America/Chicago") == "14:05"
    assert hm(AFTERNOON) == "20:05"  # no zone: UTC
    assert hm(AFTERNOON, CHICAGO, seconds=True) == "14:05:00"
    assert hm(None, CHICAGO) == ""


def test_a_span_ending_at_the_next_midnight_ends_at_24_00():
    start = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 00:00 in Austin
    midnight = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # the next local midnight
    assert hm_until(midnight, CHICAGO, start) == "24:00"
    assert hm_until(AFTERNOON, CHICAGO, start) == "14:05"
    assert hm_until(start, CHICAGO, start) == "00:00"  # an empty span does not end at 24:00
    assert hm_until(None, CHICAGO, start) == ""


def test_days_read_weekday_day_month():
    assert day(date(2026, 11, 30)) == "Mon 30 Nov"
    assert day(date(2026, 12, 1)) == "Tue 1 Dec"  # no leading zero
    assert day(date(2026, 12, 1), year=True) == "Tue 1 Dec 2026"
    assert day(date(1980, 3, 7), year=True, weekday=False) == "7 Mar 1980"
    assert weekday(date(2026, 11, 30)) == "Monday"


def test_an_instant_is_written_on_its_local_day():
    late = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # still Monday evening in Austin
    assert day(late, CHICAGO) == "Mon 30 Nov"
    assert when(late, CHICAGO) == "Mon 30 Nov 21:30"
    assert when(late, CHICAGO, year=True) == "Mon 30 Nov 2026 21:30"


def test_no_template_formats_dates_by_hand():
    """Every template goes through the filters, so no page drifts to another format."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"strftime|%H:%M|%d %b|local_time\(", line):
                offenders.append(f"{path.relative_to(TEMPLATES)}:{number}")
    assert offenders == []
