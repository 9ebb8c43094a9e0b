"""The FHIR searches on PostgreSQL: site-local days, paging counts and the joins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from tests.conftest import MONDAY, add_baseline, chicago


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


def test_appointment_and_observation_searches(fhir_as, clinic, make_visit):
    assert db.session.get_bind().dialect.name == "postgresql"
    week = [
        make_visit(clinic.clerk, clinic.patient, chicago(MONDAY + timedelta(days=n), 9))
        for n in range(3)
    ]
    late = make_visit(clinic.clerk, clinic.new_patient(), chicago(MONDAY, 15))
    add_baseline(week[0].id, chicago(MONDAY, 8, 50), screened=False, respiratory_rate=14)
    nurse = fhir_as(clinic.nurse)
    monday = nurse.everything("Appointment", date=str(MONDAY), _count=1)
    assert [a["id"] for a in monday] == [str(week[0].id), str(late.id)]
    tuesday = MONDAY + timedelta(days=1)
    found = nurse.search("Appointment", patient=clinic.patient.id, date=f"ge{tuesday}", _count=1)
    assert found["total"] == 2 and len(found["entry"]) == 1
    vitals = nurse.everything("Observation", patient=clinic.patient.id, date=str(MONDAY))
    assert len(vitals) == 4
    assert nurse.search("Observation", patient=clinic.patient.id, date=f"gt{MONDAY}")["total"] == 0
