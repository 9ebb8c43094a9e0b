"""The visits list, its CSV, the week view and alternatives on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from tests.api.conftest import rules
from tests.conftest import MONDAY, chicago, csrf_token
from tests.web.test_visits_list import listed, search, week_grid

pytestmark = pytest.mark.postgres

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


def test_search_csv_and_week(client, auth, clinic, make_visit):
    assert db.session.get_bind().dialect.name == "postgresql"
    other = clinic.new_patient(given_name="Avery", family_name="O_kafor")
    mine = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    theirs = make_visit(clinic.clerk, other, chicago(TUESDAY, 9), chair_id=clinic.chairs[1].id)
    auth.login(clinic.clerk)

    assert listed(search(client, q="o_k").get_data(as_text=True)) == [theirs.id]
    assert listed(search(client, last_day=TUESDAY.isoformat()).get_data(as_text=True)) == [
        mine.id,
        theirs.id,
    ]
    token = csrf_token(client.get("/visits").get_data(as_text=True))
    csv_text = client.post("/visits.csv", data={"csrf_token": token}).get_data(as_text=True)
    assert csv_text.count("\n") == 3

    grid = week_grid(client.get(f"/week?date={TUESDAY.isoformat()}").get_data(as_text=True))
    assert grid["Chair 1"][1] == "1" and grid["Chair 2"][1] == "1"


def test_a_refused_booking_lists_alternatives(api_as, clinic):
    api = api_as(clinic.clerk)
    chair = clinic.chairs[0].id
    start = chicago(TUESDAY, 10).isoformat()
    assert (
        api.post(
            "/visits",
            json={"patient_id": clinic.patient.id, "infusion_start": start, "chair_id": chair},
        ).status_code
        == 201
    )
    other = clinic.new_patient()
    response = api.post(
        "/visits", json={"patient_id": other.id, "infusion_start": start, "chair_id": chair}
    )
    assert rules(response) == ["chair_busy"]
    assert response.get_json()["alternatives"][0]["chair_id"] == clinic.chairs[1].id
