"""Sites, chairs and shifts (API.md, "Sites", "Chairs", "Shifts")."""

from __future__ import annotations

import re
from typing import Any

from flask import g, jsonify

from clinic.domain.ids import MAX_ID
from clinic.extensions import db
from clinic.models import Chair, Shift
from clinic.services import access, setup
from clinic.services.errors import NotFound
from clinic.services.site_settings import SITE_LIMITS, TIME_ZONES, VITAL_SETTINGS
from clinic.services.sites import WEEKDAYS
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.parsing import Fields, json_object, query_date, query_int
from clinic.web.api.serialize import chair_json, shift_json, site_json

# Ids are 32-bit in the schema; a larger number in a URL is simply no such object.
CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")
# Nested minute settings: API name -> {key: setting (a column of the site)}.
SITE_MINUTES = {
    "infusion_minutes": {
        "min": "infusion_min",
        "max": "infusion_max",
        "default": "infusion_default",
    },
    "observation_minutes": {"min": "observation_min", "default": "observation_default"},
}


def _vital_keys() -> dict[str, str | dict[str, str]]:
    """Map the API's vital_thresholds keys to settings: {"bp_high": {"systolic": ...}, ...}."""
    keys: dict[str, Any] = {}
    for setting, (field, index) in VITAL_SETTINGS.items():
        if index is None:
            keys[field] = setting
        else:
            keys.setdefault(field, {})[("systolic", "diastolic")[index]] = setting
    return keys


VITAL_THRESHOLDS = _vital_keys()
# Every other numeric setting of the table is a plain number at the top of the site object.
SITE_NUMBERS = tuple(
    name
    for name in SITE_LIMITS
    if name not in VITAL_SETTINGS
    and all(name not in keys.values() for keys in SITE_MINUTES.values())
)


# ---------------------------------------------------------------- sites


@bp.get("/sites")
def list_sites():
    """List the sites the caller may see."""
    return jsonify([site_json(site) for site in setup.list_sites(g.user)])


@bp.get(f"/sites/<int(max={MAX_ID}):site_id>")
def get_site(site_id: int):
    """Show one site."""
    return jsonify(site_json(access.get_site(g.user, site_id)))


@bp.post("/sites")
def create_site():
    """Create a site (admin); unnamed settings take their defaults."""
    access.require(g.user, "administer")
    changes = _site_changes(json_object(), creating=True)
    return jsonify(site_json(setup.save_site(None, changes, now=utcnow(), actor=g.user))), 201


@bp.patch(f"/sites/<int(max={MAX_ID}):site_id>")
def update_site(site_id: int):
    """Change any subset of a site's settings (admin); the others stay."""
    access.require(g.user, "administer")
    site = access.get_site(g.user, site_id)
    changes = _site_changes(json_object(), creating=False, current=site.opening_hours)
    return jsonify(site_json(setup.save_site(site, changes, now=utcnow(), actor=g.user)))


def _site_changes(
    data: dict[str, Any], creating: bool, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Translate a site body into model columns, or raise a 422 listing every bad field."""
    fields = Fields(data)
    changes: dict[str, Any] = {}

    def present(name: str) -> bool:
        # A named field may not be null: null would erase a setting the rules need.
        return fields.has(name)

    name = fields.text("name", required=creating or present("name"), max_length=120)
    if name is not None:
        changes["name"] = name
    timezone = fields.text("timezone", required=present("timezone"), max_length=64)
    if timezone is not None:
        if timezone in TIME_ZONES:
            changes["timezone"] = timezone
        else:
            fields.errors.setdefault("timezone", []).append(
                "Not an IANA time zone, e.g. America/Chicago."
            )
    for field in SITE_NUMBERS:
        limit = SITE_LIMITS[field]
        value = fields.integer(field, required=present(field), low=limit.low, high=limit.high)
        if value is not None:
            changes[field] = value
    practitioner = fields.boolean(
        "require_practitioner_on_site", required=present("require_practitioner_on_site")
    )
    if practitioner is not None:
        changes["require_practitioner_on_site"] = practitioner
    mode = fields.text("recovery_mode", required=present("recovery_mode"), max_length=10)
    if mode is not None:
        if mode in ("chair", "bay"):
            changes["recovery_mode"] = mode
        else:
            fields.errors.setdefault("recovery_mode", []).append("chair or bay.")
    for field, keys in SITE_MINUTES.items():
        if present(field):
            changes |= _nested(fields, field, fields.data[field], keys)
    if present("vital_thresholds"):
        changes |= _nested(
            fields, "vital_thresholds", fields.data["vital_thresholds"], VITAL_THRESHOLDS
        )
    if present("opening_hours"):
        hours = _opening_hours(fields, None if creating else current)
        if hours is not None:
            changes["opening_hours"] = hours
    fields.check()
    return changes


def _nested(
    fields: Fields, field: str, value: Any, keys: dict[str, Any], path: str = ""
) -> dict[str, int]:
    """Read an object of some of `keys` (objects within objects) into flat settings."""
    if not isinstance(value, dict) or not value or set(value) - set(keys):
        fields.errors.setdefault(field, []).append(
            f"{path}An object with some of {', '.join(keys)}."
        )
        return {}
    changes: dict[str, int] = {}
    for key, raw in value.items():
        setting = keys[key]
        if isinstance(setting, dict):
            changes |= _nested(fields, field, raw, setting, f"{path}{key}: ")
        elif SITE_LIMITS[setting].allows(raw):
            changes[setting] = raw
        else:
            fields.errors.setdefault(field, []).append(
                f"{path}{key}: {SITE_LIMITS[setting].message}"
            )
    return changes


def _opening_hours(fields: Fields, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """Read {"mon": ["08:00", "18:00"], ..., "sun": null}; days left out stay as they were."""
    value = fields.data["opening_hours"]
    if not isinstance(value, dict) or set(value) - set(WEEKDAYS):
        fields.errors.setdefault("opening_hours", []).append(
            'Map mon..sun to ["HH:MM", "HH:MM"] or null.'
        )
        return None
    # On creation a day left out is closed; on a change it keeps its hours.
    hours = {day: (current or {}).get(day) for day in WEEKDAYS}
    ok = True
    for day, span in value.items():
        if span is not None and not (
            isinstance(span, list)
            and len(span) == 2
            and all(isinstance(t, str) and CLOCK.fullmatch(t) for t in span)
            and span[0] < span[1]
            and span[0] != "24:00"
        ):
            fields.errors.setdefault("opening_hours", []).append(
                f'{day}: ["HH:MM", "HH:MM"] (00:00 to 24:00) with close after open, or null.'
            )
            ok = False
        hours[day] = span
    return hours if ok else None


# ---------------------------------------------------------------- chairs


@bp.get("/chairs")
def list_chairs():
    """List the chairs and recovery bays of the caller's sites, or of one site."""
    site_id = query_int("site_id", high=MAX_ID)
    return jsonify([chair_json(chair) for chair in setup.list_chairs(g.user, site_id)])


@bp.post("/chairs")
def create_chair():
    """Add a chair or recovery bay to a site (admin)."""
    access.require(g.user, "administer")
    fields = Fields(json_object())
    site_id = fields.integer("site_id", required=True, low=1, high=MAX_ID)
    changes = _chair_changes(fields, creating=True)
    fields.check()
    changes["site_id"] = access.get_site(g.user, site_id).id
    return jsonify(chair_json(setup.save_chair(None, changes, now=utcnow(), actor=g.user))), 201


@bp.patch(f"/chairs/<int(max={MAX_ID}):chair_id>")
def update_chair(chair_id: int):
    """Rename, retype or (de)activate a chair (admin)."""
    access.require(g.user, "administer")
    chair = db.session.get(Chair, chair_id)
    if chair is None or not access.can_see_site(g.user, chair.site_id):
        raise NotFound("chair")
    fields = Fields(json_object())
    changes = _chair_changes(fields, creating=False)
    site_id = fields.integer("site_id", required=fields.has("site_id"), low=1, high=MAX_ID)
    if site_id is not None and site_id != chair.site_id:
        # Its visits were booked at this site; a chair never moves.
        fields.errors.setdefault("site_id", []).append("A chair stays at its site.")
    fields.check()
    return jsonify(chair_json(setup.save_chair(chair, changes, now=utcnow(), actor=g.user)))


def _chair_changes(fields: Fields, creating: bool) -> dict[str, Any]:
    """Read a chair's name, kind and active flag."""
    changes: dict[str, Any] = {}
    name = fields.text("name", required=creating or fields.has("name"), max_length=60)
    if name is not None:
        changes["name"] = name
    kind = fields.text("kind", required=fields.has("kind"), max_length=20)
    if kind is not None:
        if kind in ("chair", "recovery_bay"):
            changes["kind"] = kind
        else:
            fields.errors.setdefault("kind", []).append("chair or recovery_bay.")
    active = fields.boolean("active", required=fields.has("active"))
    if active is not None:
        changes["active"] = active
    return changes


# ---------------------------------------------------------------- shifts


@bp.get("/shifts")
def list_shifts():
    """List who is on duty at the caller's sites, optionally at one site on one local day."""
    site_id = query_int("site_id", high=MAX_ID)
    day = query_date("date")
    if site_id is not None or day is None:
        shifts = setup.list_shifts(g.user, site_id, day)
    else:
        # A local day means something different at each site: ask site by site.
        shifts = [
            shift
            for site in setup.list_sites(g.user)
            for shift in setup.list_shifts(g.user, site.id, day)
        ]
        shifts.sort(key=lambda shift: (shift.starts_at, shift.id))
    return jsonify([shift_json(shift) for shift in shifts])


@bp.post("/shifts")
def create_shift():
    """Put someone on duty at a site (admin)."""
    access.require(g.user, "administer")
    fields = Fields(json_object())
    site_id = fields.integer("site_id", required=True, low=1, high=MAX_ID)
    user_id = fields.integer("user_id", required=True, low=1, high=MAX_ID)
    role = fields.text("role", max_length=20)
    starts_at = fields.instant("starts_at", required=True)
    ends_at = fields.instant("ends_at", required=True)
    fields.check()
    shift = setup.add_shift(
        site_id, user_id, role or None, starts_at, ends_at, now=utcnow(), actor=g.user
    )
    return jsonify(shift_json(shift)), 201


@bp.delete(f"/shifts/<int(max={MAX_ID}):shift_id>")
def delete_shift(shift_id: int):
    """Take a shift off the roster (admin); answers 204 No Content."""
    access.require(g.user, "administer")
    shift = db.session.get(Shift, shift_id)
    if shift is None or not access.can_see_site(g.user, shift.site_id):
        raise NotFound("shift")
    setup.delete_shift(shift, now=utcnow(), actor=g.user)
    return "", 204
