"""Sending the patients' messages: claim due rows, send outside any transaction, record.

As the alert outbox: a due row is claimed by pushing its next attempt a lease ahead in a
short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two
scheduler processes never send the same message; one whose sender died is tried again when
the lease runs out. The body is written at the claim from the visit as it then is: a message
whose visit has begun (a reminder missed while no scheduler ran, say) is `skipped`, not sent
late; one still before the visit goes out. Failures retry with backoff, then `failed`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from clinic.domain.alarms import MAX_ATTEMPTS, retry_delay
from clinic.domain.messages import (
    Facts,
    MessageChannel,
    MessageKind,
    MessageStatus,
    compose,
)
from clinic.domain.visits import HistoryType
from clinic.extensions import db
from clinic.models import PatientMessage, Visit, VisitEvent
from clinic.notify import calendar, email, sms
from clinic.services.notifications import begin_write
from clinic.services.patient_messages import escort_recipient, recipients
from clinic.services.site_settings import reminders_of
from clinic.types import utcnow

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(minutes=2)
MAX_ERROR = 200
LINK_PLACEHOLDER = "/c/[link]"
OFFER_LINK_PLACEHOLDER = "/o/[link]"


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, written out."""

    message_id: int
    channel: str
    to: str
    subject: str
    body: str
    calendar: bytes | None


def digest(token: str) -> str:
    """Return the stored digest of a confirmation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def send_due(now: datetime | None = None, config: Any = None) -> int:
    """Send every message that is due, batch by batch; return how many were sent."""
    config = config or current_app.config
    sent = 0
    while True:
        claimed = claim(now or utcnow(), config)
        if not claimed:
            return sent
        outcomes = {outgoing.message_id: attempt(outgoing, config, now) for outgoing in claimed}
        record(outcomes, now)
        sent += sum(1 for error in outcomes.values() if error is None)


def _skip_reason(row: PatientMessage, visit: Visit, now: datetime, config: Any) -> str | None:
    """Return why a due message is not to be sent (any more), or None to send it."""
    if row.kind == MessageKind.PICKUP:
        if visit.status != "recovering" or visit.discharge_due_at is None:
            return "the patient is not in recovery"
        if now >= visit.discharge_due_at:
            return "discharge was already due"
    else:
        if now >= visit.infusion_start:
            return "the visit had begun"
        if row.kind != MessageKind.CANCELLED and visit.status != "booked":
            return f"the visit is {visit.status}"
    if row.channel == MessageChannel.EMAIL and not config.get("SMTP_HOST"):
        return "no e-mail channel (SMTP_HOST unset)"
    if row.channel == MessageChannel.SMS and not config.get("SMS_PROVIDER"):
        return "no SMS provider (SMS_PROVIDER unset)"
    return None


def _recipient(row: PatientMessage, visit: Visit) -> str | None:
    if row.kind == MessageKind.PICKUP:
        return escort_recipient(visit.patient)
    channels = reminders_of(visit.site.reminders)["channels"]
    return recipients(visit.patient, [row.channel] if row.channel in channels else []).get(
        row.channel
    )


def _sequence(visit: Visit) -> int:
    """Return the calendar SEQUENCE: how many times the visit moved (+1 once cancelled)."""
    moves = db.session.scalar(
        select(func.count(VisitEvent.id)).where(
            VisitEvent.visit_id == visit.id, VisitEvent.type == HistoryType.RESCHEDULE.value
        )
    )
    return int(moves or 0) + (1 if visit.status == "cancelled" else 0)


def _base_url(config: Any) -> str:
    """Return the app's public address, which the confirmation links point to."""
    return (config.get("PUBLIC_BASE_URL") or "http://localhost:5000").rstrip("/")


def claim(now: datetime, config: Any, limit: int = BATCH) -> list[Outgoing]:
    """Take up to `limit` due messages for this process and write them out."""
    postgres = not begin_write()
    stmt = (
        select(PatientMessage)
        .where(
            PatientMessage.status == MessageStatus.SCHEDULED.value,
            PatientMessage.next_attempt_at <= now,
        )
        .order_by(PatientMessage.next_attempt_at, PatientMessage.id)
        .limit(limit)
    )
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(stmt))
    claimed = []
    for row in rows:
        if row.offer_recipient is not None:
            offer = _claim_offer(row, now, config)
            if offer is not None:
                claimed.append(offer)
            continue
        visit = row.visit
        assert visit is not None  # a message without a visit is an offer's
        to = _recipient(row, visit)
        why = _skip_reason(row, visit, now, config)
        if why is None and to is None:
            why = "no consent or no address for this channel"
        if why is not None:
            row.status, row.error = MessageStatus.SKIPPED.value, why
            continue
        assert to is not None
        token = secrets.token_urlsafe(24)
        link = f"{_base_url(config)}/c/{token}"
        settings = reminders_of(visit.site.reminders)
        facts = Facts(
            site=visit.site.name,
            start=visit.infusion_start,
            timezone=ZoneInfo(visit.site.timezone),
            instructions=settings["instructions"],
            link=link,
            pickup=visit.discharge_due_at,
        )
        kind, channel = MessageKind(row.kind), MessageChannel(row.channel)
        subject, body = compose(kind, channel, facts)
        ics = None
        if channel is MessageChannel.EMAIL and kind is not MessageKind.PICKUP:
            sender = config.get("MAIL_FROM", "infusion-desk@localhost")
            ics = calendar.build(
                visit_id=visit.id,
                domain=urlsplit(_base_url(config)).hostname or "localhost",
                sequence=_sequence(visit),
                cancelled=kind is MessageKind.CANCELLED,
                site=visit.site.name,
                start=visit.infusion_start,
                end=visit.observation_end,
                timezone=visit.site.timezone,
                organizer=sender,
                attendee=to,
                now=now,
            )
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        row.recipient = to
        row.subject = subject
        row.body = body.replace(link, LINK_PLACEHOLDER)  # the token is kept as a digest only
        row.token_digest = digest(token)
        claimed.append(Outgoing(row.id, row.channel, to, subject, body, ics))
    db.session.commit()
    return claimed


def _claim_offer(row: PatientMessage, now: datetime, config: Any) -> Outgoing | None:
    """Write out a waitlist offer's message (or skip it: the offer closed, no consent)."""
    from clinic.domain.waitlist import OfferStatus, offer_status

    recipient = row.offer_recipient
    assert recipient is not None
    offer = recipient.offer
    site = offer.site
    state = offer_status(OfferStatus(offer.status), offer.hold_until, now)
    channels = reminders_of(site.reminders)["channels"]
    patient = recipient.entry.patient
    to = recipients(patient, [row.channel] if row.channel in channels else []).get(row.channel)
    why = None
    if state is not OfferStatus.OPEN:
        why = f"the offer is {state.value}"
    elif row.channel == MessageChannel.EMAIL and not config.get("SMTP_HOST"):
        why = "no e-mail channel (SMTP_HOST unset)"
    elif row.channel == MessageChannel.SMS and not config.get("SMS_PROVIDER"):
        why = "no SMS provider (SMS_PROVIDER unset)"
    elif to is None:
        why = "no consent or no address for this channel"
    if why is not None:
        row.status, row.error = MessageStatus.SKIPPED.value, why
        return None
    assert to is not None
    token = secrets.token_urlsafe(24)
    link = f"{_base_url(config)}/o/{token}"
    facts = Facts(
        site=site.name,
        start=offer.infusion_start,
        timezone=ZoneInfo(site.timezone),
        instructions=reminders_of(site.reminders)["instructions"],
        link=link,
    )
    subject, body = compose(MessageKind.OFFER, MessageChannel(row.channel), facts)
    row.attempts += 1
    row.next_attempt_at = now + LEASE
    row.recipient = to
    row.subject = subject
    row.body = body.replace(link, OFFER_LINK_PLACEHOLDER)
    row.token_digest = digest(token)
    return Outgoing(row.id, row.channel, to, subject, body, None)


def attempt(outgoing: Outgoing, config: Any, now: datetime | None = None) -> str | None:
    """Send one message; return its error (None: sent)."""
    try:
        if outgoing.channel == MessageChannel.EMAIL:
            email.send(config, outgoing.to, outgoing.subject, outgoing.body, outgoing.calendar)
        else:
            provider = sms.provider(config)
            if provider is None:
                raise RuntimeError("no SMS provider")
            timestamp = int((now or utcnow()).timestamp())
            provider.send(outgoing.to, outgoing.body, outgoing.message_id, timestamp)
    except Exception as error:  # any failure is retried; its cause is recorded
        reason = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        log.warning(
            "patient message %s via %s failed: %s", outgoing.message_id, outgoing.channel, reason
        )
        return reason
    return None


def record(outcomes: dict[int, str | None], now: datetime | None = None) -> None:
    """Mark each message sent, or schedule its retry with backoff, or give it up."""
    at = now or utcnow()
    begin_write()
    rows = db.session.scalars(select(PatientMessage).where(PatientMessage.id.in_(list(outcomes))))
    for row in rows:
        error = outcomes[row.id]
        if error is None:
            row.status, row.sent_at, row.error = MessageStatus.SENT.value, at, None
        elif row.attempts >= MAX_ATTEMPTS:
            row.status, row.error = MessageStatus.FAILED.value, error
        else:
            row.next_attempt_at = at + retry_delay(row.attempts)
            row.error = error
    db.session.commit()


def failed_messages(limit: int = 200) -> list[PatientMessage]:
    """Return the messages given up on, and those still failing, newest first."""
    stmt = (
        select(PatientMessage)
        .where(
            (PatientMessage.status == MessageStatus.FAILED.value)
            | (
                (PatientMessage.status == MessageStatus.SCHEDULED.value)
                & PatientMessage.error.is_not(None)
            )
        )
        .order_by(PatientMessage.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
