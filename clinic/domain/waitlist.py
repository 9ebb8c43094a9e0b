"""Treatment plans, recall and the waitlist: pure rules (no database, no clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from clinic.domain.choices import Choice

MAX_EVERY_DAYS = 366
MAX_WITHIN_DAYS = 366
NOON = time(12, 0)


class PartOfDay(Choice):
    """When in the site-local day a waiting patient can come."""

    ANY = "any", "Any time", "secondary"
    MORNING = "morning", "Morning", "info"
    AFTERNOON = "afternoon", "Afternoon", "warning"


class EntryStatus(Choice):
    """Where a waitlist entry stands."""

    WAITING = "waiting", "Waiting", "primary"
    BOOKED = "booked", "Booked", "success"
    REMOVED = "removed", "Removed", "secondary"


class OfferStatus(Choice):
    """Where an offer of a freed slot stands."""

    OPEN = "open", "Open", "primary"
    TAKEN = "taken", "Taken", "success"
    EXPIRED = "expired", "Expired", "secondary"


def offer_status(stored: OfferStatus, hold_until: datetime, now: datetime) -> OfferStatus:
    """Return an offer's status at `now`: an open offer past its hold has expired."""
    if stored is OfferStatus.OPEN and now >= hold_until:
        return OfferStatus.EXPIRED
    return stored


def fits_part_of_day(part: PartOfDay, local_start: time) -> bool:
    """Tell whether a site-local start lies in the part of the day (noon starts the afternoon)."""
    if part is PartOfDay.MORNING:
        return local_start < NOON
    if part is PartOfDay.AFTERNOON:
        return local_start >= NOON
    return True


@dataclass(frozen=True)
class PlanState:
    """One patient's plan and what the record says about their visits."""

    patient_id: int
    next_due_on: date
    last_visit_at: datetime | None
    has_future_active_visit: bool


@dataclass(frozen=True)
class Recall:
    """A patient to call back: due on `due_on`, last seen at `last_visit_at`."""

    patient_id: int
    due_on: date
    last_visit_at: datetime | None


def recalls(plans: list[PlanState], today: date, within_days: int) -> list[Recall]:
    """Return the patients due on or before today + within_days with no future active visit.

    Overdue patients (due before today) are included; the list is ordered by due date then id.
    """
    if within_days < 0:
        raise ValueError("within_days must not be negative")
    horizon = today + timedelta(days=within_days)
    due = [
        Recall(p.patient_id, p.next_due_on, p.last_visit_at)
        for p in plans
        if p.next_due_on <= horizon and not p.has_future_active_visit
    ]
    return sorted(due, key=lambda r: (r.due_on, r.patient_id))


def days_between(earliest_on: date, latest_on: date) -> list[date]:
    """Return each date from earliest_on to latest_on, both included."""
    return [earliest_on + timedelta(days=n) for n in range((latest_on - earliest_on).days + 1)]
