"""Treatment types per site: listed, created and changed by an administrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from clinic.domain.text import Kind
from clinic.domain.treatments import (
    BP_LIMIT_RANGES,
    MINUTES_RANGE,
    OBSERVATION_RANGE,
    ObservationFrom,
    TreatmentKind,
    TreatmentPlan,
)
from clinic.extensions import db
from clinic.models import Site, TreatmentType, User
from clinic.services import access, audit
from clinic.services.errors import Invalid, NotFound
from clinic.services.site_settings import SITE_LIMITS
from clinic.services.text_input import checked

# Setting -> (low, high): the whole numbers the schema and the form accept.
TYPE_LIMITS: dict[str, tuple[int, int]] = {
    "administration_min": MINUTES_RANGE,
    "administration_default": MINUTES_RANGE,
    "administration_max": MINUTES_RANGE,
    "observation_min": OBSERVATION_RANGE,
    "observation_default": OBSERVATION_RANGE,
    "predose_systolic_max": BP_LIMIT_RANGES[0],
    "predose_diastolic_max": BP_LIMIT_RANGES[1],
}
# The API's nested objects: field -> {key: setting}.
TYPE_MINUTES: dict[str, dict[str, str]] = {
    "administration_minutes": {
        "min": "administration_min",
        "max": "administration_max",
        "default": "administration_default",
    },
    "observation_minutes": {"min": "observation_min", "default": "observation_default"},
}
# A site's minute setting -> its default type's: one truth, kept the same whichever is changed.
SITE_TYPE_MINUTES: dict[str, str] = {
    "infusion_min": "administration_min",
    "infusion_max": "administration_max",
    "infusion_default": "administration_default",
    "observation_min": "observation_min",
    "observation_default": "observation_default",
}
# The API's field that names each minute setting of a type (as its errors name it).
TYPE_MINUTE_FIELDS = {
    setting: field for field, keys in TYPE_MINUTES.items() for setting in keys.values()
}
TYPE_FIELDS = ("name", "kind", "active", "observation_from", "rems", *TYPE_LIMITS)
NEW_TYPE: dict[str, Any] = {
    **dict.fromkeys(TYPE_LIMITS),  # no minutes until they are given
    "kind": TreatmentKind.OTHER.value,
    "active": True,
    "observation_from": ObservationFrom.ADMINISTRATION_END.value,
    "rems": False,
}


def type_values(treatment_type: TreatmentType) -> dict[str, Any]:
    """Return every setting of a treatment type."""
    return {field: getattr(treatment_type, field) for field in TYPE_FIELDS}


def list_types(actor: User, site_id: int) -> list[TreatmentType]:
    """Return a site's treatment types, the caller being allowed to see the site."""
    site = access.get_site(actor, site_id)
    stmt = select(TreatmentType).where(TreatmentType.site_id == site.id)
    return list(db.session.scalars(stmt.order_by(TreatmentType.id)))


def get_type(actor: User, type_id: int) -> TreatmentType:
    """Return a treatment type of a site the caller may see, or raise NotFound."""
    treatment_type = db.session.get(TreatmentType, type_id)
    if treatment_type is None or not access.can_see_site(actor, treatment_type.site_id):
        raise NotFound("treatment type")
    return treatment_type


def type_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return what is wrong with a complete set of settings (the domain's rules), or nothing."""
    errors: dict[str, list[str]] = {}
    for field, choice in (("kind", TreatmentKind), ("observation_from", ObservationFrom)):
        if values[field] not in choice.values():
            errors[field] = ["One of " + ", ".join(choice.values()) + "."]
    if not values.get("name"):
        errors["name"] = ["Required."]
    limit = (values["predose_systolic_max"], values["predose_diastolic_max"])
    if (limit[0] is None) != (limit[1] is None):
        errors["predose_bp_max"] = ["Give both limits, or neither."]
    if errors:
        return errors
    plan = TreatmentPlan(
        kind=TreatmentKind(values["kind"]),
        administration_min=values["administration_min"],
        administration_max=values["administration_max"],
        administration_default=values["administration_default"],
        observation_min=values["observation_min"],
        observation_default=values["observation_default"],
        observation_from=ObservationFrom(values["observation_from"]),
        rems=bool(values["rems"]),
        predose_bp_max=None if limit[0] is None else limit,
    )
    return plan.errors()


def save_type(
    treatment_type: TreatmentType | None,
    site: Site,
    changes: dict[str, Any],
    *,
    now: datetime,
    actor: User | None = None,
) -> TreatmentType:
    """Create a site's treatment type or change some of its settings, keeping the others."""
    changes = checked(changes, {"name": Kind.LINE})
    current = type_values(treatment_type) if treatment_type else NEW_TYPE
    values = current | {k: v for k, v in changes.items() if k in TYPE_FIELDS}
    if errors := type_errors(values):
        raise Invalid("Some treatment type settings are invalid.", errors)
    is_default = treatment_type is not None and site.default_treatment_type_id == treatment_type.id
    if is_default and not values["active"]:
        message = "The site's default type stays active."
        raise Invalid(message, {"active": [message]})
    if is_default and (errors := site_limit_errors(values)):
        raise Invalid("The site's default type keeps within the site's limits.", errors)
    action = "admin.treatment_type.update" if treatment_type else "admin.treatment_type.create"
    changed = sorted(f for f in TYPE_FIELDS if f in changes and current.get(f) != values[f])
    treatment_type = treatment_type or TreatmentType(site_id=site.id)
    for field in TYPE_FIELDS:
        setattr(treatment_type, field, values[field])
    db.session.add(treatment_type)
    detail = {"site_id": site.id, "fields": changed}
    audit.record(
        actor, action, now, object_type="treatment_type", object_id=treatment_type, detail=detail
    )
    if is_default:
        follow_minutes(site, treatment_type, to_type=False, now=now, actor=actor)
    db.session.commit()
    return treatment_type


def site_limit_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return why a default type's minutes cannot be its site's settings (the site's limits)."""
    errors: dict[str, list[str]] = {}
    for setting, type_setting in SITE_TYPE_MINUTES.items():
        limit = SITE_LIMITS[setting]
        if not limit.allows(values[type_setting]):
            errors[TYPE_MINUTE_FIELDS[type_setting]] = [
                f"The site's default type keeps to {limit.low}-{limit.high} minutes here."
            ]
    return errors


def default_type_errors(type_id: int | None, site_values: dict[str, Any]) -> dict[str, list[str]]:
    """Return why a site's new minute settings cannot be its default type's (the type's rules)."""
    treatment_type = db.session.get(TreatmentType, type_id) if type_id is not None else None
    if treatment_type is None:
        return {}
    values = type_values(treatment_type) | {
        type_setting: site_values[setting] for setting, type_setting in SITE_TYPE_MINUTES.items()
    }
    errors: dict[str, list[str]] = {}
    for field, messages in type_errors(values).items():
        named = {"administration_minutes": "infusion_minutes"}.get(field, field)
        errors[named] = [f"The site's default type ({treatment_type.name}): {m}" for m in messages]
    return errors


def follow_minutes(
    site: Site, treatment_type: TreatmentType, *, to_type: bool, now: datetime, actor: User | None
) -> None:
    """Copy the minute settings between a site and its default type (caller commits).

    to_type: the site's settings were changed and its default type follows; else the site
    follows its default type. The copy is audited on the object that followed.
    """
    changed: list[str] = []
    for setting, type_setting in SITE_TYPE_MINUTES.items():
        target: Site | TreatmentType
        if to_type:
            value, target, name = getattr(site, setting), treatment_type, type_setting
        else:
            value, target, name = getattr(treatment_type, type_setting), site, setting
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    if not changed:
        return
    if to_type:
        detail: dict[str, Any] = {"site_id": site.id, "fields": sorted(changed)}
        target_type, target_id = "treatment_type", treatment_type.id
    else:
        detail = {"fields": sorted(changed)}
        target_type, target_id = "site", site.id
    detail["cause"] = "site_settings" if to_type else "default_type"
    action = f"admin.{target_type}.update"
    audit.record(actor, action, now, object_type=target_type, object_id=target_id, detail=detail)


def add_default_type(site: Site) -> TreatmentType:
    """Give a new site its default IV type, made from its minute settings (caller commits)."""
    treatment_type = TreatmentType(
        site_id=site.id,
        name="IV ketamine",
        kind=TreatmentKind.IV_KETAMINE.value,
        active=True,
        administration_min=site.infusion_min,
        administration_max=site.infusion_max,
        administration_default=site.infusion_default,
        observation_min=site.observation_min,
        observation_default=site.observation_default,
        observation_from=ObservationFrom.ADMINISTRATION_END.value,
        rems=False,
    )
    db.session.add(treatment_type)
    db.session.flush()
    site.default_treatment_type_id = treatment_type.id
    return treatment_type


def bookable_type_id(site: Site, type_id: int | None) -> int | None:
    """Return the type a new visit gets: the one named (active, of the site) or the default."""
    if type_id is None:
        return site.default_treatment_type_id
    treatment_type = db.session.get(TreatmentType, type_id)
    if treatment_type is None or treatment_type.site_id != site.id or not treatment_type.active:
        message = "Not an active treatment type of this site."
        raise Invalid(message, {"treatment_type_id": [message]})
    return treatment_type.id
