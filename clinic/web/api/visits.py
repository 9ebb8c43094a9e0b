"""Visits, availability and visit events (API.md, "Availability", "Visits", "Visit events")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import g, jsonify, request

from clinic.domain.ids import MAX_ID
from clinic.services import access, alternatives, audit, booking
from clinic.services.errors import Conflict, Forbidden, Invalid, NotFound
from clinic.services.events import record_event
from clinic.services.sites import today
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.parsing import Fields, json_object, query_date, query_int
from clinic.web.api.serialize import instant, visit_json

# Instants and dates further than this from now are typos; refusing them also keeps the
# date arithmetic of the rules far away from datetime's limits.
HORIZON = timedelta(days=3660)
MAX_NOTES = 2000
MAX_IDEMPOTENCY_KEY = 200
MAX_REASON = 500
MAX_ESCORT_NAME = 120
MAX_ALTERNATIVES = 10  # slots listed in a refused booking's 409

# Unknown fields are ignored (additions to the contract are welcome); these are read.
RESCHEDULE_FIELDS = {"infusion_start", "chair_id", "infusion_minutes", "observation_minutes"}


def _within_horizon(fields: Fields, name: str, value: datetime | None, now: datetime) -> Any:
    """Record a field error for an instant absurdly far from now."""
    if value is not None and not now - HORIZON <= value <= now + HORIZON:
        fields.errors.setdefault(name, []).append("Must lie within ten years of today.")
        return None
    return value


def _day_param(name: str, default: date) -> date:
    """Read a date query parameter (default given), refusing dates absurdly far away."""
    day = query_date(name) or default
    if abs(day - default) > HORIZON:
        raise Invalid(f"{name} is out of range.", {name: ["Must lie within ten years of today."]})
    return day


@bp.get("/visits")
def list_visits():
    """List the visits of a site-local day (default: the site's today)."""
    site_id = access.default_site_id(g.user, query_int("site_id", high=MAX_ID))
    site = access.get_site(g.user, site_id)
    day = _day_param("date", today(site, utcnow()))
    body = [visit_json(v) for v in booking.visits_on_day(g.user, site.id, day)]
    shown = [visit["patient_id"] for visit in body]
    audit.listed(g.user, "visit.list", site.id, shown, {"view": "api", "date": day}, now=utcnow())
    return jsonify(body)


@bp.post("/visits")
def create_visit():
    """Book a visit (201), or replay the one an Idempotency-Key booked before (200)."""
    access.require(g.user, "book")
    now = utcnow()
    data = json_object()
    fields = Fields(data)
    patient_id = fields.integer("patient_id", required=True, low=1, high=MAX_ID)
    start = _within_horizon(fields, "infusion_start", fields.instant("infusion_start", True), now)
    site_id = fields.integer("site_id", low=1, high=MAX_ID)
    chair_id = fields.integer("chair_id", low=1, high=MAX_ID)
    infusion = fields.integer("infusion_minutes", low=1, high=1440)
    observation = fields.integer("observation_minutes", low=1, high=1440)
    notes = fields.text("notes", max_length=MAX_NOTES)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY or "\x00" in key:
        fields.errors["Idempotency-Key"] = [f"At most {MAX_IDEMPOTENCY_KEY} characters."]
    fields.check()
    req = booking.Request(
        patient_id=patient_id,
        # One instant written with two offsets is the same request (Idempotency-Key).
        infusion_start=start.astimezone(UTC),
        site_id=site_id,
        chair_id=chair_id,
        infusion_minutes=infusion,
        observation_minutes=observation,
        notes=notes or "",
    )
    try:
        visit, created = booking.book(g.user, req, now, idempotency_key=key or None)
    except Conflict as refusal:
        raise _with_alternatives(refusal, req, now) from None
    return jsonify(visit_json(visit)), 201 if created else 200


@bp.get("/visits/<int:visit_id>")
def get_visit(visit_id: int):
    """Return one visit with its events."""
    visit = access.get_visit(g.user, _id(visit_id))
    audit.viewed(g.user, visit.patient_id, "visit", visit.id, now=utcnow())
    return jsonify(visit_json(visit))


@bp.patch("/visits/<int:visit_id>")
def reschedule_visit(visit_id: int):
    """Move a booked visit to another time, chair or length under every booking rule."""
    access.require(g.user, "book")
    now = utcnow()
    access.get_visit(g.user, _id(visit_id))
    data = json_object()
    if not RESCHEDULE_FIELDS & set(data):
        raise Invalid(
            "Nothing to change: give infusion_start, chair_id, infusion_minutes "
            "or observation_minutes.",
            {name: ["Cannot be changed by rescheduling."] for name in data},
        )
    fields = Fields(data)
    changes: dict[str, Any] = {}
    start = _within_horizon(fields, "infusion_start", fields.instant("infusion_start"), now)
    if start is not None:
        changes["infusion_start"] = start
    elif fields.has("infusion_start") and data["infusion_start"] is None:
        fields.errors.setdefault("infusion_start", []).append("Required.")
    if fields.has("chair_id"):
        # An explicit null asks for any free chair.
        changes["chair_id"] = fields.integer("chair_id", low=1, high=MAX_ID)
    for name in ("infusion_minutes", "observation_minutes"):
        if fields.has(name):
            value = fields.integer(name, required=True, low=1, high=1440)
            if value is not None:
                changes[name] = value
    fields.check()
    try:
        visit = booking.reschedule(g.user, visit_id, changes, now)
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
    return jsonify(visit_json(visit))


def _with_alternatives(
    refusal: Conflict, req: booking.Request, now: datetime, exclude_visit_id: int | None = None
) -> Conflict:
    """Add the closest bookable slots to a refused booking (rules broken, not a state)."""
    if refusal.reasons:
        found = alternatives.suggest(g.user, req, now, exclude_visit_id=exclude_visit_id)
        refusal.alternatives = [_slot_json(slot) for slot in found[:MAX_ALTERNATIVES]]
    return refusal


def _slot_json(slot) -> dict:
    """Return a free slot as the API shows it."""
    return {
        "chair_id": slot.chair_id,
        "infusion_start": instant(slot.infusion_start),
        "infusion_end": instant(slot.infusion_end),
        "observation_end": instant(slot.observation_end),
    }


@bp.post("/visits/<int:visit_id>/events")
def add_visit_event(visit_id: int):
    """Record a lifecycle event (check in, start, end, extend, discharge, no-show, cancel)."""
    now = utcnow()
    access.get_visit(g.user, _id(visit_id))
    if not (access.can(g.user, "book") or access.can(g.user, "clinical")):
        raise Forbidden()  # a role that may record no event at all hears so before any 422
    data = json_object()
    fields = Fields(data)
    type_ = fields.text("type", required=True, max_length=40)
    at = fields.instant("at")
    for name in ("reason", "override_reason"):
        if isinstance(data.get(name), str) and len(data[name]) > MAX_REASON:
            fields.errors.setdefault(name, []).append(f"At most {MAX_REASON} characters.")
    checklist = data.get("checklist")
    if isinstance(checklist, dict):
        escort = checklist.get("escort_name")
        if isinstance(escort, str) and len(escort) > MAX_ESCORT_NAME:
            fields.errors["checklist.escort_name"] = [f"At most {MAX_ESCORT_NAME} characters."]
    fields.check()
    extra = {
        name: data[name]
        for name in ("reason", "minutes", "checklist", "override_reason")
        if data.get(name) is not None
    }
    visit = record_event(g.user, visit_id, type_, now, at, **extra)
    return jsonify(visit_json(visit))


@bp.get("/availability")
def availability():
    """List bookable slots of a site on a 15-minute local grid."""
    now = utcnow()
    site_id = access.default_site_id(g.user, query_int("site_id", high=MAX_ID))
    site = access.get_site(g.user, site_id)
    first_day = _day_param("date", today(site, now))
    days = query_int("days", low=1, high=31) or 1
    infusion = query_int("infusion_minutes", low=1, high=1440)
    observation = query_int("observation_minutes", low=1, high=1440)
    limit = query_int("limit", low=1, high=1000) or 50
    found = booking.slots(g.user, site.id, first_day, days, infusion, observation, limit, now)
    return jsonify({"slots": [_slot_json(slot) for slot in found]})


def _id(value: int) -> int:
    """Answer 404 for ids no row can have (the database would overflow on them)."""
    if not 1 <= value <= MAX_ID:
        raise NotFound("visit")
    return value
