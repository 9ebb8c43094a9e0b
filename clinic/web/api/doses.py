"""Doses given during a visit (API.md, "Treatment types and REMS")."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.services import access, audit, doses
from clinic.types import utcnow
from clinic.web.api import bp, writes
from clinic.web.api.schemas import DoseSchema
from clinic.web.api.visits import VISIT, visible_visit

DOSES = f"{VISIT}/doses"  # a visit's doses


@bp.route(DOSES, methods=["GET"])
@bp.response(200, DoseSchema(many=True))
def get_doses(visit_id: int):
    """List a visit's doses by time."""
    visit = visible_visit(visit_id)
    given = doses.list_doses(g.user, visit_id)
    audit.viewed(g.user, visit.patient_id, "visit", visit.id, now=utcnow(), site_id=visit.site_id)
    return given


def _clinician_of(visit_id: int) -> None:
    """Refuse a visit the caller may not see, then a role that may not record doses."""
    visible_visit(visit_id)
    access.require(g.user, "clinical")


@writes("POST", DOSES, _clinician_of, DoseSchema, 201, DoseSchema, conflict=True)
def post_dose(dose: dict[str, Any], visit_id: int):
    """Record a dose (201); an IV dose more than 10 % off the order needs a practitioner's
    `confirm: true` (else 409 dose_confirmation_required)."""
    values = {name: dose.get(name) for name in ("drug", "dose_mg", "lot", "route")}
    return doses.record_dose(
        g.user, visit_id, values, utcnow(), at=dose.get("at"), confirm=bool(dose.get("confirm"))
    )
