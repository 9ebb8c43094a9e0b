"""Vital signs of a visit (API.md, "Observations")."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify

from clinic.domain.ids import MAX_ID
from clinic.models import Observation
from clinic.services import access, audit
from clinic.services.errors import NotFound
from clinic.services.observations import (
    MAX_NOTE,
    READING_FIELDS,
    list_observations,
    reading_errors,
)
from clinic.services.observations import record_observation as record
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.parsing import Fields, json_object
from clinic.web.api.serialize import instant


def observation_json(observation: Observation) -> dict[str, Any]:
    """Return a reading as API.md shows it, its flags last."""
    return {
        "id": observation.id,
        "visit_id": observation.visit_id,
        "at": instant(observation.at),
        "recorded_at": instant(observation.recorded_at),
        "by": observation.by_id,
        **{name: getattr(observation, name) for name in READING_FIELDS},
        "note": observation.note or "",
        "flags": list(observation.flags or []),
    }


def _visit_id(value: int) -> int:
    """Answer 404 for ids no row can have."""
    if not 1 <= value <= MAX_ID:
        raise NotFound("visit")
    return value


@bp.get("/visits/<int:visit_id>/observations")
def get_observations(visit_id: int):
    """List a visit's readings, oldest first."""
    readings = list_observations(g.user, _visit_id(visit_id))
    visit = access.get_visit(g.user, visit_id)
    audit.viewed(g.user, visit.patient_id, "visit", visit.id, now=utcnow())
    return jsonify([observation_json(o) for o in readings])


@bp.post("/visits/<int:visit_id>/observations")
def post_observation(visit_id: int):
    """Record a reading (201); its flags come back with it."""
    now = utcnow()
    access.get_visit(g.user, _visit_id(visit_id))
    access.require(g.user, "clinical")
    data = json_object()  # fields it does not take are ignored, as everywhere in the API
    fields = Fields(data)
    at = fields.instant("at")
    note = fields.text("note", max_length=MAX_NOTE)
    values = {name: data.get(name) for name in READING_FIELDS}
    if fields.errors:
        # Report the numbers' errors together with the others, in one 422.
        fields.errors = reading_errors(values) | fields.errors
        fields.check()
    observation = record(g.user, visit_id, values, now, at=at, note=note or "")
    return jsonify(observation_json(observation)), 201
