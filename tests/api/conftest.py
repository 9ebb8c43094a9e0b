"""Helpers for the JSON API tests of visits, availability and events."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Visit, VisitEvent


def iso(instant: datetime) -> str:
    """Write an instant as the API takes it (with its offset)."""
    return instant.isoformat()


def zulu(instant: datetime) -> str:
    """Write an instant as the API answers it (UTC, ending in Z)."""
    return instant.isoformat().replace("+00:00", "Z")


def visit_count() -> int:
    """Count every visit row."""
    return db.session.scalar(select(func.count(Visit.id)))


def event_count() -> int:
    """Count every visit event row."""
    return db.session.scalar(select(func.count(VisitEvent.id)))


def assert_error(response, status: int, code: str) -> dict:
    """Check an error answer: status, the error body's exact keys, and return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    assert set(body) <= {"error", "message", "fields", "reasons", "alternatives"}
    return body


def rules(response) -> list[str]:
    """Return the rule names of a booking conflict."""
    body = assert_error(response, 409, "conflict")
    return [reason["rule"] for reason in body["reasons"]]


@pytest.fixture
def book(api_as, clinic):
    """Book through the API as the clerk (or another user): book(start, **fields)."""

    def call(start: datetime, user=None, patient=None, headers=None, **fields):
        body = {"patient_id": (patient or clinic.patient).id, "infusion_start": iso(start)}
        return api_as(user or clinic.clerk).post(
            "/visits", json=body | fields, headers=headers or {}
        )

    return call
