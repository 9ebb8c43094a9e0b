"""The visit state machine and when an event may be recorded."""

from datetime import timedelta

import pytest

from clinic.domain.visits import (
    EventType,
    IllegalTransition,
    Status,
    allowed_events,
    event_time_error,
    next_status,
)

from .factories import local

E, S = EventType, Status
LEGAL = {
    (E.CHECK_IN, S.BOOKED): S.CHECKED_IN,
    (E.START_INFUSION, S.CHECKED_IN): S.INFUSING,
    (E.END_INFUSION, S.INFUSING): S.RECOVERING,
    (E.EXTEND_OBSERVATION, S.RECOVERING): S.RECOVERING,
    (E.DISCHARGE, S.RECOVERING): S.DISCHARGED,
    (E.NO_SHOW, S.BOOKED): S.NO_SHOW,
    (E.NO_SHOW, S.CHECKED_IN): S.NO_SHOW,
    (E.CANCEL, S.BOOKED): S.CANCELLED,
    (E.CANCEL, S.CHECKED_IN): S.CANCELLED,
    (E.UNDO_CHECK_IN, S.CHECKED_IN): S.BOOKED,
    (E.UNDO_NO_SHOW, S.NO_SHOW): S.BOOKED,
    (E.REINSTATE, S.CANCELLED): S.BOOKED,
}
ILLEGAL = [(event, status) for event in E for status in S if (event, status) not in LEGAL]


@pytest.mark.parametrize(("event", "status"), list(LEGAL))
def test_legal_transition(event, status):
    assert next_status(status, event) == LEGAL[event, status]


@pytest.mark.parametrize(("event", "status"), ILLEGAL)
def test_illegal_transition_raises_with_a_readable_message(event, status):
    with pytest.raises(IllegalTransition) as raised:
        next_status(status, event)
    assert raised.value.rule == "illegal_transition"
    message = str(raised.value)
    assert event.replace("_", " ") in message and status.replace("_", " ") in message


def test_a_discharged_visit_cannot_be_checked_in_again():
    with pytest.raises(IllegalTransition, match=r"^Cannot check in: the visit is discharged\.$"):
        next_status(S.DISCHARGED, E.CHECK_IN)


def test_plain_strings_work_like_the_enums():
    assert next_status("booked", "check_in") == S.CHECKED_IN


@pytest.mark.parametrize(
    ("status", "events"),
    [
        (S.BOOKED, [E.CHECK_IN, E.NO_SHOW, E.CANCEL]),
        (S.CHECKED_IN, [E.START_INFUSION, E.NO_SHOW, E.CANCEL, E.UNDO_CHECK_IN]),
        (S.INFUSING, [E.END_INFUSION]),
        (S.RECOVERING, [E.EXTEND_OBSERVATION, E.DISCHARGE]),
        (S.DISCHARGED, []),
        (S.CANCELLED, [E.REINSTATE]),
        (S.NO_SHOW, [E.UNDO_NO_SHOW]),
    ],
)
def test_allowed_events_in_lifecycle_order(status, events):
    assert allowed_events(status) == events


NOW = local("12:00")


@pytest.mark.parametrize(
    ("at", "previous", "error"),
    [
        (NOW, None, None),
        (NOW - timedelta(hours=12), None, None),
        (NOW - timedelta(hours=12, seconds=1), None, "more than 12 hours ago"),
        (NOW + timedelta(minutes=2), None, None),
        (NOW + timedelta(minutes=2, seconds=1), None, "in the future"),
        (NOW - timedelta(minutes=5), NOW - timedelta(minutes=5), None),
        (NOW - timedelta(minutes=5), NOW - timedelta(minutes=4), "before the visit's previous"),
    ],
)
def test_event_time_bounds(at, previous, error):
    result = event_time_error(at, NOW, previous)
    if error is None:
        assert result is None
    else:
        assert error in result


def test_an_entry_recorded_more_than_five_minutes_late_is_a_late_entry():
    from datetime import UTC, datetime, timedelta

    from clinic.domain.visits import is_late_entry

    at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert not is_late_entry(at, at)
    assert not is_late_entry(at, at + timedelta(minutes=5))
    assert is_late_entry(at, at + timedelta(minutes=5, seconds=1))
