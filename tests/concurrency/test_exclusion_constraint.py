"""PostgreSQL's exclusion constraint is the last line against double booking.

If every check in Python were bypassed (a bug, a script writing SQL, a race the lock
missed), the database itself refuses a second active visit in a held chair, and the booking
service turns that refusal into the API's 409 chair_busy, never a 500.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.extensions import db
from clinic.models import Clearance, Patient, Shift
from clinic.services import booking, setup, staff
from clinic.services.errors import Conflict
from clinic.types import utcnow
from tests.conftest import MONDAY, chicago, issue_token

pytestmark = pytest.mark.postgres

EXCLUSION_VIOLATION = "23P01"
INSERT_VISIT = sa.text(
    "INSERT INTO visits (patient_id, site_id, chair_id, recovery_chair_id, status, "
    "infusion_start, infusion_end, observation_end, infusion_minutes, observation_minutes, "
    "chair_released_at, extension_minutes, notes, created_at, updated_at, treatment_type_id) "
    "VALUES (:patient, :site, :chair, :chair, :status, :start, :start + interval '45 minutes', "
    ":start + interval '165 minutes', 45, 120, :start + interval '180 minutes', 0, '', "
    "now(), now(), :treatment_type) RETURNING id"
)


@pytest.fixture
def pg_clinic(pg_app):
    """Austin on PostgreSQL: one chair, staff on duty Monday, two cleared patients."""
    site = setup.save_site(None, {"name": "Austin"}, now=utcnow())
    chair = setup.save_chair(None, {"site_id": site.id, "name": "Chair 1"}, now=utcnow())
    clerk = staff.create_user("desk@pg.test", "Desk", "front_desk", [site.id], now=utcnow())
    nurse = staff.create_user("nurse@pg.test", "Nurse", "nurse", [site.id], now=utcnow())
    doc = staff.create_user("doc@pg.test", "Doc", "practitioner", [site.id], now=utcnow())
    for user in (nurse, doc):
        db.session.add(
            Shift(
                site_id=site.id,
                user_id=user.id,
                role=user.role,
                starts_at=chicago(MONDAY, 7),
                ends_at=chicago(MONDAY, 19),
            )
        )
    patients = []
    for n in range(2):
        patient = Patient(
            site_id=site.id,
            mrn=f"PG{n}",
            given_name="Pat",
            family_name=f"Gist{n}",
            birth_date=date(1980, 1, 1),
        )
        db.session.add(patient)
        db.session.flush()
        db.session.add(
            Clearance(
                patient_id=patient.id,
                evaluated_on=MONDAY - timedelta(days=7),
                valid_until=MONDAY + timedelta(days=30),
                cleared=True,
                consent_signed=True,
                contraindications=[],
                notes="",
                practitioner_id=doc.id,
            )
        )
        patients.append(patient)
    db.session.commit()
    return site, chair, clerk, patients


def insert(site, chair, patient, start, status="booked") -> int:
    """Insert a visit with plain SQL, past every check of the application."""
    values = {"patient": patient.id, "site": site.id, "chair": chair.id, "status": status}
    values["treatment_type"] = site.default_treatment_type_id
    row = db.session.execute(INSERT_VISIT, values | {"start": start})
    return row.scalar_one()


def test_constraint_alone_refuses_an_overlapping_active_visit(pg_clinic):
    site, chair, _, (first, second) = pg_clinic
    insert(site, chair, first, chicago(MONDAY, 9))
    db.session.commit()

    with pytest.raises(IntegrityError) as refused:
        insert(site, chair, second, chicago(MONDAY, 11, 59))  # the hold lasts until 12:00
        db.session.flush()
    assert refused.value.orig.sqlstate == EXCLUSION_VIOLATION
    assert "ex_visits_chair_hold" in str(refused.value.orig)
    db.session.rollback()

    # Back to back (half-open holds) and inactive visits are fine.
    insert(site, chair, second, chicago(MONDAY, 12))
    insert(site, chair, second, chicago(MONDAY, 10), status="cancelled")
    db.session.commit()
    assert db.session.scalar(sa.text("SELECT count(*) FROM visits")) == 3


def test_constraint_refuses_reactivating_into_an_overlap(pg_clinic):
    site, chair, _, (first, second) = pg_clinic
    insert(site, chair, first, chicago(MONDAY, 9))
    cancelled = insert(site, chair, second, chicago(MONDAY, 10), status="cancelled")
    db.session.commit()
    with pytest.raises(IntegrityError) as refused:
        db.session.execute(
            sa.text("UPDATE visits SET status = 'booked' WHERE id = :id"), {"id": cancelled}
        )
    assert refused.value.orig.sqlstate == EXCLUSION_VIOLATION
    db.session.rollback()


@pytest.fixture
def blind_booking(monkeypatch):
    """Make the booking service's checks miss every existing visit, as a lost race would."""
    calls = []
    real = booking.full_context

    def nothing_active(*args, **kwargs):
        ctx, chairs = real(*args, **kwargs)
        calls.append(ctx)
        return replace(ctx, occupancies=[], patient_visits=[]), chairs

    monkeypatch.setattr(booking, "full_context", nothing_active)
    return calls


def test_service_turns_the_constraint_into_chair_busy(pg_clinic, blind_booking):
    site, chair, clerk, (first, second) = pg_clinic
    insert(site, chair, first, chicago(MONDAY, 9))
    db.session.commit()
    request = booking.Request(
        patient_id=second.id, infusion_start=chicago(MONDAY, 10), chair_id=chair.id
    )
    with pytest.raises(Conflict) as refused:
        booking.book(clerk, request, now=chicago(MONDAY, 7))
    assert [reason.rule for reason in refused.value.reasons] == ["chair_busy"]
    assert blind_booking, "the checks were not bypassed, so the constraint was not tested"
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM visits")) == 1


def test_api_answers_409_chair_busy_when_the_constraint_refuses(pg_app, pg_clinic, blind_booking):
    site, chair, clerk, (first, second) = pg_clinic
    insert(site, chair, first, chicago(MONDAY, 9))
    db.session.commit()
    token = issue_token(clerk)
    response = pg_app.test_client().post(
        "/api/v1/visits",
        json={
            "patient_id": second.id,
            "chair_id": chair.id,
            "infusion_start": chicago(MONDAY, 10).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["error"] == "conflict"
    assert [reason["rule"] for reason in body["reasons"]] == ["chair_busy"]
    assert blind_booking, "the checks were not bypassed, so the constraint was not tested"
    assert db.session.scalar(sa.text("SELECT count(*) FROM visits")) == 1
