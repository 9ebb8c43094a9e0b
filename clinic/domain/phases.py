"""The dashboard's view of one visit: its phase, its countdown, and what a late infusion costs.

All instants are aware UTC, so differences are real elapsed time whatever the site's
daylight-saving changes.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from clinic.domain.booking import ObservationFrom
from clinic.domain.choices import Choice
from clinic.domain.visits import Status


class Countdown(Choice):
    """The colour of the countdown to discharge due."""

    NONE = "none", "Not yet due", "cd-none"  # no due time yet (the infusion has not ended)
    OK = "ok", "Due later", "cd-ok"
    AMBER = "amber", "Due soon", "cd-amber"  # within `amber_minutes` before due
    DUE = "due", "Due", "cd-due"  # due has been reached
    OVERDUE = "overdue", "Overdue", "cd-overdue"  # more than `overdue_after_minutes` past due


AMBER_MINUTES = 10


def countdown_state(
    now: datetime,
    discharge_due_at: datetime | None,
    overdue_after_minutes: int,
    amber_minutes: int = AMBER_MINUTES,
) -> Countdown:
    """Return the countdown's state: none, ok, amber, due, or overdue."""
    if discharge_due_at is None:
        return Countdown.NONE
    if now > discharge_due_at + timedelta(minutes=overdue_after_minutes):
        return Countdown.OVERDUE
    if now >= discharge_due_at:
        return Countdown.DUE
    if now >= discharge_due_at - timedelta(minutes=amber_minutes):
        return Countdown.AMBER
    return Countdown.OK


def is_overdue(
    now: datetime, discharge_due_at: datetime | None, overdue_after_minutes: int
) -> bool:
    """Tell whether discharge_due_at has passed by strictly more than overdue_after_minutes."""
    return countdown_state(now, discharge_due_at, overdue_after_minutes) is Countdown.OVERDUE


def seconds_to(now: datetime, instant: datetime | None) -> int | None:
    """Return whole seconds from now to the instant, rounded up; negative once it has passed.

    Rounded up so that the value is positive exactly while `now < instant`: 0 means due.
    """
    if instant is None:
        return None
    return math.ceil((instant - now).total_seconds())


def _ceil_minutes(delta: timedelta) -> int:
    return math.ceil(delta.total_seconds() / 60)


def phase_started_at(
    status: str,
    checked_in_at: datetime | None,
    infusion_started_at: datetime | None,
    infusion_ended_at: datetime | None,
) -> datetime | None:
    """Return when the visit entered its current active phase, or None outside those phases."""
    started: dict[str, datetime | None] = {
        Status.CHECKED_IN: checked_in_at,
        Status.INFUSING: infusion_started_at,
        Status.RECOVERING: infusion_ended_at,
    }
    return started.get(str(status))


def minutes_in_phase(now: datetime, since: datetime | None) -> int | None:
    """Return the whole minutes spent in the phase so far (never negative)."""
    if since is None:
        return None
    return max(0, int((now - since).total_seconds() // 60))


def expected_chair_release(
    infusion_started_at: datetime | None,
    infusion_ended_at: datetime | None,
    planned_infusion_minutes: int,
    observation_minutes: int,
    extension_minutes: int,
    turnover_minutes: int,
    now: datetime,
    recovery_in_chair: bool,
    planned_start: datetime | None = None,
    observation_from: ObservationFrom = ObservationFrom.ADMINISTRATION_END,
) -> datetime:
    """Return when an active visit is now expected to free its chair (turnover included).

    The infusion ends at its actual end, else no earlier than its planned end nor than now; a
    visit not yet started starts no earlier than its planned start nor than now. With recovery
    in the chair the patient then stays until discharge is due (or now, if still there after
    it): the observation counted from the infusion's end, or from its start for a type watched
    from the first dose, never ending before the infusion. Pass recovery_in_chair=True in bay
    mode to get the recovery bay's release instead.
    """
    turnover = timedelta(minutes=turnover_minutes)
    start = infusion_started_at or max(now, planned_start or now)
    if infusion_ended_at is not None:
        infusion_end = infusion_ended_at
    else:
        infusion_end = max(start + timedelta(minutes=planned_infusion_minutes), now)
    if not recovery_in_chair:
        return infusion_end + turnover
    counted_from = (
        start if observation_from is ObservationFrom.ADMINISTRATION_START else infusion_end
    )
    due = max(
        counted_from + timedelta(minutes=observation_minutes + extension_minutes), infusion_end
    )
    return max(due, now) + turnover


def clash_minutes(expected_release: datetime, next_start: datetime | None) -> int:
    """Return the minutes (rounded up) the release runs into the chair's next booking; 0 if not."""
    if next_start is None:
        return 0
    return max(0, _ceil_minutes(expected_release - next_start))
