"""Users, /me, patients and clearances through the JSON API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Clearance, Patient, User
from clinic.services.auth import authenticate

USER_KEYS = {"id", "email", "name", "role", "active", "site_ids"}
PATIENT_KEYS = {
    "id",
    "site_id",
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "phone",
    "email",
    "weight_kg",
    "escort_name",
    "escort_phone",
    "rems_enrollment",
    "contact",
    "escort_sms_consent",
}
CLEARANCE_KEYS = {
    "id",
    "patient_id",
    "evaluated_on",
    "valid_until",
    "cleared",
    "consent_signed",
    "mg_per_kg",
    "contraindications",
    "notes",
    "practitioner_id",
    "corrected_at",
    "corrected_by_id",
    "voided",
    "voided_at",
    "voided_by_id",
    "void_reason",
}
NEW_PATIENT = {
    "mrn": "A-1001",
    "given_name": "Jordan",
    "family_name": "Lee",
    "birth_date": "1975-06-15",
}
CLEARANCE = {
    "evaluated_on": "2026-11-20",
    "valid_until": "2027-05-20",
    "cleared": True,
    "consent_signed": True,
    "contraindications": ["controlled hypertension"],
    "notes": "BP well controlled on lisinopril.",
}


def error(response, status: int, code: str) -> dict:
    """Check an error answer's status and body, and return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


@pytest.fixture
def dallas(make_site):
    """A second site."""
    return make_site(name="Dallas")


# ---------------------------------------------------------------- /me and users


def test_me_is_the_caller(api_as, clinic):
    response = api_as(clinic.nurse).get("/me")
    assert response.status_code == 200
    assert response.get_json() == {
        "id": clinic.nurse.id,
        "email": clinic.nurse.email,
        "name": clinic.nurse.name,
        "role": "nurse",
        "active": True,
        "site_ids": [clinic.site.id],
    }


def test_admin_lists_every_user(api_as, clinic):
    users = api_as(clinic.admin).get("/users").get_json()
    assert {u["id"] for u in users} == {
        clinic.nurse.id,
        clinic.practitioner.id,
        clinic.clerk.id,
        clinic.admin.id,
    }
    assert all(set(u) == USER_KEYS for u in users)
    assert not any("password" in str(u) for u in users)


def test_admin_creates_a_user(api_as, clinic, dallas):
    response = api_as(clinic.admin).post(
        "/users",
        json={
            "email": "Robin@Clinic.test",
            "name": "Robin Nurse",
            "role": "nurse",
            "site_ids": [clinic.site.id, dallas.id],
            "password": "a long enough password",
        },
    )
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert user == {
        "id": user["id"],
        "email": "robin@clinic.test",
        "name": "Robin Nurse",
        "role": "nurse",
        "active": True,
        "site_ids": [clinic.site.id, dallas.id],
    }
    assert authenticate("robin@clinic.test", "a long enough password").id == user["id"]


def test_a_user_without_a_password_cannot_sign_in(api_as, clinic):
    response = api_as(clinic.admin).post(
        "/users", json={"email": "kiosk@clinic.test", "name": "Kiosk", "role": "front_desk"}
    )
    assert response.status_code == 201
    assert response.get_json()["site_ids"] == []
    assert db.session.get(User, response.get_json()["id"]).password_hash is None


def test_a_duplicate_email_is_409(api_as, clinic):
    body = {"email": clinic.nurse.email.upper(), "name": "Twin", "role": "nurse"}
    error(api_as(clinic.admin).post("/users", json=body), 409, "conflict")
    response = api_as(clinic.admin).patch(
        f"/users/{clinic.clerk.id}", json={"email": clinic.nurse.email}
    )
    error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "a b@clinic.test"}, "email"),
        ({"name": ""}, "name"),
        ({"role": "janitor"}, "role"),
        ({"role": None}, "role"),
        ({"site_ids": "1"}, "site_ids"),
        ({"site_ids": [True]}, "site_ids"),
        ({"site_ids": [99999]}, "site_ids"),
        ({"password": "short"}, "password"),
        ({"password": 123456789012345}, "password"),
        ({"active": "true"}, "active"),
    ],
)
def test_bad_users_are_422(api_as, clinic, changes, field):
    body = {"email": "new@clinic.test", "name": "New", "role": "nurse"} | changes
    response = api_as(clinic.admin).post("/users", json=body)
    assert field in error(response, 422, "invalid")["fields"]
    assert db.session.scalar(select(User).where(User.email == "new@clinic.test")) is None


def test_admin_changes_a_user(api_as, clinic, dallas):
    response = api_as(clinic.admin).patch(
        f"/users/{clinic.clerk.id}", json={"role": "nurse", "site_ids": [dallas.id]}
    )
    assert response.status_code == 200
    user = response.get_json()
    assert (user["role"], user["site_ids"], user["name"]) == (
        "nurse",
        [dallas.id],
        clinic.clerk.name,
    )


def test_patching_an_unknown_user_is_404(api_as, clinic):
    error(api_as(clinic.admin).patch("/users/99999", json={"name": "X"}), 404, "not_found")


def test_a_disabled_user_is_401(api_as, clinic):
    nurse = api_as(clinic.nurse)
    assert nurse.get("/me").status_code == 200
    response = api_as(clinic.admin).patch(f"/users/{clinic.nurse.id}", json={"active": False})
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    error(nurse.get("/me"), 401, "unauthorized")
    error(nurse.get("/sites"), 401, "unauthorized")


# ---------------------------------------------------------------- patients


def test_the_front_desk_registers_a_patient_at_its_only_site(api_as, clinic):
    response = api_as(clinic.clerk).post(
        "/patients",
        json=NEW_PATIENT | {"phone": "512-555-0101", "weight_kg": 72.5, "escort_name": "Kim"},
    )
    assert response.status_code == 201, response.get_json()
    patient = response.get_json()
    assert patient == {
        "id": patient["id"],
        "site_id": clinic.site.id,
        "mrn": "A-1001",
        "given_name": "Jordan",
        "family_name": "Lee",
        "birth_date": "1975-06-15",
        "phone": "+15125550101",
        "email": None,
        "weight_kg": 72.5,
        "escort_name": "Kim",
        "escort_phone": None,
        "contact": {"email": False, "sms": False},
        "escort_sms_consent": False,
        "rems_enrollment": None,
    }
    assert db.session.get(Patient, patient["id"]).family_name == "Lee"


def test_a_user_of_several_sites_must_say_which(api_as, clinic, dallas, make_user):
    roaming = make_user("practitioner", [clinic.site, dallas])
    response = api_as(roaming).post("/patients", json=NEW_PATIENT)
    assert "site_id" in error(response, 422, "invalid")["fields"]
    response = api_as(roaming).post("/patients", json=NEW_PATIENT | {"site_id": dallas.id})
    assert response.status_code == 201
    assert response.get_json()["site_id"] == dallas.id


def test_registering_at_another_site_is_404(api_as, clinic, dallas):
    response = api_as(clinic.clerk).post("/patients", json=NEW_PATIENT | {"site_id": dallas.id})
    error(response, 404, "not_found")


def test_a_duplicate_mrn_is_409(api_as, clinic):
    body = NEW_PATIENT | {"mrn": clinic.patient.mrn.lower()}
    error(api_as(clinic.clerk).post("/patients", json=body), 409, "conflict")
    other = api_as(clinic.clerk).post("/patients", json=NEW_PATIENT).get_json()
    response = api_as(clinic.clerk).patch(
        f"/patients/{other['id']}", json={"mrn": clinic.patient.mrn}
    )
    error(response, 409, "conflict")


def test_missing_patient_fields_are_all_reported(api_as, clinic):
    response = api_as(clinic.clerk).post("/patients", json={})
    fields = error(response, 422, "invalid")["fields"]
    assert {"mrn", "given_name", "family_name", "birth_date"} <= set(fields)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mrn": ""}, "mrn"),
        ({"mrn": "M" * 41}, "mrn"),
        ({"given_name": 7}, "given_name"),
        ({"family_name": "x" * 10_000}, "family_name"),
        ({"birth_date": "15/06/1975"}, "birth_date"),
        ({"birth_date": "1975-02-30"}, "birth_date"),
        ({"birth_date": "2099-01-01"}, "birth_date"),
        ({"birth_date": 1975}, "birth_date"),
        ({"weight_kg": "70"}, "weight_kg"),
        ({"weight_kg": -3}, "weight_kg"),
        ({"weight_kg": 10**400}, "weight_kg"),
        ({"phone": {"home": "1"}}, "phone"),
        ({"site_id": "1"}, "site_id"),
        ({"site_id": 2**70}, "site_id"),
        ({"escort_name": "nul\x00byte"}, "escort_name"),
    ],
)
def test_bad_patients_are_422(api_as, clinic, changes, field):
    response = api_as(clinic.clerk).post("/patients", json=NEW_PATIENT | changes)
    assert field in error(response, 422, "invalid")["fields"]


def test_search_finds_patients_of_my_sites(api_as, clinic, dallas, make_patient):
    make_patient(clinic.site, given_name="Avery", family_name="Stone", mrn="S-1")
    make_patient(dallas, given_name="Avery", family_name="Stein", mrn="S-2")
    found = api_as(clinic.nurse).get("/patients?q=ave").get_json()
    assert [p["mrn"] for p in found] == ["S-1"]
    assert set(found[0]) == PATIENT_KEYS
    found = api_as(clinic.admin).get("/patients?q=avery").get_json()
    assert {p["mrn"] for p in found} == {"S-1", "S-2"}
    assert api_as(clinic.nurse).get("/patients?q=s-1").get_json()[0]["mrn"] == "S-1"
    assert api_as(clinic.nurse).get("/patients?q=" + "z" * 3000).get_json() == []


def test_a_search_with_a_control_character_is_refused_not_widened(api_as, clinic, make_patient):
    # "%00" once became "" after stripping, and "" lists every patient of the sites.
    make_patient(clinic.site, given_name="Avery", family_name="Stone", mrn="S-1")
    response = api_as(clinic.nurse).get("/patients?q=%00")
    assert response.status_code == 422
    assert "q" in response.get_json()["fields"]


def test_another_sites_patient_is_404(api_as, clinic, dallas, make_patient):
    theirs = make_patient(dallas)
    for role in ("clerk", "nurse", "practitioner"):
        api = api_as(getattr(clinic, role))
        error(api.get(f"/patients/{theirs.id}"), 404, "not_found")
        error(api.get(f"/patients/{theirs.id}/clearances"), 404, "not_found")
    error(api_as(clinic.clerk).patch(f"/patients/{theirs.id}", json={}), 404, "not_found")
    response = api_as(clinic.practitioner).post(f"/patients/{theirs.id}/clearances", json=CLEARANCE)
    error(response, 404, "not_found")
    assert api_as(clinic.admin).get(f"/patients/{theirs.id}").status_code == 200


def test_patch_changes_only_what_it_names(api_as, clinic):
    api = api_as(clinic.practitioner)
    before = api.get(f"/patients/{clinic.patient.id}").get_json()
    response = api.patch(
        f"/patients/{clinic.patient.id}",
        json={"phone": "512-555-0199", "escort_phone": None, "weight_kg": 80},
    )
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after == before | {"phone": "+15125550199", "escort_phone": None, "weight_kg": 80}
    assert api.get(f"/patients/{clinic.patient.id}").get_json() == after


def test_required_patient_fields_cannot_be_erased(api_as, clinic):
    response = api_as(clinic.clerk).patch(
        f"/patients/{clinic.patient.id}", json={"given_name": None, "birth_date": None}
    )
    assert {"given_name", "birth_date"} <= set(error(response, 422, "invalid")["fields"])


# ---------------------------------------------------------------- clearances


def test_a_practitioner_records_a_clearance(api_as, clinic, make_patient):
    patient = make_patient(clinic.site)
    response = api_as(clinic.practitioner).post(
        f"/patients/{patient.id}/clearances", json=CLEARANCE
    )
    assert response.status_code == 201, response.get_json()
    clearance = response.get_json()
    assert clearance == CLEARANCE | {
        "id": clearance["id"],
        "patient_id": patient.id,
        "practitioner_id": clinic.practitioner.id,
        "corrected_at": None,
        "corrected_by_id": None,
        "voided": False,
        "voided_at": None,
        "voided_by_id": None,
        "void_reason": None,
        "mg_per_kg": None,
    }
    assert db.session.get(Clearance, clearance["id"]).cleared is True
    listed = api_as(clinic.clerk).get(f"/patients/{patient.id}/clearances").get_json()
    assert listed == [clearance]
    api_as(clinic.practitioner).post(
        f"/patients/{patient.id}/clearances", json=CLEARANCE | {"evaluated_on": "2026-11-25"}
    )
    listed = api_as(clinic.clerk).get(f"/patients/{patient.id}/clearances").get_json()
    assert len(listed) == 2
    assert all(set(c) == CLEARANCE_KEYS for c in listed)
    assert [c["evaluated_on"] for c in listed] == sorted(
        (c["evaluated_on"] for c in listed), reverse=True
    )


def test_a_clearance_with_only_the_required_fields(api_as, clinic):
    body = {k: CLEARANCE[k] for k in ("evaluated_on", "valid_until", "cleared", "consent_signed")}
    response = api_as(clinic.practitioner).post(
        f"/patients/{clinic.patient.id}/clearances", json=body | {"cleared": False}
    )
    assert response.status_code == 201
    assert response.get_json()["contraindications"] == []
    assert response.get_json()["notes"] == ""
    assert response.get_json()["cleared"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"evaluated_on": None}, "evaluated_on"),
        ({"valid_until": "2026-11-19"}, "valid_until"),
        ({"valid_until": "someday"}, "valid_until"),
        ({"cleared": "yes"}, "cleared"),
        ({"consent_signed": None}, "consent_signed"),
        ({"contraindications": "psychosis"}, "contraindications"),
        ({"contraindications": [1, 2]}, "contraindications"),
        ({"notes": ["a"]}, "notes"),
    ],
)
def test_bad_clearances_are_422(api_as, clinic, changes, field):
    response = api_as(clinic.practitioner).post(
        f"/patients/{clinic.patient.id}/clearances", json=CLEARANCE | changes
    )
    assert field in error(response, 422, "invalid")["fields"]


def test_clearances_of_an_unknown_patient_are_404(api_as, clinic):
    error(api_as(clinic.nurse).get("/patients/99999/clearances"), 404, "not_found")
    response = api_as(clinic.practitioner).post("/patients/99999/clearances", json=CLEARANCE)
    error(response, 404, "not_found")
