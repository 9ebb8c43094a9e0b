"""Patient messages sent by real scheduler processes: two of them and a SIGKILL of the
leader, and every message reaches the SMS gateway exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import PatientMessage
from clinic.services.patients import set_consents
from clinic.types import utcnow
from tests.conftest import chicago
from tests.scheduler.conftest import (
    BOOKING_DAYS,
    current_leader,
    immediate_transactions,
    wait_for,
    wait_for_leader,
)

pytestmark = pytest.mark.slow


def test_two_schedulers_and_a_sigkill_send_each_message_once(
    app, clinic, make_visit, scheduler_processes, webhook
):
    patient = clinic.patient
    patient.phone = "+15125550123"
    set_consents("patient", patient, {"sms": True}, utcnow())
    db.session.commit()
    visit = make_visit(clinic.clerk, patient, chicago(BOOKING_DAYS[0], 10))
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {
        "SMS_PROVIDER": "webhook",
        "SMS_WEBHOOK_URL": webhook.url,
        "SMS_WEBHOOK_SECRET": "s",
        "SMTP_HOST": "",
    }
    processes = {p.pid: p for p in (scheduler_processes(url, **env) for _ in range(2))}
    # Generous waits: a loaded machine can delay a heartbeat or a takeover by seconds.
    leader_pid = wait_for(lambda: (pid := current_leader()) in processes and pid, 60)
    assert leader_pid, [p.output() for p in processes.values()]
    leader = processes.pop(leader_pid)
    [standby] = processes.values()
    # Reminders due 3, 5.5, 8 and 10.5 s from now (the booking's own are minutes away).
    base = utcnow() + timedelta(seconds=3)
    with immediate_transactions():
        rows = [
            PatientMessage(
                visit_id=visit.id,
                patient_id=patient.id,
                channel="sms",
                kind="reminder",
                status="scheduled",
                scheduled_for=base + timedelta(seconds=2.5 * i),
                next_attempt_at=base + timedelta(seconds=2.5 * i),
                attempts=0,
                created_at=utcnow(),
            )
            for i in range(4)
        ]
        db.session.add_all(rows)
        db.session.commit()
    ids = [row.id for row in rows]

    def received() -> Counter:
        return Counter(json.loads(r["body"])["message_id"] for r in webhook.requests)

    def first_sent() -> bool:
        status = db.session.scalar(select(PatientMessage.status).where(PatientMessage.id == ids[0]))
        return received()[ids[0]] == 1 and status == "sent"

    # Kill between sends, not inside one (a sender killed mid-send is retried after the lease).
    assert wait_for(first_sent, 60), leader.output()
    leader.kill()
    assert wait_for_leader(standby.pid, 60), standby.output()
    assert wait_for(lambda: set(ids) <= set(received()), 90), standby.output()
    time.sleep(1.5)  # more runs send nothing again
    assert received() == Counter(ids)
    db.session.rollback()
    statuses = db.session.scalars(
        select(PatientMessage.status).where(PatientMessage.id.in_(ids))
    ).all()
    assert statuses == ["sent"] * 4
