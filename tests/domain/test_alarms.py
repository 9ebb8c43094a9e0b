"""When a fired alarm's condition has gone (pure): the alert is then resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinic.domain.alarms import (
    DISCHARGE_DUE,
    DISCHARGE_OVERDUE,
    RESOLVED_REASONS,
    reminder_resolution,
    resolution,
)

DUE = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
OVERDUE = DUE + timedelta(minutes=15)


def test_an_alarm_holds_while_the_visit_recovers_with_the_same_due_instant():
    assert resolution(DISCHARGE_DUE, DUE, "recovering", DUE, 15) is None
    assert resolution(DISCHARGE_OVERDUE, OVERDUE, "recovering", DUE, 15) is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("discharged", "discharged"),
        ("cancelled", "cancelled"),
        ("no_show", "no_show"),
        ("booked", "left_recovery"),
        ("infusing", "left_recovery"),
    ],
)
def test_a_visit_no_longer_recovering_resolves_both_alarms(status, reason):
    assert resolution(DISCHARGE_DUE, DUE, status, DUE, 15) == reason
    assert resolution(DISCHARGE_OVERDUE, OVERDUE, status, DUE, 15) == reason
    assert reason in RESOLVED_REASONS


def test_a_moved_due_instant_resolves_the_alarms_of_the_old_one():
    later = DUE + timedelta(minutes=30)
    assert resolution(DISCHARGE_DUE, DUE, "recovering", later, 15) == "rescheduled"
    assert resolution(DISCHARGE_OVERDUE, OVERDUE, "recovering", later, 15) == "rescheduled"
    # Even one minute, still in the past: that is another alarm (it fires on its own).
    a_minute = DUE + timedelta(minutes=1)
    assert resolution(DISCHARGE_DUE, DUE, "recovering", a_minute, 15) == "rescheduled"


def test_a_changed_overdue_setting_moves_only_the_overdue_alarm():
    assert resolution(DISCHARGE_DUE, DUE, "recovering", DUE, 30) is None
    assert resolution(DISCHARGE_OVERDUE, OVERDUE, "recovering", DUE, 30) == "rescheduled"


def test_a_rems_reminder_holds_until_the_form_is_submitted():
    assert reminder_resolution(False) is None
    assert reminder_resolution(True) == "submitted"
    assert "submitted" in RESOLVED_REASONS
