"""Sites, chairs and shifts (API.md, "Sites", "Chairs", "Shifts")."""

from __future__ import annotations

from typing import Any

from flask import Response, g

from clinic.domain.ids import MAX_ID
from clinic.extensions import db
from clinic.models import Chair, Shift
from clinic.services import access, setup
from clinic.services.errors import Invalid, NotFound
from clinic.services.sites import WEEKDAYS
from clinic.types import utcnow
from clinic.web.api import bp, requires, writes
from clinic.web.api.schemas import (  # noqa: F401  (the settings tables, for tests/web)
    SITE_MINUTES,
    SITE_NUMBERS,
    VITAL_THRESHOLDS,
    ChairSchema,
    DayQuery,
    ShiftSchema,
    SiteQuery,
    SiteSchema,
)

SITE = f"/sites/<int(max={MAX_ID}):site_id>"
CHAIR = f"/chairs/<int(max={MAX_ID}):chair_id>"


def _of_visible_site(model: type[Chair | Shift], row_id: int, name: str) -> Any:
    """Return a chair or shift of a site the caller may see, or answer 404."""
    row = db.session.get(model, row_id)
    if row is None or not access.can_see_site(g.user, row.site_id):
        raise NotFound(name)
    return row


# ---------------------------------------------------------------- sites


@bp.route("/sites", methods=["GET"])
@bp.response(200, SiteSchema(many=True))
def list_sites():
    """List the sites the caller may see."""
    return setup.list_sites(g.user)


@bp.route(SITE, methods=["GET"])
@bp.response(200, SiteSchema)
def get_site(site_id: int):
    """Show one site."""
    return access.get_site(g.user, site_id)


@writes("POST", "/sites", "administer", SiteSchema, 201, SiteSchema)
def create_site(changes: dict[str, Any]):
    """Create a site (admin); unnamed settings take their defaults, days left out are closed."""
    if "opening_hours" in changes:
        changes["opening_hours"] = {day: changes["opening_hours"].get(day) for day in WEEKDAYS}
    return setup.save_site(None, changes, now=utcnow(), actor=g.user)


@writes("PATCH", SITE, "administer", SiteSchema(partial=True), 200, SiteSchema)
def update_site(changes: dict[str, Any], site_id: int):
    """Change any subset of a site's settings (admin); the others, and days left out, stay."""
    site = access.get_site(g.user, site_id)
    if "opening_hours" in changes:
        hours, given = site.opening_hours or {}, changes["opening_hours"]
        changes["opening_hours"] = {day: given.get(day, hours.get(day)) for day in WEEKDAYS}
    return setup.save_site(site, changes, now=utcnow(), actor=g.user)


# ---------------------------------------------------------------- chairs


@bp.route("/chairs", methods=["GET"])
@bp.arguments(SiteQuery, location="query")
@bp.response(200, ChairSchema(many=True))
def list_chairs(query: dict[str, Any]):
    """List the chairs and recovery bays of the caller's sites, or of one site."""
    return setup.list_chairs(g.user, query.get("site_id"))


@writes("POST", "/chairs", "administer", ChairSchema, 201, ChairSchema)
def create_chair(changes: dict[str, Any]):
    """Add a chair or recovery bay to a site (admin)."""
    changes["site_id"] = access.get_site(g.user, changes["site_id"]).id
    return setup.save_chair(None, changes, now=utcnow(), actor=g.user)


@writes("PATCH", CHAIR, "administer", ChairSchema(partial=True), 200, ChairSchema, conflict=True)
def update_chair(changes: dict[str, Any], chair_id: int):
    """Rename, retype or (de)activate a chair (admin)."""
    chair = _of_visible_site(Chair, chair_id, "chair")
    if changes.pop("site_id", chair.site_id) != chair.site_id:
        # Its visits were booked at this site; a chair never moves.
        raise Invalid("A chair stays at its site.", {"site_id": ["A chair stays at its site."]})
    return setup.save_chair(chair, changes, now=utcnow(), actor=g.user)


# ---------------------------------------------------------------- shifts


@bp.route("/shifts", methods=["GET"])
@bp.arguments(DayQuery, location="query")
@bp.response(200, ShiftSchema(many=True))
def list_shifts(query: dict[str, Any]):
    """List who is on duty at the caller's sites, optionally at one site on one local day."""
    site_id, day = query.get("site_id"), query.get("date")
    if site_id is not None or day is None:
        return setup.list_shifts(g.user, site_id, day)
    # A local day means something different at each site: ask site by site.
    shifts = [
        shift
        for site in setup.list_sites(g.user)
        for shift in setup.list_shifts(g.user, site.id, day)
    ]
    return sorted(shifts, key=lambda shift: (shift.starts_at, shift.id))


@writes("POST", "/shifts", "administer", ShiftSchema, 201, ShiftSchema)
def create_shift(shift: dict[str, Any]):
    """Put someone on duty at a site (admin)."""
    return setup.add_shift(
        shift["site_id"],
        shift["user_id"],
        shift.get("role") or None,
        shift["starts_at"],
        shift["ends_at"],
        now=utcnow(),
        actor=g.user,
    )


@bp.route(f"/shifts/<int(max={MAX_ID}):shift_id>", methods=["DELETE"])
@requires("administer")
@bp.response(204)
def delete_shift(shift_id: int):
    """Take a shift off the roster (admin); answers 204 No Content."""
    shift = _of_visible_site(Shift, shift_id, "shift")
    setup.delete_shift(shift, now=utcnow(), actor=g.user)
    return Response(status=204)
