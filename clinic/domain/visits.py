"""The visit state machine and the rules for when an event may be recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    """Where a visit stands."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    INFUSING = "infusing"
    RECOVERING = "recovering"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


ACTIVE = frozenset({Status.BOOKED, Status.CHECKED_IN, Status.INFUSING, Status.RECOVERING})


class EventType(StrEnum):
    """What can happen to a visit."""

    CHECK_IN = "check_in"
    START_INFUSION = "start_infusion"
    END_INFUSION = "end_infusion"
    EXTEND_OBSERVATION = "extend_observation"
    DISCHARGE = "discharge"
    NO_SHOW = "no_show"
    CANCEL = "cancel"


class IllegalTransition(Exception):
    """The event is not allowed from the visit's current status."""


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
