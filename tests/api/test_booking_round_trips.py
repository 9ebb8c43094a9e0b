"""What a successful booking costs the database: round trips on PostgreSQL, statements on SQLite.

A round trip is a wait for the server: every message the driver sends that asks for an
answer, read from libpq's own trace of the connection (psycopg's BEGIN, each statement,
savepoints, locks, COMMIT, a ping, the pool's ROLLBACK at the request's end), not only
what SQLAlchemy sees. The request runs as in production: its own app context, whose
teardown returns the connection to a warm pool; the caller's token was used a moment ago.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from psycopg.pq import Trace

from clinic.extensions import db
from tests.conftest import MONDAY, chicago

TUESDAY = MONDAY + timedelta(days=1)
MAX_ROUND_TRIPS = 8
# The same work on SQLite: statements sent plus the transactions' BEGIN and COMMIT.
MAX_SQLITE_CALLS = 12
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
    db.session.remove()
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


class TestPostgres:
    @pytest.fixture
    def app(self, pg_app):
        return pg_app

    def test_a_booking_costs_at_most_eight_round_trips(self, app, booking):
        api, body = booking
        with round_trips(app) as trips:
            response = post_booking(app, api, body)
        assert response.status_code == 201, response.get_json()
        print(f"{len(trips)} round trips:", *trips, sep="\n  ")
        assert len(trips) <= MAX_ROUND_TRIPS, trips


def test_a_booking_on_sqlite_stays_within_a_similar_bound(app, booking):
    api, body = booking
    with sqlite_calls(app) as calls:
        response = post_booking(app, api, body)
    assert response.status_code == 201, response.get_json()
    print(f"{len(calls)} calls:", *calls, sep="\n  ")
    assert len(calls) <= MAX_SQLITE_CALLS, calls
