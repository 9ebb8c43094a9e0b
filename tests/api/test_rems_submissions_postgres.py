"""The REMS tracker on PostgreSQL: the submission's lock and uniqueness, the reminder's
insert-once (ON CONFLICT, NOT EXISTS) and its resolution, the list's queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Notification, RemsSubmission
from clinic.services import notifications
from tests.api.conftest import assert_error
from tests.api.test_rems_submissions import DISCHARGED, FORM, OVERDUE_FROM
from tests.conftest import NOW
from tests.rems_sessions import rems_type, session


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


def test_a_submission_resolves_the_reminder_raised_once_on_postgresql(api_as, clinic):
    assert db.session.get_bind().dialect.name == "postgresql"
    spravato = rems_type(clinic.site)
    visit = session(clinic.new_patient(), clinic.chairs[0], spravato, DISCHARGED)
    other = session(clinic.new_patient(), clinic.chairs[1], spravato, DISCHARGED)
    reminder_at = OVERDUE_FROM - timedelta(days=2)

    assert notifications.fire_reminders([visit.id, other.id], reminder_at - timedelta(1)) == []
    created = notifications.fire_reminders([visit.id, other.id], NOW)
    assert len(created) == 2
    assert notifications.fire_reminders([visit.id, other.id], NOW + timedelta(hours=1)) == []
    assert [r.visit_id for r in notifications.reminders(NOW)] == []

    response = api_as(clinic.nurse).post(f"/visits/{visit.id}/rems-submission", json=FORM)
    assert response.status_code == 201, response.get_data(as_text=True)
    again = api_as(clinic.admin).post(f"/visits/{visit.id}/rems-submission", json=FORM)
    assert [r["rule"] for r in assert_error(again, 409, "conflict")["reasons"]] == [
        "already_submitted"
    ]
    db.session.expire_all()
    reasons = {n.visit_id: n.resolved_reason for n in db.session.scalars(select(Notification))}
    assert reasons == {visit.id: "submitted", other.id: None}
    assert notifications.resolve_stale(NOW) == 0  # the open one holds: not submitted yet
    assert len(db.session.scalars(select(RemsSubmission)).all()) == 1

    listed = api_as(clinic.clerk).get(f"/rems/submissions?site_id={clinic.site.id}")
    assert [(r["visit_id"], r["status"]) for r in listed.get_json()] == [
        (visit.id, "submitted"),
        (other.id, "due"),
    ]
