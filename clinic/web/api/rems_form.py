"""A REMS session's Patient Monitoring Form (API.md, "Treatment types and REMS")."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.services import access, rems
from clinic.types import utcnow
from clinic.web.api import bp, refuses, writes
from clinic.web.api.schemas import RemsAnswersSchema, RemsFormSchema
from clinic.web.api.visits import VISIT, visible_visit


@bp.route(f"{VISIT}/rems-form", methods=["GET"])
@refuses(409)
@bp.response(200, RemsFormSchema)
def get_rems_form(visit_id: int):
    """Read a REMS session's monitoring form: every field, `missing` in the form's order.

    409 for a visit whose treatment type is not a REMS one.
    """
    visible_visit(visit_id)
    return rems.get_form(g.user, visit_id, utcnow()).answer()


def _clinician_of(visit_id: int) -> None:
    """Refuse a visit the caller may not see, then a role that may not answer the form."""
    visible_visit(visit_id)
    access.require(g.user, "clinical")


@writes(
    "PATCH", f"{VISIT}/rems", _clinician_of, RemsAnswersSchema, 200, RemsFormSchema, conflict=True
)
def patch_rems(answers: dict[str, Any], visit_id: int):
    """Record the concomitant medication classes and the ready-to-leave minutes (nurse,
    practitioner); answers the monitoring form. 409 for a visit that is not a REMS session."""
    return rems.record_answers(g.user, visit_id, answers, utcnow()).answer()
