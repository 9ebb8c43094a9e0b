"""Names, e-mail addresses and phone numbers through the API: 422 with the field named."""

from __future__ import annotations

import pytest

from clinic.extensions import db
from clinic.models import Chair, Patient, Site, User
from tests.api.conftest import assert_error

NEW_PATIENT = {
    "mrn": "T-1",
    "given_name": "Jordan",
    "family_name": "Lee",
    "birth_date": "1975-06-15",
}
BAD_NAMES = ["Jordan\r\nX-Injected: 1", "Jor\ndan", "Jor\u202edan", "Jor\u2066dan\u2069"]


@pytest.mark.parametrize("bad", BAD_NAMES)
@pytest.mark.parametrize("field", ["given_name", "family_name", "mrn", "escort_name"])
def test_patient_names_with_line_breaks_or_direction_controls_are_422(api_as, clinic, field, bad):
    before = db.session.query(Patient).count()
    response = api_as(clinic.clerk).post("/patients", json=NEW_PATIENT | {field: bad})
    body = assert_error(response, 422, "invalid")
    assert field in body["fields"]
    assert db.session.query(Patient).count() == before


def test_a_patient_change_is_checked_the_same_way(api_as, clinic):
    api = api_as(clinic.clerk)
    response = api.patch(f"/patients/{clinic.patient.id}", json={"family_name": "Lee\u202e"})
    assert "family_name" in assert_error(response, 422, "invalid")["fields"]
    db.session.refresh(clinic.patient)
    assert "\u202e" not in clinic.patient.family_name


def test_patient_phone_numbers_are_stored_as_e164(api_as, clinic):
    response = api_as(clinic.clerk).post(
        "/patients",
        json=NEW_PATIENT | {"phone": "512-555-0100", "escort_phone": "+44 20 7946 0958"},
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["phone"], created["escort_phone"]) == ("+15125550100", "+442079460958")
    patient = db.session.get(Patient, created["id"])
    assert patient.phone == "+15125550100"


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("phone", "12"),
        ("phone", "call my cell"),
        ("escort_phone", "555-0100"),
        ("email", "jordan@"),
        ("email", "jordan@clinic.org\r\nBcc: everyone@clinic.org"),
    ],
)
def test_bad_contacts_are_422_naming_the_field(api_as, clinic, field, bad):
    response = api_as(clinic.clerk).post("/patients", json=NEW_PATIENT | {field: bad})
    assert field in assert_error(response, 422, "invalid")["fields"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_site_and_chair_names_are_checked(api_as, clinic, bad):
    api = api_as(clinic.admin)
    response = api.post("/sites", json={"name": bad, "timezone": "America/Chicago"})
    assert "name" in assert_error(response, 422, "invalid")["fields"]
    response = api.patch(f"/sites/{clinic.site.id}", json={"name": bad})
    assert "name" in assert_error(response, 422, "invalid")["fields"]
    response = api.post("/chairs", json={"site_id": clinic.site.id, "name": bad})
    assert "name" in assert_error(response, 422, "invalid")["fields"]
    response = api.patch(f"/chairs/{clinic.chairs[0].id}", json={"name": bad})
    assert "name" in assert_error(response, 422, "invalid")["fields"]
    db.session.expire_all()
    assert all(bad not in site.name for site in db.session.query(Site))
    assert all(bad not in chair.name for chair in db.session.query(Chair))


@pytest.mark.parametrize(
    ("field", "bad"),
    [("name", "Ana\r\nLopez"), ("name", "Ana\u202eLopez"), ("email", "ana@clinic")],
)
def test_user_names_and_addresses_are_checked(api_as, clinic, field, bad):
    body = {
        "email": "ana@clinic.test",
        "name": "Ana Lopez",
        "role": "nurse",
        "site_ids": [clinic.site.id],
    }
    api = api_as(clinic.admin)
    response = api.post("/users", json=body | {field: bad})
    assert field in assert_error(response, 422, "invalid")["fields"]
    response = api.patch(f"/users/{clinic.nurse.id}", json={field: bad})
    assert field in assert_error(response, 422, "invalid")["fields"]
    assert db.session.query(User).filter(User.email == "ana@clinic.test").count() == 0


def test_a_user_address_is_stored_normalised(api_as, clinic):
    body = {"email": "Ana.Lopez@Clinic.TEST", "name": "Ana", "role": "nurse", "site_ids": []}
    response = api_as(clinic.admin).post("/users", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["email"] == "ana.lopez@clinic.test"
