"""One way to write dates and times on every page: a 24-hour clock and "Mon 30 Nov" days.

Templates use the filters registered by `init_app` (`hm`, `hm_until`, `day`, `when`,
`weekday`); Python code that writes a time into a message uses the same functions, so the desk
reads one format everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from flask import Flask

Zone = tzinfo | str | None


def _zone(tz: Zone) -> tzinfo:
    if tz is None:
        return UTC
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _local(instant: datetime, tz: Zone) -> datetime:
    if instant.tzinfo is None:  # naive instants are UTC everywhere in this app
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(_zone(tz))


def hm(instant: datetime | None, tz: Zone = None, seconds: bool = False) -> str:
    """Write an instant as the 24-hour wall-clock time of a zone: "14:05"."""
    if instant is None:
        return ""
    return f"{_local(instant, tz):%H:%M:%S}" if seconds else f"{_local(instant, tz):%H:%M}"


def hm_until(end: datetime | None, tz: Zone, start: datetime) -> str:
    """Write the end of a span begun at `start`: midnight closing that day reads "24:00"."""
    if end is None:
        return ""
    local_end = _local(end, tz)
    if local_end.time() == datetime.min.time() and local_end.date() > _local(start, tz).date():
        return "24:00"
    return hm(end, tz)


def day(
    value: date | datetime | None, tz: Zone = None, year: bool = False, weekday: bool = True
) -> str:
    """Write a day as "Mon 30 Nov" (an instant: its local day), with the year if asked."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    text = f"{value.day} {value:%b}"
    if weekday:
        text = f"{value:%a} {text}"
    return f"{text} {value.year}" if year else text


def when(
    instant: datetime | None, tz: Zone = None, year: bool = False, seconds: bool = False
) -> str:
    """Write an instant as "Mon 30 Nov 14:05" in a zone's wall-clock time."""
    if instant is None:
        return ""
    return f"{day(instant, tz, year=year)} {hm(instant, tz, seconds=seconds)}"


def weekday(value: date, full: bool = True) -> str:
    """Name a day's weekday: "Monday" (or "Mon")."""
    return f"{value:%A}" if full else f"{value:%a}"


def init_app(app: Flask) -> None:
    """Register the date filters for every template."""
    app.add_template_filter(hm, "hm")
    app.add_template_filter(hm_until, "hm_until")
    app.add_template_filter(day, "day")
    app.add_template_filter(when, "when")
    app.add_template_filter(weekday, "weekday")
