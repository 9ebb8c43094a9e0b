"""Chain scale: 200 sites, 3 tablets each polling the dashboard every second, desks booking.

    .venv/bin/python bench/chain.py [--sites 200] [--tablets 3] [--seconds 60] [--workers 4]
        [--desk-every 20] [--threads 48] [--warm-up 5] [--write docs/benchmarks.md]

Creates its own PostgreSQL database (TEST_DATABASE_URL or 127.0.0.1:5432), migrates it and
seeds the sites in bulk (bench/sites.py): 12 chairs, nurses and a practitioner on shift, 12
cleared patients, 6 of them in care right now (2 checked in, 2 infusing, 2 recovering). The
app runs under gunicorn (the project's gunicorn.conf.py, `--workers`), and an open-loop
client drives it on a schedule that does not wait for the server:

- every tablet (a nurse's bearer token of its own) GETs /api/v1/dashboard?site_id= once a
  second, with If-None-Match: the ETag of its last answer;
- every front desk, once every `--desk-every` seconds, books a visit in an hour
  (POST /api/v1/visits), checks it in 2 s later and cancels it 2 s after that
  (POST /api/v1/visits/{id}/events): a booking and two visit events that the boards show.

The schedule is spread over `--threads` threads, each with its own connection. Reported per
kind of request: offered and sustained requests/s, p50/p95/p99 latency, statuses, errors;
overall: the gunicorn workers' CPU time per request (from /proc), the client's own CPU, how
late the client started requests (if it fell behind, the server did), the machine's load.
Goal (issue 15): sustained without errors, p95 of a poll under 100 ms. Exits non-zero on a
5xx or a connection error.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import cpu_seconds, gunicorn, machine, percentile, record_ratio, write_section
from sites import SeededSite, seed_sites

CHAIRS = 12
PATIENTS = 12
IN_CARE = 6  # patients 0-5 are in chairs 0-5 now; the desks book patients 6-11 in chairs 6-11
STEP_SECONDS = 2.0  # between a desk's booking, check-in and cancellation
POLL_P95_GOAL_MS = 100.0


@dataclass
class Tablet:
    """A nurses' tablet: polls its site's board with the ETag of its last answer."""

    site: SeededSite
    token: str
    every: float = 1.0
    etag: str = ""

    def request(self) -> tuple[str, str, str, dict | None, dict]:
        """Return (kind, method, path, body, headers) of the next request."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        return "poll", "GET", f"/api/v1/dashboard?site_id={self.site.id}", None, headers

    def answered(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> float:
        """Keep the ETag; return the seconds until the next poll."""
        self.etag = headers.get("ETag", self.etag) or ""
        return self.every


@dataclass
class Desk:
    """A front desk: books a visit, checks it in, cancels it; again every `every` seconds."""

    site: SeededSite
    every: float
    step: int = 0
    count: int = 0
    visit_id: int | None = None

    def request(self) -> tuple[str, str, str, dict | None, dict]:
        """Return (kind, method, path, body, headers) of the next request."""
        headers = {"Authorization": f"Bearer {self.site.desk_tokens[0]}"}
        headers["Content-Type"] = "application/json"
        if self.step == 0:
            n = IN_CARE + self.count % (CHAIRS - IN_CARE)
            start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
            body = {
                "patient_id": self.site.patient_ids[n],
                "chair_id": self.site.chair_ids[n],
                "infusion_start": start.isoformat(),
            }
            return "book", "POST", "/api/v1/visits", body, headers
        path = f"/api/v1/visits/{self.visit_id}/events"
        if self.step == 1:
            return "check_in", "POST", path, {"type": "check_in"}, headers
        return "cancel", "POST", path, {"type": "cancel", "reason": "bench"}, headers

    def answered(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> float:
        """Move to the next step (back to booking when a step failed); return the wait."""
        if self.step == 0 and status == 201:
            self.visit_id = json.loads(body)["id"]
            self.step = 1
            return STEP_SECONDS
        if self.step == 1 and status == 200:
            self.step = 2
            return STEP_SECONDS
        self.step, self.count = 0, self.count + 1
        return self.every - (2 * STEP_SECONDS if status == 200 else 0)


@dataclass
class Tally:
    """What one kind of request did."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    offered: int = 0


def drive(address: str, actors: list, seconds: float, threads: int) -> tuple[dict, list, float]:
    """Run the schedule for `seconds`; return the tallies by kind, the lateness, the time."""
    host, port = address.split(":")
    tallies: dict[str, Tally] = defaultdict(Tally)
    lateness: list[float] = []
    lock = threading.Lock()
    begin = time.monotonic() + 0.5
    end = begin + seconds
    rng = random.Random(15)
    first_due = [begin + rng.uniform(0, getattr(a, "every", 1.0)) for a in actors]

    def worker(number: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        heap = [(first_due[i], i) for i in range(number, len(actors), threads)]
        heapq.heapify(heap)
        while heap:
            due, i = heapq.heappop(heap)
            if due >= end or time.monotonic() >= end:
                break
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            actor = actors[i]
            kind, method, path, body, headers = actor.request()
            payload = json.dumps(body) if body is not None else None
            started = time.monotonic()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                with lock:
                    tallies[kind].errors.append(repr(error))
                heapq.heappush(heap, (due + 1.0, i))
                continue
            took = time.monotonic() - started
            with lock:
                tally = tallies[kind]
                tally.latencies.append(took * 1000)
                tally.statuses[response.status] += 1
                lateness.append(started - due)
                if response.status >= 500:
                    tally.errors.append(data[:200].decode("utf-8", "replace"))
            heapq.heappush(heap, (due + actor.answered(response.status, response.headers, data), i))
        conn.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    return tallies, lateness, seconds


def offered(actors: list, seconds: float) -> dict[str, float]:
    """Return the requests/s the schedule offers, by kind."""
    rates: dict[str, float] = defaultdict(float)
    for actor in actors:
        if isinstance(actor, Tablet):
            rates["poll"] += 1 / actor.every
        else:
            for kind in ("book", "check_in", "cancel"):
                rates[kind] += 1 / actor.every
    return rates


def seed_in_care(db_url: str, sites: list[SeededSite]) -> None:
    """Put patients 0-5 of every site in chairs 0-5: checked in, infusing, recovering."""
    from sqlalchemy import insert, select

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import Site, Visit
    from config import TestConfig

    now = datetime.now(UTC).replace(microsecond=0)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context():
        types = dict(db.session.execute(select(Site.id, Site.default_treatment_type_id)).all())
        rows = []
        for site in sites:
            for n in range(IN_CARE):
                phase = ("checked_in", "infusing", "recovering")[n % 3]
                start = now + timedelta(minutes=(10, -25, -90)[n % 3])
                actual = {"checked_in_at": start - timedelta(minutes=10)}
                if phase != "checked_in":
                    actual["infusion_started_at"] = start
                if phase == "recovering":
                    actual["infusion_ended_at"] = start + timedelta(minutes=45)
                    actual["discharge_due_at"] = start + timedelta(minutes=165)
                rows.append(
                    {
                        "patient_id": site.patient_ids[n],
                        "site_id": site.id,
                        "chair_id": site.chair_ids[n],
                        "recovery_chair_id": site.chair_ids[n],
                        "treatment_type_id": types[site.id],
                        "status": phase,
                        "infusion_start": start,
                        "infusion_end": start + timedelta(minutes=45),
                        "observation_end": start + timedelta(minutes=165),
                        "infusion_minutes": 45,
                        "observation_minutes": 120,
                        "chair_released_at": start + timedelta(minutes=180),
                        "extension_minutes": 0,
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                        **actual,
                    }
                )
        db.session.execute(insert(Visit), rows)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def measure(args: argparse.Namespace, db_url: str) -> dict:
    """Seed, serve, warm up, drive; return the figures."""
    started = time.monotonic()
    sites = seed_sites(
        db_url, sites=args.sites, chairs=CHAIRS, patients=PATIENTS, days=2, tablets=args.tablets
    )
    seed_in_care(db_url, sites)
    seeded = time.monotonic() - started
    actors: list = [Tablet(s, t) for s in sites for t in s.tablet_tokens]
    actors += [Desk(s, args.desk_every) for s in sites]
    with gunicorn(db_url, workers=args.workers) as server:
        if args.warm_up:
            drive(server.address, actors, args.warm_up, args.threads)
        cpu, client_cpu = cpu_seconds(server), time.process_time()
        tallies, lateness, seconds = drive(server.address, actors, args.seconds, args.threads)
        cpu, client_cpu = cpu_seconds(server) - cpu, time.process_time() - client_cpu
        log = server.log_tail(40) if any(t.errors for t in tallies.values()) else ""
    rates = offered(actors, seconds)
    kinds = {}
    for kind in ("poll", "book", "check_in", "cancel"):
        t = tallies.get(kind, Tally())
        kinds[kind] = {
            "offered_per_s": rates[kind],
            "sustained_per_s": sum(t.statuses.values()) / seconds,
            "p50_ms": percentile(t.latencies, 0.50),
            "p95_ms": percentile(t.latencies, 0.95),
            "p99_ms": percentile(t.latencies, 0.99),
            "statuses": dict(sorted(t.statuses.items())),
            "errors": len(t.errors),
            "first_errors": t.errors[:3],
        }
    requests = sum(sum(t.statuses.values()) for t in tallies.values())
    return {
        "seed_s": seeded,
        "kinds": kinds,
        "requests": requests,
        "worker_cpu_ms_per_request": 1000 * cpu / max(requests, 1),
        "worker_cores": cpu / seconds,
        "client_cpu_ms_per_request": 1000 * client_cpu / max(requests, 1),
        "late_p95_ms": 1000 * percentile(lateness, 0.95),
        "load": os.getloadavg(),
        "server_log": log,
    }


def report(r: dict, args: argparse.Namespace) -> str:
    """Format the figures as Markdown."""
    lines = [
        "| request | offered/s | sustained/s | p50 | p95 | p99 | statuses | errors |",
        "|---|--:|--:|--:|--:|--:|---|--:|",
    ]
    for kind, k in r["kinds"].items():
        lines.append(
            f"| {kind} | {k['offered_per_s']:.1f} | {k['sustained_per_s']:.1f} "
            f"| {k['p50_ms']:.1f} ms | {k['p95_ms']:.1f} ms | {k['p99_ms']:.1f} ms "
            f"| {k['statuses']} | {k['errors']} |"
        )
    poll = r["kinds"]["poll"]
    verdict = "met" if goal_met(r) else "not met"
    lines += [
        "",
        f"{args.sites} sites x {args.tablets} tablets, a desk cycle every {args.desk_every:.0f} s, "
        f"{args.seconds:.0f} s after a {args.warm_up:.0f} s warm-up, {args.workers} gunicorn "
        f"workers, {args.threads} client threads; seeding took {r['seed_s']:.0f} s.",
        f"Workers' CPU: {r['worker_cpu_ms_per_request']:.2f} ms per request "
        f"({r['worker_cores']:.2f} cores); the client's own CPU "
        f"{r['client_cpu_ms_per_request']:.2f} ms per request; requests started late by "
        f"{r['late_p95_ms']:.0f} ms at p95 (the client waits for its connections: a late "
        f"schedule means the server fell behind). Load average at the end "
        f"{', '.join(f'{x:.1f}' for x in r['load'])}.",
        f"Goal (sustained without errors, poll p95 < {POLL_P95_GOAL_MS:.0f} ms): **{verdict}** "
        f"(polls {poll['sustained_per_s']:.0f}/s of {poll['offered_per_s']:.0f}/s offered, "
        f"p95 {poll['p95_ms']:.0f} ms).",
    ]
    return "\n".join(lines)


def goal_met(r: dict) -> bool:
    """Tell whether every kind was sustained (within 2 %) without errors, poll p95 < 100 ms."""
    kinds = r["kinds"].values()
    sustained = all(k["sustained_per_s"] >= 0.98 * k["offered_per_s"] for k in kinds)
    clean = not any(k["errors"] for k in kinds)
    return sustained and clean and r["kinds"]["poll"]["p95_ms"] < POLL_P95_GOAL_MS


def main(argv: list[str] | None = None) -> dict:
    """Parse the arguments, run on PostgreSQL, print (and optionally write) the figures."""
    from tests.concurrency.harness import postgres_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--tablets", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--desk-every", type=float, default=20, help="seconds per desk cycle")
    parser.add_argument("--threads", type=int, default=48, help="client threads")
    parser.add_argument("--warm-up", type=float, default=5)
    parser.add_argument("--write", metavar="FILE", help="put the figures in this Markdown file")
    args = parser.parse_args(argv)
    with postgres_database("clinic_bench_chain") as url:
        result = measure(args, url)
    text = report(result, args)
    print(text)
    poll = result["kinds"]["poll"]
    record_ratio(
        "chain: poll p95 ms at 600 polls/s offered",
        poll["p95_ms"],
        f"< {POLL_P95_GOAL_MS:.0f}, sustained, no errors",
        goal_met(result),
    )
    if args.write:
        write_section(
            Path(args.write),
            "chain.py",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}.\n\n{text}",
        )
    if result["server_log"]:
        print(result["server_log"])
    if any(k["errors"] for k in result["kinds"].values()):
        raise SystemExit("FAILED: server or connection errors; see above")
    return result


if __name__ == "__main__":
    main()
