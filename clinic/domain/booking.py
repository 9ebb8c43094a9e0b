"""Booking rules: may this visit be placed in this chair at this time?

A visit is an infusion block [start, start + infusion) followed by a recovery block
[infusion end, observation end). The observation is counted from the infusion's end or, for a
treatment watched from its first dose (esketamine), from its start; it never ends before the
infusion does. `check_booking` checks every rule of DESIGN.md together and returns every
broken one, so the front desk sees all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from clinic.domain.choices import Choice
from clinic.domain.intervals import Interval, covered, merge
from clinic.domain.roles import Role

NURSE = Role.NURSE
PRACTITIONER = Role.PRACTITIONER
MINUTES_PER_DAY = 1440


class Rule(Choice):
    """The booking rules, named as the API reports them."""

    CHAIR_BUSY = "chair_busy", "Chair busy", "rule-chair_busy"
    RECOVERY_FULL = "recovery_full", "Recovery full", "rule-recovery_full"
    NURSE_CAPACITY = "nurse_capacity", "Nurse capacity", "rule-nurse_capacity"
    NO_NURSE_ON_SHIFT = "no_nurse_on_shift", "No nurse on shift", "rule-no_nurse_on_shift"
    NO_PRACTITIONER_ON_SITE = (
        "no_practitioner_on_site",
        "No practitioner on site",
        "rule-no_practitioner_on_site",
    )
    OUTSIDE_OPENING_HOURS = (
        "outside_opening_hours",
        "Outside opening hours",
        "rule-outside_opening_hours",
    )
    PATIENT_OVERLAP = "patient_overlap", "Patient overlap", "rule-patient_overlap"
    TOO_SOON_AFTER_LAST_INFUSION = (
        "too_soon_after_last_infusion",
        "Too soon after the last infusion",
        "rule-too_soon_after_last_infusion",
    )
    NOT_CLEARED = "not_cleared", "Not cleared", "rule-not_cleared"
    IN_THE_PAST = "in_the_past", "In the past", "rule-in_the_past"
    REMS_SITE_NOT_CERTIFIED = (
        "rems_site_not_certified",
        "Site not REMS-certified",
        "rule-rems_site_not_certified",
    )
    REMS_PATIENT_NOT_ENROLLED = (
        "rems_patient_not_enrolled",
        "Patient not REMS-enrolled",
        "rule-rems_patient_not_enrolled",
    )


# The order a refusal lists its reasons in: first what the desk can change on the spot
# (the time, the chair, the day), then what needs someone else (a nurse or a practitioner
# on the roster, a practitioner's clearance). Rules not named here come last.
DESK_ORDER: tuple[Rule, ...] = (
    Rule.IN_THE_PAST,
    Rule.CHAIR_BUSY,
    Rule.OUTSIDE_OPENING_HOURS,
    Rule.RECOVERY_FULL,
    Rule.PATIENT_OVERLAP,
    Rule.TOO_SOON_AFTER_LAST_INFUSION,
    Rule.NURSE_CAPACITY,
    Rule.NO_NURSE_ON_SHIFT,
    Rule.NO_PRACTITIONER_ON_SITE,
    Rule.NOT_CLEARED,
)


def desk_order(violations: list[Violation]) -> list[Violation]:
    """Sort broken rules so the ones the desk can fix come first (stable otherwise)."""
    rank: dict[StrEnum, int] = {rule: i for i, rule in enumerate(DESK_ORDER)}
    return sorted(violations, key=lambda v: rank.get(v.rule, len(rank)))


class RecoveryMode(Choice):
    """Where a patient recovers: in the infusion chair, or in a separate recovery bay."""

    CHAIR = "chair", "In the infusion chair", "recovery-chair"
    BAY = "bay", "In a separate recovery bay", "recovery-bay"


class ObservationFrom(Choice):
    """Which end of the administration the observation minutes are counted from."""

    ADMINISTRATION_START = (
        "administration_start",
        "From the start of the administration",
        "observation-from-start",
    )
    ADMINISTRATION_END = (
        "administration_end",
        "From the end of the administration",
        "observation-from-end",
    )


def visit_minutes(
    infusion_minutes: int,
    observation_minutes: int,
    observation_from: ObservationFrom = ObservationFrom.ADMINISTRATION_END,
) -> int:
    """Return a visit's length, infusion start to observation end (never before its end)."""
    if observation_from is ObservationFrom.ADMINISTRATION_START:
        return max(observation_minutes, infusion_minutes)
    return infusion_minutes + observation_minutes


class ChairKind(Choice):
    """What a place of a site is: an infusion chair or a recovery bay."""

    CHAIR = "chair", "Infusion chair", "chair-kind-chair"
    RECOVERY_BAY = "recovery_bay", "Recovery bay", "chair-kind-recovery_bay"


class Weekday(Choice):
    """A day of the week as opening hours name it, Monday first (`date.weekday()` order)."""

    MON = "mon", "Monday", "weekday-mon"
    TUE = "tue", "Tuesday", "weekday-tue"
    WED = "wed", "Wednesday", "weekday-wed"
    THU = "thu", "Thursday", "weekday-thu"
    FRI = "fri", "Friday", "weekday-fri"
    SAT = "sat", "Saturday", "weekday-sat"
    SUN = "sun", "Sunday", "weekday-sun"

    @property
    def short(self) -> str:
        """Return the day's three-letter name: "Mon"."""
        return self.label[:3]


@dataclass(frozen=True)
class Violation:
    """One broken rule and a sentence for the front desk (rule: a Rule or another named rule)."""

    rule: StrEnum
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
        hours = self.days.get(day.weekday())
        if hours is None:
            return None
        open_minute, close_minute = hours
        return Interval(_wall_instant(day, open_minute, tz), _wall_instant(day, close_minute, tz))


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
    """A proposed visit: the booked infusion and observation lengths in one chair.

    The observation is counted from `observation_from`: the infusion's end (IV), or its start
    (esketamine: two hours from the first device, however long the administration).
    """

    patient_id: int | None
    chair_id: int
    infusion_start: datetime
    infusion_minutes: int
    observation_minutes: int
    observation_from: ObservationFrom = ObservationFrom.ADMINISTRATION_END

    @property
    def infusion(self) -> Interval:
        """Return the infusion block."""
        end = self.infusion_start + timedelta(minutes=self.infusion_minutes)
        return Interval(self.infusion_start, end)

    @property
    def recovery(self) -> Interval:
        """Return the recovery block: the infusion's end to the observation's end."""
        length = visit_minutes(
            self.infusion_minutes, self.observation_minutes, self.observation_from
        )
        return Interval(self.infusion.end, self.infusion_start + timedelta(minutes=length))

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
    plan = _in_utc(plan)
    turnover = timedelta(minutes=turnover_minutes)
    if mode == RecoveryMode.BAY:
        infusion_end = plan.infusion.end
        bay = Interval(infusion_end, plan.recovery.end + turnover)
        return Holds(chair=Interval(plan.infusion_start, infusion_end + turnover), bay=bay)
    return Holds(chair=Interval(plan.infusion_start, plan.recovery.end + turnover), bay=None)


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
    """Someone on duty: role is "nurse" or "practitioner"; user_id says who (None: unknown)."""

    role: str
    span: Interval
    user_id: int | None = None


@dataclass(frozen=True)
class ClearanceSpan:
    """A practitioner's clearance of a patient for the days evaluated_on..valid_until."""

    evaluated_on: date
    valid_until: date
    cleared: bool
    consent_signed: bool
    voided: bool = False  # voided by a practitioner: on record, clears nobody

    def covers(self, day: date) -> bool:
        """Tell whether the clearance's span includes the day (cleared or not)."""
        return self.evaluated_on <= day <= self.valid_until

    def valid_on(self, day: date) -> bool:
        """Tell whether the patient may be treated on the day: not voided, cleared, consent,
        in span."""
        return not self.voided and self.cleared and self.consent_signed and self.covers(day)


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
    allow_past: bool = False  # an undone no-show goes back although its start has passed


@dataclass(frozen=True)
class Placement:
    """A plan that passed every rule, with the recovery bay chosen for it (bay mode)."""

    plan: Plan
    holds: Holds
    bay_id: int | None


def check_booking(plan: Plan, ctx: Context) -> tuple[Placement | None, list[Violation]]:
    """Check every booking rule; return the placement, or None and every broken rule."""
    site = ctx.site
    utc_plan = _in_utc(plan)
    holds = holds_for(utc_plan, site.recovery_mode, site.turnover_minutes)
    clock = _Clock(site.timezone, local_day(utc_plan.infusion_start, site.timezone))
    found: dict[Rule, str] = {}

    busy = [o.chair_hold for o in ctx.occupancies if o.chair_id == plan.chair_id]
    clashes = [hold for hold in busy if hold.overlaps(holds.chair)]
    if clashes:
        since = min(hold.start for hold in clashes)
        until = max(hold.end for hold in clashes)
        taken = f"from {clock(since)} " if since > holds.chair.start else ""
        found[Rule.CHAIR_BUSY] = f"This chair is taken {taken}until {clock(until)}."

    bay_id = None
    if holds.bay is not None:
        bay_id = free_bay(holds.bay, ctx.occupancies, ctx.bay_ids)
        if bay_id is None:
            found[Rule.RECOVERY_FULL] = (
                f"No recovery bay is free from {clock(holds.bay.start)} to {clock(holds.bay.end)}."
            )

    found.update(_staffing_violations(utc_plan, ctx, clock))

    if site.require_practitioner_on_site:
        practitioners = [s.span for s in ctx.shifts if s.role == PRACTITIONER]
        if not covered(utc_plan.infusion, practitioners):
            found[Rule.NO_PRACTITIONER_ON_SITE] = (
                f"No practitioner is on site for the whole infusion "
                f"({clock(utc_plan.infusion.start)} to {clock(utc_plan.infusion.end)})."
            )

    hours_message = _opening_hours_violation(utc_plan.visit, site, clock)
    if hours_message:
        found[Rule.OUTSIDE_OPENING_HOURS] = hours_message

    if ctx.check_patient:
        found.update(_patient_violations(utc_plan, ctx, clock))

    if utc_plan.infusion_start < ctx.now and not ctx.allow_past:
        found[Rule.IN_THE_PAST] = f"The start time {clock(utc_plan.infusion_start)} has passed."

    if found:
        return None, desk_order([Violation(rule, message) for rule, message in found.items()])
    return Placement(plan=plan, holds=holds, bay_id=bay_id), []


def free_bay(bay_hold: Interval, occupancies: list[Occupancy], bay_ids: list[int]) -> int | None:
    """Return the lowest recovery bay id free for the whole bay hold, or None."""
    taken = {
        o.bay_id
        for o in occupancies
        if o.bay_id is not None and o.bay_hold is not None and o.bay_hold.overlaps(bay_hold)
    }
    free = sorted(set(bay_ids) - taken)
    return free[0] if free else None


def staffing_at(
    instant: datetime, occupancies: list[Occupancy], shifts: list[ShiftSpan]
) -> tuple[int, int]:
    """Return (nurses on shift, patients in infusion or recovery) at an instant.

    Nurses are counted as people: one nurse on two overlapping shifts watches no more
    patients than on one.
    """
    on_duty = [s for s in shifts if s.role == NURSE and s.span.contains_instant(instant)]
    nurses = len({s.user_id for s in on_duty if s.user_id is not None}) + sum(
        1 for s in on_duty if s.user_id is None
    )
    patients = sum(1 for o in occupancies if o.visit.contains_instant(instant))
    return nurses, patients


def _staffing_violations(plan: Plan, ctx: Context, clock: _Clock) -> dict[Rule, str]:
    """Check nurse cover and nurse capacity at every change point of the plan's visit."""
    visit = plan.visit
    if visit.start == visit.end:
        return {}
    occupancies = [o for o in ctx.occupancies if o.visit.overlaps(visit)]
    shifts = [s for s in ctx.shifts if s.role == NURSE and s.span.overlaps(visit)]
    bounds = [o.visit.start for o in occupancies] + [o.visit.end for o in occupancies]
    bounds += [s.span.start for s in shifts] + [s.span.end for s in shifts]
    # Counts only change at a boundary, so the visit start and the boundaries inside it
    # see every distinct staffing level.
    inside = {b.astimezone(UTC) for b in bounds if visit.start < b < visit.end}
    points = sorted(inside | {visit.start})
    over: tuple[datetime, int, int] | None = None
    for point in points:
        nurses, patients = staffing_at(point, occupancies, shifts)
        if nurses == 0:
            return {Rule.NO_NURSE_ON_SHIFT: f"No nurse is on shift at {clock(point)}."}
        if over is None and patients + 1 > nurses * ctx.site.nurse_ratio:
            over = (point, nurses, patients)
    if over is None:
        return {}
    point, nurses, patients = over
    nurse_word = "nurse" if nurses == 1 else "nurses"
    return {
        Rule.NURSE_CAPACITY: (
            f"Nurses are at capacity at {clock(point)}: {nurses} {nurse_word} "
            f"already watch {patients} patients."
        )
    }


def open_intervals(span: Interval, hours: OpeningHours, tz: ZoneInfo) -> list[Interval]:
    """Return the merged open intervals of every local day the span touches."""
    first, last = local_day(span.start, tz), local_day(span.end, tz)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return merge(i for i in (hours.interval_on(d, tz) for d in days) if i is not None)


def _opening_hours_violation(visit: Interval, site: SiteRules, clock: _Clock) -> str | None:
    """Describe how the visit falls outside opening hours, or return None."""
    blocks = open_intervals(visit, site.opening_hours, site.timezone)
    if covered(visit, blocks):
        return None
    around_start = [b for b in blocks if b.contains_instant(visit.start)]
    if not around_start:
        return f"The clinic is closed at {clock(visit.start)}."
    return (
        f"The visit would end at {clock(visit.end)}, after closing time "
        f"({clock(around_start[0].end)})."
    )


def patient_allows(plan: Plan, ctx: Context) -> bool:
    """Tell whether the patient's rules (other visits, clearance), which no chair changes,
    allow the plan: `check_booking` finds none of them broken."""
    plan = _in_utc(plan)
    if _overlapping(plan, ctx) or _too_near(plan, ctx):
        return False
    day = local_day(plan.infusion_start, ctx.site.timezone)
    return any(c.valid_on(day) for c in ctx.clearances)


def _overlapping(plan: Plan, ctx: Context) -> list[Occupancy]:
    """Return the patient's other visits that overlap the plan's."""
    visit = plan.visit
    return [v for v in ctx.patient_visits if v.visit.overlaps(visit)]


def _too_near(plan: Plan, ctx: Context) -> list[Occupancy]:
    """Return the patient's other infusions closer to the plan's than the site allows."""
    gap = timedelta(hours=ctx.site.min_hours_between_infusions)
    return [v for v in ctx.patient_visits if abs(plan.infusion_start - v.infusion_start) < gap]


def _patient_violations(plan: Plan, ctx: Context, clock: _Clock) -> dict[Rule, str]:
    """Check the patient's other visits and clearance."""
    found: dict[Rule, str] = {}
    overlapping = _overlapping(plan, ctx)
    if overlapping:
        other = min(overlapping, key=lambda v: v.visit.start)
        found[Rule.PATIENT_OVERLAP] = (
            f"The patient already has a visit from {clock(other.visit.start)} "
            f"to {clock(other.visit.end)}."
        )
    near = _too_near(plan, ctx)
    if near:
        other = min(near, key=lambda v: abs(plan.infusion_start - v.infusion_start))
        found[Rule.TOO_SOON_AFTER_LAST_INFUSION] = (
            f"Infusions must be at least {ctx.site.min_hours_between_infusions} hours apart; "
            f"the patient has one at {clock(other.infusion_start)}."
        )
    day = local_day(plan.infusion_start, ctx.site.timezone)
    if not any(c.valid_on(day) for c in ctx.clearances):
        if any(c.cleared and c.covers(day) and not c.voided for c in ctx.clearances):
            message = f"The patient's consent is not signed for {_day_label(day)}."
        else:
            message = f"The patient has no valid clearance for {_day_label(day)}."
        found[Rule.NOT_CLEARED] = message
    return found


class _Clock:
    """Format instants as site-local wall time, with the date when it is not the plan's day."""

    def __init__(self, tz: ZoneInfo, day: date) -> None:
        self.tz = tz
        self.day = day

    def __call__(self, instant: datetime) -> str:
        local = instant.astimezone(self.tz)
        if local.date() == self.day:
            return f"{local:%H:%M}"
        return f"{local:%H:%M} on {_day_label(local.date())}"


def _day_label(day: date) -> str:
    """Write a day as the pages do ("Mon 30 Nov"; clinic/web/dates.py for templates)."""
    return f"{day:%a} {day.day} {day:%b}"


def _in_utc(plan: Plan) -> Plan:
    """Return the plan with its start in UTC, so that minute arithmetic is absolute time."""
    start = plan.infusion_start.astimezone(UTC)
    return plan if plan.infusion_start.tzinfo is UTC else replace(plan, infusion_start=start)


def _wall_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of a local wall-clock minute of a day (1440 is next midnight)."""
    day = day + timedelta(days=minute // MINUTES_PER_DAY)
    minute %= MINUTES_PER_DAY
    return local_instant(day, time(minute // 60, minute % 60), tz).astimezone(UTC)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """Return the site-local calendar day of an instant."""
    return instant.astimezone(tz).date()


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the aware instant of a local wall-clock time on a local day."""
    return datetime.combine(day, at, tzinfo=tz)
