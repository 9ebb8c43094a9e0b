"""Vital signs of a visit (API.md, "Observations")."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.services import access, audit
from clinic.services.observations import list_observations
from clinic.services.observations import record_observation as record
from clinic.types import utcnow
from clinic.web.api import bp, writes
from clinic.web.api.schemas import READINGS, ObservationSchema
from clinic.web.api.visits import VISIT, visible_visit

OBSERVED = f"{VISIT}/observations"  # a visit's readings


@bp.route(OBSERVED, methods=["GET"])
@bp.response(200, ObservationSchema(many=True))
def get_observations(visit_id: int):
    """List a visit's readings, oldest first."""
    visit = visible_visit(visit_id)
    readings = list_observations(g.user, visit_id)
    audit.viewed(g.user, visit.patient_id, "visit", visit.id, now=utcnow(), site_id=visit.site_id)
    return readings


def _clinician_of(visit_id: int) -> None:
    """Refuse a visit the caller may not see, then a role that may not record readings."""
    visible_visit(visit_id)
    access.require(g.user, "clinical")


@writes("POST", OBSERVED, _clinician_of, ObservationSchema, 201, ObservationSchema, conflict=True)
def post_observation(reading: dict[str, Any], visit_id: int):
    """Record a reading (201); its flags come back with it."""
    values = {name: reading.get(name) for name in READINGS}
    note = reading.get("note") or ""
    return record(g.user, visit_id, values, utcnow(), at=reading.get("at"), note=note)
