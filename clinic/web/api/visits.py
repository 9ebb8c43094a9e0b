"""Visits, availability and visit events (API.md, "Availability", "Visits", "Visit events")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import g, request

from clinic.domain.ids import MAX_ID
from clinic.models import Visit
from clinic.services import access, alternatives, audit, booking, patient_messages
from clinic.services.availability import slots as free_slots
from clinic.services.errors import Conflict, Forbidden, Invalid, NotFound
from clinic.services.events import record_event
from clinic.services.sites import today
from clinic.types import utcnow
from clinic.web.api import bp, refuses, writes
from clinic.web.api.fields import HORIZON
from clinic.web.api.schemas import (
    RESCHEDULE_FIELDS,
    AvailabilityQuery,
    AvailabilitySchema,
    BookingSchema,
    DayQuery,
    EventInputSchema,
    MessageSchema,
    RescheduleSchema,
    SlotSchema,
    VisitSchema,
)

MAX_IDEMPOTENCY_KEY = 200
MAX_ALTERNATIVES = 10  # slots listed in a refused booking's 409
VISIT = "/visits/<int:visit_id>"


def visible_visit(visit_id: int) -> Visit:
    """Return a visit the caller may see, or answer 404 (also for ids no row can have)."""
    if not 1 <= visit_id <= MAX_ID:
        raise NotFound("visit")
    return access.get_visit(g.user, visit_id)


def _day(query: dict[str, Any], default: date) -> date:
    """Return the query's date (default given), refusing dates absurdly far away."""
    day = query.get("date") or default
    if abs(day - default) > HORIZON:
        raise Invalid("date is out of range.", {"date": ["Must lie within ten years of today."]})
    return day


@bp.route("/visits", methods=["GET"])
@bp.arguments(DayQuery, location="query")
@bp.response(200, VisitSchema(many=True))
def list_visits(query: dict[str, Any]):
    """List the visits of a site-local day (default: the site's today)."""
    site = access.get_site(g.user, access.default_site_id(g.user, query.get("site_id")))
    day = _day(query, today(site, utcnow()))
    visits = booking.visits_on_day(g.user, site.id, day)
    shown = [visit.patient_id for visit in visits]
    audit.listed(g.user, "visit.list", site.id, shown, {"view": "api", "date": day}, now=utcnow())
    return visits


@writes("POST", "/visits", "book", BookingSchema, 201, VisitSchema)
@bp.alt_response(200, schema=VisitSchema, description="The visit an Idempotency-Key booked.")
@refuses(409)
def create_visit(body: dict[str, Any]):
    """Book a visit (201), or replay the one an Idempotency-Key booked before (200)."""
    now = utcnow()
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY or "\x00" in key:
        message = f"At most {MAX_IDEMPOTENCY_KEY} characters."
        raise Invalid("Some fields are missing or invalid.", {"Idempotency-Key": [message]})
    req = booking.Request(
        patient_id=body["patient_id"],
        # One instant written with two offsets is the same request (Idempotency-Key).
        infusion_start=body["infusion_start"].astimezone(UTC),
        site_id=body.get("site_id"),
        chair_id=body.get("chair_id"),
        infusion_minutes=body.get("infusion_minutes"),
        observation_minutes=body.get("observation_minutes"),
        notes=body.get("notes") or "",
        treatment_type_id=body.get("treatment_type_id"),
    )
    try:
        visit, created = booking.book(g.user, req, now, idempotency_key=key or None)
    except Conflict as refusal:
        raise _with_alternatives(refusal, req, now) from None
    return visit, 201 if created else 200


@bp.route(VISIT, methods=["GET"])
@bp.response(200, VisitSchema)
def get_visit(visit_id: int):
    """Return one visit with its events."""
    visit = visible_visit(visit_id)
    audit.viewed(g.user, visit.patient_id, "visit", visit.id, now=utcnow(), site_id=visit.site_id)
    return visit


@bp.route(f"{VISIT}/messages", methods=["GET"])
@bp.response(200, MessageSchema(many=True))
def visit_messages(visit_id: int):
    """List the messages to the patient about a visit: planned, sent, failed or skipped."""
    visit = visible_visit(visit_id)
    audit.viewed(g.user, visit.patient_id, "visit", visit.id, now=utcnow(), site_id=visit.site_id)
    return patient_messages.visit_messages(g.user, visit.id)


def _booker_of(visit_id: int) -> None:
    """Refuse a role that may not book, then a visit the caller may not see."""
    access.require(g.user, "book")
    visible_visit(visit_id)


@writes("PATCH", VISIT, _booker_of, RescheduleSchema(partial=True), 200, VisitSchema, conflict=True)
def reschedule_visit(changes: dict[str, Any], visit_id: int):
    """Move a booked visit to another time, chair or length under every booking rule."""
    now = utcnow()
    if not changes:
        raise Invalid(
            f"Nothing to change: give {', '.join(RESCHEDULE_FIELDS)}.",
            {name: ["Cannot be changed by rescheduling."] for name in request.get_json()},
        )
    try:
        return booking.reschedule(g.user, visit_id, changes, now)
    except Conflict as refusal:
        if refusal.reasons:
            moved = access.get_visit(g.user, visit_id)
            req = booking.Request(
                patient_id=moved.patient_id,
                site_id=moved.site_id,
                infusion_start=changes.get("infusion_start", moved.infusion_start),
                chair_id=changes.get("chair_id", moved.chair_id),
                infusion_minutes=changes.get("infusion_minutes", moved.infusion_minutes),
                observation_minutes=changes.get("observation_minutes", moved.observation_minutes),
            )
            refusal = _with_alternatives(refusal, req, now, exclude_visit_id=visit_id)
        raise refusal from None


def _with_alternatives(
    refusal: Conflict, req: booking.Request, now: datetime, exclude_visit_id: int | None = None
) -> Conflict:
    """Add the closest bookable slots to a refused booking (rules broken, not a state)."""
    if refusal.reasons:
        found = alternatives.suggest(g.user, req, now, exclude_visit_id=exclude_visit_id)
        refusal.alternatives = SlotSchema(many=True).dump(found[:MAX_ALTERNATIVES])
    return refusal


def _event_recorder(visit_id: int) -> None:
    """Refuse a visit the caller may not see, then a role that may record no event at all."""
    visible_visit(visit_id)
    if not (access.can(g.user, "book") or access.can(g.user, "clinical")):
        raise Forbidden()


@writes(
    "POST", f"{VISIT}/events", _event_recorder, EventInputSchema, 200, VisitSchema, conflict=True
)
def add_visit_event(event: dict[str, Any], visit_id: int):
    """Record a lifecycle event (check in, start, end, extend, discharge, no-show, cancel)."""
    extra = {
        name: event[name]
        for name in ("reason", "minutes", "checklist", "override_reason")
        if event.get(name) is not None
    }
    return record_event(g.user, visit_id, event["type"], utcnow(), event.get("at"), **extra)


@bp.route("/availability", methods=["GET"])
@bp.arguments(AvailabilityQuery, location="query")
@bp.response(200, AvailabilitySchema)
def availability(query: dict[str, Any]):
    """List bookable slots of a site on a 15-minute local grid."""
    now = utcnow()
    site = access.get_site(g.user, access.default_site_id(g.user, query.get("site_id")))
    first_day = _day(query, today(site, now))
    found = free_slots(
        g.user,
        site.id,
        first_day,
        query["days"],
        query.get("infusion_minutes"),
        query.get("observation_minutes"),
        query["limit"],
        now,
        treatment_type_id=query.get("treatment_type_id"),
    )
    return {"slots": found}
