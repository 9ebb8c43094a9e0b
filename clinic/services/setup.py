"""Sites, chairs and shifts: what an administrator sets up."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from clinic.domain.text import Kind
from clinic.extensions import db
from clinic.models import Chair, Shift, Site, User
from clinic.services import access, audit
from clinic.services.errors import Invalid, NotFound
from clinic.services.sites import WEEKDAYS, local_day_bounds, parse_clock
from clinic.services.text_input import checked
from clinic.types import utcnow

SITE_FIELDS = (
    "name",
    "timezone",
    "opening_hours",
    "nurse_ratio",
    "require_practitioner_on_site",
    "infusion_min",
    "infusion_max",
    "infusion_default",
    "observation_min",
    "observation_default",
    "overdue_after_minutes",
    "turnover_minutes",
    "min_hours_between_infusions",
    "recovery_mode",
)
SITE_DEFAULTS: dict[str, Any] = {
    "timezone": "America/Chicago",
    "opening_hours": {
        day: (["08:00", "18:00"] if day not in ("sat", "sun") else None) for day in WEEKDAYS
    },
    "nurse_ratio": 4,
    "require_practitioner_on_site": True,
    "infusion_min": 45,
    "infusion_max": 60,
    "infusion_default": 45,
    "observation_min": 60,
    "observation_default": 120,
    "overdue_after_minutes": 15,
    "turnover_minutes": 15,
    "min_hours_between_infusions": 24,
    "recovery_mode": "chair",
}


def validate_site(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return what is wrong with a complete set of site settings (empty when valid)."""
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        bad("timezone", "Not an IANA time zone, e.g. America/Chicago.")
    hours = values["opening_hours"]
    if not isinstance(hours, dict) or set(hours) - set(WEEKDAYS):
        bad("opening_hours", "Map mon..sun to [open, close] or null.")
    else:
        for day in WEEKDAYS:
            span = hours.get(day)
            if span is None:
                continue
            try:
                opens, closes = (parse_clock(t) for t in span)
                if len(span) != 2 or closes <= opens:
                    raise ValueError
            except (ValueError, TypeError, AttributeError):
                bad("opening_hours", f'{day}: ["HH:MM", "HH:MM"] with close after open.')
    if (
        values["infusion_min"] > values["infusion_default"]
        or values["infusion_default"] > values["infusion_max"]
    ):
        bad("infusion_minutes", "Need min <= default <= max.")
    if values["observation_min"] > values["observation_default"]:
        bad("observation_minutes", "Need min <= default.")
    if values["recovery_mode"] not in ("chair", "bay"):
        bad("recovery_mode", "chair or bay.")
    return errors


def save_site(site: Site | None, changes: dict[str, Any]) -> Site:
    """Create a site or change some of its settings, keeping the others."""
    current = SITE_DEFAULTS | ({f: getattr(site, f) for f in SITE_FIELDS} if site else {})
    changes = checked(changes, {"name": Kind.LINE, "timezone": Kind.LINE})
    values = current | {k: v for k, v in changes.items() if k in SITE_FIELDS}
    if not values.get("name"):
        raise Invalid("The site needs a name.", {"name": ["Required."]})
    if errors := validate_site(values):
        raise Invalid("Some site settings are invalid.", errors)
    action = "admin.site.update" if site else "admin.site.create"
    changed = sorted(f for f in SITE_FIELDS if f in changes and current.get(f) != values[f])
    site = site or Site()
    for field in SITE_FIELDS:
        setattr(site, field, values[field])
    db.session.add(site)
    # The acting administrator is the request's signed-in user (audit.record's default).
    audit.record(
        None, action, utcnow(), object_type="site", object_id=site, detail={"fields": changed}
    )
    db.session.commit()
    return site


def list_sites(actor: User) -> list[Site]:
    """Return the sites the user may see."""
    stmt = access.scope_to_sites(actor, select(Site), Site.id)
    return list(db.session.scalars(stmt.order_by(Site.id)))


def list_chairs(actor: User, site_id: int | None) -> list[Chair]:
    """Return the chairs and bays of the user's sites (or of one of them)."""
    stmt = access.scope_to_sites(actor, select(Chair), Chair.site_id)
    if site_id is not None:
        stmt = stmt.where(Chair.site_id == access.get_site(actor, site_id).id)
    return list(db.session.scalars(stmt.order_by(Chair.site_id, Chair.kind, Chair.name, Chair.id)))


def save_chair(chair: Chair | None, changes: dict[str, Any]) -> Chair:
    """Create a chair or bay, or rename, retype or (de)activate one."""
    changes = checked(changes, {"name": Kind.LINE})
    action = "admin.chair.update" if chair else "admin.chair.create"
    chair = chair or Chair(active=True, kind="chair")
    if "site_id" in changes:
        if db.session.get(Site, changes["site_id"]) is None:
            raise NotFound("site")
        chair.site_id = changes["site_id"]
    for field in ("name", "kind", "active"):
        if field in changes:
            setattr(chair, field, changes[field])
    if chair.kind not in ("chair", "recovery_bay"):
        raise Invalid("Unknown kind.", {"kind": ["chair or recovery_bay."]})
    if not chair.name:
        raise Invalid("The chair needs a name.", {"name": ["Required."]})
    db.session.add(chair)
    fields = sorted(f for f in ("site_id", "name", "kind", "active") if f in changes)
    audit.record(
        None,
        action,
        utcnow(),
        object_type="chair",
        object_id=chair,
        detail={"site_id": chair.site_id, "fields": fields},
    )
    db.session.commit()
    return chair


def list_shifts(actor: User, site_id: int | None, day: date | None) -> list[Shift]:
    """Return shifts of the user's sites, optionally of one site and local day."""
    stmt = access.scope_to_sites(actor, select(Shift), Shift.site_id)
    if site_id is not None:
        site = access.get_site(actor, site_id)
        stmt = stmt.where(Shift.site_id == site.id)
        if day is not None:
            start, end = local_day_bounds(site, day)
            stmt = stmt.where(Shift.starts_at < end, Shift.ends_at > start)
    return list(db.session.scalars(stmt.order_by(Shift.starts_at, Shift.id)))


def add_shift(
    site_id: int, user_id: int, role: str | None, starts_at: datetime, ends_at: datetime
) -> Shift:
    """Put someone on duty at a site."""
    site = db.session.get(Site, site_id)
    user = db.session.get(User, user_id)
    if site is None:
        raise NotFound("site")
    if user is None:
        raise NotFound("user")
    role = role or user.role
    errors: dict[str, list[str]] = {}
    if role not in ("nurse", "practitioner", "front_desk"):
        errors["role"] = ["nurse, practitioner or front_desk."]
    if ends_at <= starts_at:
        errors["ends_at"] = ["Must be after starts_at."]
    elif ends_at - starts_at > timedelta(hours=24):
        errors["ends_at"] = ["A shift lasts at most 24 hours."]
    if errors:
        raise Invalid("The shift is invalid.", errors)
    shift = Shift(site_id=site.id, user_id=user.id, role=role, starts_at=starts_at, ends_at=ends_at)
    db.session.add(shift)
    audit.record(
        None,
        "admin.shift.create",
        utcnow(),
        object_type="shift",
        object_id=shift,
        detail={"site_id": site.id, "user_id": user.id, "role": role},
    )
    db.session.commit()
    return shift


def delete_shift(shift: Shift) -> None:
    """Take a shift off the roster."""
    detail = {"site_id": shift.site_id, "user_id": shift.user_id, "role": shift.role}
    audit.record(
        None, "admin.shift.delete", utcnow(), object_type="shift", object_id=shift.id, detail=detail
    )
    db.session.delete(shift)
    db.session.commit()


def get_chair(site: Site, chair_id: int) -> Chair:
    """Load a chair or bay of the site, or raise NotFound."""
    chair = db.session.get(Chair, chair_id)
    if chair is None or chair.site_id != site.id:
        raise NotFound("chair")
    return chair


def get_shift(site: Site, shift_id: int) -> Shift:
    """Load a shift of the site, or raise NotFound."""
    shift = db.session.get(Shift, shift_id)
    if shift is None or shift.site_id != site.id:
        raise NotFound("shift")
    return shift
