"""Scheduler processes on PostgreSQL: two never duplicate, SIGKILL of the leader, and a
leader that loses its advisory-lock connection stops scheduling at once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from clinic import create_app
from clinic.extensions import db
from clinic.models import SchedulerHeartbeat
from clinic.scheduler.leader import PostgresLeaderLock
from config import TestConfig
from tests.scheduler.conftest import (
    count,
    current_leader,
    notifications_of,
    wait_for,
)
from tests.scheduler.test_processes import database_url, fired_once_each, sigkill_failover

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def app(scheduler_pg_url):
    """The app on a fresh copy of this module's own PostgreSQL database (real clock)."""
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=scheduler_pg_url)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def test_two_scheduler_processes_on_postgresql_never_duplicate(
    app, recovering, scheduler_processes, webhook
):
    url = database_url(app)
    env = {"WEBHOOK_URLS": webhook.url, "WEBHOOK_SECRET": "s"}
    already = [recovering(timedelta(seconds=-s)) for s in (1, 30, 300)]
    processes = [scheduler_processes(url, **env) for _ in range(2)]
    upcoming = [recovering(timedelta(seconds=s)) for s in (2, 3, 4, 5, 6)]
    visits = already + upcoming
    assert wait_for(lambda: len(notifications_of()) == len(visits), 25), [
        p.output() for p in processes
    ]
    assert current_leader() in {p.pid for p in processes}
    time.sleep(2.0)
    fired_once_each(visits)
    assert wait_for(lambda: len(webhook.requests) >= len(visits), 10)
    time.sleep(1.0)
    ids = [p["notification_id"] for p in webhook.payloads()]
    assert sorted(ids) == sorted(n.id for n in notifications_of())  # each sent exactly once
    assert count(SchedulerHeartbeat) == 2


def test_sigkill_of_the_leader_on_postgresql(app, recovering, scheduler_processes, webhook):
    sigkill_failover(app, recovering, scheduler_processes, webhook)


def test_a_leader_that_loses_its_lock_connection_stops_scheduling(
    app, recovering, scheduler_thread
):
    url = database_url(app)
    runner = scheduler_thread()
    visit = recovering(timedelta(minutes=5))
    assert wait_for(lambda: runner.scheduler and runner.scheduler.get_jobs(), 3)
    other = PostgresLeaderLock(url)
    assert not other.acquire()  # the runner holds it

    # Kill the runner's lock connection from the server side.
    db.session.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )
    db.session.commit()
    assert wait_for(lambda: not runner.leading.is_set(), 3)
    # The runner clears `leading` first, then shuts its scheduler down.
    assert wait_for(lambda: runner.scheduler is None, 3)  # no alarm can fire from here any more
    # It stands by, then leads again once the lock is free: the alarms come back.
    assert wait_for(lambda: runner.terms == 2 and runner.leading.is_set(), 10)
    assert wait_for(lambda: runner.scheduler and runner.scheduler.get_jobs(), 5)
    assert {j.id for j in runner.scheduler.get_jobs() if j.id.startswith("discharge")} == {
        f"discharge-due:{visit.id}",
        f"discharge-overdue:{visit.id}",
    }
    other.release()


def test_firing_and_extending_at_once_never_deadlock(app, clinic, recovering):
    import threading

    from clinic.domain.alarms import DISCHARGE_DUE
    from clinic.models import Notification
    from clinic.services import notifications
    from clinic.services.events import record_event
    from clinic.types import utcnow

    visits = [recovering(timedelta(seconds=-1)) for _ in range(8)]
    due_before = {visit.id: visit.discharge_due_at for visit in visits}
    nurse_id = clinic.nurse.id
    errors: list[BaseException] = []

    def in_context(work):
        def run():
            with app.app_context():
                try:
                    work()
                except BaseException as error:  # collected for the assertion
                    errors.append(error)

        return run

    for visit in visits:
        barrier = threading.Barrier(2)

        def fire(visit_id=visit.id, barrier=barrier):
            barrier.wait()
            notifications.fire([visit_id], DISCHARGE_DUE, utcnow())

        def extend(visit_id=visit.id, barrier=barrier):
            from clinic.models import User

            nurse = db.session.get(User, nurse_id)
            barrier.wait()
            record_event(nurse, visit_id, "extend_observation", utcnow(), minutes=5, reason="BP")

        threads = [threading.Thread(target=in_context(f)) for f in (fire, extend)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    assert errors == []
    db.session.rollback()
    for visit in visits:
        rows = db.session.scalars(select(Notification).where(Notification.visit_id == visit.id))
        # Fired first (for the old instant) or extended first (not due yet): never both wrong.
        assert [n.due_at for n in rows] in ([], [due_before[visit.id]])
