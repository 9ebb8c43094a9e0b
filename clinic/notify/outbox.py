"""The outbox: claim due deliveries, send them outside any transaction, record the outcome.

A delivery is claimed by pushing its next attempt a lease into the future in a short
transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two
scheduler processes never send the same one at once, and one that crashed mid-send is
retried when the lease runs out. Messages carry the chair, the patient's initials, the kind,
the due time and the visit id: nothing else about the patient. A REMS form reminder carries
not even the chair or the initials: its kind, the visit id and a link to the tracker.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from clinic.domain.alarms import MAX_ATTEMPTS, AlertKind, Channel, DeliveryStatus, retry_delay
from clinic.extensions import db
from clinic.models import Chair, Delivery, Notification, Patient, Site, Visit
from clinic.notify import email, webhook
from clinic.services.notifications import begin_write
from clinic.types import utcnow

log = logging.getLogger(__name__)

REMINDER_HEADLINE = "A REMS monitoring form is due for submission"
BATCH = 50
SENDERS = 8
# A claimed delivery whose sender died is tried again after this long.
LEASE = timedelta(minutes=2)
MAX_ERROR = 200


@dataclass(frozen=True)
class Message:
    """What a notification says outside the app."""

    notification_id: int
    kind: str
    visit_id: int
    site_id: int
    chair: str
    patient_initials: str
    due_at: datetime
    timezone: str
    # The app's address for links in messages (PUBLIC_BASE_URL; empty: a path only).
    base_url: str = ""

    @property
    def due_local(self) -> datetime:
        """Return the due instant in the site's time zone."""
        return self.due_at.astimezone(ZoneInfo(self.timezone))

    @property
    def headline(self) -> str:
        """Return what happened, in the clinic's words."""
        return AlertKind.label_of(self.kind)

    @property
    def is_reminder(self) -> bool:
        """Tell whether this is a REMS form reminder (an administrative task, not an alarm)."""
        return self.kind == AlertKind.REMS_FORM_DUE

    @property
    def link(self) -> str:
        """Return where the reminder is dealt with: the site's REMS tracker (no patient in it)."""
        return f"{self.base_url}/rems/submissions?site_id={self.site_id}"

    def subject(self) -> str:
        """Return the e-mail subject line."""
        local = self.due_local
        if self.is_reminder:
            return f"{REMINDER_HEADLINE} (visit {self.visit_id})"
        return f"{self.headline}: {self.chair} ({self.patient_initials}) at {local:%H:%M %Z}"

    def text(self) -> str:
        """Return the e-mail body."""
        local = self.due_local
        if self.is_reminder:
            # No patient, no chair: the link leads a signed-in user to the session.
            return (
                f"{REMINDER_HEADLINE}.\n\n"
                f"Reminder since: {local:%Y-%m-%d %H:%M %Z}\n"
                f"Visit: {self.visit_id}\n\n"
                f"Mark it submitted on the REMS tracker: {self.link}\n"
            )
        utc = self.due_at.astimezone(UTC)
        return (
            f"{self.headline}\n\n"
            f"Chair: {self.chair}\n"
            f"Patient: {self.patient_initials}\n"
            f"Due: {local:%Y-%m-%d %H:%M %Z} ({utc:%Y-%m-%d %H:%M} UTC)\n"
            f"Visit: {self.visit_id}\n\n"
            "Acknowledge it on the Infusion Desk dashboard.\n"
        )

    def payload(self, sent_at: datetime) -> dict[str, Any]:
        """Return the webhook's JSON body."""
        if self.is_reminder:
            return {
                "event": self.kind,
                "notification_id": self.notification_id,
                "visit_id": self.visit_id,
                "site_id": self.site_id,
                "message": REMINDER_HEADLINE,
                "link": self.link,
                "due_at": _zulu(self.due_at),
                "due_at_local": self.due_local.isoformat(),
                "timezone": self.timezone,
                "sent_at": _zulu(sent_at),
            }
        return {
            "event": self.kind,
            "notification_id": self.notification_id,
            "visit_id": self.visit_id,
            "site_id": self.site_id,
            "chair": self.chair,
            "patient_initials": self.patient_initials,
            "due_at": _zulu(self.due_at),
            "due_at_local": self.due_local.isoformat(),
            "timezone": self.timezone,
            "sent_at": _zulu(sent_at),
        }


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery and the message it carries."""

    delivery_id: int
    channel: str
    target: str
    message: Message


def _zulu(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def deliver_due(now: datetime | None = None, config: Any = None) -> int:
    """Send every delivery that is due, batch by batch; return how many were sent.

    With `now` given (tests), every step uses that instant; otherwise the clock.
    """
    config = config or current_app.config
    sent = 0
    while True:
        claimed = claim(now or utcnow())
        if not claimed:
            return sent
        outcomes = send_all(claimed, config, now or utcnow())
        record(outcomes, now)
        sent += sum(1 for error in outcomes.values() if error is None)


def claim(now: datetime, limit: int = BATCH) -> list[Outgoing]:
    """Take up to `limit` due deliveries for this process and return what to send."""
    session = db.session
    postgres = not begin_write()
    stmt = (
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    deliveries = list(session.scalars(stmt))
    if not deliveries:
        session.commit()
        return []
    base_url = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    messages = _messages({d.notification_id for d in deliveries}, base_url)
    claimed = []
    for delivery in deliveries:
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        claimed.append(
            Outgoing(
                delivery.id, delivery.channel, delivery.target, messages[delivery.notification_id]
            )
        )
    session.commit()
    return claimed


def _messages(notification_ids: set[int], base_url: str = "") -> dict[int, Message]:
    """Build the message of each notification from the few facts it may carry."""
    rows = db.session.execute(
        select(
            Notification.id,
            Notification.kind,
            Notification.visit_id,
            Notification.site_id,
            Notification.due_at,
            Chair.name,
            Patient.given_name,
            Patient.family_name,
            Site.timezone,
        )
        .join(Visit, Visit.id == Notification.visit_id)
        .join(Chair, Chair.id == db.func.coalesce(Visit.recovery_chair_id, Visit.chair_id))
        .join(Patient, Patient.id == Visit.patient_id)
        .join(Site, Site.id == Notification.site_id)
        .where(Notification.id.in_(notification_ids))
    )
    return {
        row.id: Message(
            notification_id=row.id,
            kind=row.kind,
            visit_id=row.visit_id,
            site_id=row.site_id,
            chair=row.name,
            patient_initials=f"{row.given_name[:1]}{row.family_name[:1]}".upper(),
            due_at=row.due_at,
            timezone=row.timezone,
            base_url=base_url,
        )
        for row in rows
    }


def send_one(outgoing: Outgoing, config: Any, now: datetime) -> None:
    """Send one delivery over its channel; raise on failure."""
    message = outgoing.message
    if outgoing.channel == Channel.EMAIL:
        email.send(config, outgoing.target, message.subject(), message.text())
    elif outgoing.channel == Channel.WEBHOOK:
        webhook.post(
            outgoing.target,
            config.get("WEBHOOK_SECRET", ""),
            message.payload(now),
            int(now.timestamp()),
        )
    else:
        raise ValueError(f"unknown channel {outgoing.channel}")


def send_all(claimed: list[Outgoing], config: Any, now: datetime) -> dict[int, str | None]:
    """Send the claimed deliveries side by side; return each one's error (None: sent)."""

    def attempt(outgoing: Outgoing) -> str | None:
        try:
            send_one(outgoing, config, now)
        except Exception as error:  # any failure is retried; its cause is recorded
            reason = f"{type(error).__name__}: {error}"[:MAX_ERROR]
            log.warning(
                "delivery %s via %s failed: %s", outgoing.delivery_id, outgoing.channel, reason
            )
            return reason
        return None

    with ThreadPoolExecutor(max_workers=min(SENDERS, len(claimed))) as pool:
        errors = list(pool.map(attempt, claimed))
    return {outgoing.delivery_id: error for outgoing, error in zip(claimed, errors, strict=True)}


def record(outcomes: dict[int, str | None], now: datetime | None = None) -> None:
    """Mark each delivery sent, or schedule its retry with backoff, or give it up."""
    at = now or utcnow()
    begin_write()
    deliveries = db.session.scalars(select(Delivery).where(Delivery.id.in_(list(outcomes))))
    for delivery in deliveries:
        error = outcomes[delivery.id]
        if error is None:
            delivery.status = DeliveryStatus.SENT.value
            delivery.sent_at = at
            delivery.last_error = None
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED.value
            delivery.last_error = error
        else:
            delivery.next_attempt_at = at + retry_delay(delivery.attempts)
            delivery.last_error = error
    db.session.commit()
