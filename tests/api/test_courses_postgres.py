"""Courses on PostgreSQL: a new weekday pattern whose dates land on their siblings' old slots
in the same chair (the exclusion constraint sees every flush), and cancelling the rest in one
transaction with one message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import PatientMessage
from clinic.services.patients import set_consents
from tests.api.conftest import iso
from tests.api.test_courses import _local, course  # noqa: F401 (the fixture)
from tests.conftest import MONDAY, NOW, chicago


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


def test_a_new_pattern_may_take_the_siblings_old_slots(api_as, clinic, course):  # noqa: F811
    assert db.session.get_bind().dialect.name == "postgresql"
    body = course(chicago(MONDAY, 9), count=3, chair_id=clinic.chairs[0].id).get_json()
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/reschedule",
        json={
            "from_visit_id": body["visits"][0]["id"],
            "scope": "following",
            "infusion_start": iso(_local(body["visits"][1]["infusion_start"])),
            "weekdays": [0, 3],
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    moved = answer.get_json()["visits"]
    assert [_local(v["infusion_start"]).strftime("%m-%d %H:%M") for v in moved] == [
        "12-03 09:00",
        "12-07 09:00",
        "12-10 09:00",
    ]
    assert {v["chair_id"] for v in moved} == {clinic.chairs[0].id}


def test_cancel_the_rest_is_one_transaction_with_one_message(api_as, clinic, course):  # noqa: F811
    clinic.patient.email = "dana@example.test"
    set_consents("patient", clinic.patient, {"email": True}, NOW)
    db.session.commit()
    body = course(chicago(MONDAY, 9)).get_json()
    answer = api_as(clinic.clerk).post(
        f"/courses/{body['id']}/cancel",
        json={"from_visit_id": body["visits"][0]["id"], "scope": "following", "reason": "ill"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert {v["status"] for v in answer.get_json()["visits"]} == {"cancelled"}
    db.session.rollback()
    told = db.session.scalars(
        select(PatientMessage.visit_id).where(PatientMessage.kind == "cancelled")
    ).all()
    assert told == [body["visits"][0]["id"]]
