"""Patients and their clearances."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError

from clinic.domain.text import Kind
from clinic.extensions import db
from clinic.models import Clearance, Patient, User, Visit
from clinic.services import access, audit
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.text_input import checked

PATIENT_FIELDS = (
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "phone",
    "email",
    "weight_kg",
    "escort_name",
    "escort_phone",
)
# Every patient text that a page shows or a message sends: one line, valid contacts.
PATIENT_TEXT = {
    "mrn": Kind.LINE,
    "given_name": Kind.LINE,
    "family_name": Kind.LINE,
    "escort_name": Kind.LINE,
    "phone": Kind.PHONE,
    "escort_phone": Kind.PHONE,
    "email": Kind.EMAIL,
}


# Consent per channel: API name -> the column holding when it was given.
CONSENTS = {"email": "email_consent", "sms": "sms_consent", "escort_sms": "escort_sms_consent"}


def consents_of(values: dict[str, Any]) -> dict[str, bool]:
    """Return the consents a request names: contact {email, sms} and escort_sms_consent."""
    wanted: dict[str, bool] = {}
    contact = values.get("contact") or {}
    for channel in ("email", "sms"):
        if channel in contact and contact[channel] is not None:
            wanted[channel] = bool(contact[channel])
    if values.get("escort_sms_consent") is not None:
        wanted["escort_sms"] = bool(values["escort_sms_consent"])
    return wanted


def set_consents(
    actor: User | str, patient: Patient, wanted: dict[str, bool], now: datetime
) -> list[str]:
    """Give or withdraw consent per channel, recording when and by whom; return the changed.

    The caller audits and commits (actor "patient": a reply such as STOP, by no user).
    """
    changed = []
    for channel, given in sorted(wanted.items()):
        column = CONSENTS[channel]
        if (getattr(patient, f"{column}_at") is not None) == given:
            continue
        setattr(patient, f"{column}_at", now if given else None)
        by = actor.id if given and isinstance(actor, User) else None
        setattr(patient, f"{column}_by_id", by)
        changed.append(channel)
    return changed


def _audit_consents(
    actor: User | str,
    patient: Patient | int,
    changed: list[str],
    wanted: dict[str, bool],
    now: datetime,
) -> None:
    if changed:
        audit.record(
            actor,
            "patient.consent",
            now,
            patient_id=patient,
            object_type="patient",
            object_id=patient,
            detail={channel: wanted[channel] for channel in changed},
        )


def search(actor: User, query: str | None, limit: int = 200, *, now: datetime) -> list[Patient]:
    """Find patients of the user's sites by name or MRN (prefix, case-insensitive)."""
    stmt = access.scope_to_sites(actor, select(Patient), Patient.site_id)
    stmt = stmt.where(*name_or_mrn_matches(query))
    stmt = stmt.order_by(Patient.family_name, Patient.given_name, Patient.id).limit(limit)
    found = list(db.session.scalars(stmt))
    # A list of patients is a view of their records too; the search words are not kept.
    detail = {"searched": bool(query and query.strip()), "results": len(found)}
    audit.record_now(actor, "patient.list", now, detail=detail)
    return found


def name_or_mrn_matches(query: str | None) -> list[ColumnElement[bool]]:
    """Return the conditions of a patient search: each word starts a name or the MRN."""
    conditions: list[ColumnElement[bool]] = []
    for word in (query or "").split()[:4]:
        # autoescape: "%" and "_" typed by the user are letters, not wildcards.
        prefix = word.lower()
        conditions.append(
            or_(
                func.lower(Patient.given_name).startswith(prefix, autoescape=True),
                func.lower(Patient.family_name).startswith(prefix, autoescape=True),
                func.lower(Patient.mrn).startswith(prefix, autoescape=True),
            )
        )
    return conditions


def _check_mrn(mrn: str, patient_id: int | None) -> None:
    clash = select(Patient.id).where(func.lower(Patient.mrn) == mrn.lower())
    if patient_id is not None:
        clash = clash.where(Patient.id != patient_id)
    if db.session.scalar(clash) is not None:
        raise Conflict("Another patient already has this MRN.")


def _check_birth_date(values: dict[str, Any]) -> None:
    born = values.get("birth_date")
    if born is not None and not date(1900, 1, 1) <= born <= date.today():  # noqa: DTZ011
        raise Invalid("The birth date is not plausible.", {"birth_date": ["Not in the future."]})


def create_patient(
    actor: User, site_id: int | None, values: dict[str, Any], now: datetime
) -> Patient:
    """Register a patient at a home site; the MRN is unique."""
    access.require(actor, "edit_patients")
    site_id = access.default_site_id(actor, site_id)
    values = checked(values, PATIENT_TEXT)
    _check_birth_date(values)
    _check_mrn(values["mrn"], None)
    patient = Patient(site_id=site_id, **{k: values.get(k) for k in PATIENT_FIELDS})
    wanted = consents_of(values)
    changed = set_consents(actor, patient, wanted, now)
    db.session.add(patient)
    audit.record(
        actor,
        "patient.create",
        now,
        patient_id=patient,
        object_type="patient",
        object_id=patient,
        detail={"site_id": site_id},
    )
    _audit_consents(actor, patient, changed, wanted, now)
    _commit_unique()
    return patient


def update_patient(
    actor: User, patient: Patient, changes: dict[str, Any], now: datetime
) -> Patient:
    """Change some of a patient's details; the others stay."""
    access.require(actor, "edit_patients")
    changes = checked(changes, PATIENT_TEXT)
    fields = (*PATIENT_FIELDS, "site_id")
    changed = sorted(f for f in fields if f in changes and changes[f] != getattr(patient, f))
    _check_birth_date(changes)
    if "mrn" in changes:
        _check_mrn(changes["mrn"], patient.id)
    if "site_id" in changes and changes["site_id"] != patient.site_id:
        patient.site_id = access.get_site(actor, changes["site_id"]).id
    for field in PATIENT_FIELDS:
        if field in changes:
            setattr(patient, field, changes[field])
    wanted = consents_of(changes)
    consents = set_consents(actor, patient, wanted, now)
    audit.record(
        actor,
        "patient.update",
        now,
        patient_id=patient.id,
        object_type="patient",
        object_id=patient.id,
        detail={"fields": changed},
    )
    _audit_consents(actor, patient.id, consents, wanted, now)
    _commit_unique()
    return patient


def _commit_unique() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Another patient already has this MRN.") from None


def record_clearance(
    actor: User, patient: Patient, values: dict[str, Any], now: datetime
) -> Clearance:
    """Record a practitioner's evaluation of a patient."""
    access.require(actor, "record_clearance")
    if values["valid_until"] < values["evaluated_on"]:
        raise Invalid(
            "The clearance ends before it starts.",
            {"valid_until": ["Must be on or after evaluated_on."]},
        )
    mg_per_kg = order_mg_per_kg(values.get("mg_per_kg"))
    clearance = Clearance(
        mg_per_kg=mg_per_kg,
        patient_id=patient.id,
        evaluated_on=values["evaluated_on"],
        valid_until=values["valid_until"],
        cleared=values["cleared"],
        consent_signed=values["consent_signed"],
        contraindications=values.get("contraindications") or [],
        notes=values.get("notes") or "",
        practitioner_id=actor.id,
    )
    db.session.add(clearance)
    audit.record(
        actor,
        "clearance.create",
        now,
        patient_id=patient.id,
        object_type="clearance",
        object_id=clearance,
    )
    db.session.commit()
    return clearance


CLEARANCE_FIELDS = (
    "evaluated_on",
    "valid_until",
    "cleared",
    "consent_signed",
    "contraindications",
    "notes",
    "mg_per_kg",
)
# The practitioner's IV ketamine order on a clearance, in mg per kg of body weight.
MG_PER_KG_RANGE = (Decimal("0.05"), Decimal("2.0"))
MG_PER_KG_PLACES = 3


def order_mg_per_kg(raw: Any) -> Decimal | None:
    """Return a clearance's mg/kg order as an exact decimal (None: no order), or raise a 422."""
    if raw is None or raw == "":
        return None
    low, high = MG_PER_KG_RANGE
    message = f"A number of mg/kg, {low}-{high}, at most {MG_PER_KG_PLACES} decimals."
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        raise Invalid("The mg/kg order is invalid.", {"mg_per_kg": [message]})
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise Invalid("The mg/kg order is invalid.", {"mg_per_kg": [message]}) from None
    exponent = value.as_tuple().exponent
    if (
        not value.is_finite()
        or not low <= value <= high
        or (isinstance(exponent, int) and -exponent > MG_PER_KG_PLACES)
    ):
        raise Invalid("The mg/kg order is invalid.", {"mg_per_kg": [message]})
    return value.quantize(Decimal(1).scaleb(-MG_PER_KG_PLACES))


MAX_VOID_REASON = 1000


def get_clearance(patient: Patient, clearance_id: int) -> Clearance:
    """Load one of the patient's clearances, or raise NotFound."""
    clearance = db.session.get(Clearance, clearance_id)
    if clearance is None or clearance.patient_id != patient.id:
        raise NotFound("clearance")
    return clearance


def correct_clearance(
    actor: User, patient: Patient, clearance_id: int, changes: dict[str, Any], now: datetime
) -> Clearance:
    """Correct some fields of a clearance that is not voided; the others stay."""
    access.require(actor, "record_clearance")
    clearance = get_clearance(patient, clearance_id)
    if clearance.voided:
        raise Conflict("A voided clearance cannot be corrected; record a new one.")
    values = {f: getattr(clearance, f) for f in CLEARANCE_FIELDS} | {
        f: changes[f] for f in CLEARANCE_FIELDS if f in changes
    }
    values["mg_per_kg"] = order_mg_per_kg(values["mg_per_kg"])
    if values["valid_until"] < values["evaluated_on"]:
        raise Invalid(
            "The clearance ends before it starts.",
            {"valid_until": ["Must be on or after evaluated_on."]},
        )
    changed = sorted(f for f in CLEARANCE_FIELDS if values[f] != getattr(clearance, f))
    for field in changed:
        setattr(clearance, field, values[field])
    if changed:
        clearance.corrected_at = now
        clearance.corrected_by_id = actor.id
    audit.record(
        actor,
        "clearance.update",
        now,
        patient_id=patient.id,
        object_type="clearance",
        object_id=clearance.id,
        detail={"fields": changed},
    )
    db.session.commit()
    return clearance


def void_clearance(
    actor: User, patient: Patient, clearance_id: int, reason: str, now: datetime
) -> Clearance:
    """Void a clearance: it stays on record, marked void with who, when and why."""
    access.require(actor, "record_clearance")
    clearance = get_clearance(patient, clearance_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why the clearance is void.", {"reason": ["Required."]})
    if len(reason) > MAX_VOID_REASON:
        raise Invalid("The reason is too long.", {"reason": [f"At most {MAX_VOID_REASON}."]})
    if clearance.voided:
        raise Conflict("This clearance is already void.")
    clearance.voided_at = now
    clearance.voided_by_id = actor.id
    clearance.void_reason = reason
    # The reason is free text, so it stays on the clearance and out of the audit trail.
    audit.record(
        actor,
        "clearance.void",
        now,
        patient_id=patient.id,
        object_type="clearance",
        object_id=clearance.id,
    )
    db.session.commit()
    return clearance


def visits_of(patient: Patient) -> list[Visit]:
    """Return a patient's visits, newest first."""
    stmt = select(Visit).where(Visit.patient_id == patient.id).order_by(Visit.infusion_start.desc())
    return list(db.session.scalars(stmt))


def record_rems_enrollment(
    actor: User, patient: Patient, enrolled_on: date, rems_patient_id: str, now: datetime
) -> Patient:
    """Record or correct the patient's REMS enrolment (practitioner)."""
    access.require(actor, "record_clearance")
    values = checked({"rems_patient_id": rems_patient_id}, {"rems_patient_id": Kind.LINE})
    changed = sorted(
        name
        for name, value in (
            ("rems_enrolled_on", enrolled_on),
            ("rems_patient_id", values["rems_patient_id"]),
        )
        if getattr(patient, name) != value
    )
    patient.rems_enrolled_on = enrolled_on
    patient.rems_patient_id = values["rems_patient_id"]
    audit.record(
        actor,
        "patient.rems_enrollment",
        now,
        patient_id=patient.id,
        object_type="patient",
        object_id=patient.id,
        detail={"fields": changed},
    )
    db.session.commit()
    return patient
