"""Booking rules: may this visit be placed in this chair at this time?

A visit is an infusion block [start, start + infusion) followed by a recovery block
[infusion end, + observation). `check_booking` checks every rule of DESIGN.md together and
returns every broken one, so the front desk sees all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from clinic.domain.intervals import Interval


class Rule(StrEnum):
    """The booking rules, named as the API reports them."""

    CHAIR_BUSY = "chair_busy"
    RECOVERY_FULL = "recovery_full"
    NURSE_CAPACITY = "nurse_capacity"
    NO_NURSE_ON_SHIFT = "no_nurse_on_shift"
    NO_PRACTITIONER_ON_SITE = "no_practitioner_on_site"
    OUTSIDE_OPENING_HOURS = "outside_opening_hours"
    PATIENT_OVERLAP = "patient_overlap"
    TOO_SOON_AFTER_LAST_INFUSION = "too_soon_after_last_infusion"
    NOT_CLEARED = "not_cleared"
    IN_THE_PAST = "in_the_past"


class RecoveryMode(StrEnum):
    """Where a patient recovers: in the infusion chair, or in a separate recovery bay."""

    CHAIR = "chair"
    BAY = "bay"


@dataclass(frozen=True)
class Violation:
    """One broken rule and a sentence for the front desk."""

    rule: Rule
    message: str


# Opening hours: weekday (0 = Monday) -> (open, close) in local time, or None when closed.
# A close of None inside the tuple is not used; "24:00" is represented as time(0) with
# `closes_at_midnight`, see `OpeningHours.interval_on`.
@dataclass(frozen=True)
class OpeningHours:
    """A site's weekly opening hours in its local time zone."""

    # weekday -> (open_minute, close_minute) counted from local midnight; close may be 1440.
    days: dict[int, tuple[int, int] | None]

    def interval_on(self, day: date, tz: ZoneInfo) -> Interval | None:
        """Return the open interval of one local day as aware UTC-comparable instants."""
        raise NotImplementedError


@dataclass(frozen=True)
class SiteRules:
    """The site settings the booking rules read."""

    timezone: ZoneInfo
    opening_hours: OpeningHours
    nurse_ratio: int
    require_practitioner_on_site: bool
    turnover_minutes: int
    min_hours_between_infusions: int
    recovery_mode: RecoveryMode


@dataclass(frozen=True)
class Plan:
    """A proposed visit: the booked infusion and observation lengths in one chair."""

    patient_id: int | None
    chair_id: int
    infusion_start: datetime
    infusion_minutes: int
    observation_minutes: int

    @property
    def infusion(self) -> Interval:
        """Return the infusion block."""
        end = self.infusion_start + timedelta(minutes=self.infusion_minutes)
        return Interval(self.infusion_start, end)

    @property
    def recovery(self) -> Interval:
        """Return the recovery block that follows the infusion."""
        start = self.infusion.end
        return Interval(start, start + timedelta(minutes=self.observation_minutes))

    @property
    def visit(self) -> Interval:
        """Return the whole visit, infusion start to observation end."""
        return Interval(self.infusion_start, self.recovery.end)


@dataclass(frozen=True)
class Holds:
    """What a visit occupies: its chair, and in bay mode a recovery bay, each with turnover."""

    chair: Interval
    bay: Interval | None


def holds_for(plan: Plan, mode: RecoveryMode, turnover_minutes: int) -> Holds:
    """Return the chair hold (and bay hold in bay mode) of a plan, turnover included."""
    raise NotImplementedError


@dataclass(frozen=True)
class Occupancy:
    """An existing active visit as the rules see it."""

    visit_id: int
    patient_id: int
    chair_id: int
    chair_hold: Interval
    bay_id: int | None
    bay_hold: Interval | None
    visit: Interval  # infusion start to observation end: counts against nurse capacity
    infusion_start: datetime


@dataclass(frozen=True)
class ShiftSpan:
    """Someone on duty: role is "nurse" or "practitioner"."""

    role: str
    span: Interval


@dataclass(frozen=True)
class ClearanceSpan:
    """A practitioner's clearance of a patient for the days evaluated_on..valid_until."""

    evaluated_on: date
    valid_until: date
    cleared: bool
    consent_signed: bool


@dataclass(frozen=True)
class Context:
    """Everything the rules need to know about the site and the patient around a plan.

    `occupancies` are the site's active visits near the plan (not the one being
    rescheduled); `patient_visits` are the patient's active visits at any site (not the one
    being rescheduled). `bay_ids` are the site's active recovery bays.
    """

    site: SiteRules
    now: datetime
    occupancies: list[Occupancy] = field(default_factory=list)
    shifts: list[ShiftSpan] = field(default_factory=list)
    bay_ids: list[int] = field(default_factory=list)
    patient_visits: list[Occupancy] = field(default_factory=list)
    clearances: list[ClearanceSpan] = field(default_factory=list)
    check_patient: bool = True


@dataclass(frozen=True)
class Placement:
    """A plan that passed every rule, with the recovery bay chosen for it (bay mode)."""

    plan: Plan
    holds: Holds
    bay_id: int | None


def check_booking(plan: Plan, ctx: Context) -> tuple[Placement | None, list[Violation]]:
    """Check every booking rule; return the placement, or None and every broken rule."""
    raise NotImplementedError


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """Return the site-local calendar day of an instant."""
    return instant.astimezone(tz).date()


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the aware instant of a local wall-clock time on a local day."""
    return datetime.combine(day, at, tzinfo=tz)
