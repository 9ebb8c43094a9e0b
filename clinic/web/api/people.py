"""Users, the caller, patients and clearances (API.md, "Users", "Patients", "Clearances")."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from clinic.domain.ids import MAX_ID
from clinic.extensions import db
from clinic.models import ROLES, User
from clinic.services import access, audit, patients, staff
from clinic.services.errors import NotFound
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.parsing import Fields, json_object
from clinic.web.api.serialize import clearance_json, patient_json, user_json

# Patient text fields that may be left empty: name -> longest length the schema holds.
PATIENT_OPTIONAL_TEXT = {"phone": 40, "email": 254, "escort_name": 120, "escort_phone": 40}
PATIENT_REQUIRED_TEXT = {"mrn": 40, "given_name": 100, "family_name": 100}
MAX_QUERY_LENGTH = 100

# ---------------------------------------------------------------- users


@bp.get("/me")
def me():
    """Show the caller."""
    return jsonify(user_json(g.user))


@bp.get("/users")
def list_users():
    """List every user (admin)."""
    access.require(g.user, "administer")
    return jsonify([user_json(user) for user in staff.list_users()])


@bp.post("/users")
def create_user():
    """Create a user (admin); a duplicate e-mail is a 409."""
    access.require(g.user, "administer")
    fields = Fields(json_object())
    changes = _user_changes(fields, creating=True)
    fields.check()
    user = staff.create_user(
        changes["email"],
        changes["name"],
        changes["role"],
        changes.get("site_ids", []),
        password=changes.get("password"),
        active=changes.get("active", True),
        now=utcnow(),
        actor=g.user,
    )
    return jsonify(user_json(user)), 201


@bp.patch(f"/users/<int(max={MAX_ID}):user_id>")
def update_user(user_id: int):
    """Change a user's e-mail, name, role, sites, activity or password (admin)."""
    access.require(g.user, "administer")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    fields = Fields(json_object())
    changes = _user_changes(fields, creating=False)
    fields.check()
    return jsonify(user_json(staff.update_user(user, changes, actor=g.user, now=utcnow())))


def _user_changes(fields: Fields, creating: bool) -> dict[str, Any]:
    """Read a user body; on a change only the fields named are read, none may be null."""
    changes: dict[str, Any] = {}

    def need(name: str) -> bool:
        return fields.has(name) or (creating and name in ("email", "name", "role"))

    email = fields.text("email", required=need("email"), max_length=254)
    if email is not None:  # checked and normalised by the service, as from the pages
        changes["email"] = email
    name = fields.text("name", required=need("name"), max_length=120)
    if name is not None:
        changes["name"] = name
    role = fields.text("role", required=need("role"), max_length=20)
    if role is not None:
        if role in ROLES:
            changes["role"] = role
        else:
            fields.errors.setdefault("role", []).append(f"One of {', '.join(ROLES)}.")
    if fields.has("site_ids"):
        site_ids = fields.data["site_ids"]
        if (
            not isinstance(site_ids, list)
            or len(site_ids) > 1000
            or not all(
                isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID
                for i in site_ids
            )
        ):
            fields.errors.setdefault("site_ids", []).append("Must be a list of site ids.")
        else:
            changes["site_ids"] = list(dict.fromkeys(site_ids))
    active = fields.boolean("active", required=fields.has("active"))
    if active is not None:
        changes["active"] = active
    # No password means the user cannot sign in to the pages (API tokens only).
    password = fields.data.get("password")
    if password is not None:
        if not isinstance(password, str) or "\x00" in password or len(password) > 200:
            fields.errors.setdefault("password", []).append("A string of 12 to 200 characters.")
        else:
            changes["password"] = password
    return changes


# ---------------------------------------------------------------- patients


@bp.post("/patients")
def create_patient():
    """Register a patient (front desk, practitioner); a duplicate MRN is a 409."""
    access.require(g.user, "edit_patients")
    fields = Fields(json_object())
    site_id = fields.integer("site_id", low=1, high=MAX_ID)
    values = _patient_values(fields, creating=True)
    fields.check()
    patient = patients.create_patient(g.user, site_id, values, now=utcnow())
    return jsonify(patient_json(patient)), 201


@bp.get("/patients")
def search_patients():
    """Find patients of the caller's sites by name or MRN prefix (?q=)."""
    query = request.args.get("q", "").replace("\x00", "")[:MAX_QUERY_LENGTH]
    return jsonify(
        [patient_json(patient) for patient in patients.search(g.user, query, now=utcnow())]
    )


@bp.get(f"/patients/<int(max={MAX_ID}):patient_id>")
def get_patient(patient_id: int):
    """Show one patient."""
    patient = access.get_patient(g.user, patient_id)
    audit.viewed(g.user, patient.id, "patient", patient.id, now=utcnow())
    return jsonify(patient_json(patient))


@bp.patch(f"/patients/<int(max={MAX_ID}):patient_id>")
def update_patient(patient_id: int):
    """Change some of a patient's details (front desk, practitioner); the others stay."""
    access.require(g.user, "edit_patients")
    patient = access.get_patient(g.user, patient_id)
    fields = Fields(json_object())
    changes = _patient_values(fields, creating=False)
    site_id = fields.integer("site_id", required=fields.has("site_id"), low=1, high=MAX_ID)
    if site_id is not None:
        changes["site_id"] = site_id
    fields.check()
    return jsonify(patient_json(patients.update_patient(g.user, patient, changes, now=utcnow())))


def _patient_values(fields: Fields, creating: bool) -> dict[str, Any]:
    """Read a patient body; optional details may be cleared with null or ""."""
    values: dict[str, Any] = {}
    for name, length in PATIENT_REQUIRED_TEXT.items():
        value = fields.text(name, required=creating or fields.has(name), max_length=length)
        if value is not None:
            values[name] = value
    born = fields.day("birth_date", required=creating or fields.has("birth_date"))
    if born is not None:
        values["birth_date"] = born
    for name, length in PATIENT_OPTIONAL_TEXT.items():
        value = fields.text(name, max_length=length)
        if value is not None or (fields.has(name) and fields.data[name] is None):
            values[name] = value or None
    weight = fields.number("weight_kg", 1, 500)
    if weight is not None or (fields.has("weight_kg") and fields.data["weight_kg"] is None):
        values["weight_kg"] = weight
    return values


# ---------------------------------------------------------------- clearances


@bp.post(f"/patients/<int(max={MAX_ID}):patient_id>/clearances")
def record_clearance(patient_id: int):
    """Record a practitioner's evaluation of a patient (practitioner)."""
    access.require(g.user, "record_clearance")
    patient = access.get_patient(g.user, patient_id)
    fields = Fields(json_object())
    values = {
        "evaluated_on": fields.day("evaluated_on", required=True),
        "valid_until": fields.day("valid_until", required=True),
        "cleared": fields.boolean("cleared", required=True),
        "consent_signed": fields.boolean("consent_signed", required=True),
        "contraindications": fields.string_list("contraindications") or [],
        "notes": fields.text("notes", max_length=4000) or "",
    }
    fields.check()
    clearance = patients.record_clearance(g.user, patient, values, now=utcnow())
    return jsonify(clearance_json(clearance)), 201


CLEARANCE = f"/patients/<int(max={MAX_ID}):patient_id>/clearances/<int(max={MAX_ID}):clearance_id>"


@bp.patch(CLEARANCE)
def correct_clearance(patient_id: int, clearance_id: int):
    """Correct some fields of a clearance (practitioner); the others stay."""
    access.require(g.user, "record_clearance")
    patient = access.get_patient(g.user, patient_id)
    fields = Fields(json_object())
    changes: dict[str, Any] = {}
    readers = {
        "evaluated_on": fields.day,
        "valid_until": fields.day,
        "cleared": fields.boolean,
        "consent_signed": fields.boolean,
    }
    for name, read in readers.items():
        if fields.has(name):
            value = read(name, required=True)  # present and null is an error
            if value is not None:
                changes[name] = value
    if fields.has("contraindications"):
        value = fields.string_list("contraindications")
        if value is None and "contraindications" not in fields.errors:
            fields.errors["contraindications"] = ["Must be a list of strings."]
        elif value is not None:
            changes["contraindications"] = value
    if fields.has("notes"):
        if fields.data["notes"] is None:
            changes["notes"] = ""
        else:
            changes["notes"] = fields.text("notes", max_length=4000) or ""
    unknown = set(fields.data) - {*readers, "contraindications", "notes"}
    for name in sorted(unknown):
        fields.errors.setdefault(name, []).append("Not a field of a clearance.")
    fields.check()
    clearance = patients.correct_clearance(g.user, patient, clearance_id, changes, utcnow())
    return jsonify(clearance_json(clearance))


@bp.post(f"{CLEARANCE}/void")
def void_clearance(patient_id: int, clearance_id: int):
    """Void a clearance with a reason (practitioner); it stays listed, marked void."""
    access.require(g.user, "record_clearance")
    patient = access.get_patient(g.user, patient_id)
    fields = Fields(json_object())
    reason = fields.text("reason", required=True, max_length=patients.MAX_VOID_REASON)
    fields.check()
    clearance = patients.void_clearance(g.user, patient, clearance_id, reason, utcnow())
    return jsonify(clearance_json(clearance))


@bp.get(f"/patients/<int(max={MAX_ID}):patient_id>/clearances")
def list_clearances(patient_id: int):
    """List a patient's clearances, latest evaluation first."""
    patient = access.get_patient(g.user, patient_id)
    audit.viewed(g.user, patient.id, "patient", patient.id, now=utcnow())
    return jsonify([clearance_json(clearance) for clearance in patient.clearances])
