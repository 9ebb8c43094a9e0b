"""Treatment plans and recall, the waitlist, and offers of a freed slot.

An offer goes to a few waiting patients, each with their own link (`/o/<token>`, stored as
a digest). The first to accept is booked through the normal booking path (the site lock, then
the PostgreSQL exclusion constraint or SQLite's single writer); the others see "taken".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from clinic.database import lock_site_for_writing
from clinic.domain.booking import Rule, Violation
from clinic.domain.messages import MessageKind, MessageStatus
from clinic.domain.treatments import TreatmentKind
from clinic.domain.visits import Status
from clinic.domain.waitlist import (
    MAX_EVERY_DAYS,
    MAX_WITHIN_DAYS,
    SPRAVATO_MAINTENANCE_DAYS,
    EntryStatus,
    OfferStatus,
    PartOfDay,
    PlanState,
    PlanTemplate,
    Recall,
    days_between,
    fits_part_of_day,
    offer_status,
    plan_due_on,
    recalls,
)
from clinic.extensions import db
from clinic.models import (
    ACTIVE_STATUSES,
    Chair,
    Clearance,
    OfferRecipient,
    Patient,
    PatientMessage,
    PatientPlan,
    TreatmentType,
    User,
    Visit,
    WaitlistEntry,
    WaitlistOffer,
)
from clinic.services import access, audit, booking, patient_messages
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.patient_overview import clearance_span
from clinic.services.site_settings import reminders_of
from clinic.services.sites import today
from clinic.services.tokens import digest

MAX_HOLD_MINUTES = 24 * 60
# The visits that count as "seen" for a recall: attended, or still under way.
SEEN_STATUSES = (Status.DISCHARGED.value, *ACTIVE_STATUSES)
MAX_WAIT_DAYS = 366
MAX_NOTE = 500
MAX_OFFER_ENTRIES = 20


# ---------------------------------------------------------------- plans and recall


def plan_of(patient: Patient) -> PatientPlan | None:
    """Return the patient's maintenance plan, if one is set."""
    return db.session.scalar(select(PatientPlan).where(PatientPlan.patient_id == patient.id))


def set_plan(
    actor: User,
    patient_id: int,
    every_days: int,
    next_due_on: date,
    now: datetime,
    template: str = PlanTemplate.NONE.value,
) -> PatientPlan:
    """Set how often the patient comes back and when next (front desk and practitioners).

    With the Spravato template, next_due_on is the day the template starts and every_days the
    maintenance interval after week 8 (7 or 14 days).
    """
    access.require(actor, "edit_patients")
    patient = access.get_patient(actor, patient_id)
    fields: dict[str, list[str]] = {}
    if template not in PlanTemplate.values():
        fields["template"] = [f"Not one of {', '.join(PlanTemplate.values())}."]
    if not 1 <= every_days <= MAX_EVERY_DAYS:
        fields["every_days"] = [f"Must be between 1 and {MAX_EVERY_DAYS}."]
    elif template == PlanTemplate.SPRAVATO and every_days not in SPRAVATO_MAINTENANCE_DAYS:
        fields["every_days"] = ["The Spravato maintenance is every 7 or 14 days."]
    if abs(next_due_on - today(patient.site, now)) > timedelta(days=3660):
        fields["next_due_on"] = ["Must lie within ten years of today."]
    if fields:
        raise Invalid("Some values are out of range.", fields)
    plan = plan_of(patient)
    if plan is None:
        plan = PatientPlan(patient_id=patient.id, every_days=every_days, next_due_on=next_due_on)
        db.session.add(plan)
    plan.every_days = every_days
    plan.next_due_on = next_due_on
    plan.template = template
    plan.updated_by_id = actor.id
    plan.updated_at = now
    audit.record(
        actor,
        "plan.set",
        now,
        patient_id=patient.id,
        object_type="patient_plan",
        object_id=plan,
        detail={
            "every_days": every_days,
            "next_due_on": next_due_on.isoformat(),
            "template": template,
        },
    )
    db.session.commit()
    return plan


def spravato_sessions(patient_ids: list[int], tz: ZoneInfo) -> dict[int, list[date]]:
    """Return the site-local days of each patient's completed (discharged) Spravato sessions."""
    found: dict[int, list[date]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return found
    rows = db.session.execute(
        select(Visit.patient_id, Visit.infusion_start)
        .join(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
        .where(
            Visit.patient_id.in_(patient_ids),
            Visit.status == Status.DISCHARGED.value,
            TreatmentType.kind == TreatmentKind.ESKETAMINE.value,
        )
    )
    for patient_id, start in rows:
        found[patient_id].append(start.astimezone(tz).date())
    return found


def due_on(plan: PatientPlan) -> date:
    """Return a plan's next due date (from the template and the sessions, if it has one)."""
    template = PlanTemplate(plan.template)
    sessions: list[date] = []
    if template is PlanTemplate.SPRAVATO:
        patient = db.session.get_one(Patient, plan.patient_id)
        tz = ZoneInfo(patient.site.timezone)
        sessions = spravato_sessions([plan.patient_id], tz)[plan.patient_id]
    return plan_due_on(template, plan.next_due_on, plan.every_days, sessions)


def due_recalls(actor: User, site_id: int, within_days: int, now: datetime) -> list[Recall]:
    """Return the site's patients due within the days with no future active visit."""
    site = access.get_site(actor, site_id)
    if not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise Invalid(
            "within_days is out of range.",
            {"within_days": [f"Must be between 0 and {MAX_WITHIN_DAYS}."]},
        )
    rows = db.session.execute(
        select(
            PatientPlan.patient_id,
            PatientPlan.next_due_on,
            PatientPlan.every_days,
            PatientPlan.template,
        )
        .join(Patient, Patient.id == PatientPlan.patient_id)
        .where(Patient.site_id == site.id)
    ).all()
    ids = [r.patient_id for r in rows]
    templated = [r.patient_id for r in rows if r.template != PlanTemplate.NONE]
    sessions = spravato_sessions(templated, ZoneInfo(site.timezone))
    last: dict[int, datetime] = {}
    future: set[int] = set()
    if ids:
        last = {
            pid: at
            for pid, at in db.session.execute(
                select(Visit.patient_id, func.max(Visit.infusion_start))
                .where(
                    Visit.patient_id.in_(ids),
                    Visit.infusion_start < now,
                    Visit.status.in_(SEEN_STATUSES),
                )
                .group_by(Visit.patient_id)
            ).all()
        }
        future = set(
            db.session.scalars(
                select(Visit.patient_id).where(
                    Visit.patient_id.in_(ids),
                    Visit.status.in_(ACTIVE_STATUSES),
                    Visit.infusion_start >= now,
                )
            )
        )
    states = [
        PlanState(
            r.patient_id,
            plan_due_on(
                PlanTemplate(r.template),
                r.next_due_on,
                r.every_days,
                sessions.get(r.patient_id, []),
            ),
            last.get(r.patient_id),
            r.patient_id in future,
        )
        for r in rows
    ]
    return recalls(states, today(site, now), within_days)


def last_visit(patient_id: int, now: datetime) -> Visit | None:
    """Return the patient's latest visit that started before now (its chair and time)."""
    return db.session.scalar(
        select(Visit)
        .where(
            Visit.patient_id == patient_id,
            Visit.infusion_start < now,
            Visit.status.in_(SEEN_STATUSES),
        )
        .order_by(Visit.infusion_start.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- the waitlist


def _cleared_every_day(patient: Patient, days: list[date]) -> bool:
    spans = [
        clearance_span(c)
        for c in db.session.scalars(select(Clearance).where(Clearance.patient_id == patient.id))
    ]
    return all(any(s.valid_on(day) for s in spans) for day in days)


def add_entry(
    actor: User,
    patient_id: int,
    site_id: int,
    earliest_on: date,
    latest_on: date,
    part_of_day: str,
    note: str,
    now: datetime,
) -> WaitlistEntry:
    """Put an eligible patient on a site's waitlist.

    422 for bad dates (latest before earliest, earliest before the site's today, a span longer
    than a year); 409 (rule not_cleared) when no valid clearance covers every day of the span.
    """
    access.require(actor, "book")
    patient = access.get_patient(actor, patient_id)
    site = access.get_site(actor, site_id)
    fields: dict[str, list[str]] = {}
    if latest_on < earliest_on:
        fields["latest_on"] = ["Must not be before earliest_on."]
    elif (latest_on - earliest_on).days >= MAX_WAIT_DAYS:
        fields["latest_on"] = [f"The span must be shorter than {MAX_WAIT_DAYS} days."]
    if earliest_on < today(site, now):
        fields["earliest_on"] = ["Must not be in the past."]
    if len(note) > MAX_NOTE:
        fields["note"] = [f"At most {MAX_NOTE} characters."]
    if fields:
        raise Invalid("Some values are out of range.", fields)
    if not _cleared_every_day(patient, days_between(earliest_on, latest_on)):
        raise Conflict(
            "The patient is not cleared for every day of the span.",
            [Violation(Rule.NOT_CLEARED, "No valid clearance with consent covers every day.")],
        )
    entry = WaitlistEntry(
        patient_id=patient.id,
        site_id=site.id,
        earliest_on=earliest_on,
        latest_on=latest_on,
        part_of_day=PartOfDay(part_of_day).value,
        note=note,
        status=EntryStatus.WAITING.value,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(entry)
    audit.record(
        actor,
        "waitlist.add",
        now,
        patient_id=patient.id,
        object_type="waitlist_entry",
        object_id=entry,
        detail={"site_id": site.id},
    )
    db.session.commit()
    return entry


def entries(actor: User, site_id: int) -> list[WaitlistEntry]:
    """Return the site's waiting entries, oldest first."""
    site = access.get_site(actor, site_id)
    return list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.site_id == site.id,
                WaitlistEntry.status == EntryStatus.WAITING.value,
            )
            .order_by(WaitlistEntry.id)
        )
    )


def get_entry(actor: User, entry_id: int) -> WaitlistEntry:
    """Load an entry at one of the user's sites, or raise NotFound."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or not access.can_see_site(actor, entry.site_id):
        raise NotFound("waitlist entry")
    return entry


def remove_entry(actor: User, entry_id: int, now: datetime) -> None:
    """Take an entry off the waitlist (kept on record as removed)."""
    access.require(actor, "book")
    entry = get_entry(actor, entry_id)
    if entry.status != EntryStatus.WAITING.value:
        raise NotFound("waitlist entry")
    entry.status = EntryStatus.REMOVED.value
    entry.removed_at = now
    audit.record(
        actor,
        "waitlist.remove",
        now,
        patient_id=entry.patient_id,
        object_type="waitlist_entry",
        object_id=entry,
    )
    db.session.commit()


def matches(
    actor: User, site_id: int, infusion_start: datetime, chair_id: int, now: datetime
) -> list[WaitlistEntry]:
    """Return the waiting entries whose patient could be booked there under every rule."""
    site = access.get_site(actor, site_id)
    chair = db.session.get(Chair, chair_id)
    if chair is None or chair.site_id != site.id:
        raise NotFound("chair")
    if infusion_start.tzinfo is None:
        raise Invalid("Give the time with its offset.", {"infusion_start": ["Naive instant."]})
    local = infusion_start.astimezone(ZoneInfo(site.timezone))
    found = []
    for entry in entries(actor, site.id):
        if not entry.earliest_on <= local.date() <= entry.latest_on:
            continue
        if not fits_part_of_day(PartOfDay(entry.part_of_day), local.time()):
            continue
        req = booking.Request(entry.patient_id, infusion_start, site.id, chair.id)
        try:
            _, _, placement, violations = booking.evaluate(actor, req, now)
        except (Invalid, NotFound):
            continue
        if placement is not None and not violations:
            found.append(entry)
    return found


FREED_STEP = 15  # minutes: a freed slot is offered from the next quarter hour
FREED_LEAD = timedelta(minutes=30)  # the time a patient needs to answer and come


def freed_slot(visit: Visit, now: datetime) -> datetime | None:
    """Return the start a cancelled or no-show visit frees for the waitlist, or None.

    The visit's own start if it is still at least FREED_LEAD away, else the next quarter
    hour after now + FREED_LEAD, as long as that is before the visit's chair hold ended
    (enough of its slot left).
    """
    if visit.status not in ("cancelled", "no_show"):
        return None
    earliest = now + FREED_LEAD
    if visit.infusion_start >= earliest:
        return visit.infusion_start
    step = timedelta(minutes=FREED_STEP)
    steps = -((visit.infusion_start - earliest) // step)  # rounded up
    start = visit.infusion_start + steps * step
    end = start + timedelta(minutes=visit.infusion_minutes)
    return start if end <= visit.chair_released_at else None


def matches_for_freed(
    actor: User, visit: Visit, now: datetime
) -> tuple[datetime | None, list[WaitlistEntry]]:
    """Return the slot a cancelled or no-show visit frees and the entries that fit it."""
    start = freed_slot(visit, now)
    if start is None:
        return None, []
    return start, matches(actor, visit.site_id, start, visit.chair_id, now)


# ---------------------------------------------------------------- offers


@dataclass(frozen=True)
class Sent:
    """An offer just made, with each recipient's link token (shown once, never stored)."""

    offer: WaitlistOffer
    tokens: dict[int, str]  # entry id -> token


def create_offer(
    actor: User,
    chair_id: int,
    infusion_start: datetime,
    entry_ids: list[int],
    hold_minutes: int,
    now: datetime,
) -> Sent:
    """Offer a free slot to some waiting entries; each gets a link (and a message)."""
    access.require(actor, "book")
    chair = db.session.get(Chair, chair_id)
    if chair is None or not access.can_see_site(actor, chair.site_id):
        raise NotFound("chair")
    fields: dict[str, list[str]] = {}
    if not 1 <= hold_minutes <= MAX_HOLD_MINUTES:
        fields["hold_minutes"] = [f"Must be between 1 and {MAX_HOLD_MINUTES}."]
    if not entry_ids or len(entry_ids) > MAX_OFFER_ENTRIES:
        fields["entry_ids"] = [f"Give 1 to {MAX_OFFER_ENTRIES} entries."]
    elif len(set(entry_ids)) != len(entry_ids):
        fields["entry_ids"] = ["Each entry once."]
    if infusion_start.tzinfo is None:
        fields["infusion_start"] = ["Naive instant."]
    elif infusion_start <= now:
        fields["infusion_start"] = ["Must be in the future."]
    if fields:
        raise Invalid("Some values are out of range.", fields)
    chosen = [get_entry(actor, entry_id) for entry_id in entry_ids]
    for entry in chosen:
        if entry.site_id != chair.site_id or entry.status != EntryStatus.WAITING.value:
            raise Invalid(
                "Every entry must be waiting at the chair's site.",
                {"entry_ids": [f"Entry {entry.id} is not waiting at this site."]},
            )
    offer = WaitlistOffer(
        site_id=chair.site_id,
        chair_id=chair.id,
        infusion_start=infusion_start,
        hold_until=now + timedelta(minutes=hold_minutes),
        status=OfferStatus.OPEN.value,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(offer)
    tokens: dict[int, str] = {}
    channels = reminders_of(chair.site.reminders)["channels"]
    for entry in chosen:
        token = secrets.token_urlsafe(24)
        tokens[entry.id] = token
        recipient = OfferRecipient(offer=offer, entry=entry, token_digest=digest(token))
        db.session.add(recipient)
        # The patient's messages, through the outbox (consent and address checked there too).
        for channel in patient_messages.recipients(entry.patient, channels):
            db.session.add(
                PatientMessage(
                    visit_id=None,
                    offer_recipient=recipient,
                    patient_id=entry.patient_id,
                    channel=channel,
                    kind=MessageKind.OFFER.value,
                    status=MessageStatus.SCHEDULED.value,
                    scheduled_for=now,
                    next_attempt_at=now,
                    attempts=0,
                    created_at=now,
                )
            )
        audit.record(
            actor,
            "waitlist.offer",
            now,
            patient_id=entry.patient_id,
            object_type="waitlist_offer",
            object_id=offer,
            detail={"entry_id": entry.id, "hold_minutes": hold_minutes},
        )
    db.session.commit()
    return Sent(offer, tokens)


def get_offer(actor: User, offer_id: int) -> WaitlistOffer:
    """Load an offer at one of the user's sites, or raise NotFound."""
    offer = db.session.get(WaitlistOffer, offer_id)
    if offer is None or not access.can_see_site(actor, offer.site_id):
        raise NotFound("offer")
    return offer


def status_of(offer: WaitlistOffer, now: datetime) -> OfferStatus:
    """Return the offer's status at `now` (an open offer past its hold is expired)."""
    return offer_status(OfferStatus(offer.status), offer.hold_until, now)


def recipient_for_token(token: str) -> OfferRecipient | None:
    """Return the offer recipient a link token names (from a message, or the offer), or None."""
    if not token or len(token) > 200:
        return None
    stored = digest(token)
    message = db.session.scalar(
        select(PatientMessage).where(
            PatientMessage.token_digest == stored, PatientMessage.offer_recipient_id.is_not(None)
        )
    )
    if message is not None:
        return message.offer_recipient
    return db.session.scalar(select(OfferRecipient).where(OfferRecipient.token_digest == stored))


def accept(recipient_id: int, now: datetime) -> str:
    """Book the patient into the offered slot if it is still open; return the outcome.

    "booked" for the first to accept; "taken" once another has; "expired" after the hold;
    "unavailable" when a booking rule now refuses the slot. The site lock serialises
    concurrent accepts, and the offer is read again under it.
    """
    recipient = db.session.get(OfferRecipient, recipient_id)
    if recipient is None:
        return "unavailable"
    site_id = recipient.offer.site_id
    lock_site_for_writing(site_id)
    db.session.expire_all()
    recipient = db.session.get(OfferRecipient, recipient_id)
    assert recipient is not None
    offer = recipient.offer
    entry = recipient.entry
    state = status_of(offer, now)
    if state is OfferStatus.TAKEN:
        outcome = "booked" if offer.visit_id and recipient.answer == "booked" else "taken"
        if outcome == "taken" and recipient.answer is None:
            recipient.answer, recipient.answered_at = "taken", now
            audit.record(
                "patient",
                "waitlist.offer.taken",
                now,
                patient_id=entry.patient_id,
                object_type="waitlist_offer",
                object_id=offer.id,
            )
            db.session.commit()
        else:
            db.session.rollback()
        return outcome
    if state is OfferStatus.EXPIRED:
        db.session.rollback()
        return _refused(recipient_id, "expired", now)
    creator = db.session.get(User, offer.created_by_id) if offer.created_by_id else None
    if creator is None or entry.status != EntryStatus.WAITING.value:
        db.session.rollback()
        return _refused(recipient_id, "unavailable", now)
    req = booking.Request(entry.patient_id, offer.infusion_start, offer.site_id, offer.chair_id)
    visit, _ = booking.place(creator, req, now)
    if visit is None:
        db.session.rollback()
        return _refused(recipient_id, "unavailable", now)
    offer.status = OfferStatus.TAKEN.value
    offer.visit = visit
    entry.status = EntryStatus.BOOKED.value
    recipient.answer, recipient.answered_at = "booked", now
    audit.record(
        "patient",
        "waitlist.offer.accept",
        now,
        patient_id=entry.patient_id,
        object_type="waitlist_offer",
        object_id=offer.id,
        detail={"entry_id": entry.id},
    )
    audit.record(
        "patient",
        "visit.book",
        now,
        patient_id=visit.patient_id,
        object_type="visit",
        object_id=visit,
        detail={"chair_id": visit.chair_id, "offer_id": offer.id},
    )
    patient_messages.visit_changed(visit, "book", now)
    try:
        booking.commit_or_conflict()
    except Conflict:
        return _refused(recipient_id, "unavailable", now)
    return "booked"


def _refused(recipient_id: int, outcome: str, now: datetime) -> str:
    """Audit an accept that booked nothing (expired, or no longer bookable); return outcome."""
    recipient = db.session.get(OfferRecipient, recipient_id)
    if recipient is not None:
        audit.record_now(
            "patient",
            "waitlist.offer.refused",
            now,
            patient_id=recipient.entry.patient_id,
            object_type="waitlist_offer",
            object_id=recipient.offer_id,
            detail={"outcome": outcome},
        )
    return outcome
