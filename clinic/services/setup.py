"""Sites, chairs and shifts: what an administrator sets up."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from clinic.database import lock_site_for_writing
from clinic.domain.booking import ChairKind, RecoveryMode
from clinic.domain.instruments import INSTRUMENTS
from clinic.domain.roles import SHIFT_ROLES
from clinic.domain.text import Kind
from clinic.domain.visits import Status
from clinic.extensions import db
from clinic.models import ACTIVE_STATUSES, Chair, Shift, Site, TreatmentType, User, Visit
from clinic.services import access, audit, treatment_types
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.observations import site_thresholds
from clinic.services.site_settings import (
    DEFAULT_VITALS,
    TIME_ZONES,
    VITAL_SETTINGS,
    flat_thresholds,
    range_errors,
    reminders_errors,
    reminders_of,
    stored_thresholds,
)
from clinic.services.sites import WEEKDAYS, local_day_bounds, parse_clock
from clinic.services.text_input import checked
from clinic.services.treatment_types import SITE_TYPE_MINUTES

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
    "check_in_open_minutes",
    "no_show_after_minutes",
    "cancel_window_hours",
)
# The setting's REMS certification: both given, or both null (not certified).
REMS_FIELDS = ("rems_certified_on", "rems_authorized_representative")
# The vital-sign thresholds as flat settings (bp_high_systolic, ..., hr_low), stored together
# in Site.vital_thresholds.
VITAL_FIELDS = tuple(VITAL_SETTINGS)
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
    "check_in_open_minutes": 120,
    "no_show_after_minutes": 15,
    "cancel_window_hours": 24,
    **DEFAULT_VITALS,
}


def site_values(site: Site) -> dict[str, Any]:
    """Return every setting of a site, vital-sign thresholds as flat settings."""
    return {f: getattr(site, f) for f in SITE_FIELDS} | flat_thresholds(site_thresholds(site))


def validate_site(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return what is wrong with a complete set of site settings (empty when valid)."""
    errors = range_errors(values)

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if values["timezone"] not in TIME_ZONES:
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
    if values["recovery_mode"] not in RecoveryMode.values():
        bad("recovery_mode", "chair or bay.")
    if errors:
        return errors  # the checks below compare numbers that are known to be in range
    if (
        values["infusion_min"] > values["infusion_default"]
        or values["infusion_default"] > values["infusion_max"]
    ):
        bad("infusion_minutes", "Need min <= default <= max.")
    if values["observation_min"] > values["observation_default"]:
        bad("observation_minutes", "Need min <= default.")
    if (
        values["bp_critical_systolic"] < values["bp_high_systolic"]
        or values["bp_critical_diastolic"] < values["bp_high_diastolic"]
    ):
        bad("vital_thresholds", "The critical blood pressure must be at or above the high one.")
    if values["hr_low"] >= values["hr_high"]:
        bad("vital_thresholds", "The low heart rate must be below the high one.")
    if (values.get("rems_certified_on") is None) != (
        not values.get("rems_authorized_representative")
    ):
        bad("rems_certification", "Give the date and the authorized representative, or neither.")
    return errors


def _rems_values(site: Site | None) -> dict[str, Any]:
    """Return a site's REMS certification as flat settings (none for a new site)."""
    return {field: getattr(site, field) if site else None for field in REMS_FIELDS}


def _default_type_error(site: Site | None, type_id: Any) -> dict[str, list[str]]:
    """Return why a site may not default to a treatment type (empty when it may)."""
    chosen = db.session.get(TreatmentType, type_id) if site is not None else None
    if site is None or chosen is None or chosen.site_id != site.id or not chosen.active:
        return {"default_treatment_type_id": ["Not an active treatment type of this site."]}
    return {}


DEFAULT_SCREENING = ("cssrs_screen",)


def screening_setting_errors(value: Any) -> list[str]:
    """Return what is wrong with a list of instruments required before the start, or nothing."""
    names = ", ".join(INSTRUMENTS)
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return [f"A list of instruments ({names})."]
    if unknown := [name for name in value if name not in INSTRUMENTS]:
        return [f"Unknown instrument {unknown[0]!r}: one of {names}."]
    if len(set(value)) != len(value):
        return ["Each instrument once."]
    return []


def save_site(
    site: Site | None, changes: dict[str, Any], *, now: datetime, actor: User | None = None
) -> Site:
    """Create a site or change some of its settings, keeping the others."""
    names = (*SITE_FIELDS, *VITAL_FIELDS, *REMS_FIELDS)
    current = SITE_DEFAULTS | (site_values(site) if site else {}) | _rems_values(site)
    kinds = {"name": Kind.LINE, "timezone": Kind.LINE, "rems_authorized_representative": Kind.LINE}
    changes = checked(changes, kinds)
    values = current | {k: v for k, v in changes.items() if k in names}
    if not values.get("name"):
        raise Invalid("The site needs a name.", {"name": ["Required."]})
    errors = validate_site(values)
    if "default_treatment_type_id" in changes:
        errors |= _default_type_error(site, changes["default_treatment_type_id"])
    default_type_id = changes.get(
        "default_treatment_type_id", site and site.default_treatment_type_id
    )
    minutes_changed = any(
        name in changes and current.get(name) != values[name] for name in SITE_TYPE_MINUTES
    )
    new_default = site is not None and default_type_id != site.default_treatment_type_id
    if site is not None and not errors:
        if minutes_changed:  # the default type follows the site's settings
            errors |= treatment_types.default_type_errors(default_type_id, values)
        elif new_default:  # the site's settings follow its new default type
            chosen = db.session.get_one(TreatmentType, default_type_id)
            if limits := treatment_types.site_limit_errors(treatment_types.type_values(chosen)):
                errors["default_treatment_type_id"] = [m for ms in limits.values() for m in ms]
    reminders = reminders_of(site.reminders if site else None)
    if "reminders" in changes:
        given = changes["reminders"]
        if not isinstance(given, dict):
            errors["reminders"] = ["An object (its keys given replace the current ones)."]
        elif problems := reminders_errors(reminders | given):
            errors["reminders"] = problems
    if "screening_before_start" in changes and (
        problems := screening_setting_errors(changes["screening_before_start"])
    ):
        errors["screening_before_start"] = problems
    if errors:
        raise Invalid("Some site settings are invalid.", errors)
    action = "admin.site.update" if site else "admin.site.create"
    changed = sorted(f for f in names if f in changes and current.get(f) != values[f])
    if "reminders" in changes and reminders | changes["reminders"] != reminders:
        changed.append("reminders")
    screening_now = list(site.screening_before_start) if site else None
    if "screening_before_start" in changes and changes["screening_before_start"] != screening_now:
        changed.append("screening_before_start")
    if site and changes.get("default_treatment_type_id", site.default_treatment_type_id) != (
        site.default_treatment_type_id
    ):
        changed.append("default_treatment_type_id")
    new = site is None
    site = site or Site()
    for field in (*SITE_FIELDS, *REMS_FIELDS):
        setattr(site, field, values[field])
    if "default_treatment_type_id" in changes:
        site.default_treatment_type_id = changes["default_treatment_type_id"]
    site.vital_thresholds = stored_thresholds(values)
    if "reminders" in changes:
        site.reminders = reminders | changes["reminders"]
    if "screening_before_start" in changes:
        site.screening_before_start = list(changes["screening_before_start"])
    elif new:
        site.screening_before_start = list(DEFAULT_SCREENING)
    db.session.add(site)
    if new:
        db.session.flush()
        treatment_types.add_default_type(site)
    audit.record(actor, action, now, object_type="site", object_id=site, detail={"fields": changed})
    if not new and (minutes_changed or new_default) and site.default_treatment_type_id:
        # One truth: the default type's minutes are the site's minute settings.
        default_type = db.session.get_one(TreatmentType, site.default_treatment_type_id)
        treatment_types.follow_minutes(
            site, default_type, to_type=minutes_changed, now=now, actor=actor
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


class ChairInUse(Conflict):
    """A chair (or bay) still needed by active visits cannot leave service or change kind."""

    def __init__(self, chair: Chair, visits: list[Visit]) -> None:
        count = len(visits)
        super().__init__(
            f"{chair.name} still has {count} active visit{'s' if count != 1 else ''}; "
            "move them to another chair first.",
            extra={"visit_ids": [visit.id for visit in visits]},
        )
        self.visits = visits


def visits_needing(chair: Chair, now: datetime) -> list[Visit]:
    """Return the active visits that need the chair or bay from now on, in start order.

    A booked visit needs it until its hold ends; a patient in care needs it whatever the
    plan said (an infusion that runs late, a recovery still going).
    """
    active = Visit.status.in_(ACTIVE_STATUSES)
    in_chair = Visit.status.in_((Status.CHECKED_IN.value, Status.INFUSING.value))
    as_chair = and_(Visit.chair_id == chair.id, or_(Visit.chair_released_at > now, in_chair))
    recovering = Visit.status == Status.RECOVERING.value
    release = func.coalesce(Visit.bay_released_at, Visit.chair_released_at)
    as_bay = and_(Visit.recovery_chair_id == chair.id, or_(release > now, recovering))
    stmt = select(Visit).where(active, or_(as_chair, as_bay))
    return list(db.session.scalars(stmt.order_by(Visit.infusion_start, Visit.id)))


def save_chair(
    chair: Chair | None, changes: dict[str, Any], *, now: datetime, actor: User | None = None
) -> Chair:
    """Create a chair or bay, or rename, retype or (de)activate one.

    Taking a chair out of service, or changing its kind, is refused (ChairInUse) while
    active visits still need it.
    """
    changes = checked(changes, {"name": Kind.LINE})
    action = "admin.chair.update" if chair else "admin.chair.create"
    if chair is not None and chair.id is not None:
        leaving = chair.active and changes.get("active") is False
        retyped = changes.get("kind", chair.kind) != chair.kind
        if leaving or retyped:
            lock_site_for_writing(chair.site_id)  # no booking slips in between check and save
            if needed := visits_needing(chair, now):
                db.session.rollback()
                raise ChairInUse(chair, needed)
    chair = chair or Chair(active=True, kind="chair")
    if "site_id" in changes:
        if db.session.get(Site, changes["site_id"]) is None:
            raise NotFound("site")
        chair.site_id = changes["site_id"]
    for field in ("name", "kind", "active"):
        if field in changes:
            setattr(chair, field, changes[field])
    if chair.kind not in ChairKind.values():
        raise Invalid("Unknown kind.", {"kind": ["chair or recovery_bay."]})
    if not chair.name:
        raise Invalid("The chair needs a name.", {"name": ["Required."]})
    db.session.add(chair)
    fields = sorted(f for f in ("site_id", "name", "kind", "active") if f in changes)
    audit.record(
        actor,
        action,
        now,
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
    site_id: int,
    user_id: int,
    role: str | None,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
    actor: User | None = None,
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
    if role not in SHIFT_ROLES:
        errors["role"] = ["nurse, practitioner or front_desk."]
    if ends_at <= starts_at:
        errors["ends_at"] = ["Must be after starts_at."]
    elif ends_at - starts_at > timedelta(hours=24):
        errors["ends_at"] = ["A shift lasts at most 24 hours."]
    if errors:
        raise Invalid("The shift is invalid.", errors)
    lock_site_for_writing(site.id)  # two admins adding the same person's shifts at once
    clash = db.session.scalar(
        select(Shift)
        .where(
            Shift.site_id == site.id,
            Shift.user_id == user.id,
            Shift.starts_at < ends_at,
            Shift.ends_at > starts_at,
        )
        .order_by(Shift.starts_at)
        .limit(1)
    )
    if clash is not None:
        tz = ZoneInfo(site.timezone)
        since, until = clash.starts_at.astimezone(tz), clash.ends_at.astimezone(tz)
        end = f"{until:%H:%M}" if until.date() == since.date() else f"{until:%a %d %b %H:%M}"
        message = (
            f"{user.name} is already on shift here {since:%a %d %b %H:%M}\u2013{end}; "
            "one person cannot be on two shifts at once."
        )
        raise Invalid(message, {"starts_at": [message]})
    shift = Shift(site_id=site.id, user_id=user.id, role=role, starts_at=starts_at, ends_at=ends_at)
    db.session.add(shift)
    audit.record(
        actor,
        "admin.shift.create",
        now,
        object_type="shift",
        object_id=shift,
        detail={"site_id": site.id, "user_id": user.id, "role": role},
    )
    db.session.commit()
    return shift


def delete_shift(shift: Shift, *, now: datetime, actor: User | None = None) -> None:
    """Take a shift off the roster."""
    detail = {"site_id": shift.site_id, "user_id": shift.user_id, "role": shift.role}
    audit.record(
        actor, "admin.shift.delete", now, object_type="shift", object_id=shift.id, detail=detail
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
