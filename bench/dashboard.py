"""Benchmark the nurses' dashboard JSON: 30 patients in care over a long or a short history.

    .venv/bin/python bench/dashboard.py                       # SQLite, 50,000 past visits
    .venv/bin/python bench/dashboard.py --postgres URL        # also PostgreSQL (admin URL)
    .venv/bin/python bench/dashboard.py --quick               # SQLite, 5,000: about a minute
    .venv/bin/python bench/dashboard.py --via gunicorn        # only through gunicorn
    .venv/bin/python bench/dashboard.py --write docs/benchmarks.md

Each database gets one site with 30 chairs and 30 patients in care right now (10 checked in,
10 infusing, 10 recovering, each with its readings and a later booking of its chair), over a
history of past visits with their events and readings, inserted in bulk. The timings are
medians of GET /api/v1/dashboard through the app's WSGI stack (bearer token and all), compared
with a static response of the same size from the same app, and with the same dashboard over
a 100-visit history: once through Flask's test client (in this process, with statement
counts), once through gunicorn (4 workers, HTTP on 127.0.0.1, port BENCH_PORT or a free one,
the app of bench/dashboard_wsgi.py), one request at a time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import machine, record_ratio  # noqa: E402
from flask import Flask, Response  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402

from clinic import create_app  # noqa: E402
from clinic.extensions import db  # noqa: E402
from clinic.models import Chair, Observation, Patient, Site, Visit, VisitEvent  # noqa: E402
from clinic.services import staff, tokens  # noqa: E402
from clinic.services.setup import save_site  # noqa: E402
from clinic.types import utcnow  # noqa: E402
from clinic.web.api import authenticate  # noqa: E402
from config import Config  # noqa: E402

ACTIVE = 30
CHAIRS = 30
LONG_HISTORY = 50_000
SHORT_HISTORY = 100
READINGS_PER_PAST_VISIT = 8
PATIENTS = 2_000
BATCH = 5_000
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BenchConfig(Config):
    """The production settings, with cheap password hashing for the one bench user."""

    ARGON2_COST = (1, 1024)
    # The limiter still runs (its cost is part of every API answer) but never trips: the
    # benchmark sends one token's requests far faster than the production limit.
    RATELIMIT_API_PER_TOKEN = "1000000/minute"


@dataclass
class Result:
    """The figures of one database."""

    label: str
    via: str  # "test client" or "gunicorn -w 4"
    history: int
    dashboard_ms: float  # a 200 of a board this process has built this minute
    changed_ms: float  # a 200 right after a write: the board is built again
    dashboard_304_ms: float
    healthz_ms: float
    static_ms: float
    static_auth_ms: float
    # In this process's CPU time (test client only: the load of other processes moves it less).
    cpu_304_per_healthz: float | None
    cpu_changed_per_static_auth: float | None
    queries: int | None  # a changed board's 200 (test client only)
    queries_304: int | None
    body_bytes: int


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


def build(app: Flask, history: int, seed: int = 7) -> str:
    """Fill an empty database: a site, chairs, history, 30 patients in care; return a token."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        db.create_all()
        site = save_site(
            None,
            {
                "name": "Bench",
                "opening_hours": {day: ["00:00", "24:00"] for day in WEEK},
            },
            now=utcnow(),
        )
        db.session.add_all([Chair(site_id=site.id, name=f"Chair {i + 1}") for i in range(CHAIRS)])
        db.session.commit()
        chair_ids = list(db.session.scalars(sa.select(Chair.id).order_by(Chair.id)))
        nurse = staff.create_user(
            "nurse@bench.test", "Bench Nurse", "nurse", [site.id], now=utcnow()
        )
        token = tokens.issue(nurse, utcnow())[1]
        db.session.execute(
            insert(Patient),
            [
                {
                    "site_id": site.id,
                    "mrn": f"B{i:07d}",
                    "given_name": rng.choice(["Dana", "Sam", "Ali", "Kim", "Jo"]),
                    "family_name": f"Patient{i}",
                    "birth_date": date(1970 + i % 30, 1 + i % 12, 1 + i % 28),
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(PATIENTS + ACTIVE)
            ],
        )
        db.session.commit()
        patient_ids = list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id)))
        _history(site.id, chair_ids, patient_ids[:PATIENTS], nurse.id, history, now, rng)
        _in_care(site.id, chair_ids, patient_ids[PATIENTS:], nurse.id, now)
    return token


def _visit_row(site_id, chair_id, patient_id, start, status, **actual):
    infusion_end = start + timedelta(minutes=45)
    observation_end = infusion_end + timedelta(minutes=120)
    return {
        "patient_id": patient_id,
        "site_id": site_id,
        "chair_id": chair_id,
        "recovery_chair_id": chair_id,
        "status": status,
        "infusion_start": start,
        "infusion_end": infusion_end,
        "observation_end": observation_end,
        "infusion_minutes": 45,
        "observation_minutes": 120,
        "chair_released_at": observation_end + timedelta(minutes=15),
        "extension_minutes": 0,
        "notes": "",
        "created_at": start - timedelta(days=7),
        "updated_at": actual.get("discharged_at", start),
        **actual,
    }


def _history(site_id, chair_ids, patient_ids, user_id, count, now, rng) -> None:
    """Insert `count` past visits (mostly discharged) with their events and readings."""
    per_day = len(chair_ids) * 4  # four visits a chair a day, every three hours from 07:00
    day0 = (now - timedelta(days=count // per_day + 2)).replace(hour=13, minute=0, second=0)
    first_id = (db.session.scalar(sa.select(sa.func.max(Visit.id))) or 0) + 1
    visits, events, readings = [], [], []
    for n in range(count):
        day, slot = divmod(n, per_day)
        chair_index, turn = divmod(slot, 4)
        start = day0 + timedelta(days=day) + _hours(3 * turn)
        status = "discharged" if n % 20 else rng.choice(["cancelled", "no_show"])
        actual = {}
        if status == "discharged":
            ended = start + timedelta(minutes=45 + rng.randint(0, 10))
            actual = {
                "checked_in_at": start - timedelta(minutes=10),
                "infusion_started_at": start,
                "infusion_ended_at": ended,
                "discharge_due_at": ended + timedelta(minutes=120),
                "discharged_at": ended + timedelta(minutes=120 + rng.randint(0, 20)),
            }
        visits.append(
            _visit_row(
                site_id,
                chair_ids[chair_index],
                patient_ids[n % len(patient_ids)],
                start,
                status,
                **actual,
            )
        )
        visit_id = first_id + n
        if status == "discharged":
            for type_, key in (
                ("check_in", "checked_in_at"),
                ("start_infusion", "infusion_started_at"),
                ("end_infusion", "infusion_ended_at"),
                ("discharge", "discharged_at"),
            ):
                at = actual[key]
                events.append(
                    {
                        "visit_id": visit_id,
                        "type": type_,
                        "at": at,
                        "recorded_at": at,
                        "by_id": user_id,
                        "data": {},
                    }
                )
            for k in range(READINGS_PER_PAST_VISIT):
                at = start - timedelta(minutes=5) + timedelta(minutes=20 * k)
                readings.append(_reading(visit_id, at, user_id, rng))
        if len(visits) >= BATCH:
            _flush(visits, events, readings)
    _flush(visits, events, readings)


def _reading(visit_id, at, user_id, rng) -> dict:
    return {
        "visit_id": visit_id,
        "at": at,
        "recorded_at": at,
        "by_id": user_id,
        "systolic": rng.randint(110, 150),
        "diastolic": rng.randint(65, 95),
        "heart_rate": rng.randint(60, 100),
        "spo2": rng.randint(94, 100),
        "dissociation": rng.randint(0, 3),
        "nausea": rng.randint(0, 1),
        "dizziness": rng.randint(0, 2),
        "note": "",
        "flags": [],
    }


def with_default_type(visits: list) -> list:
    """Give each visit row its site's default treatment type (a bulk insert skips the model)."""
    for row in visits:
        row.setdefault(
            "treatment_type_id", db.session.get(Site, row["site_id"]).default_treatment_type_id
        )
    return visits


def _flush(visits: list, events: list, readings: list) -> None:
    """Insert what has been gathered (executemany), then forget it."""
    if visits:
        db.session.execute(insert(Visit), with_default_type(visits))
    if events:
        db.session.execute(insert(VisitEvent), events)
    if readings:
        db.session.execute(insert(Observation), readings)
    db.session.commit()
    visits.clear()
    events.clear()
    readings.clear()


def _in_care(site_id, chair_ids, patient_ids, user_id, now) -> None:
    """Seat 30 patients: 10 checked in, 10 infusing, 10 recovering; book each chair later."""
    rng = random.Random(11)
    first_id = (db.session.scalar(sa.select(sa.func.max(Visit.id))) or 0) + 1
    visits, readings = [], []
    for i in range(ACTIVE):
        chair_id = chair_ids[i % len(chair_ids)]
        phase = ("checked_in", "infusing", "recovering")[i % 3]
        if phase == "checked_in":
            start = now + timedelta(minutes=10)
            actual = {"checked_in_at": now - timedelta(minutes=5)}
            taken = [now - timedelta(minutes=3)]
        elif phase == "infusing":
            start = now - timedelta(minutes=25)
            actual = {"checked_in_at": start - timedelta(minutes=10), "infusion_started_at": start}
            taken = [start - timedelta(minutes=5), start + timedelta(minutes=15)]
        else:
            start = now - timedelta(minutes=90)
            ended = start + timedelta(minutes=45)
            actual = {
                "checked_in_at": start - timedelta(minutes=10),
                "infusion_started_at": start,
                "infusion_ended_at": ended,
                "discharge_due_at": ended + timedelta(minutes=120),
            }
            taken = [start - timedelta(minutes=5) + timedelta(minutes=15 * k) for k in range(6)]
        visits.append(_visit_row(site_id, chair_id, patient_ids[i], start, phase, **actual))
        readings += [_reading(first_id + i, at, user_id, rng) for at in taken]
    # Each chair's next booking, after the patient in it.
    for i in range(ACTIVE):
        visits.append(
            _visit_row(
                site_id,
                chair_ids[i % len(chair_ids)],
                patient_ids[(i + 1) % ACTIVE],
                now + _hours(4),
                "booked",
            )
        )
    _flush(visits, [], [])
    _flush([], [], readings)


def _medians_ms(calls: dict[str, object], runs: int) -> dict[str, float]:
    """Time the calls in turn (so that a busy machine slows them alike); return medians, of
    the wall clock under each call's name, of this process's CPU time under "cpu " + name.

    A call is a function, or (setup, function): the setup runs untimed before each call."""
    plain = {name: c if isinstance(c, tuple) else (None, c) for name, c in calls.items()}
    for _ in range(max(3, runs // 10)):  # warm-up: caches, pools, statement compilation
        for setup, call in plain.values():
            if setup:
                setup()
            call()
    times: dict[str, list[float]] = {key: [] for name in calls for key in (name, f"cpu {name}")}
    for _ in range(runs):
        for name, (setup, call) in plain.items():
            if setup:
                setup()
            started, cpu = time.perf_counter(), time.process_time()
            call()
            times[name].append(time.perf_counter() - started)
            times[f"cpu {name}"].append(time.process_time() - cpu)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def _statements(app: Flask, call) -> int:
    """Count the SQL statements one call sends."""
    with app.app_context():
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def _app(url: str) -> tuple[Flask, list[bytes]]:
    """Return the app on a database, with the two static routes (their body set later)."""
    app = create_app(BenchConfig, SQLALCHEMY_DATABASE_URI=url)
    # The same number of bytes from the same app, with nothing to compute.
    static_body: list[bytes] = [b""]
    app.add_url_rule(
        "/bench-static",
        "bench_static",
        lambda: Response(static_body[0], mimetype="application/json"),
    )
    # And the same behind the API's bearer-token check, which every API answer pays.
    app.add_url_rule(
        "/bench-static-auth",
        "bench_static_auth",
        lambda: authenticate() or Response(static_body[0], mimetype="application/json"),
    )
    return app, static_body


def measure(
    label: str, url: str, history: int, runs: int, via: tuple[str, ...], workers: int
) -> list[Result]:
    """Build a database at `url` and time its dashboard against a static answer, through
    the test client and/or gunicorn."""
    app, static_body = _app(url)
    started = time.perf_counter()
    token = build(app, history)
    print(
        f"  {label}: built {history:,} past visits in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/dashboard", headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_data()
    static_body[0] = body
    assert len(first.get_json()["visits"]) == ACTIVE

    def write():
        # What any write the board shows does to the site (untimed): the next poll rebuilds.
        with app.app_context():
            db.session.execute(sa.update(Site).values(board_version=Site.board_version + 1))
            db.session.commit()

    results = []
    try:
        if "client" in via:
            results.append(_through_client(label, history, runs, app, token, write, body))
        if "gunicorn" in via:
            gunicorn_result = _through_gunicorn(
                label, history, runs, url, token, write, body, workers
            )
            results.append(gunicorn_result)
    finally:
        with app.app_context():
            db.engine.dispose()
    return results


def _timed(get, token: str, etag: str, write, runs: int) -> dict[str, float]:
    """Time the six kinds of request (`get(path, headers) -> status`); return the medians.

    The five that change nothing are taken in turn; a changed board's 200 (a write, then the
    request) in a loop of its own, so no other request pays the rebuild its write causes (in
    another worker, say): a 304 is a poll of a board that has not changed."""
    calls = _calls(get, token, etag)
    dashboard = calls["dashboard"]
    return _medians_ms(calls, runs) | _medians_ms({"changed": (write, dashboard)}, runs)


def _calls(get, token: str, etag: str) -> dict[str, Any]:
    """The five kinds of request that change nothing, each a call of `get`."""
    auth = {"Authorization": f"Bearer {token}"}

    def dashboard():
        assert get("/api/v1/dashboard", auth) == 200

    def unchanged():
        assert get("/api/v1/dashboard", auth | {"If-None-Match": etag}) in (200, 304)

    return {
        "dashboard": dashboard,
        "304": unchanged,
        "healthz": lambda: get("/api/v1/healthz", {}) == 200 or _fail("healthz"),
        "static": lambda: get("/bench-static", {}) == 200 or _fail("static"),
        "static_auth": lambda: get("/bench-static-auth", auth) == 200 or _fail("static+token"),
    }


def _fail(what: str) -> None:
    raise AssertionError(f"{what} did not answer 200")


def _result(label, via, history, medians, body, queries=None, queries_304=None) -> Result:
    cpu = queries is not None  # in this process: the test client
    return Result(
        label=label,
        via=via,
        history=history,
        dashboard_ms=medians["dashboard"],
        changed_ms=medians["changed"],
        dashboard_304_ms=medians["304"],
        healthz_ms=medians["healthz"],
        static_ms=medians["static"],
        static_auth_ms=medians["static_auth"],
        cpu_304_per_healthz=medians["cpu 304"] / medians["cpu healthz"] if cpu else None,
        cpu_changed_per_static_auth=(
            medians["cpu changed"] / medians["cpu static_auth"] if cpu else None
        ),
        queries=queries,
        queries_304=queries_304,
        body_bytes=len(body),
    )


def _through_client(label, history, runs, app, token, write, body) -> Result:
    """Time the requests through Flask's test client, in this process; count statements."""
    client = app.test_client()

    def get(path: str, headers: dict) -> int:
        return client.get(path, headers=headers).status_code

    etag = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"})
    calls = _calls(get, token, etag.headers["ETag"])
    write()
    queries = _statements(app, calls["dashboard"])
    queries_304 = _statements(app, calls["304"])
    medians = _timed(get, token, etag.headers["ETag"], write, runs)
    return _result(label, "test client", history, medians, body, queries, queries_304)


def _through_gunicorn(label, history, runs, url, token, write, body, workers) -> Result:
    """Time the requests through gunicorn (its workers, HTTP on 127.0.0.1), one at a time."""
    from tests.concurrency.harness import gunicorn

    with tempfile.NamedTemporaryFile(suffix=".json") as static:
        static.write(body)
        static.flush()
        os.environ["BENCH_STATIC_BODY"] = static.name
        port = int(os.environ.get("BENCH_PORT") or 0) or None
        with gunicorn(url, workers, "bench.dashboard_wsgi:app", port) as server:
            host, port_text = server.address.split(":")

            def get(path: str, headers: dict) -> int:
                # A sync worker closes the connection after each answer, as it does for a board.
                conn = http.client.HTTPConnection(host, int(port_text), timeout=30)
                try:
                    conn.request("GET", path, headers=headers)
                    answer = conn.getresponse()
                    answer.read()
                    return answer.status
                finally:
                    conn.close()

            conn = http.client.HTTPConnection(host, int(port_text), timeout=30)
            conn.request("GET", "/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"})
            etag = conn.getresponse().getheader("ETag") or ""
            conn.close()
            medians = _timed(get, token, etag, write, runs)
    return _result(label, f"gunicorn -w {workers}", history, medians, body)


def _postgres_database(admin_url: str):
    """Create a fresh PostgreSQL database; return its URL and a function that drops it."""
    admin = sa.make_url(admin_url)
    name = f"clinic_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


def report(results: list[Result]) -> str:
    """Return the figures as a Markdown table with the ratios against their goals."""
    lines = [
        "| database | via | past visits | 200, board kept | 200, board changed | 304 | /healthz "
        "| static behind the token check | 304 x /healthz (goal <= 2) | 200 kept x static+token "
        "| 200 changed x static+token (goal <= 2) | 200 changed x static (no token) "
        "| x shortest history | CPU: 304 x /healthz, 200 changed x static+token "
        "| SQL: 200 changed / 304 | body |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    shortest = {}
    for r in sorted(results, key=lambda r: -r.history):
        shortest[r.label, r.via] = r
    for r in results:
        base = shortest[r.label, r.via]
        growth = f"{r.changed_ms / base.changed_ms:.2f}" if base is not r else "-"
        sql = "-" if r.queries is None else f"{r.queries} / {r.queries_304}"
        cpu = "-"
        if r.cpu_304_per_healthz is not None and r.cpu_changed_per_static_auth is not None:
            cpu = f"{r.cpu_304_per_healthz:.2f}, {r.cpu_changed_per_static_auth:.2f}"
        lines.append(
            f"| {r.label} | {r.via} | {r.history:,} | {r.dashboard_ms:.2f} ms "
            f"| {r.changed_ms:.2f} ms | {r.dashboard_304_ms:.2f} ms | {r.healthz_ms:.2f} ms "
            f"| {r.static_auth_ms:.2f} ms | {r.dashboard_304_ms / r.healthz_ms:.2f} "
            f"| {r.dashboard_ms / r.static_auth_ms:.2f} | {r.changed_ms / r.static_auth_ms:.2f} "
            f"| {r.changed_ms / r.static_ms:.1f} | {growth} | {cpu} | {sql} | {r.body_bytes:,} B |"
        )
    return "\n".join(lines)


def goals(results: list[Result]) -> str:
    """Return one line per run: the two ratios the issue sets goals for, met or not."""
    lines = []
    for r in results:
        unchanged = r.dashboard_304_ms / r.healthz_ms
        changed = r.changed_ms / r.static_auth_ms
        lines.append(
            f"{r.label:<10} {r.via:<13} {r.history:>7,} past visits: "
            f"304 / healthz {unchanged:5.2f} (goal <= 2: {'met' if unchanged <= 2 else 'NOT met'})"
            f", 200 changed / static+token {changed:6.2f} "
            f"(goal <= 2: {'met' if changed <= 2 else 'NOT met'})"
        )
        if r.cpu_304_per_healthz is not None and r.cpu_changed_per_static_auth is not None:
            lines[-1] += (
                f"; in CPU time {r.cpu_304_per_healthz:.2f} and {r.cpu_changed_per_static_auth:.2f}"
            )
    return "\n".join(lines)


QUICK = {"history": 5_000, "runs": 40}  # about a minute on SQLite through both ways


def main(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark on SQLite (and PostgreSQL if asked) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--history", type=int, default=LONG_HISTORY)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="e.g. postgresql+psycopg://...")
    parser.add_argument(
        "--via", default="client,gunicorn", help="client, gunicorn or both (the default)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"SQLite, {QUICK['history']:,} past visits, {QUICK['runs']} runs (make bench-quick)",
    )
    parser.add_argument("--write", metavar="FILE", help="put the table into this Markdown file")
    args = parser.parse_args(argv)
    if args.quick:
        args.history, args.runs, args.postgres = QUICK["history"], QUICK["runs"], None
    via = tuple(name.strip() for name in args.via.split(","))
    started = time.monotonic()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for history in (args.history, SHORT_HISTORY):
            url = f"sqlite:///{Path(tmp) / f'bench-{history}.db'}"
            results += measure("SQLite", url, history, args.runs, via, args.workers)
    if args.postgres:
        for history in (args.history, SHORT_HISTORY):
            url, drop = _postgres_database(args.postgres)
            try:
                results += measure("PostgreSQL", url, history, args.runs, via, args.workers)
            finally:
                drop()
    table = report(results)
    print(table)
    print()
    print(goals(results))
    for r in results:
        run = f"{r.label}, {r.via}, {r.history:,} past visits"
        unchanged, changed = r.dashboard_304_ms / r.healthz_ms, r.changed_ms / r.static_auth_ms
        record_ratio(f"dashboard 304 / healthz ({run})", unchanged, "<= 2", unchanged <= 2)
        record_ratio(f"dashboard changed 200 / static+token ({run})", changed, "<= 2", changed <= 2)
    print(f"(took {time.monotonic() - started:.0f} s; machine: {machine()})")
    if args.write:
        _write_section(Path(args.write), table, args)
    return results


START = "<!-- bench/dashboard.py: start -->"
END = "<!-- bench/dashboard.py: end -->"


def _write_section(path: Path, table: str, args) -> None:
    """Put the table between this benchmark's markers in the file (appended if missing)."""
    import platform

    figures = (
        f"{START}\n"
        f"Measured {datetime.now().date()}: {platform.python_implementation()} "
        f"{platform.python_version()} on {platform.machine()}, median of {args.runs} requests "
        f"of each kind after a warm-up, via {args.via}; machine at the end of the run: "
        f"{machine()}.\n\n{table}\n{END}"
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + figures + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + figures + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
