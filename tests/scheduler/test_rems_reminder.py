"""The REMS form reminder on a running scheduler (in this process, SQLite): raised once at
site-local midnight two days before the form falls overdue, never for a form submitted
before, and not again after a restart.

The reminder falls on a local midnight a week after the discharge, so the clock is moved
(time-machine, ticking) to a few seconds before it; the scheduler's threads read that clock.
"""

from __future__ import annotations

import email
import time
from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select

from clinic.domain.alarms import REMS_FORM_DUE
from clinic.extensions import db
from clinic.models import Delivery, Notification, RemsSubmission
from clinic.notify import outbox
from clinic.scheduler.jobs import job_id
from clinic.services import notifications, rems_submissions
from clinic.types import utcnow
from tests.conftest import CHICAGO, chicago
from tests.rems_sessions import rems_type, session
from tests.scheduler.conftest import (
    count,
    immediate_transactions,
    notifications_of,
    stop_runner,
    wait_for,
)

# Discharged Tuesday 1 December 2026 in Austin: due on Tuesday 8 December, overdue from
# Wednesday 9 December 00:00 CST, reminded two days before that: Monday 7 December 00:00 CST.
DISCHARGED = chicago(date(2026, 12, 1), 15)
REMINDER = datetime(2026, 12, 7, 0, 0, tzinfo=CHICAGO).astimezone(UTC)
SECRET = "test-webhook-secret"


def make_session(clinic, treatment_type, discharged_at=DISCHARGED):
    with immediate_transactions():
        return session(clinic.new_patient(), clinic.chairs[0], treatment_type, discharged_at)


def submit(visit, user, at):
    """Mark a session's form submitted as the tracker page or the API does."""
    with immediate_transactions():
        rems_submissions.record_submission(user, visit.id, "fax", "RX-1", at, now=at)


def test_the_reminder_fires_once_at_the_instant_and_not_again_after_a_restart(
    app, clinic, scheduler_thread, webhook
):
    app.config.update(WEBHOOK_URLS=[webhook.url], WEBHOOK_SECRET=SECRET)
    with immediate_transactions():
        spravato, plain = rems_type(clinic.site), rems_type(clinic.site, rems=False)
    submitted_early = make_session(clinic, spravato)
    submit(submitted_early, clinic.nurse, DISCHARGED + timedelta(days=1))
    not_rems = make_session(clinic, plain)

    with time_machine.travel(REMINDER - timedelta(seconds=4), tick=True):
        runner = scheduler_thread()
        # Discharged while the scheduler runs: the reconcile of changed visits plans it.
        visit = make_session(clinic, spravato)
        submitted_late = make_session(clinic, spravato)
        assert wait_for(lambda: runner.scheduler.get_job(job_id(REMS_FORM_DUE, visit.id)), 2)
        job = runner.scheduler.get_job(job_id(REMS_FORM_DUE, visit.id))
        assert job.next_run_time == REMINDER
        for other in (submitted_early, not_rems):
            assert runner.scheduler.get_job(job_id(REMS_FORM_DUE, other.id)) is None
        # Submitted after its job was set, before the instant: the job raises nothing.
        submit(submitted_late, clinic.admin, utcnow())
        if utcnow() < REMINDER - timedelta(seconds=0.2):
            assert notifications_of(kind=REMS_FORM_DUE) == [], "raised before the instant"

        fired = wait_for(lambda: notifications_of(kind=REMS_FORM_DUE), 10)
        assert [(n.visit_id, n.site_id, n.due_at) for n in fired] == [
            (visit.id, clinic.site.id, REMINDER)
        ]
        assert 0 <= (fired[0].created_at - REMINDER).total_seconds() < 1.0
        assert fired[0].resolved_at is None
        # Delivered through the outbox, with no patient data in the message.
        assert wait_for(lambda: webhook.requests, 5)
        (payload,) = webhook.payloads()
        assert payload["event"] == "rems_form_due"
        assert payload["notification_id"] == fired[0].id
        assert payload["message"] == "A REMS monitoring form is due for submission"
        assert payload["link"].endswith(f"/rems/submissions?site_id={clinic.site.id}")
        assert not {"patient_initials", "chair"} & set(payload)

        # A restart plans and raises nothing more, and sends nothing twice.
        stop_runner(runner)
        second = scheduler_thread()
        second.reconciler.run(full=True)
        assert second.scheduler.get_job(job_id(REMS_FORM_DUE, visit.id)) is None
        time.sleep(1.0)
        assert len(notifications_of(kind=REMS_FORM_DUE)) == 1
        assert count(Delivery) == 1 and len(webhook.requests) == 1
        stop_runner(second)
    for other in (submitted_early, submitted_late, not_rems):
        assert notifications_of(other.id) == []


def test_a_reminder_missed_while_down_is_raised_once_at_start_and_resolved_by_the_form(
    app, clinic, scheduler_thread
):
    with immediate_transactions():
        spravato = rems_type(clinic.site)
    missed = make_session(clinic, spravato)
    submitted = make_session(clinic, spravato)
    submit(submitted, clinic.nurse, DISCHARGED + timedelta(days=2))
    with time_machine.travel(REMINDER + timedelta(hours=3), tick=True):
        assert count(Notification) == 0
        runner = scheduler_thread()  # its first, full, reconcile raises what is due
        (reminder,) = wait_for(lambda: notifications_of(kind=REMS_FORM_DUE), 5)
        assert (reminder.visit_id, reminder.due_at) == (missed.id, REMINDER)
        stop_runner(runner)
        again = scheduler_thread()
        again.reconciler.run(full=True)
        assert len(notifications_of(kind=REMS_FORM_DUE)) == 1

        # Marking the form submitted resolves it; the safety net leaves it so.
        submit(missed, clinic.practitioner, utcnow())
        again.reconciler.run(full=True)
        (reminder,) = notifications_of(kind=REMS_FORM_DUE)
        assert reminder.resolved_reason == "submitted" and reminder.resolved_at is not None
        stop_runner(again)
    assert notifications_of(submitted.id) == []
    assert db.session.query(RemsSubmission).count() == 2


def test_the_safety_net_never_resolves_an_open_reminder_of_a_discharged_visit(
    app, clinic, scheduler_thread
):
    # A discharge alarm of a discharged visit is resolved "discharged"; the REMS reminder of
    # the same (discharged) visit holds until the form is submitted.
    with immediate_transactions():
        spravato = rems_type(clinic.site)
    visit = make_session(clinic, spravato)
    with time_machine.travel(REMINDER + timedelta(minutes=1), tick=True):
        runner = scheduler_thread()
        assert wait_for(lambda: notifications_of(kind=REMS_FORM_DUE), 5)
        runner.reconciler.run(full=True)
        (reminder,) = notifications_of(visit.id)
        assert reminder.resolved_at is None
        stop_runner(runner)


def test_the_reminder_is_emailed_to_the_administrators_without_patient_data(
    app, clinic, make_shift, smtp_server
):
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        SMTP_TLS="none",
        MAIL_FROM="alerts@clinic.test",
        PUBLIC_BASE_URL="https://desk.clinic.test/",
    )
    with immediate_transactions():
        spravato = rems_type(clinic.site)
        patient = clinic.new_patient(given_name="Quentin", family_name="Zabriskie")
        visit = session(patient, clinic.chairs[0], spravato, DISCHARGED)
    now = REMINDER + timedelta(minutes=1)
    make_shift(clinic.site, "nurse", starts_at=now - timedelta(hours=1), ends_at=now)

    assert notifications.fire_reminders([visit.id], REMINDER - timedelta(seconds=1)) == []
    (created,) = notifications.fire_reminders([visit.id], now)
    assert notifications.fire_reminders([visit.id], now + timedelta(hours=1)) == []
    targets = [d.target for d in db.session.scalars(select(Delivery))]
    assert targets == [clinic.admin.email]  # the administrators, not the nurses on shift

    assert outbox.deliver_due(now=now) == 1
    (message,) = smtp_server.messages
    mail = email.message_from_bytes(message.content)
    raw = f"{mail['Subject']}\n{mail.get_payload(decode=True).decode()}"
    assert mail["Subject"].startswith("A REMS monitoring form is due for submission")
    assert f"Visit: {visit.id}" in raw
    assert f"https://desk.clinic.test/rems/submissions?site_id={clinic.site.id}" in raw
    for private in ("Quentin", "Zabriskie", "(QZ)", patient.mrn, clinic.chairs[0].name):
        assert private not in raw
    assert db.session.get(Notification, created).kind == "rems_form_due"
