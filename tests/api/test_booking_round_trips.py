"""What a successful booking costs the database: round trips on PostgreSQL, calls on SQLite.

A round trip is a wait for the server: every message the driver sends that asks for an
answer (a simple Query or a Sync), read from libpq's own trace of the connection, so
psycopg's BEGIN, each statement, locks, COMMIT, a ping and the pool's ROLLBACK at the
request's end all count, not only what SQLAlchemy sees; a pipeline of statements is one.
The request runs as in production: its own app context, whose teardown returns the
connection to a warm pool; the caller's token was used a moment ago (its user is read).

A booking's 8 on PostgreSQL: BEGIN; the token's user; the request's patient, chair, site
and type; the rules' reads (one pipeline); the site's lock with its board version bump and
its audit chain's lock; the visit, its booking event and the chain's last hash (one
statement, begun after the locks); the audit row; COMMIT. (Before: 30, a ping and a reload
after the commit among them; then 11, the event, the chain's lock and its last hash apart.)
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from psycopg.pq import Trace
from sqlalchemy.util import LRUCache

from clinic import database
from clinic.database import fetch_together
from clinic.extensions import db
from clinic.models import AuditEvent, Shift, Site, Visit
from clinic.services import audit
from clinic.services import booking as booking_service
from tests.api.conftest import rules
from tests.concurrency.test_exclusion_constraint import INSERT_VISIT
from tests.conftest import MONDAY, NOW, chicago

TUESDAY = MONDAY + timedelta(days=1)
MAX_ROUND_TRIPS = 8
# The same work on SQLite: statements sent plus the transactions' BEGIN and COMMIT (before: 31).
MAX_SQLITE_CALLS = 14
# libpq's trace: the client's messages after which it waits for the server.
WAITS = ("Query", "Sync")


def waits(trace: str) -> list[str]:
    """Return the client's waits in a libpq trace, each with the SQL it carried."""
    found, sql = [], ""
    for line in trace.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] != "F":
            continue
        if parts[2] in ("Parse", "Query"):
            sql = parts[3].split('"')[1 if parts[2] == "Query" else 3][:80]
        if parts[2] in WAITS:
            found.append(f"{parts[2]}: {sql}")
            sql = ""
    return found


@contextmanager
def round_trips(app: Flask) -> Iterator[list[str]]:
    """Trace the pool's warm connection from before its next checkout (a ping would show);
    list the round trips of the block, which must use no other connection."""
    trips: list[str] = []
    db.session.remove()  # the test's session lets its connection go, as between requests
    db.engine.pool.dispose()  # then one warm connection, the one traced
    db.engine.raw_connection().close()
    fairy = db.engine.raw_connection()
    traced = fairy.dbapi_connection
    fd, name = tempfile.mkstemp(suffix=".trace")
    traced.pgconn.trace(fd)
    traced.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
    fairy.close()  # back to the pool, traced
    others: list[object] = []

    def on_checkout(dbapi_connection, _record, _proxy):
        if dbapi_connection is not traced:
            others.append(dbapi_connection)

    sa.event.listen(db.engine.pool, "checkout", on_checkout)
    try:
        yield trips
    finally:
        sa.event.remove(db.engine.pool, "checkout", on_checkout)
        traced.pgconn.untrace()  # flushes the trace
        os.close(fd)
        trips.extend(waits(Path(name).read_text(errors="replace")))
        os.unlink(name)
    assert not others, "the request used a connection the trace did not follow"


@contextmanager
def sqlite_calls(app: Flask) -> Iterator[list[str]]:
    """List what the request asks of SQLite: each statement, BEGIN, COMMIT and ROLLBACK."""
    calls: list[str] = []

    def statement(conn, cursor, sql, *args):
        calls.append(sql.split()[0] + " " + sql[:60])

    def commit(conn):
        calls.append("COMMIT")

    def rollback(conn):
        calls.append("ROLLBACK")

    listeners = (("before_cursor_execute", statement), ("commit", commit), ("rollback", rollback))
    for name, listener in listeners:
        sa.event.listen(db.engine, name, listener)
    try:
        yield calls
    finally:
        for name, listener in listeners:
            sa.event.remove(db.engine, name, listener)


def post_booking(app: Flask, api, body: dict):
    """Book as a request in production runs: its own app context, torn down after."""
    with app.app_context():
        return api.post("/visits", json=body)


@pytest.fixture
def booking(app, api_as, clinic):
    """A clerk whose token was used a moment ago, and a booking body for another slot."""
    api = api_as(clinic.clerk)
    start = chicago(TUESDAY, 8)
    assert api.post("/visits", json=_body(clinic, clinic.patient, start)).status_code == 201
    other = clinic.new_patient()
    return api, _body(clinic, other, chicago(TUESDAY, 11), chair_id=clinic.chairs[0].id)


def _body(clinic, patient, start, **fields) -> dict:
    return {"patient_id": patient.id, "infusion_start": start.isoformat()} | fields


def book_elsewhere(clinic, body: dict, bump: bool) -> None:
    """Commit a visit for the body's chair and time on a connection of its own (another
    request), bumping the site's board version as the app does, or behind its back."""
    with db.engine.connect() as other:
        other.execute(
            INSERT_VISIT,
            {
                "patient": clinic.patient.id,
                "site": clinic.site.id,
                "chair": body["chair_id"],
                "status": "booked",
                "start": datetime.fromisoformat(body["infusion_start"]),
                "treatment_type": clinic.site.default_treatment_type_id,
            },
        )
        if bump:
            other.execute(
                sa.update(Site)
                .where(Site.id == clinic.site.id)
                .values(board_version=Site.board_version + 1)
            )
        other.commit()


class TestPostgres:
    @pytest.fixture
    def app(self, pg_app):
        return pg_app

    def test_a_booking_costs_at_most_eight_round_trips(self, app, booking):
        api, body = booking
        with round_trips(app) as trips:
            response = post_booking(app, api, body)
        assert response.status_code == 201, response.get_json()
        assert len(trips) <= MAX_ROUND_TRIPS, trips
        booked = response.get_json()
        assert booked["events"] == [] and booked["status"] == "booked"  # as the ORM wrote it
        visit = db.session.get(Visit, booked["id"])
        assert [event.type for event in visit.events] == ["book"]
        assert audit.verify().ok  # the audit row follows the last hash read under the lock
        assert sum(trip.startswith("Query: BEGIN") for trip in trips) == 1  # one transaction
        assert not any("SELECT 1" in trip or trip == "Query: ;" for trip in trips)  # no ping

    def test_a_refusal_is_audited_in_its_own_transaction_and_moves_no_version(
        self, app, booking, clinic
    ):
        api, body = booking
        taken = body | {"patient_id": clinic.new_patient().id}
        assert post_booking(app, api, body).status_code == 201
        version = db.session.get(Site, clinic.site.id).board_version
        with round_trips(app) as trips:
            response = post_booking(app, api, taken)
        assert rules(response) == ["chair_busy"]
        # One transaction checks, refuses and audits; the alternatives are read after it.
        writing = trips[: trips.index("Query: COMMIT") + 1]
        assert [trip for trip in writing if trip.startswith("Query:")] == [
            "Query: BEGIN",
            "Query: COMMIT",
        ]
        assert sum("INSERT INTO audit_events" in trip for trip in writing) == 1
        assert trips.count("Query: COMMIT") == 1
        refusal = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.outcome == "refused")
        ).one()
        assert refusal.action == "visit.book" and refusal.detail == {"rules": ["chair_busy"]}
        db.session.expire_all()
        assert db.session.get(Site, clinic.site.id).board_version == version

    def test_a_visit_booked_between_the_reads_and_the_lock_is_seen(
        self, app, booking, clinic, monkeypatch
    ):
        """The rules read before the site's lock; a write committed meanwhile moves the
        site's version, and they read again under the lock (the database's constraint is
        not what refuses)."""
        api, body = booking
        real = booking_service._evaluate
        calls = []

        def meanwhile(*args, **kwargs):
            outcome = real(*args, **kwargs)
            if not calls:
                book_elsewhere(clinic, body, bump=True)  # another request, committed at once
            calls.append(outcome)
            return outcome

        monkeypatch.setattr(booking_service, "_evaluate", meanwhile)
        response = post_booking(app, api, body)
        assert rules(response) == ["chair_busy"]
        assert len(calls) == 2  # read again, under the lock
        assert response.get_json()["message"] != "That chair was just taken."

    def test_a_booking_the_chairs_constraint_refuses_is_audited(
        self, app, booking, clinic, monkeypatch
    ):
        """A visit written behind the version's back (no bump) passes the rules' check and
        is refused by the exclusion constraint at the insert: still a 409, still audited."""
        api, body = booking
        real = booking_service._evaluate

        def meanwhile(*args, **kwargs):
            outcome = real(*args, **kwargs)
            book_elsewhere(clinic, body, bump=False)
            return outcome

        monkeypatch.setattr(booking_service, "_evaluate", meanwhile)
        response = post_booking(app, api, body)
        assert rules(response) == ["chair_busy"]
        db.session.expire_all()
        refusal = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.outcome == "refused")
        ).one()
        assert (refusal.action, refusal.chain) == ("visit.book", clinic.site.id)
        assert refusal.detail == {"rules": ["chair_busy"]}
        assert audit.verify().ok

    def test_a_booking_chains_after_a_row_committed_while_it_waited_for_the_chain(
        self, app, booking, clinic
    ):
        """The chain's last hash is read in a statement begun once its lock is granted: an
        append committed while the booking waited for that lock is the row it follows."""
        api, body = booking
        audit.record("writer", "patient.view", NOW, site_id=clinic.site.id)
        audit._write_pending(db.session())  # what a commit does first: lock, read, append
        answers: list = []
        other = threading.Thread(target=lambda: answers.append(post_booking(app, api, body)))
        other.start()
        waiting = sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        for _ in range(600):  # until the booking waits for the chain's lock (60 s at most)
            if db.session.scalar(waiting):
                break
            time.sleep(0.1)
        assert db.session.scalar(waiting) == 1, "the booking never waited for the chain"
        db.session.commit()
        other.join(timeout=60)
        assert answers and answers[0].status_code == 201, answers
        viewed, booked = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.chain == clinic.site.id)
            .order_by(AuditEvent.id.desc())
            .limit(2)
        ).all()[::-1]
        assert (viewed.action, booked.action) == ("patient.view", "visit.book")
        assert booked.prev_hash == viewed.hash
        assert audit.verify().ok

    def test_rows_read_together_are_the_rows_the_session_reads(self, app, booking, clinic):
        visits = booking_service._visits_stmt(Visit.site_id == clinic.site.id)
        shifts = sa.select(Shift.user_id, Shift.starts_at).order_by(Shift.id)
        together = fetch_together(visits, shifts)
        assert together == [list(db.session.execute(visits)), list(db.session.execute(shifts))]
        assert together[0] and together[0][0].infusion_start.tzinfo == UTC
        with pytest.raises(sa.exc.DataError):  # a database error, as SQLAlchemy raises it
            fetch_together(sa.select(sa.literal_column("1/0")))
        db.session.rollback()

    def test_a_statement_is_compiled_once_whatever_its_values(
        self, app, booking, clinic, monkeypatch
    ):
        compiles = []
        real = database._prepared
        monkeypatch.setattr(database, "_prepared", lambda *args: compiles.append(1) or real(*args))
        monkeypatch.setattr(database, "_PREPARED", LRUCache(10))
        for statuses, site_id in [
            (["booked"], clinic.site.id),
            (["cancelled", "booked"], clinic.site.id),  # an IN list of another length
            (["booked", "checked_in", "infusing"], clinic.site.id + 1),
            (["booked"], clinic.site.id),
        ]:
            visits = booking_service._visits_stmt(
                Visit.site_id == site_id, Visit.status.in_(statuses)
            )
            assert fetch_together(visits) == [list(db.session.execute(visits))]
        assert len(compiles) == 1  # the same shape, whatever its values and list lengths
        db.session.rollback()

    def test_a_connection_the_server_closed_is_replaced_without_a_ping(self, app, booking):
        api, body = booking
        db.session.remove()
        pooled = db.engine.raw_connection()
        pid = pooled.dbapi_connection.info.backend_pid
        pooled.close()
        outside = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        with outside.connect() as other:
            # Gone when this returns (it waits up to 5 s for the server's goodbye).
            other.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        outside.dispose()
        response = post_booking(app, api, body)
        assert response.status_code == 201, response.get_json()


def test_a_booking_on_sqlite_stays_within_a_similar_bound(app, booking):
    api, body = booking
    db.session.remove()  # the test's session lets its connection go, as between requests
    with sqlite_calls(app) as calls:
        response = post_booking(app, api, body)
    assert response.status_code == 201, response.get_json()
    assert len(calls) <= MAX_SQLITE_CALLS, calls
