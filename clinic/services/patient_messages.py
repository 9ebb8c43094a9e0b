"""What a patient hears from the clinic: planning the messages of a visit, reading them.

Every message is a row planned when the visit is booked, moved or cancelled: "booked",
"changed" and "cancelled" wait SETTLE (3 minutes) so that a change made straight after sends
only the final state (a pending "booked" or "changed" is sent with the visit as it then is;
a cancel skips them); reminders go at the site's offsets in local wall-clock time, after the
quiet hours, and one whose time had passed when the visit was booked is stored `skipped`.
A channel the patient has not consented to, or has no address for, gets no row at all.
The scheduler sends the rows (clinic.notify.patient_outbox).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.domain.ids import MAX_ID
from clinic.domain.messages import (
    SETTLE,
    Confirmation,
    MessageChannel,
    MessageKind,
    MessageStatus,
    Reply,
    cant_come_cancels,
    pickup_at,
    reminder_at,
    reply_meaning,
    wall_clock_before,
)
from clinic.extensions import db
from clinic.models import Patient, PatientMessage, User, Visit
from clinic.services import access, audit
from clinic.services.errors import NotFound
from clinic.services.site_settings import reminder_plan, reminders_of

# The messages that tell what happened to the booking (one settles into the next).
ANNOUNCEMENTS = (MessageKind.BOOKED, MessageKind.CHANGED, MessageKind.CANCELLED)
# What a booking change means for the messages (the change names of booking and events).
ANNOUNCE = {
    "book": MessageKind.BOOKED,
    "reschedule": MessageKind.CHANGED,
    "reinstate": MessageKind.BOOKED,
    "cancel": MessageKind.CANCELLED,
}
REPLAN_REMINDERS = ("book", "course", "reschedule", "reinstate", "undo_no_show")
STOP_REMINDERS = ("cancel", "course_cancel", "no_show", "check_in", "start_infusion")
PICKUP_CHANGES = ("end_infusion", "extend_observation", "discharge", "start_infusion")


def recipients(patient: Patient, channels: Iterable[str]) -> dict[str, str]:
    """Return the address of each channel the patient consented to and has an address for."""
    found = {}
    for channel in channels:
        if channel == MessageChannel.EMAIL and patient.email and patient.email_consent_at:
            found[channel] = patient.email
        elif channel == MessageChannel.SMS and patient.phone and patient.sms_consent_at:
            found[channel] = patient.phone
    return found


def escort_recipient(patient: Patient) -> str | None:
    """Return the escort's phone when known and consented to the pick-up SMS."""
    return patient.escort_phone if patient.escort_phone and patient.escort_sms_consent_at else None


def visit_changed(visit: Visit, change: str, now: datetime) -> None:
    """Plan, move or skip a visit's messages after a booking change (the caller commits).

    `change` is "book", "reschedule" or a visit event's type ("cancel", "reinstate",
    "end_infusion", "extend_observation", ...); "course" and "course_cancel" are the later
    dates of a course booked, moved or cancelled at once (their first date announces it);
    other changes send nothing.
    """
    # No flush here: the caller's commit is where a booking clash (the exclusion constraint)
    # turns into a 409; the visit itself is already flushed (it has its id).
    new = change == "book"  # a visit booked now has no messages yet: none to look up
    with db.session.no_autoflush:
        if change in ANNOUNCE:
            _announce(visit, ANNOUNCE[change], now, new)
        elif change == "course_cancel":  # cancelled with the course: its first date tells
            _skip(visit, ANNOUNCEMENTS, "the course was cancelled")
        if change in REPLAN_REMINDERS:
            _plan_reminders(visit, now, new)
        elif change in STOP_REMINDERS:
            _skip(visit, (MessageKind.REMINDER,), "visit " + change.replace("_", " "))
        if change in PICKUP_CHANGES:
            _plan_pickup(visit, now)


def _rows(visit: Visit, kinds: Iterable[str], status: str | None = None) -> list[PatientMessage]:
    stmt = select(PatientMessage).where(
        PatientMessage.visit_id == visit.id, PatientMessage.kind.in_([str(k) for k in kinds])
    )
    if status is not None:
        stmt = stmt.where(PatientMessage.status == status)
    return list(db.session.scalars(stmt.order_by(PatientMessage.id)))


def _new(
    visit: Visit, kind: MessageKind, channel: str, at: datetime, now: datetime, status: str
) -> PatientMessage:
    row = PatientMessage(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        channel=channel,
        kind=kind.value,
        status=status,
        scheduled_for=at,
        next_attempt_at=at,
        attempts=0,
        created_at=now,
    )
    db.session.add(row)
    return row


def _skip(visit: Visit, kinds: Iterable[str], why: str) -> None:
    for row in _rows(visit, kinds, MessageStatus.SCHEDULED.value):
        row.status = MessageStatus.SKIPPED.value
        row.error = why


def _announce(visit: Visit, kind: MessageKind, now: datetime, new: bool = False) -> None:
    """Plan "booked", "changed" or "cancelled" after SETTLE; a pending one settles into it."""
    scheduled = [] if new else _rows(visit, ANNOUNCEMENTS, MessageStatus.SCHEDULED.value)
    pending = [row for row in scheduled if row.attempts == 0]
    if kind is MessageKind.CHANGED and pending:
        return  # the pending "booked" or "changed" is written with the final time when sent
    for row in pending:
        row.status = MessageStatus.SKIPPED.value
        row.error = f"superseded: {kind.value}"
    channels = reminders_of(visit.site.reminders)["channels"]
    for channel in recipients(visit.patient, channels):
        _new(visit, kind, channel, now + SETTLE, now, MessageStatus.SCHEDULED.value)


def _plan_reminders(visit: Visit, now: datetime, new: bool = False) -> None:
    """Plan the reminders of the visit's (new) time; those of an old time are skipped."""
    settings = reminders_of(visit.site.reminders)
    plan = reminder_plan(settings)
    tz = ZoneInfo(visit.site.timezone)
    channels = recipients(visit.patient, settings["channels"])
    wanted: dict[tuple[str, datetime], str] = {}
    for offset, channel in plan.pairs():
        if channel.value not in channels:
            continue
        at = reminder_at(visit.infusion_start, offset, plan, tz, booked_at=now)
        if at is None:  # its time has passed (or the quiet hours last until the visit)
            key = (channel.value, wall_clock_before(visit.infusion_start, offset, tz))
            wanted.setdefault(key, MessageStatus.SKIPPED.value)
        else:
            wanted[(channel.value, at)] = MessageStatus.SCHEDULED.value
    rows = [] if new else _rows(visit, [MessageKind.REMINDER])
    existing = {(row.channel, row.scheduled_for): row for row in rows}
    for key, old in existing.items():
        if old.status == MessageStatus.SCHEDULED and wanted.get(key) != MessageStatus.SCHEDULED:
            old.status = MessageStatus.SKIPPED.value
            old.error = "the visit moved"
    for (name, at), status in wanted.items():
        row = existing.get((name, at))
        if row is None:
            added = _new(visit, MessageKind.REMINDER, name, at, now, status)
            if status == MessageStatus.SKIPPED:
                added.error = "its time had passed when the visit was booked"
        elif (
            status == MessageStatus.SCHEDULED
            and row.status == MessageStatus.SKIPPED
            and row.sent_at is None
            and row.attempts == 0
        ):
            row.status, row.error = MessageStatus.SCHEDULED.value, None


def _plan_pickup(visit: Visit, now: datetime) -> None:
    """Plan the escort's pick-up SMS 15 minutes before discharge is due; never twice."""
    rows = _rows(visit, [MessageKind.PICKUP])
    if any(row.status == MessageStatus.SENT or row.attempts > 0 for row in rows):
        return  # already on its way or sent: an extension does not send it again
    due = visit.discharge_due_at if visit.status == "recovering" else None
    at = pickup_at(due) if due is not None else None
    for row in rows:
        if row.status == MessageStatus.SCHEDULED and row.scheduled_for != at:
            row.status, row.error = MessageStatus.SKIPPED.value, "discharge moved"
    if at is None or escort_recipient(visit.patient) is None:
        return
    same = next((row for row in rows if row.scheduled_for == at), None)
    if same is None:
        _new(visit, MessageKind.PICKUP, MessageChannel.SMS.value, max(at, now), now, "scheduled")
    elif same.status == MessageStatus.SKIPPED:
        same.status, same.error = MessageStatus.SCHEDULED.value, None


# ---------------------------------------------------------------- reading


def visit_messages(actor: User, visit_id: int) -> list[PatientMessage]:
    """Return the messages of a visit the actor may see, in planned order."""
    if not 1 <= visit_id <= MAX_ID:
        raise NotFound("visit")
    visit = access.get_visit(actor, visit_id)
    stmt = (
        select(PatientMessage)
        .where(PatientMessage.visit_id == visit.id)
        .order_by(PatientMessage.scheduled_for, PatientMessage.id)
    )
    return list(db.session.scalars(stmt))


def summary(rows: Iterable[PatientMessage]) -> list[dict[str, Any]]:
    """Return (kind, channel, status) of each row, for tests and logs (no addresses)."""
    return [{"kind": r.kind, "channel": r.channel, "status": r.status} for r in rows]


# ---------------------------------------------------------------- the patient's answers


def visit_for_token(token: str) -> Visit | None:
    """Return the visit a message's confirmation link names (None: no such link)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    from clinic.notify.patient_outbox import digest

    row = db.session.scalar(
        select(PatientMessage).where(PatientMessage.token_digest == digest(token))
    )
    return row.visit if row is not None else None


MAX_TOKEN_LENGTH = 100
PATIENT = "patient"  # the audit trail's actor for what the patient did (link, SMS reply)


def answer(visit: Visit, reply: Reply, now: datetime) -> str:
    """Record a patient's answer about a booked visit; commit; return what it did.

    "confirm" confirms; "I can't come" inside the site's cancel window asks the desk
    (cancel_requested), outside it cancels the visit and frees the chair. An answer about a
    visit that is no longer booked, or has begun, changes nothing ("closed").
    """
    from clinic.database import lock_site_for_writing

    lock_site_for_writing(visit.site_id)
    db.session.refresh(visit)
    if visit.status != "booked" or now >= visit.infusion_start:
        db.session.rollback()
        return "closed"
    if reply is Reply.CONFIRM:
        outcome = Confirmation.CONFIRMED.value
    elif cant_come_cancels(now, visit.infusion_start, visit.site.cancel_window_hours):
        outcome = "cancelled"
    else:
        outcome = Confirmation.CANCEL_REQUESTED.value
    ids: dict[str, Any] = {
        "patient_id": visit.patient_id,
        "object_type": "visit",
        "object_id": visit.id,
    }
    if outcome == "cancelled":
        _cancel_by_patient(visit, now)
        audit.record(PATIENT, "visit.event.cancel", now, detail={"event": "cancel"}, **ids)
    else:
        visit.confirmation = outcome
        visit.confirmation_at = now
        visit.updated_at = now
        audit.record(PATIENT, "visit.confirmation", now, detail={"confirmation": outcome}, **ids)
    db.session.commit()
    return outcome


def _cancel_by_patient(visit: Visit, now: datetime) -> None:
    """Cancel a booked visit at the patient's word (the chair is free again)."""
    from clinic.domain.visits import EventType, Status, next_status
    from clinic.models import VisitEvent
    from clinic.services import notifications

    visit.status = next_status(Status(visit.status), EventType.CANCEL).value
    visit.cancel_reason = "The patient can't come (answered a reminder)."
    visit.updated_at = now
    db.session.add(
        VisitEvent(
            visit=visit,
            type=EventType.CANCEL.value,
            at=now,
            recorded_at=now,
            by_id=None,
            data={"reason": visit.cancel_reason, "by": PATIENT},
        )
    )
    notifications.resolve_for_visit(visit, now)
    visit_changed(visit, "cancel", now)


def inbound_sms(sender: str, text: str, now: datetime) -> str:
    """Act on an SMS reply from a patient's phone; commit; return what it did.

    STOP withdraws SMS consent (every patient with that number); C/YES and X/NO answer about
    the patient's next booked visit. Anything else, or an unknown number, does nothing.
    """
    from clinic.domain.text import normalize_phone

    try:
        phone = normalize_phone(sender)
    except ValueError:
        return "unknown"
    meaning = reply_meaning(text)
    patients = list(db.session.scalars(select(Patient).where(Patient.phone == phone)))
    if meaning is Reply.STOP:
        return _stop(phone, patients, now)
    if meaning is None or not patients:
        return "ignored"
    visit = db.session.scalar(
        select(Visit)
        .where(
            Visit.patient_id.in_([p.id for p in patients]),
            Visit.status == "booked",
            Visit.infusion_start > now,
        )
        .order_by(Visit.infusion_start)
        .limit(1)
    )
    if visit is None:
        return "no_visit"
    return answer(visit, meaning, now)


def _stop(phone: str, patients: list[Patient], now: datetime) -> str:
    """Withdraw SMS consent of every patient with this number, and of every escort with it."""
    from clinic.services.patients import set_consents

    escorted = list(db.session.scalars(select(Patient).where(Patient.escort_phone == phone)))
    stopped = [(p, "sms") for p in patients] + [(p, "escort_sms") for p in escorted]
    for patient, channel in stopped:
        if set_consents(PATIENT, patient, {channel: False}, now):
            audit.record(
                PATIENT,
                "patient.consent",
                now,
                patient_id=patient.id,
                object_type="patient",
                object_id=patient.id,
                detail={channel: False, "via": "sms"},
            )
    db.session.commit()
    return "stopped" if stopped else "ignored"


def to_call(actor: User, site_id: int, now: datetime) -> list[Visit]:
    """Return the desk's "to call" list: tomorrow's booked visits not confirmed (site-local),
    those whose patient asked to cancel first."""
    from datetime import timedelta

    from sqlalchemy.orm import selectinload

    from clinic.services.sites import local_day_bounds, today

    site = access.get_site(actor, site_id)
    start, end = local_day_bounds(site, today(site, now) + timedelta(days=1))
    visits = db.session.scalars(
        select(Visit)
        .options(selectinload(Visit.patient))
        .where(
            Visit.site_id == site.id,
            Visit.status == "booked",
            Visit.confirmation != Confirmation.CONFIRMED.value,
            Visit.infusion_start >= start,
            Visit.infusion_start < end,
        )
        .order_by(Visit.infusion_start, Visit.id)
    )
    return sorted(visits, key=lambda v: v.confirmation != Confirmation.CANCEL_REQUESTED.value)
