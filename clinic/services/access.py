"""Who may see and do what: roles and sites."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import QueryableAttribute

from clinic.domain.roles import Role
from clinic.extensions import db
from clinic.models import Patient, Site, User, Visit
from clinic.services.errors import Forbidden, Invalid, NotFound

_Row = TypeVar("_Row", bound=tuple[Any, ...])

# action -> roles allowed (API.md, "Roles")
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(Role),
    "edit_patients": frozenset({Role.FRONT_DESK, Role.PRACTITIONER}),
    "record_clearance": frozenset({Role.PRACTITIONER}),
    "book": frozenset({Role.FRONT_DESK, Role.NURSE, Role.PRACTITIONER}),
    "clinical": frozenset({Role.NURSE, Role.PRACTITIONER}),
    "discharge_early": frozenset({Role.PRACTITIONER}),
    # Start a dose without a baseline, or above the type's BP limit, giving a reason.
    "override_predose": frozenset({Role.PRACTITIONER}),
    # Record a dose more than 10 % off the practitioner's mg/kg order.
    "confirm_dose": frozenset({Role.PRACTITIONER}),
    "acknowledge": frozenset({Role.NURSE, Role.PRACTITIONER}),
    "administer": frozenset({Role.ADMIN}),
    # The visits list and its CSV: names across days, for the staff who run the chairs.
    "list_visits": frozenset({Role.FRONT_DESK, Role.NURSE, Role.PRACTITIONER}),
    # The REMS tracker: any staff member may see the forms due and mark one sent (admins,
    # who get the reminder; nurses and practitioners, who fill the form; the desk, which
    # often faxes it).
    "track_rems": frozenset(Role),
    # The owner's reports (utilisation, attendance, cycle times, alerts): figures, no names.
    "view_reports": frozenset({Role.ADMIN, Role.PRACTITIONER}),
    # PHQ-9 and GAD-7 courses (patient page chart, board card, site outcomes page): the
    # clinical staff and the clinic's administrators, not the front desk.
    "outcomes": frozenset({Role.NURSE, Role.PRACTITIONER, Role.ADMIN}),
}


def can(user: User, action: str) -> bool:
    """Tell whether the user's role allows the action."""
    return user.role in PERMISSIONS[action]


def require(user: User, action: str) -> None:
    """Raise Forbidden unless the user's role allows the action."""
    if not can(user, action):
        raise Forbidden()


def visible_site_ids(user: User) -> list[int] | None:
    """Return the ids of the sites the user may see, or None for every site (admin)."""
    return None if user.is_admin else user.site_ids


def scope_to_sites(
    user: User, stmt: Select[_Row], site_column: QueryableAttribute[int]
) -> Select[_Row]:
    """Restrict a query to the user's sites."""
    ids = visible_site_ids(user)
    return stmt if ids is None else stmt.where(site_column.in_(ids))


def can_see_site(user: User, site_id: int) -> bool:
    """Tell whether the user may see the site."""
    ids = visible_site_ids(user)
    return ids is None or site_id in ids


def get_site(user: User, site_id: int) -> Site:
    """Load a site the user may see, or raise NotFound."""
    site = db.session.get(Site, site_id)
    if site is None or not can_see_site(user, site.id):
        raise NotFound("site")
    return site


def get_patient(user: User, patient_id: int) -> Patient:
    """Load a patient of one of the user's sites, or raise NotFound."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or not can_see_site(user, patient.site_id):
        raise NotFound("patient")
    return patient


def get_visit(user: User, visit_id: int) -> Visit:
    """Load a visit at one of the user's sites, or raise NotFound."""
    visit = db.session.get(Visit, visit_id)
    if visit is None or not can_see_site(user, visit.site_id):
        raise NotFound("visit")
    return visit


def default_site_id(user: User, site_id: int | None) -> int:
    """Return the site a request means: the one given, or the user's only site."""
    if site_id is not None:
        return get_site(user, site_id).id
    ids = visible_site_ids(user)
    if ids is not None and len(ids) == 1:
        return ids[0]
    raise Invalid("Say which site.", {"site_id": ["Required when you work at several sites."]})
