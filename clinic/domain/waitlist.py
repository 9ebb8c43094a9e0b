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


class PlanTemplate(Choice):
    """How a maintenance plan's next due date is found."""

    NONE = "none", "Every N days from the next due date", "secondary"
    SPRAVATO = "spravato", "Spravato phases", "info"


# The Spravato label's schedule, counted in completed sessions from the plan's start:
# induction twice a week in weeks 1-4 (8 sessions, 3 then 4 days apart: Monday, Thursday),
# weekly in weeks 5-8 (4 sessions), then every one or two weeks (the plan's every_days).
SPRAVATO_INDUCTION_SESSIONS = 8
SPRAVATO_WEEKLY_SESSIONS = 4
SPRAVATO_MAINTENANCE_DAYS = (7, 14)


def spravato_due_on(starts_on: date, sessions: list[date], every_days: int) -> date:
    """Return when the next Spravato session is due.

    `sessions` are the site-local days of the patient's completed Spravato sessions; those
    before `starts_on` (an earlier course) do not count. With none yet, the first induction
    session is due on `starts_on`.
    """
    done = sorted(day for day in sessions if day >= starts_on)
    if not done:
        return starts_on
    count, last = len(done), done[-1]
    if count < SPRAVATO_INDUCTION_SESSIONS:
        gap = 3 if count % 2 else 4
    elif count < SPRAVATO_INDUCTION_SESSIONS + SPRAVATO_WEEKLY_SESSIONS:
        gap = 7
    else:
        gap = every_days
    return last + timedelta(days=gap)


def plan_due_on(
    template: PlanTemplate, next_due_on: date, every_days: int, sessions: list[date]
) -> date:
    """Return a plan's next due date: as set, or (Spravato) from the template and the
    completed sessions since next_due_on, the day the template starts."""
    if template is PlanTemplate.SPRAVATO:
        return spravato_due_on(next_due_on, sessions, every_days)
    return next_due_on


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
