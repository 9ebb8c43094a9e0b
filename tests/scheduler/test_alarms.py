"""The alarms on a running scheduler (in this process, SQLite): on time, moved, removed,
caught up after downtime, each exactly once."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.extensions import db
from clinic.models import Delivery, Notification, Visit
from clinic.scheduler.jobs import job_id
from clinic.services import notifications
from clinic.services.events import record_event
from clinic.types import utcnow
from tests.conftest import chicago
from tests.scheduler.conftest import (
    BOOKING_DAYS,
    count,
    immediate_transactions,
    move_plan,
    notifications_of,
    stop_runner,
    wait_for,
)

DISCHARGE = {"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True}


def test_discharge_due_fires_at_the_due_instant_never_before(
    app, recovering, scheduler_thread, webhook
):
    app.config.update(WEBHOOK_URLS=[webhook.url], WEBHOOK_SECRET="test-webhook-secret")
    runner = scheduler_thread()
    visit = recovering(timedelta(seconds=3))
    due_at = visit.discharge_due_at

    assert wait_for(lambda: runner.scheduler.get_job(job_id(DISCHARGE_DUE, visit.id)), 6)
    time.sleep(max(0.0, (due_at - utcnow()).total_seconds() - 0.5))
    if utcnow() < due_at - timedelta(seconds=0.2):  # (a slow machine may be past it already)
        assert notifications_of(visit.id) == [], "fired before the due instant"

    fired = wait_for(lambda: notifications_of(visit.id), 10)
    assert len(fired) == 1
    notification = fired[0]
    assert notification.kind == DISCHARGE_DUE
    assert notification.due_at == due_at
    assert notification.site_id == visit.site_id
    lateness = (notification.created_at - due_at).total_seconds()
    assert 0 <= lateness < 1.0
    # The overdue alarm waits overdue_after_minutes later.
    overdue_job = runner.scheduler.get_job(job_id(DISCHARGE_OVERDUE, visit.id))
    assert overdue_job.next_run_time == due_at + timedelta(minutes=15)
    # The outbox sends the webhook at once.
    assert wait_for(lambda: webhook.requests, 5)
    assert webhook.payloads()[0]["notification_id"] == notification.id


def test_an_alarm_already_due_fires_at_once_and_overdue_follows(
    app, clinic, recovering, scheduler_thread
):
    runner = scheduler_thread()
    # Due 14 min 40 s ago: the due alarm fires at once, the overdue one 20 s from now (a
    # margin that holds on a loaded machine, where setting up the visit takes seconds).
    visit = recovering(timedelta(minutes=-15, seconds=20))
    due = wait_for(lambda: notifications_of(visit.id, DISCHARGE_DUE), 6)
    assert len(due) == 1 and due[0].due_at == visit.discharge_due_at
    # The reconcile fires what is due first, then sets the visit's future alarms.
    assert wait_for(lambda: runner.scheduler.get_job(job_id(DISCHARGE_OVERDUE, visit.id)), 3)

    overdue = wait_for(lambda: notifications_of(visit.id, DISCHARGE_OVERDUE), 30)
    assert len(overdue) == 1
    assert overdue[0].due_at == visit.discharge_due_at + timedelta(minutes=15)
    assert 0 <= (overdue[0].created_at - overdue[0].due_at).total_seconds() < 1.0
    assert len(notifications_of(visit.id)) == 2


def test_an_extension_moves_the_alarm_and_the_old_one_does_not_fire(
    clinic, recovering, scheduler_thread
):
    runner = scheduler_thread()
    visit = recovering(timedelta(seconds=3))
    old_due = visit.discharge_due_at
    assert wait_for(lambda: runner.scheduler.get_job(job_id(DISCHARGE_DUE, visit.id)), 6)

    record_event(clinic.nurse, visit.id, "extend_observation", utcnow(), minutes=1, reason="Dizzy")
    new_due = old_due + timedelta(minutes=1)

    def moved():
        job = runner.scheduler.get_job(job_id(DISCHARGE_DUE, visit.id))
        return job is not None and job.next_run_time == new_due

    assert wait_for(moved, 6)
    overdue = runner.scheduler.get_job(job_id(DISCHARGE_OVERDUE, visit.id))
    assert overdue.next_run_time == new_due + timedelta(minutes=15)
    time.sleep(max(0.0, (old_due - utcnow()).total_seconds()) + 1.5)
    assert notifications_of(visit.id) == []
    # Firing by hand at the old instant does nothing either: the visit is not due yet.
    assert notifications.fire([visit.id], DISCHARGE_DUE, now=utcnow()) == []


def test_discharge_removes_both_alarms(clinic, recovering, scheduler_thread):
    runner = scheduler_thread()
    visit = recovering(timedelta(seconds=3))
    assert wait_for(lambda: runner.scheduler.get_job(job_id(DISCHARGE_DUE, visit.id)), 6)

    record_event(
        clinic.practitioner,
        visit.id,
        "discharge",
        utcnow(),
        checklist=DISCHARGE,
        override_reason="Escort had to leave; patient stable",
    )

    def removed():
        return all(
            runner.scheduler.get_job(job_id(kind, visit.id)) is None
            for kind in (DISCHARGE_DUE, DISCHARGE_OVERDUE)
        )

    assert wait_for(removed, 6)
    time.sleep(max(0.0, (visit.discharge_due_at - utcnow()).total_seconds()) + 1.0)
    assert notifications_of(visit.id) == []


def test_cancel_or_no_show_leaves_no_alarm_and_leaving_recovery_any_way_removes_it(
    clinic, make_visit, make_chair, recovering, scheduler_thread
):
    runner = scheduler_thread()
    visit = recovering(timedelta(seconds=4))
    cancelled = recovering(timedelta(seconds=4))
    assert wait_for(lambda: runner.scheduler.get_job(job_id(DISCHARGE_DUE, cancelled.id)), 6)
    # A recovering visit cannot be cancelled through the events (409); whatever takes it
    # out of recovery (here a correction straight in the table) removes its alarms.
    with immediate_transactions():
        db.session.execute(
            update(Visit)
            .where(Visit.id == cancelled.id)
            .values(status="cancelled", cancel_reason="Entered on the wrong patient")
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    assert wait_for(
        lambda: runner.scheduler.get_job(job_id(DISCHARGE_DUE, cancelled.id)) is None, 3
    )
    assert runner.scheduler.get_job(job_id(DISCHARGE_OVERDUE, cancelled.id)) is None

    assert wait_for(lambda: notifications_of(visit.id), 10)
    assert len(notifications_of(visit.id)) == 1
    assert notifications_of(cancelled.id) == []

    # Cancelled or a no-show before any infusion ended: no alarm is ever set.
    for n, (event, extra) in enumerate((("cancel", {"reason": "Unwell"}), ("no_show", {}))):
        with immediate_transactions():
            chair = make_chair(clinic.site, f"Spare {n}")
            patient = clinic.new_patient()
        other = make_visit(clinic.clerk, patient, chicago(BOOKING_DAYS[-1], 8), chair_id=chair.id)
        move_plan(other, utcnow() - timedelta(minutes=20))  # a no-show 20 minutes late
        record_event(clinic.clerk, other.id, "check_in", utcnow())
        record_event(clinic.clerk, other.id, event, utcnow(), **extra)
        runner.reconciler.run(full=True)
        assert not any(j.id.endswith(f":{other.id}") for j in runner.scheduler.get_jobs())
    assert not any(j.id.endswith(f":{cancelled.id}") for j in runner.scheduler.get_jobs())


def test_a_restart_after_downtime_fires_every_missed_alarm_exactly_once(
    app, recovering, scheduler_thread, webhook
):
    app.config.update(WEBHOOK_URLS=[webhook.url], WEBHOOK_SECRET="test-webhook-secret")
    runner = scheduler_thread()
    stop_runner(runner)
    # While nothing runs: four discharges fall due, and one visit also goes overdue.
    visits = [recovering(timedelta(seconds=s)) for s in (0.5, 1.0, 1.5, 2.0)]
    late = recovering(timedelta(minutes=-16))
    time.sleep(max(0.0, (visits[-1].discharge_due_at - utcnow()).total_seconds()) + 0.2)
    assert count(Notification) == 0

    restarted = scheduler_thread()
    expected = len(visits) + 2
    assert wait_for(lambda: count(Notification) == expected, 10)
    for visit in visits:
        assert [n.kind for n in notifications_of(visit.id)] == [DISCHARGE_DUE]
    assert sorted(n.kind for n in notifications_of(late.id)) == [DISCHARGE_DUE, DISCHARGE_OVERDUE]
    assert wait_for(lambda: count(Delivery) == expected and len(webhook.requests) == expected, 10)

    # Another restart finds nothing left to fire and sends nothing twice.
    stop_runner(restarted)
    second = scheduler_thread()
    second.reconciler.run(full=True)
    time.sleep(1.0)
    assert count(Notification) == expected
    assert count(Delivery) == expected
    assert len(webhook.requests) == expected
    ids = [p["notification_id"] for p in webhook.payloads()]
    assert len(set(ids)) == expected


def test_firing_twice_inserts_and_delivers_once(app, recovering):
    visit = recovering(timedelta(seconds=-1))
    channels = notifications.Channels(webhook_urls=("http://127.0.0.1:9/hook",))
    first = notifications.fire([visit.id], DISCHARGE_DUE, utcnow(), channels)
    second = notifications.fire([visit.id], DISCHARGE_DUE, utcnow(), channels)
    assert len(first) == 1 and second == []
    assert count(Notification) == 1
    assert count(Delivery) == 1


def test_a_site_change_to_overdue_minutes_moves_the_overdue_alarm(
    clinic, recovering, scheduler_thread
):
    from clinic.services.setup import save_site

    runner = scheduler_thread()
    visit = recovering(timedelta(minutes=5))
    overdue_id = job_id(DISCHARGE_OVERDUE, visit.id)
    assert wait_for(lambda: runner.scheduler.get_job(overdue_id), 6)
    with immediate_transactions():
        save_site(clinic.site, {"overdue_after_minutes": 30}, now=utcnow())

    def moved():
        job = runner.scheduler.get_job(overdue_id)
        return job and job.next_run_time == visit.discharge_due_at + timedelta(minutes=30)

    assert wait_for(moved, 6)
