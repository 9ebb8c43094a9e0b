"""Users, the caller, patients and clearances (API.md, "Users", "Patients", "Clearances")."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import RAISE

from clinic.domain.ids import MAX_ID
from clinic.extensions import db
from clinic.models import User
from clinic.services import access, audit, patients, staff
from clinic.services.errors import Invalid, NotFound
from clinic.types import utcnow
from clinic.web.api import bp, requires, writes
from clinic.web.api.schemas import (
    ClearanceSchema,
    PatientQuery,
    PatientSchema,
    RemsEnrollmentSchema,
    UserInputSchema,
    UserSchema,
    VoidSchema,
)

MAX_QUERY_LENGTH = 100
USER = f"/users/<int(max={MAX_ID}):user_id>"
PATIENT = f"/patients/<int(max={MAX_ID}):patient_id>"
CLEARANCE = f"{PATIENT}/clearances/<int(max={MAX_ID}):clearance_id>"

# ---------------------------------------------------------------- users


@bp.route("/me", methods=["GET"])
@bp.response(200, UserSchema)
def me():
    """Show the caller."""
    return g.user


@bp.route("/users", methods=["GET"])
@requires("administer")
@bp.response(200, UserSchema(many=True))
def list_users():
    """List every user (admin)."""
    return staff.list_users()


@writes("POST", "/users", "administer", UserInputSchema, 201, UserSchema, conflict=True)
def create_user(user: dict[str, Any]):
    """Create a user (admin); a duplicate e-mail is a 409; no password: API tokens only."""
    return staff.create_user(
        user["email"],
        user["name"],
        user["role"],
        user.get("site_ids", []),
        password=user.get("password"),
        active=user.get("active", True),
        now=utcnow(),
        actor=g.user,
    )


@writes("PATCH", USER, "administer", UserInputSchema(partial=True), 200, UserSchema, conflict=True)
def update_user(changes: dict[str, Any], user_id: int):
    """Change a user's e-mail, name, role, sites, activity or password (admin)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if changes.get("password", "") is None:
        del changes["password"]
    return staff.update_user(user, changes, actor=g.user, now=utcnow())


# ---------------------------------------------------------------- patients


@writes("POST", "/patients", "edit_patients", PatientSchema, 201, PatientSchema, conflict=True)
def create_patient(values: dict[str, Any]):
    """Register a patient (front desk, practitioner); a duplicate MRN is a 409."""
    return patients.create_patient(g.user, values.pop("site_id", None), values, now=utcnow())


@bp.route("/patients", methods=["GET"])
@bp.arguments(PatientQuery, location="query")
@bp.response(200, PatientSchema(many=True))
def search_patients(query: dict[str, Any]):
    """Find patients of the caller's sites by name or MRN prefix (?q=)."""
    return patients.search(g.user, query["q"][:MAX_QUERY_LENGTH], now=utcnow())


@bp.route(PATIENT, methods=["GET"])
@bp.response(200, PatientSchema)
def get_patient(patient_id: int):
    """Show one patient."""
    patient = access.get_patient(g.user, patient_id)
    audit.viewed(g.user, patient.id, "patient", patient.id, now=utcnow(), site_id=patient.site_id)
    return patient


def _patient_editor(patient_id: int) -> None:
    """Refuse a role that may not edit patients, then a patient the caller may not see."""
    access.require(g.user, "edit_patients")
    access.get_patient(g.user, patient_id)


@writes(
    "PATCH",
    PATIENT,
    _patient_editor,
    PatientSchema(partial=True),
    200,
    PatientSchema,
    conflict=True,
)
def update_patient(changes: dict[str, Any], patient_id: int):
    """Change some of a patient's details (front desk, practitioner); the others stay."""
    if "site_id" in changes and changes["site_id"] is None:
        raise Invalid("A patient has a home site.", {"site_id": ["Required."]})
    patient = access.get_patient(g.user, patient_id)
    return patients.update_patient(g.user, patient, changes, now=utcnow())


# ---------------------------------------------------------------- clearances


def _practitioner(patient_id: int, clearance_id: int | None = None) -> None:
    """Refuse anyone but a practitioner, then a patient the caller may not see."""
    access.require(g.user, "record_clearance")
    access.get_patient(g.user, patient_id)


@writes("POST", f"{PATIENT}/clearances", _practitioner, ClearanceSchema, 201, ClearanceSchema)
def record_clearance(values: dict[str, Any], patient_id: int):
    """Record a practitioner's evaluation of a patient (practitioner)."""
    patient = access.get_patient(g.user, patient_id)
    values = {"contraindications": [], "notes": ""} | values
    return patients.record_clearance(g.user, patient, values, now=utcnow())


@writes(
    "PATCH",
    CLEARANCE,
    _practitioner,
    ClearanceSchema(partial=True, unknown=RAISE),
    200,
    ClearanceSchema,
)
def correct_clearance(changes: dict[str, Any], patient_id: int, clearance_id: int):
    """Correct some fields of a clearance (practitioner); the others stay."""
    patient = access.get_patient(g.user, patient_id)
    return patients.correct_clearance(g.user, patient, clearance_id, changes, utcnow())


@writes("POST", f"{CLEARANCE}/void", _practitioner, VoidSchema, 200, ClearanceSchema, conflict=True)
def void_clearance(body: dict[str, Any], patient_id: int, clearance_id: int):
    """Void a clearance with a reason (practitioner); it stays listed, marked void."""
    patient = access.get_patient(g.user, patient_id)
    return patients.void_clearance(g.user, patient, clearance_id, body["reason"], utcnow())


@bp.route(f"{PATIENT}/clearances", methods=["GET"])
@bp.response(200, ClearanceSchema(many=True))
def list_clearances(patient_id: int):
    """List a patient's clearances, latest evaluation first."""
    patient = access.get_patient(g.user, patient_id)
    audit.viewed(g.user, patient.id, "patient", patient.id, now=utcnow(), site_id=patient.site_id)
    return patient.clearances


# ---------------------------------------------------------------- REMS enrolment


@writes(
    "POST", f"{PATIENT}/rems-enrollment", _practitioner, RemsEnrollmentSchema, 200, PatientSchema
)
def record_rems_enrollment(values: dict[str, Any], patient_id: int):
    """Record or correct a patient's REMS enrolment (practitioner); 200 with the patient."""
    patient = access.get_patient(g.user, patient_id)
    return patients.record_rems_enrollment(
        g.user, patient, values["enrolled_on"], values["rems_patient_id"], now=utcnow()
    )
