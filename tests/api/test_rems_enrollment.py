"""A patient's REMS enrolment and the REMS booking gates (API.md, "Treatment types and REMS")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, Visit
from tests.api.conftest import assert_error, rules
from tests.api.test_treatment_types import SPRAVATO
from tests.conftest import MONDAY, chicago

ENROLMENT = {"enrolled_on": "2026-11-23", "rems_patient_id": "RP-1001"}
CERTIFICATION = {"certified_on": "2026-11-02", "authorized_representative": "Dr. Rivera"}
WEDNESDAY = MONDAY + timedelta(days=2)


@pytest.fixture
def spravato(api_as, clinic):
    """Add the REMS type Spravato to the clinic's site; return its id."""
    response = api_as(clinic.admin).post(
        "/treatment-types", json=SPRAVATO | {"site_id": clinic.site.id}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def enrol(api_as, clinic, patient=None, user=None, body=ENROLMENT):
    """Post an enrolment for the clinic's patient (as its practitioner unless told)."""
    patient_id = (patient or clinic.patient).id
    return api_as(user or clinic.practitioner).post(
        f"/patients/{patient_id}/rems-enrollment", json=body
    )


def certify(api_as, clinic):
    """Record the site's REMS certification as the admin."""
    site = f"/sites/{clinic.site.id}"
    response = api_as(clinic.admin).patch(site, json={"rems_certification": CERTIFICATION})
    assert response.status_code == 200, response.get_data(as_text=True)


# ---------------------------------------------------------------- enrolment


def test_a_patient_is_not_enrolled_until_a_practitioner_records_it(api_as, clinic):
    patient = f"/patients/{clinic.patient.id}"
    assert api_as(clinic.clerk).get(patient).get_json()["rems_enrollment"] is None
    response = enrol(api_as, clinic)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rems_enrollment"] == ENROLMENT
    assert api_as(clinic.nurse).get(patient).get_json()["rems_enrollment"] == ENROLMENT
    corrected = enrol(api_as, clinic, body=ENROLMENT | {"rems_patient_id": " RP-1002 "})
    assert corrected.status_code == 200
    assert corrected.get_json()["rems_enrollment"]["rems_patient_id"] == "RP-1002"


def test_an_enrolment_is_audited_without_its_values(api_as, clinic):
    enrol(api_as, clinic)
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "patient.rems_enrollment")
    )
    assert (event.actor_id, event.patient_id) == (clinic.practitioner.id, clinic.patient.id)
    assert event.detail == {"fields": ["rems_enrolled_on", "rems_patient_id"]}
    assert "RP-1001" not in str(event.detail)


@pytest.mark.parametrize("role", ["clerk", "nurse", "admin"])
def test_only_a_practitioner_enrols_a_patient(api_as, clinic, role):
    response = enrol(api_as, clinic, user=getattr(clinic, role))
    assert_error(response, 403, "forbidden")
    assert clinic.patient.rems_enrolled_on is None


def test_enrolling_another_sites_or_an_unknown_patient_is_404(
    api_as, clinic, make_site, make_patient
):
    theirs = make_patient(make_site(name="Dallas"))
    assert_error(enrol(api_as, clinic, patient=theirs), 404, "not_found")
    missing = api_as(clinic.practitioner).post("/patients/99999/rems-enrollment", json=ENROLMENT)
    assert_error(missing, 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rems_patient_id": "RP-1"}, "enrolled_on"),
        (ENROLMENT | {"enrolled_on": "23/11/2026"}, "enrolled_on"),
        ({"enrolled_on": "2026-11-23"}, "rems_patient_id"),
        (ENROLMENT | {"rems_patient_id": "   "}, "rems_patient_id"),
        (ENROLMENT | {"rems_patient_id": "R" * 41}, "rems_patient_id"),
        (ENROLMENT | {"rems_patient_id": "RP-1\r\nRP-2"}, "rems_patient_id"),
        (ENROLMENT | {"rems_patient_id": "RP-\u202e1001"}, "rems_patient_id"),
    ],
)
def test_a_bad_enrolment_is_422_naming_the_field(api_as, clinic, body, field):
    body_ = assert_error(enrol(api_as, clinic, body=body), 422, "invalid")
    assert field in body_["fields"]
    db.session.expire_all()
    assert clinic.patient.rems_enrolled_on is None


# ---------------------------------------------------------------- booking gates


def test_a_rems_booking_names_both_rules_when_both_are_broken(book, clinic, spravato):
    response = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert set(rules(response)) == {"rems_site_not_certified", "rems_patient_not_enrolled"}
    assert db.session.scalars(select(Visit)).all() == []


def test_a_rems_booking_at_an_uncertified_site_is_409(api_as, book, clinic, spravato):
    enrol(api_as, clinic)
    response = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert rules(response) == ["rems_site_not_certified"]


def test_a_rems_booking_of_a_patient_not_enrolled_is_409(api_as, book, clinic, spravato):
    certify(api_as, clinic)
    response = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert rules(response) == ["rems_patient_not_enrolled"]


def test_an_enrolment_counts_from_its_day(api_as, book, clinic, spravato):
    certify(api_as, clinic)
    enrol(api_as, clinic, body=ENROLMENT | {"enrolled_on": str(WEDNESDAY + timedelta(days=1))})
    response = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert rules(response) == ["rems_patient_not_enrolled"]


def test_a_rems_booking_passes_once_certified_and_enrolled(api_as, book, clinic, spravato):
    certify(api_as, clinic)
    enrol(api_as, clinic)
    response = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["treatment_type_id"] == spravato


def test_a_non_rems_booking_ignores_the_rems_gates(book, clinic, spravato):
    response = book(chicago(WEDNESDAY, 9))
    assert response.status_code == 201, response.get_data(as_text=True)


def test_rescheduling_a_rems_visit_meets_the_gates(api_as, book, clinic, spravato):
    certify(api_as, clinic)
    enrol(api_as, clinic, body=ENROLMENT | {"enrolled_on": str(WEDNESDAY)})
    booked = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert booked.status_code == 201, booked.get_data(as_text=True)
    moved = api_as(clinic.clerk).patch(
        f"/visits/{booked.get_json()['id']}",
        json={"infusion_start": chicago(MONDAY, 9).isoformat()},
    )
    assert rules(moved) == ["rems_patient_not_enrolled"]


def test_a_refused_rems_booking_offers_only_slots_that_meet_the_gates(
    api_as, book, clinic, spravato
):
    response = book(chicago(WEDNESDAY, 9), treatment_type_id=spravato)
    assert assert_error(response, 409, "conflict")["alternatives"] == []
    certify(api_as, clinic)
    enrol(api_as, clinic, body=ENROLMENT | {"enrolled_on": str(WEDNESDAY)})
    early = book(chicago(MONDAY + timedelta(days=1), 9), treatment_type_id=spravato)
    offered = assert_error(early, 409, "conflict")["alternatives"]
    assert offered and all(slot["infusion_start"] >= str(WEDNESDAY) for slot in offered)
