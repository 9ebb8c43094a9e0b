"""Scheduler processes (`flask --app wsgi scheduler`): one leader, a standby that takes over
after SIGKILL, and never a duplicate, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.scheduler.leader import FileLeaderLock
from clinic.types import utcnow
from tests.scheduler.conftest import (
    current_leader,
    notifications_of,
    wait_for,
    wait_for_leader,
)

pytestmark = pytest.mark.slow


def database_url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def fired_once_each(visits, kinds=(DISCHARGE_DUE,)) -> None:
    """Assert every visit has exactly one notification of each kind, on time or caught up."""
    found = Counter((n.visit_id, n.kind) for n in notifications_of())
    expected = {(v.id, kind) for v in visits for kind in kinds}
    assert set(found) == expected
    assert all(found[key] == 1 for key in expected), found


def sigkill_failover(app, recovering, scheduler_processes, webhook) -> None:
    """Kill the leader mid-window: the standby takes over and every alarm fires once."""
    url = database_url(app)
    env = {"WEBHOOK_URLS": webhook.url, "WEBHOOK_SECRET": "s"}
    processes = {p.pid: p for p in (scheduler_processes(url, **env) for _ in range(2))}
    assert wait_for(lambda: current_leader() in processes, 20), [
        p.output() for p in processes.values()
    ]
    leader = processes.pop(current_leader())
    [standby] = processes.values()
    # Due 6, 8.5, 11 and 13.5 s from now, however long writing them takes.
    base = utcnow() + timedelta(seconds=6)
    visits = [recovering(base + timedelta(seconds=2.5 * i) - utcnow()) for i in range(4)]
    assert wait_for(lambda: notifications_of(visits[0].id), 8), leader.output()
    leader.kill()
    killed_at = utcnow()

    assert wait_for_leader(standby.pid, 10), standby.output()
    took_over = utcnow()
    assert (took_over - killed_at).total_seconds() < 10
    assert wait_for(lambda: len(notifications_of()) == len(visits), 15), standby.output()
    fired_once_each(visits)
    for notification in notifications_of():
        # On time, except those due while no process led: fired at the takeover.
        late = (notification.created_at - notification.due_at).total_seconds()
        assert late >= 0
        assert late < 1.0 or notification.created_at <= took_over + timedelta(seconds=3)
    time.sleep(1.0)  # more reconciles find nothing new
    fired_once_each(visits)
    # What the standby fired, it delivered (a send the killed leader had claimed is retried
    # once its lease runs out: at least once, never lost).
    after = {n.id for n in notifications_of() if n.created_at > killed_at}
    assert after
    assert wait_for(lambda: after <= {p["notification_id"] for p in webhook.payloads()}, 10), (
        standby.output()
    )


def test_sigkill_of_the_leader_on_sqlite(app, recovering, scheduler_processes, webhook):
    sigkill_failover(app, recovering, scheduler_processes, webhook)


def test_a_restarted_process_fires_what_was_missed_exactly_once(
    app, recovering, scheduler_processes, webhook
):
    url = database_url(app)
    env = {"WEBHOOK_URLS": webhook.url, "WEBHOOK_SECRET": "s"}
    visits = [recovering(timedelta(seconds=s)) for s in (-600, -1, 0.5, 1)]
    overdue = recovering(timedelta(minutes=-20))
    time.sleep(1.2)
    process = scheduler_processes(url, **env)
    assert wait_for(lambda: len(notifications_of()) == len(visits) + 2, 20), process.output()
    process.stop()
    again = scheduler_processes(url, **env)
    assert wait_for_leader(again.pid, 20), again.output()
    time.sleep(1.5)
    found = Counter((n.visit_id, n.kind) for n in notifications_of())
    assert found == Counter(
        [(v.id, DISCHARGE_DUE) for v in [*visits, overdue]] + [(overdue.id, DISCHARGE_OVERDUE)]
    )
    assert wait_for(lambda: len(webhook.requests) == len(visits) + 2, 10)
    time.sleep(1.0)
    assert len(webhook.requests) == len(visits) + 2


def test_the_file_lock_admits_one_leader_at_a_time(tmp_path):
    path = tmp_path / "db.sqlite.scheduler-lock"
    first, second = FileLeaderLock(path), FileLeaderLock(path)
    assert first.acquire() and first.alive()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
