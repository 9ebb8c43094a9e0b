"""When a visit's alarms are due, and how often a failed delivery is retried (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from clinic.domain.choices import Choice
from clinic.domain.visits import Status


class AlertKind(Choice):
    """Which alarm fired for a recovering patient."""

    DISCHARGE_DUE = "discharge_due", "Discharge due", "alerts-due"
    DISCHARGE_OVERDUE = "discharge_overdue", "Discharge overdue", "alerts-overdue"
    REMS_FORM_DUE = "rems_form_due", "REMS form due", "alerts-rems"
    SCREEN_POSITIVE = "screen_positive", "Positive suicide-risk screen", "alerts-screen"


DISCHARGE_DUE = AlertKind.DISCHARGE_DUE
DISCHARGE_OVERDUE = AlertKind.DISCHARGE_OVERDUE
REMS_FORM_DUE = AlertKind.REMS_FORM_DUE
# The discharge alarms the scheduler plans per recovering visit (the REMS reminder has its own).
# They are the nurses' bedside alarms: the recovery board shows them and rings for them.
KINDS = (DISCHARGE_DUE, DISCHARGE_OVERDUE)
# The administrative reminders: listed on the REMS tracker, never rung on the recovery board.
REMINDER_KINDS = (REMS_FORM_DUE,)


class Channel(Choice):
    """How a delivery of the outbox reaches its target."""

    EMAIL = "email", "E-mail", "channel-email"
    WEBHOOK = "webhook", "Webhook", "channel-webhook"


class DeliveryStatus(Choice):
    """Where a delivery of the outbox stands."""

    PENDING = "pending", "Pending", "delivery-pending"
    SENT = "sent", "Sent", "delivery-sent"
    FAILED = "failed", "Failed", "delivery-failed"


# A delivery is given up after this many attempts (the last one some 10 minutes after the
# first): by then a nurse has long seen the in-app alert, which never depends on a channel.
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)


def alarm_instants(
    status: str, discharge_due_at: datetime | None, overdue_after_minutes: int
) -> dict[str, datetime]:
    """Return the instant of each alarm a visit should have now (none unless recovering)."""
    if status != Status.RECOVERING or discharge_due_at is None:
        return {}
    return {
        DISCHARGE_DUE: discharge_due_at,
        DISCHARGE_OVERDUE: discharge_due_at + timedelta(minutes=overdue_after_minutes),
    }


# Why an alert no longer applies, by the status its visit has left recovery for.
LEFT_RECOVERY = {s.value: s.value for s in (Status.DISCHARGED, Status.CANCELLED, Status.NO_SHOW)}
SUBMITTED = "submitted"
RESOLVED_REASONS = (
    "extended",
    "rescheduled",
    *LEFT_RECOVERY.values(),
    "left_recovery",
    SUBMITTED,
)


def resolution(
    kind: str,
    due_at: datetime,
    status: str,
    discharge_due_at: datetime | None,
    overdue_after_minutes: int,
) -> str | None:
    """Return why a fired alarm's condition has gone, or None while it still holds.

    The alarm holds while the visit recovers and the same alarm would fire at the same
    instant now; otherwise the patient left ("discharged", "cancelled", "no_show",
    "left_recovery"), or its instant moved ("rescheduled"; the extension service, which
    knows the cause, says "extended" instead).
    """
    if status != Status.RECOVERING:
        return LEFT_RECOVERY.get(status, "left_recovery")
    at = alarm_instants(status, discharge_due_at, overdue_after_minutes).get(kind)
    return None if at == due_at else "rescheduled"


def reminder_resolution(submitted: bool) -> str | None:
    """Return why a REMS form reminder no longer applies ("submitted"), or None while it does.

    The reminder holds from its instant until the form is marked submitted, overdue or not:
    a form past its seven days still has to be sent.
    """
    return SUBMITTED if submitted else None


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after the given number of failed attempts: 5 s, 10 s, 20 s ... 10 min."""
    doublings: int = 2 ** max(attempts - 1, 0)  # int ** int is typed Any: a power may be < 0
    return min(FIRST_RETRY * doublings, LONGEST_RETRY)
