"""The visit state machine and the rules for when an event may be recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.booking import Violation
from clinic.domain.choices import Choice


class Status(Choice):
    """Where a visit stands."""

    BOOKED = "booked", "Booked", "status-booked"
    CHECKED_IN = "checked_in", "Checked in", "status-checked_in"
    INFUSING = "infusing", "Infusing", "status-infusing"
    RECOVERING = "recovering", "Recovering", "status-recovering"
    DISCHARGED = "discharged", "Discharged", "status-discharged"
    CANCELLED = "cancelled", "Cancelled", "status-cancelled"
    NO_SHOW = "no_show", "No-show", "status-no_show"


ACTIVE = frozenset({Status.BOOKED, Status.CHECKED_IN, Status.INFUSING, Status.RECOVERING})


class EventType(Choice):
    """What can happen to a visit (labelled as its timeline line says it)."""

    CHECK_IN = "check_in", "Checked in", "timeline-check_in"
    START_INFUSION = "start_infusion", "Infusion started", "timeline-start_infusion"
    END_INFUSION = "end_infusion", "Infusion ended", "timeline-end_infusion"
    EXTEND_OBSERVATION = "extend_observation", "Observation extended", "timeline-extend_observation"
    DISCHARGE = "discharge", "Discharged", "timeline-discharge"
    NO_SHOW = "no_show", "No-show", "timeline-no_show"
    CANCEL = "cancel", "Cancelled", "timeline-cancel"
    UNDO_CHECK_IN = "undo_check_in", "Check-in undone", "timeline-undo_check_in"
    UNDO_NO_SHOW = "undo_no_show", "No-show undone", "timeline-undo_no_show"
    REINSTATE = "reinstate", "Reinstated", "timeline-reinstate"


class HistoryType(Choice):
    """Booking changes kept beside the lifecycle events, for the desk's timeline."""

    BOOK = "book", "Booked", "timeline-book"
    RESCHEDULE = "reschedule", "Rescheduled", "timeline-reschedule"


class EventRule(Choice):
    """Why an event is refused, named as the API reports it beside the booking rules."""

    ILLEGAL_TRANSITION = "illegal_transition", "Not allowed now", "rule-illegal_transition"
    NOT_TODAY = "not_today", "Not today", "rule-not_today"
    TOO_EARLY = "too_early", "Too early", "rule-too_early"
    DISCHARGE_NOT_READY = (
        "discharge_not_ready",
        "Not ready for discharge",
        "rule-discharge_not_ready",
    )
    PREDOSE_VITALS_MISSING = (
        "predose_vitals_missing",
        "No pre-dose vital signs",
        "rule-predose_vitals_missing",
    )
    PREDOSE_BP_HIGH = "predose_bp_high", "Pre-dose BP too high", "rule-predose_bp_high"
    DOSE_CONFIRMATION_REQUIRED = (
        "dose_confirmation_required",
        "Dose needs a practitioner's confirmation",
        "rule-dose_confirmation_required",
    )
    REMS_MINIMUM_MONITORING = (
        "rems_minimum_monitoring",
        "REMS minimum monitoring not reached",
        "rule-rems_minimum_monitoring",
    )
    REMS_INCOMPLETE = "rems_incomplete", "REMS form incomplete", "rule-rems_incomplete"


# Undo events that put the visit back in its chair, so every booking rule applies again.
REBOOKING = frozenset({EventType.UNDO_NO_SHOW, EventType.REINSTATE})
# Each needs a reason, kept on the event and shown on the timeline.
NEEDS_REASON = frozenset(
    {EventType.CANCEL, EventType.UNDO_CHECK_IN, EventType.UNDO_NO_SHOW, EventType.REINSTATE}
)


class IllegalTransition(Exception):
    """The event is not allowed from the visit's current status."""

    rule = EventRule.ILLEGAL_TRANSITION


LATE_ENTRY_LIMIT = timedelta(hours=12)
# Recorded this long after it happened, an entry is shown as a late entry.
LATE_ENTRY_AFTER = timedelta(minutes=5)
FUTURE_TOLERANCE = timedelta(minutes=2)

# (event, status before) -> status after; EventType's order is the lifecycle order.
TRANSITIONS: dict[tuple[EventType, Status], Status] = {
    (EventType.CHECK_IN, Status.BOOKED): Status.CHECKED_IN,
    (EventType.START_INFUSION, Status.CHECKED_IN): Status.INFUSING,
    (EventType.END_INFUSION, Status.INFUSING): Status.RECOVERING,
    (EventType.EXTEND_OBSERVATION, Status.RECOVERING): Status.RECOVERING,
    (EventType.DISCHARGE, Status.RECOVERING): Status.DISCHARGED,
    (EventType.NO_SHOW, Status.BOOKED): Status.NO_SHOW,
    (EventType.NO_SHOW, Status.CHECKED_IN): Status.NO_SHOW,
    (EventType.CANCEL, Status.BOOKED): Status.CANCELLED,
    (EventType.CANCEL, Status.CHECKED_IN): Status.CANCELLED,
    (EventType.UNDO_CHECK_IN, Status.CHECKED_IN): Status.BOOKED,
    (EventType.UNDO_NO_SHOW, Status.NO_SHOW): Status.BOOKED,
    (EventType.REINSTATE, Status.CANCELLED): Status.BOOKED,
}


def next_status(current: Status, event: EventType) -> Status:
    """Return the status after the event, or raise IllegalTransition."""
    after = TRANSITIONS.get((event, current))
    if after is None:
        action = str(event).replace("_", " ")
        state = str(current).replace("_", " ")
        raise IllegalTransition(f"Cannot {action}: the visit is {state}.")
    return after


def allowed_events(current: Status) -> list[EventType]:
    """List the events allowed from a status, in lifecycle order."""
    return [event for event in EventType if (event, current) in TRANSITIONS]


def event_time_error(at: datetime, now: datetime, previous_at: datetime | None) -> str | None:
    """Return why `at` may not be recorded (too old, in the future, before the last event)."""
    if at < now - LATE_ENTRY_LIMIT:
        return "That time is more than 12 hours ago."
    if at > now + FUTURE_TOLERANCE:
        return "That time is in the future."
    if previous_at is not None and at < previous_at:
        return "That time is before the visit's previous event."
    return None


def is_late_entry(at: datetime, recorded_at: datetime) -> bool:
    """Tell whether an entry was recorded long enough after it happened to be a late entry."""
    return recorded_at - at > LATE_ENTRY_AFTER


@dataclass(frozen=True)
class VisitWindow:
    """When a visit may be checked in, started and called a no-show (site settings applied)."""

    infusion_start: datetime  # planned
    observation_end: datetime  # planned
    check_in_open_minutes: int
    no_show_after_minutes: int
    timezone: ZoneInfo

    @property
    def opens_at(self) -> datetime:
        """Return the earliest instant of check-in and of the infusion start."""
        return self.infusion_start - timedelta(minutes=self.check_in_open_minutes)

    @property
    def no_show_from(self) -> datetime:
        """Return the earliest instant a no-show may be recorded."""
        return self.infusion_start + timedelta(minutes=self.no_show_after_minutes)

    def local_day(self) -> str:
        """Return the planned day as the desk says it, e.g. "Mon 30 Nov"."""
        start = self.infusion_start.astimezone(self.timezone)
        return f"{start:%a} {start.day} {start:%b}"

    def clock(self, instant: datetime) -> str:
        """Return an instant as local HH:MM, with the date when it is not the planned day."""
        local = instant.astimezone(self.timezone)
        if local.date() == self.infusion_start.astimezone(self.timezone).date():
            return f"{local:%H:%M}"
        return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def window_refusal(event: EventType, at: datetime, window: VisitWindow) -> Violation | None:
    """Return why an event at `at` falls outside the visit's window, or None when it fits."""
    opening = event in (EventType.CHECK_IN, EventType.START_INFUSION)
    if opening and not window.opens_at <= at < window.observation_end:
        action = "checked in" if event is EventType.CHECK_IN else "started"
        return Violation(
            EventRule.NOT_TODAY,
            f"This visit is planned for {window.local_day()} at "
            f"{window.clock(window.infusion_start)}: it can be {action} from "
            f"{window.clock(window.opens_at)} until {window.clock(window.observation_end)}.",
        )
    if event is EventType.NO_SHOW and at < window.no_show_from:
        return Violation(
            EventRule.TOO_EARLY,
            f"Too early for a no-show: the infusion is planned at "
            f"{window.clock(window.infusion_start)}; a no-show can be recorded from "
            f"{window.clock(window.no_show_from)}.",
        )
    if event is EventType.UNDO_NO_SHOW:
        tz = window.timezone
        if at.astimezone(tz).date() != window.infusion_start.astimezone(tz).date():
            return Violation(
                EventRule.NOT_TODAY,
                f"A no-show can be undone only on the visit's day ({window.local_day()}).",
            )
    return None


def rebooking_allows_past(event: EventType) -> bool:
    """Tell whether an undo may put a visit back in its chair although its start has passed.

    A no-show comes after the start by definition, and the patient may still come within the
    visit's window; a cancelled visit is reinstated only while its start is ahead.
    """
    return event is EventType.UNDO_NO_SHOW
