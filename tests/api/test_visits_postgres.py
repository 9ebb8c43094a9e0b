"""The visit API on PostgreSQL: what SQLite cannot show (exclusion constraint, text rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.services import booking
from tests.api.conftest import assert_error, rules, visit_count
from tests.conftest import MONDAY, add_baseline, chicago

TUESDAY = MONDAY + timedelta(days=1)
CHECKLIST = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


def test_book_conflict_idempotency_and_reschedule(book, api_as, clinic):
    assert db.session.get_bind().dialect.name == "postgresql"
    key = {"Idempotency-Key": "pg-1"}
    first = book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id, headers=key)
    assert first.status_code == 201
    assert book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id, headers=key).status_code == 200
    other = clinic.new_patient()
    assert rules(book(chicago(TUESDAY, 9), patient=other, chair_id=clinic.chairs[0].id)) == [
        "chair_busy"
    ]
    visit_id = first.get_json()["id"]
    moved = api_as(clinic.clerk).patch(
        f"/visits/{visit_id}", json={"infusion_start": chicago(TUESDAY, 12).isoformat()}
    )
    assert moved.status_code == 200
    assert book(chicago(TUESDAY, 9), patient=other, chair_id=clinic.chairs[0].id).status_code == 201
    assert visit_count() == 2


def test_nul_characters_are_422_not_500(book, api_as, clinic):
    assert (
        "notes" in assert_error(book(chicago(TUESDAY, 9), notes="a\x00b"), 422, "invalid")["fields"]
    )
    visit_id = book(chicago(TUESDAY, 9)).get_json()["id"]
    response = api_as(clinic.clerk).post(
        f"/visits/{visit_id}/events", json={"type": "cancel", "reason": "x\x00"}
    )
    assert "reason" in assert_error(response, 422, "invalid")["fields"]


def test_lifecycle(make_visit, api_as, clinic, frozen):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    add_baseline(visit.id, chicago(MONDAY, 8, 2))
    frozen.move_to(chicago(MONDAY, 9))
    api = api_as(clinic.practitioner)
    for body in (
        {"type": "check_in", "at": chicago(MONDAY, 8).isoformat()},
        {"type": "start_infusion", "at": chicago(MONDAY, 8, 5).isoformat()},
        {"type": "end_infusion", "at": chicago(MONDAY, 8, 50).isoformat()},
        {"type": "extend_observation", "minutes": 15, "reason": "Drowsy"},
        {"type": "discharge", "checklist": CHECKLIST, "override_reason": "Reviewed"},
    ):
        response = api.post(f"/visits/{visit.id}/events", json=body)
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "discharged"
    assert_error(api.post(f"/visits/{visit.id}/events", json={"type": "check_in"}), 409, "conflict")


def test_a_reinstated_visit_that_collides_is_409_never_500(book, api_as, clinic, monkeypatch):
    chair = clinic.chairs[0].id
    first = book(chicago(TUESDAY, 9), chair_id=chair).get_json()["id"]
    api = api_as(clinic.clerk)
    api.post(f"/visits/{first}/events", json={"type": "cancel", "reason": "Unwell"})
    other = clinic.new_patient()
    assert book(chicago(TUESDAY, 9), patient=other, chair_id=chair).status_code == 201
    back = {"type": "reinstate", "reason": "Feels better"}
    assert rules(api.post(f"/visits/{first}/events", json=back)) == ["chair_busy"]

    # Were the rules' check to miss the other visit, the exclusion constraint still holds.
    real = booking.full_context

    def blind(*args, **kwargs):
        ctx, chairs = real(*args, **kwargs)
        return replace(ctx, occupancies=[]), chairs

    monkeypatch.setattr(booking, "full_context", blind)
    body = assert_error(api.post(f"/visits/{first}/events", json=back), 409, "conflict")
    assert [r["rule"] for r in body["reasons"]] == ["chair_busy"]
    assert api.get(f"/visits/{first}").get_json()["status"] == "cancelled"
