"""Fixtures for the scheduler: the real clock, recovering visits due seconds from now,
an in-process scheduler, scheduler processes, and local SMTP and webhook receivers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from clinic import create_app
from clinic.extensions import db
from clinic.models import Delivery, Notification, SchedulerHeartbeat, Visit
from clinic.scheduler.runner import SchedulerRunner
from clinic.services.events import record_event
from clinic.types import utcnow
from config import TestConfig
from tests.conftest import _pg_admin_url, add_baseline, chicago, require_env

ROOT = Path(__file__).resolve().parents[2]
# Booking days: weekdays inside the clinic fixture's two weeks of shifts (after NOW).
BOOKING_DAYS = [date(2026, 12, d) for d in (1, 2, 3, 4, 7, 8, 9, 10, 11)]
OBSERVATION = 60


@pytest.fixture
def frozen():
    """Run on the real clock: the scheduler (a thread or a process) keeps real time."""
    yield None


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, every: float = 0.05):
    """Poll until the predicate is truthy (each time on a fresh database snapshot)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def notifications_of(visit_id: int | None = None, kind: str | None = None) -> list[Notification]:
    """Return the notifications (of a visit, of a kind), oldest first, freshly read."""
    db.session.rollback()
    stmt = select(Notification).order_by(Notification.id).execution_options(populate_existing=True)
    if visit_id is not None:
        stmt = stmt.where(Notification.visit_id == visit_id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def count(model) -> int:
    """Count the rows of a table, freshly read."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def move_plan(visit: Visit, start) -> None:
    """Move a booked visit's plan to start at `start`, past the booking rules' clock.

    Check-in and the start are refused outside the visit's planned window, so a visit that
    must be in care now is booked ahead (every rule applies) and its plan then follows the
    real times. Give the visit a chair of its own: nothing else checks the chair here.
    """
    with immediate_transactions():
        visit = db.session.get(Visit, visit.id)
        length = visit.observation_end - visit.infusion_start
        visit.infusion_end = start + (visit.infusion_end - visit.infusion_start)
        visit.chair_released_at = start + (visit.chair_released_at - visit.infusion_start)
        visit.observation_end = start + length
        visit.infusion_start = start
        db.session.commit()


@pytest.fixture
def recovering(clinic, make_visit, make_chair):
    """Make a recovering visit whose discharge is due `due_in` from now (negative: past).

    The infusion is ended through the visit events service with a past `at`, the way a
    nurse records a late entry: the observation window then ends seconds from now.
    """
    slots = iter(range(10_000))

    def make(due_in: timedelta, observation: int = OBSERVATION, **names) -> Visit:
        slot = next(slots)
        day = BOOKING_DAYS[slot // 12]
        start = chicago(day, 8 + 2 * ((slot % 12) // 3))
        with immediate_transactions():
            patient = clinic.new_patient(**names)
            # A chair of its own: the visit is moved to the hour it really happens below.
            chair = make_chair(clinic.site, f"Chair {slot + 4}")
        visit = make_visit(
            clinic.clerk, patient, start, chair_id=chair.id, observation_minutes=observation
        )
        # Moved first, so that only the events stand between `now` and the due instant.
        move_plan(visit, utcnow() + due_in - timedelta(minutes=observation + 45))
        now = utcnow()
        ended = now + due_in - timedelta(minutes=observation)
        nurse = clinic.nurse
        record_event(nurse, visit.id, "check_in", now, at=ended - timedelta(minutes=50))
        add_baseline(visit.id, ended - timedelta(minutes=48))
        record_event(nurse, visit.id, "start_infusion", now, at=ended - timedelta(minutes=45))
        return record_event(nurse, visit.id, "end_infusion", now, at=ended)

    return make


@contextmanager
def immediate_transactions():
    """Begin every transaction of this process as BEGIN IMMEDIATE on SQLite, for a while.

    The conftest factories commit in deferred transactions; when a running scheduler is
    writing (its heartbeat) as such a transaction turns from reading to writing, SQLite
    refuses at once ("database is locked") instead of waiting. The services themselves
    start their writes as BEGIN IMMEDIATE, which waits.
    """
    sqlite = db.engine.dialect.name == "sqlite"
    db.session.rollback()
    if sqlite:
        db.engine.update_execution_options(sqlite_immediate=True)
    try:
        yield
    finally:
        db.session.rollback()
        if sqlite:
            db.engine.update_execution_options(sqlite_immediate=False)


@pytest.fixture
def scheduler_thread(app) -> Iterator[Callable[[], SchedulerRunner]]:
    """Start the scheduler in this process (fast reconcile); every one is stopped after."""
    app.config.update(SCHEDULER_RECONCILE_SECONDS=0.3, SCHEDULER_HEARTBEAT_SECONDS=0.5)
    started: list[tuple[SchedulerRunner, threading.Thread]] = []

    def start() -> SchedulerRunner:
        runner = SchedulerRunner(app, instance_id=f"test-{len(started)}")
        started.append((runner, runner.start_thread()))
        assert runner.leading.wait(10), "the scheduler did not start leading"
        return runner

    yield start
    for runner, thread in started:
        runner.stop()
        thread.join(20)


def stop_runner(runner: SchedulerRunner) -> None:
    """Stop an in-process scheduler and wait until it has let go of everything."""
    runner.stop()
    deadline = time.monotonic() + 20
    while runner.leading.is_set() or runner.scheduler is not None:
        assert time.monotonic() < deadline, "the scheduler did not stop"
        time.sleep(0.05)


# ---------------------------------------------------------------- receivers


class WebhookReceiver:
    """A local HTTP server that records every POST (and can be told to fail)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"body": body, "headers": dict(self.headers), "at": time.time()}
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self) -> list[dict]:
        """Return the JSON bodies received."""
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 Message accepted for delivery"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


# ---------------------------------------------------------------- processes


class SchedulerProcess:
    """`flask --app wsgi scheduler` as a child process on a given database."""

    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        environment = os.environ.copy() | {
            "DATABASE_URL": database_url,
            "SCHEDULER_RECONCILE_SECONDS": "0.5",
            "SCHEDULER_HEARTBEAT_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        environment.pop("FLASK_CONFIG", None)
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
            cwd=ROOT,
            env=environment | env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        """Return what the process logged."""
        self.log.flush()
        return self.log_path.read_text()


@pytest.fixture
def scheduler_processes(tmp_path) -> Iterator[Callable[..., SchedulerProcess]]:
    """Start scheduler processes; every one is stopped after the test."""
    started: list[SchedulerProcess] = []

    def start(database_url: str, **env: str) -> SchedulerProcess:
        process = SchedulerProcess(database_url, tmp_path / f"scheduler-{len(started)}.log", **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def current_leader() -> int | None:
    """Return the pid of the process that most recently beat as the leader (within 2 s)."""
    instance_id = db.session.scalar(
        select(SchedulerHeartbeat.instance_id)
        .where(
            SchedulerHeartbeat.is_leader.is_(True),
            SchedulerHeartbeat.last_beat_at > utcnow() - timedelta(seconds=2),
        )
        .order_by(SchedulerHeartbeat.last_beat_at.desc())
        .limit(1)
    )
    return int(instance_id.rsplit(":", 1)[1]) if instance_id else None


def wait_for_leader(pid: int, timeout: float = 15.0) -> bool:
    """Wait until the process with this pid beats as the leader."""
    return bool(wait_for(lambda: current_leader() == pid, timeout))


def delivery_count() -> int:
    """Count the outbox rows."""
    return count(Delivery)


# ---------------------------------------------------------------- PostgreSQL


def _pg_admin_engine() -> sa.Engine:
    return sa.create_engine(sa.make_url(_pg_admin_url()), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="module")
def scheduler_pg_template() -> Iterator[str]:
    """A PostgreSQL database with the schema, of this module's own, to copy for each test."""
    engine = _pg_admin_engine()
    name = f"clinic_sched_{uuid.uuid4().hex[:10]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        if require_env("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is mandatory here but unreachable: {error}")
        pytest.skip("PostgreSQL is not reachable (set REQUIRE_POSTGRES=1 to make this fail)")
    url = engine.url.set(database=name).render_as_string(hide_password=False)
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            # The models' schema (the migrations have their own tests).
            db.create_all()
            db.engine.dispose()
        yield name
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def scheduler_pg_url(scheduler_pg_template) -> Iterator[str]:
    """A fresh copy of the migrated database for one test, dropped after it."""
    engine = _pg_admin_engine()
    name = f"{scheduler_pg_template}_{uuid.uuid4().hex[:6]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{scheduler_pg_template}"'))
    try:
        yield engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
