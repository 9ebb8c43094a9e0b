"""Patient messages on PostgreSQL: a claimed message is leased (a second claim takes another
one, SKIP LOCKED), and each is sent once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.notify import patient_outbox
from tests.api.test_patient_messages import SETTLED, channels, consent, messages, sms_gateway  # noqa: F401
from tests.conftest import MONDAY, chicago
from tests.scheduler.conftest import smtp_server  # noqa: F401


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


def test_claims_are_disjoint_and_each_message_goes_once(app, clinic, book, channels):  # noqa: F811
    assert db.session.get_bind().dialect.name == "postgresql"
    consent(clinic.patient)
    visit = book(chicago(MONDAY + timedelta(days=8), 10)).get_json()
    first = patient_outbox.claim(SETTLED, app.config, limit=1)
    second = patient_outbox.claim(SETTLED, app.config)
    assert len(first) == 1 and len(second) == 1
    assert first[0].message_id != second[0].message_id
    assert patient_outbox.claim(SETTLED, app.config) == []
    patient_outbox.record({o.message_id: None for o in [*first, *second]}, SETTLED)
    assert patient_outbox.send_due(SETTLED + timedelta(minutes=5)) == 0
    assert [m.status for m in messages(visit["id"]) if m.kind == "booked"] == ["sent", "sent"]
