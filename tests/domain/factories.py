"""Small builders so that domain tests read like a clinic's day (America/Chicago)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.booking import (
    ClearanceSpan,
    Context,
    Occupancy,
    OpeningHours,
    Plan,
    RecoveryMode,
    ShiftSpan,
    SiteRules,
    holds_for,
)
from clinic.domain.intervals import Interval

CHICAGO = ZoneInfo("America/Chicago")
DAY = "2026-03-10"  # a Tuesday, clear of the DST change on Sunday 2026-03-08
WEEKDAYS_8_TO_6 = OpeningHours({d: (8 * 60, 18 * 60) for d in range(6)} | {6: None})


def local(when: str, tz: ZoneInfo = CHICAGO) -> datetime:
    """Return the instant of a local "YYYY-MM-DD HH:MM", or "HH:MM" on DAY."""
    if len(when) == 5:
        when = f"{DAY} {when}"
    return datetime.fromisoformat(when).replace(tzinfo=tz)


def span(start: str, end: str) -> Interval:
    """Return the interval between two local times."""
    return Interval(local(start), local(end))


def make_site(**overrides: object) -> SiteRules:
    """Return a chair-mode site open Mon-Sat 08:00-18:00, one nurse per three patients."""
    site = SiteRules(
        timezone=CHICAGO,
        opening_hours=WEEKDAYS_8_TO_6,
        nurse_ratio=3,
        require_practitioner_on_site=True,
        turnover_minutes=15,
        min_hours_between_infusions=24,
        recovery_mode=RecoveryMode.CHAIR,
    )
    return replace(site, **overrides)


def make_plan(
    start: str = "09:00",
    chair: int = 1,
    patient: int | None = 1,
    infusion: int = 60,
    observation: int = 120,
) -> Plan:
    """Return a proposed visit: by default 09:00 in chair 1, 60 + 120 minutes."""
    return Plan(
        patient_id=patient,
        chair_id=chair,
        infusion_start=local(start),
        infusion_minutes=infusion,
        observation_minutes=observation,
    )


_visit_ids = iter(range(1000, 10**9))


def booked(
    start: str = "09:00",
    chair: int = 1,
    patient: int = 99,
    infusion: int = 60,
    observation: int = 120,
    bay: int | None = None,
    site: SiteRules | None = None,
) -> Occupancy:
    """Return an existing visit occupying a chair (and a bay when given) like the plan would."""
    plan = make_plan(start, chair, patient, infusion, observation)
    site = site or make_site()
    holds = holds_for(plan, site.recovery_mode, site.turnover_minutes)
    return Occupancy(
        visit_id=next(_visit_ids),
        patient_id=patient,
        chair_id=chair,
        chair_hold=holds.chair,
        bay_id=bay,
        bay_hold=holds.bay if bay is not None else None,
        visit=plan.visit,
        infusion_start=plan.infusion_start,
    )


def nurse(start: str = "07:00", end: str = "19:00", user: int | None = None) -> ShiftSpan:
    """Return a nurse's shift (of one known person when `user` is given)."""
    return ShiftSpan("nurse", span(start, end), user)


def practitioner(start: str = "07:00", end: str = "19:00") -> ShiftSpan:
    """Return a practitioner's shift."""
    return ShiftSpan("practitioner", span(start, end))


def clearance(
    evaluated_on: str = "2026-03-01",
    valid_until: str = "2026-06-01",
    cleared: bool = True,
    consent_signed: bool = True,
) -> ClearanceSpan:
    """Return a practitioner's clearance, by default valid and consented for the spring."""
    return ClearanceSpan(
        date.fromisoformat(evaluated_on), date.fromisoformat(valid_until), cleared, consent_signed
    )


def make_ctx(**overrides: object) -> Context:
    """Return a quiet day: one nurse and one practitioner 07:00-19:00, a cleared patient."""
    ctx = Context(
        site=make_site(),
        now=local("2026-03-01 12:00"),
        shifts=[nurse(), practitioner()],
        clearances=[clearance()],
    )
    return replace(ctx, **overrides)


def minutes(n: int) -> timedelta:
    """Return n minutes."""
    return timedelta(minutes=n)
