"""The .ics file an e-mail to a patient carries (RFC 5545 via the icalendar package).

One event per visit: its UID never changes, SEQUENCE rises with every move, and a cancel is
METHOD:CANCEL with STATUS:CANCELLED, so a calendar updates or removes the same entry.
DTSTART and DTEND carry the site's TZID (with its VTIMEZONE). The summary names the site only.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress


def uid(visit_id: int, domain: str) -> str:
    """Return the visit's stable UID."""
    return f"visit-{visit_id}@{domain}"


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
    """Return the calendar file of one visit."""
    tz = ZoneInfo(timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//Infusion Desk//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", uid(visit_id, domain))
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", f"Appointment at {site}")
    event.add("location", site)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    event.add("attendee", vCalAddress(f"mailto:{attendee}"))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
