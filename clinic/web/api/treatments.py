"""Treatment types per site (API.md, "Treatment types and REMS")."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.domain.ids import MAX_ID
from clinic.services import access, treatment_types
from clinic.services.errors import Invalid
from clinic.types import utcnow
from clinic.web.api import bp, writes
from clinic.web.api.schemas import SiteQuery, TreatmentTypeSchema

TREATMENT_TYPE = f"/treatment-types/<int(max={MAX_ID}):type_id>"


@bp.route("/treatment-types", methods=["GET"])
@bp.arguments(SiteQuery, location="query")
@bp.response(200, TreatmentTypeSchema(many=True))
def list_treatment_types(query: dict[str, Any]):
    """List a site's treatment types (the caller's only site when site_id is left out)."""
    site_id = access.default_site_id(g.user, query.get("site_id"))
    return treatment_types.list_types(g.user, site_id)


@writes("POST", "/treatment-types", "administer", TreatmentTypeSchema, 201, TreatmentTypeSchema)
def create_treatment_type(changes: dict[str, Any]):
    """Add a treatment type to a site (admin)."""
    site = access.get_site(g.user, changes.pop("site_id"))
    return treatment_types.save_type(None, site, changes, now=utcnow(), actor=g.user)


@writes(
    "PATCH",
    TREATMENT_TYPE,
    "administer",
    TreatmentTypeSchema(partial=True),
    200,
    TreatmentTypeSchema,
)
def update_treatment_type(changes: dict[str, Any], type_id: int):
    """Change any subset of a treatment type's settings (admin); a type stays at its site."""
    treatment_type = treatment_types.get_type(g.user, type_id)
    if changes.pop("site_id", treatment_type.site_id) != treatment_type.site_id:
        message = "A treatment type stays at its site."
        raise Invalid(message, {"site_id": [message]})
    site = access.get_site(g.user, treatment_type.site_id)
    return treatment_types.save_type(treatment_type, site, changes, now=utcnow(), actor=g.user)
