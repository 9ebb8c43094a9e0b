"""Calendar files (RFC 5545 via the icalendar package): the .ics an e-mail to a patient
carries, and the staff's subscribed calendar feeds.

One event per visit: its UID never changes, SEQUENCE rises with every move, and a cancel is
STATUS:CANCELLED (in an e-mail also METHOD:CANCEL), so a calendar updates or removes the same
entry. DTSTART and DTEND carry the site's TZID (with its VTIMEZONE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

PRODID = "-//Infusion Desk//Appointments//EN"


def uid(visit_id: int, domain: str) -> str:
    """Return the visit's stable UID."""
    return f"visit-{visit_id}@{domain}"


@dataclass(frozen=True)
class FeedEvent:
    """What a feed shows of one visit: no names, only the patient's initials and the chair."""

    visit_id: int
    sequence: int
    cancelled: bool
    summary: str
    location: str
    description: str
    start: datetime
    end: datetime
    modified: datetime


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _event(
    visit_id: int, domain: str, sequence: int, cancelled: bool, tz: ZoneInfo, **times: datetime
) -> Event:
    """Return a visit's event with what every calendar file gives it."""
    event = Event()
    event.add("uid", uid(visit_id, domain))
    event.add("sequence", sequence)
    event.add("dtstamp", times["now"])
    event.add("dtstart", times["start"].astimezone(tz))
    event.add("dtend", times["end"].astimezone(tz))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def build(
    *,
    visit_id: int,
    domain: str,
    sequence: int,
    cancelled: bool,
    site: str,
    start: datetime,
    end: datetime,
    timezone: str,
    organizer: str,
    attendee: str,
    now: datetime,
) -> bytes:
    """Return the calendar file of one visit (an e-mail's invitation; names the site only)."""
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    event = _event(
        visit_id, domain, sequence, cancelled, ZoneInfo(timezone), now=now, start=start, end=end
    )
    event.add("summary", f"Appointment at {site}")
    event.add("location", site)
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    event.add("attendee", vCalAddress(f"mailto:{attendee}"))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def feed(
    *, name: str, timezone: str, domain: str, events: Iterable[FeedEvent], now: datetime
) -> bytes:
    """Return a subscribed calendar (METHOD:PUBLISH) with one event per visit."""
    tz = ZoneInfo(timezone)
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    for item in events:
        event = _event(
            item.visit_id,
            domain,
            item.sequence,
            item.cancelled,
            tz,
            now=now,
            start=item.start,
            end=item.end,
        )
        event.add("last-modified", item.modified)
        event.add("summary", item.summary)
        event.add("location", item.location)
        event.add("description", item.description)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
