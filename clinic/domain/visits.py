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
FUTURE_TOLERANCE = timedelta(minutes=2)


def next_status(current: Status, event: EventType) -> Status:
    """Return the status after the event, or raise IllegalTransition."""
    raise NotImplementedError


def allowed_events(current: Status) -> list[EventType]:
    """List the events allowed from a status, in lifecycle order."""
    raise NotImplementedError


def event_time_error(at: datetime, now: datetime, previous_at: datetime | None) -> str | None:
    """Return why `at` may not be recorded (too old, in the future, before the last event)."""
    raise NotImplementedError
