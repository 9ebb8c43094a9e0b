"""Plans and recall, the waitlist and offers (API.md, "Courses, plans and the waitlist")."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.domain.ids import MAX_ID
from clinic.domain.waitlist import PlanTemplate
from clinic.services import access
from clinic.services import waitlist as service
from clinic.services.errors import NotFound
from clinic.types import utcnow
from clinic.web.api import bp, writes
from clinic.web.api.schemas import (
    MatchQuery,
    OfferInputSchema,
    OfferSchema,
    PlanSchema,
    RecallQuery,
    RecallSchema,
    SiteQuery,
    WaitlistEntrySchema,
)


def _id(value: int, what: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(what)
    return value


def _offer_answer(offer: Any) -> dict[str, Any]:
    return {
        "id": offer.id,
        "status": service.status_of(offer, utcnow()).value,
        "visit_id": offer.visit_id,
    }


def _plan_editor(patient_id: int) -> None:
    """Refuse a role that may not edit patients, then a patient the caller may not see."""
    access.require(g.user, "edit_patients")
    access.get_patient(g.user, _id(patient_id, "patient"))


@writes("PUT", "/patients/<int:patient_id>/plan", _plan_editor, PlanSchema, 200, PlanSchema)
def put_plan(body: dict[str, Any], patient_id: int):
    """Set how often the patient comes back and when next (front desk, practitioner)."""
    plan = service.set_plan(
        g.user,
        _id(patient_id, "patient"),
        body["every_days"],
        body["next_due_on"],
        utcnow(),
        body.get("template") or PlanTemplate.NONE.value,
    )
    return {
        "patient_id": plan.patient_id,
        "every_days": plan.every_days,
        "next_due_on": plan.next_due_on,
        "template": plan.template,
        "due_on": service.due_on(plan),
    }


@bp.route("/recalls", methods=["GET"])
@bp.arguments(RecallQuery, location="query")
@bp.response(200, RecallSchema(many=True))
def list_recalls(query: dict[str, Any]):
    """List the patients due within the days with no future active visit."""
    site_id = access.default_site_id(g.user, query.get("site_id"))
    return service.due_recalls(g.user, site_id, query["within_days"], utcnow())


@writes("POST", "/waitlist", "book", WaitlistEntrySchema, 201, WaitlistEntrySchema, conflict=True)
def add_to_waitlist(body: dict[str, Any]):
    """Put a patient cleared for every day of the span on a site's waitlist."""
    return service.add_entry(
        g.user,
        body["patient_id"],
        body["site_id"],
        body["earliest_on"],
        body["latest_on"],
        body.get("part_of_day") or "any",
        body.get("note") or "",
        utcnow(),
    )


@bp.route("/waitlist", methods=["GET"])
@bp.arguments(SiteQuery, location="query")
@bp.response(200, WaitlistEntrySchema(many=True))
def list_waitlist(query: dict[str, Any]):
    """List a site's waiting entries, oldest first."""
    return service.entries(g.user, access.default_site_id(g.user, query.get("site_id")))


@bp.route("/waitlist/<int:entry_id>", methods=["DELETE"])
@bp.response(204)
def delete_waitlist_entry(entry_id: int):
    """Take an entry off the waitlist."""
    service.remove_entry(g.user, _id(entry_id, "waitlist entry"), utcnow())
    return None


@bp.route("/waitlist/matches", methods=["GET"])
@bp.arguments(MatchQuery, location="query")
@bp.response(200, WaitlistEntrySchema(many=True))
def waitlist_matches(query: dict[str, Any]):
    """List the entries whose patient could be booked in the slot under every rule."""
    site_id = access.default_site_id(g.user, query.get("site_id"))
    return service.matches(g.user, site_id, query["infusion_start"], query["chair_id"], utcnow())


@writes("POST", "/waitlist/offers", "book", OfferInputSchema, 201, OfferSchema)
def create_offer(body: dict[str, Any]):
    """Offer a free slot to some entries: each patient gets a message with their link."""
    sent = service.create_offer(
        g.user,
        body["chair_id"],
        body["infusion_start"],
        body["entry_ids"],
        body["hold_minutes"],
        utcnow(),
    )
    return _offer_answer(sent.offer)


@bp.route("/waitlist/offers/<int:offer_id>", methods=["GET"])
@bp.response(200, OfferSchema)
def get_offer(offer_id: int):
    """Return an offer's state and the visit it booked."""
    return _offer_answer(service.get_offer(g.user, _id(offer_id, "offer")))
