"""Clearances can be corrected and voided: practitioners only, audited, a reason for a void;
a voided clearance stays visible as void and no longer clears the patient for booking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, Clearance
from tests.conftest import MONDAY, chicago
from tests.web.test_patients import page, post_form

TUESDAY = MONDAY + timedelta(days=1)


def url(patient, clearance, tail: str = "") -> str:
    """Return the API path of a patient's clearance."""
    return f"/patients/{patient.id}/clearances/{clearance.id}{tail}"


def audit_rows(action: str) -> list[AuditEvent]:
    """Return the audit rows of one action."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def cleared(clinic):
    """The clinic's patient and their one clearance."""
    patient = clinic.patient
    return patient, patient.clearances[0]


# ---------------------------------------------------------------- the API


def test_practitioner_corrects_some_fields(api_as, clinic, cleared):
    patient, clearance = cleared
    api = api_as(clinic.practitioner)
    body = {"valid_until": "2027-01-31", "contraindications": ["pregnancy"], "notes": "Rechecked"}
    response = api.patch(url(patient, clearance), json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["valid_until"] == "2027-01-31"
    assert answer["contraindications"] == ["pregnancy"] and answer["notes"] == "Rechecked"
    assert answer["evaluated_on"] == clearance.evaluated_on.isoformat()  # unchanged
    assert answer["corrected_by_id"] == clinic.practitioner.id and answer["corrected_at"]
    assert answer["voided"] is False and answer["voided_at"] is None
    [row] = audit_rows("clearance.update")
    assert row.patient_id == patient.id and row.object_id == clearance.id
    assert row.detail == {"fields": ["contraindications", "notes", "valid_until"]}
    assert "Rechecked" not in str(row.detail)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"evaluated_on": "someday"}, "evaluated_on"),
        ({"cleared": None}, "cleared"),
        ({"cleared": "yes"}, "cleared"),
        ({"contraindications": "pregnancy"}, "contraindications"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_corrections_are_422(api_as, clinic, cleared, body, field):
    patient, clearance = cleared
    response = api_as(clinic.practitioner).patch(url(patient, clearance), json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


@pytest.mark.parametrize("who", ["clerk", "nurse", "admin"])
def test_only_practitioners_correct_or_void(api_as, clinic, cleared, who):
    patient, clearance = cleared
    api = api_as(getattr(clinic, who))
    assert api.patch(url(patient, clearance), json={"notes": "x"}).status_code == 403
    assert api.post(url(patient, clearance, "/void"), json={"reason": "x"}).status_code == 403
    assert db.session.get(Clearance, clearance.id).voided_at is None


def test_another_patients_clearance_is_404(api_as, clinic, cleared):
    patient, clearance = cleared
    other = clinic.new_patient()
    api = api_as(clinic.practitioner)
    assert api.patch(url(other, clearance), json={"notes": "x"}).status_code == 404
    assert api.post(url(other, clearance, "/void"), json={"reason": "x"}).status_code == 404
    assert api.patch(f"/patients/{patient.id}/clearances/999999", json={}).status_code == 404


def test_void_needs_a_reason_then_the_patient_cannot_be_booked(api_as, clinic, cleared):
    patient, clearance = cleared
    api = api_as(clinic.practitioner)
    response = api.post(url(patient, clearance, "/void"), json={})
    assert response.status_code == 422 and "reason" in response.get_json()["fields"]
    response = api.post(url(patient, clearance, "/void"), json={"reason": "Wrong patient"})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["voided"] is True and answer["void_reason"] == "Wrong patient"
    assert answer["voided_by_id"] == clinic.practitioner.id and answer["voided_at"]
    # Still listed, marked void.
    listed = api.get(f"/patients/{patient.id}/clearances").get_json()
    assert [(c["id"], c["voided"]) for c in listed] == [(clearance.id, True)]
    # No longer clears the patient.
    body = {"patient_id": patient.id, "infusion_start": chicago(TUESDAY, 9).isoformat()}
    response = api_as(clinic.clerk).post("/visits", json=body)
    assert response.status_code == 409
    assert [r["rule"] for r in response.get_json()["reasons"]] == ["not_cleared"]
    # Neither corrected nor voided again.
    assert api.patch(url(patient, clearance), json={"notes": "x"}).status_code == 409
    again = api.post(url(patient, clearance, "/void"), json={"reason": "Twice"})
    assert again.status_code == 409
    [row] = audit_rows("clearance.void")
    assert row.outcome == "ok" and row.patient_id == patient.id and row.detail == {}


def test_openapi_documents_correct_and_void(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "patch" in paths["/patients/{id}/clearances/{clearance_id}"]
    assert "post" in paths["/patients/{id}/clearances/{clearance_id}/void"]


# ---------------------------------------------------------------- the pages


def test_patient_page_offers_correct_and_void_to_practitioners_only(client, auth, clinic, cleared):
    patient, clearance = cleared
    auth.login(clinic.clerk)
    assert "/void" not in page(client, f"/patients/{patient.id}")
    auth.logout()
    auth.login(clinic.practitioner)
    html = page(client, f"/patients/{patient.id}")
    assert f"/patients/{patient.id}/clearances/{clearance.id}/edit" in html
    assert f"/patients/{patient.id}/clearances/{clearance.id}/void" in html


def test_practitioner_corrects_a_clearance_on_the_page(client, auth, clinic, cleared):
    patient, clearance = cleared
    auth.login(clinic.practitioner)
    edit = f"/patients/{patient.id}/clearances/{clearance.id}/edit"
    html = page(client, edit)
    assert "Correct clearance" in html and clearance.valid_until.isoformat() in html
    data = {
        "evaluated_on": clearance.evaluated_on.isoformat(),
        "valid_until": "2027-02-01",
        "cleared": "y",
        "consent_signed": "y",
        "contraindications": ["aneurysm"],
        "other": "Glaucoma",
        "notes": "",
    }
    response = post_form(client, edit, data)
    assert response.status_code == 302
    db.session.expire_all()
    fixed = db.session.get(Clearance, clearance.id)
    assert fixed.valid_until.isoformat() == "2027-02-01"
    assert fixed.contraindications == ["aneurysm", "other: Glaucoma"]
    html = page(client, f"/patients/{patient.id}")
    assert "Corrected" in html and clinic.practitioner.name in html


def test_practitioner_voids_on_the_page_and_it_stays_visible(client, auth, clinic, cleared):
    patient, clearance = cleared
    auth.login(clinic.practitioner)
    void = f"/patients/{patient.id}/clearances/{clearance.id}/void"
    response = post_form(client, void, {"reason": ""})
    assert response.status_code == 200
    assert "Say why the clearance is void." in response.get_data(as_text=True)
    assert db.session.get(Clearance, clearance.id).voided_at is None
    response = post_form(client, void, {"reason": "Evaluation entered for the wrong patient"})
    assert response.status_code == 302
    html = page(client, f"/patients/{patient.id}")
    assert "badge-void" in html and "Evaluation entered for the wrong patient" in html
    assert "It no longer clears the patient." in html
    assert "Not cleared" in html  # the patient's badge
    assert f"/clearances/{clearance.id}/void" not in html  # no second void


def test_clearance_pages_are_refused_to_others(client, auth, clinic, cleared):
    patient, clearance = cleared
    auth.login(clinic.nurse)
    base = f"/patients/{patient.id}/clearances/{clearance.id}"
    assert client.get(f"{base}/edit").status_code == 403
    assert client.get(f"{base}/void").status_code == 403


def test_the_booking_search_no_longer_shows_a_voided_clearance(client, auth, clinic, cleared):
    from clinic.services.patients import void_clearance
    from tests.web.test_booking_forms import search

    patient, clearance = cleared
    void_clearance(clinic.practitioner, patient, clearance.id, "Wrong patient", chicago(MONDAY, 7))
    auth.login(clinic.clerk)
    found = search(client, patient.mrn).get_json()["patients"]
    assert [(p["id"], p["cleared_until"]) for p in found] == [(patient.id, None)]
