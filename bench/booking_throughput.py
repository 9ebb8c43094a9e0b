"""Benchmark: the booking storm through gunicorn against the yardstick, in one run.

Creates its own PostgreSQL database (on TEST_DATABASE_URL or 127.0.0.1:5432), migrates it,
seeds 18 always-open sites (12 chairs, nurses and a practitioner on shift, cleared patients,
a front-desk token each) and measures, each for `--seconds` with `--clients` client threads
on keep-alive connections and the same gunicorn (`--workers`, the project's gunicorn.conf.py),
each server warmed up first for 2 s on the 18th site:

1. the yardstick (bench/yardstick.py: a minimal Flask + SQLAlchemy app, one INSERT per
   request) taking the same request bodies;
2. the booking storm, POST /api/v1/visits, client n on site n % 16 ("16 sites");
3. the same storm with every client on the 17th site ("one site");
4. the yardstick again: the ratios divide by the mean of 1 and 4, so a machine whose load
   drifts during the run shifts both sides alike.

Most requests ask for a slot no one else asks for, a quarter fight over 4 hot slots per
site. Reports bookings/s (201s), requests/s, p50/p95 latency, statuses, the workers' CPU
per request, and the double bookings found in the database afterwards (a self-join over
active chair holds: must be 0). Exits non-zero on a double booking or a 5xx.

    .venv/bin/python bench/booking_throughput.py [--seconds 10] [--clients 16] [--workers 4]
        [--backend postgresql|sqlite] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import cpu_seconds, gunicorn, machine, median, percentile, record_ratio, write_section
from sites import SeededSite, seed_sites

SITES = 16
CHAIRS = 12
HOLD = timedelta(minutes=45 + 120 + 15)  # chair mode: infusion + observation + turnover
HOT_SLOTS = 4
COLLIDING_SHARE = 0.25
SLOT_DAYS = 60  # distinct slots per site: 12 chairs x 8 holds a day x 60 days = 5760
POOL = 13  # patients per client: 12 for its own slots (one per chair), 1 for the hot slots
CHICAGO = ZoneInfo("America/Chicago")  # the sites' time zone
WARM_UP_SECONDS = 2  # each server's first requests (imports, compiled statements) untimed
GOALS = {"16 sites": 0.5, "one site": 0.3}


def bodies_for(site: SeededSite, k: int, m: int, rng: random.Random):
    """Yield the request bodies of the k-th of m clients on a site, forever or until its
    own slots run out: mostly its own slots (never its patient twice at once), some hot."""
    tomorrow = datetime.now(CHICAGO).date() + timedelta(days=1)
    hot_day = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=CHICAGO)
    first = hot_day + timedelta(days=1)
    per_day = int(timedelta(days=1) / HOLD)
    own, hot_patient = site.patient_ids[POOL * k : POOL * k + 12], site.patient_ids[POOL * k + 12]
    # Slot j: time step j // CHAIRS, chair j % CHAIRS; the client owns every j = k mod m.
    slots = range(k, CHAIRS * per_day * SLOT_DAYS, m)
    mine = iter(enumerate(slots))
    while True:
        if rng.random() < COLLIDING_SHARE:
            start, chair, patient = hot_day + HOLD * rng.randrange(HOT_SLOTS), 0, hot_patient
        else:
            q, j = next(mine, (None, None))
            if j is None:
                return
            start, chair, patient = first + HOLD * (j // CHAIRS), j % CHAIRS, own[q % 12]
        yield {
            "patient_id": patient,
            "chair_id": site.chair_ids[chair],
            "infusion_start": start.isoformat(),
        }


def storm(address: str, path: str, sites: list[SeededSite], clients: int, seconds: float):
    """Let `clients` threads POST bodies at the sites' desks for `seconds`; count answers."""
    from tests.concurrency.harness import post_json

    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    host, port = address.split(":")

    def client(n: int) -> None:
        site = sites[n % len(sites)]
        on_site = len(range(n % len(sites), clients, len(sites)))
        bodies = bodies_for(site, n // len(sites), on_site, random.Random(n))
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        barrier.wait(timeout=30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            body = next(bodies, None)
            if body is None:
                break
            try:
                answer = post_json(conn, path, site.desk_tokens[0], body)
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                with lock:
                    errors.append(repr(error))
                continue
            with lock:
                latencies.append(answer.seconds * 1000)
                statuses[answer.status] += 1
                if answer.status >= 500 or "database is locked" in answer.body:
                    errors.append(answer.body[:200])
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    return {
        "seconds": elapsed,
        "requests": total,
        "created": statuses[201],
        "requests_per_s": total / elapsed,
        "created_per_s": statuses[201] / elapsed,
        "p50_ms": median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "statuses": dict(sorted(statuses.items())),
        "errors": errors[:5],
        "error_count": len(errors),
    }


def served(db_url: str, app: str, workers: int, warm_up: SeededSite, runs) -> list[dict]:
    """Serve an app, warm its workers up on a site of their own (unmeasured), then run each
    (label, path, sites, clients, seconds) storm and add the workers' CPU per request."""
    results = []
    with gunicorn(db_url, app=app, workers=workers) as server:
        path, clients = runs[0][1], runs[0][3]
        storm(server.address, path, [warm_up], clients, WARM_UP_SECONDS)
        for label, path, sites, clients, seconds in runs:
            cpu = cpu_seconds(server)
            result = storm(server.address, path, sites, clients, seconds)
            cpu = cpu_seconds(server) - cpu
            result |= {
                "label": label,
                "load": os.getloadavg()[0],
                "cpu_ms_per_request": 1000 * cpu / max(result["requests"], 1),
            }
            if result["error_count"]:
                result["server_log"] = server.log_tail(60)
            results.append(result)
    return results


def measure(db_url: str, seconds: float, clients: int, workers: int) -> dict:
    """Seed, then yardstick, storm on 16 sites, storm on one site, yardstick; count."""
    import yardstick

    from tests.concurrency.harness import overlapping_active_chair_holds

    sites = seed_sites(
        db_url,
        sites=SITES + 2,
        chairs=CHAIRS,
        patients=POOL * clients,
        days=SLOT_DAYS + 3,
    )
    many, alone, warm_up = sites[:SITES], sites[SITES : SITES + 1], sites[-1]
    yardstick.create_table(db_url)
    stick = ("yardstick", "/yardstick/visits", many, clients, seconds)
    before = served(db_url, "bench.yardstick:app", workers, warm_up, [stick])
    storms = served(
        db_url,
        "wsgi:app",
        workers,
        warm_up,
        [
            ("16 sites", "/api/v1/visits", many, clients, seconds),
            ("one site", "/api/v1/visits", alone, clients, seconds),
        ],
    )
    after = served(db_url, "bench.yardstick:app", workers, warm_up, [stick])
    inserts = (before[0]["created_per_s"] + after[0]["created_per_s"]) / 2
    for r in storms:
        r["ratio"] = r["created_per_s"] / inserts
        r["goal"] = GOALS[r["label"]]
    return {
        "yardstick": before + after,
        "inserts_per_s": inserts,
        "storms": storms,
        "double_bookings": overlapping_active_chair_holds(db_url),
        "errors": sum(r["error_count"] for r in before + storms + after),
    }


def run(
    seconds: float = 10, clients: int = 16, workers: int = 4, backend: str = "postgresql"
) -> dict:
    """Run on the chosen database; return {backend: results}."""
    from tests.concurrency.harness import postgres_database

    if backend == "postgresql":
        with postgres_database("clinic_bench") as url:
            return {"postgresql": measure(url, seconds, clients, workers)}
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as folder:
        return {
            "sqlite": measure(f"sqlite:///{Path(folder) / 'bench.db'}", seconds, clients, workers)
        }


def report(results: dict) -> str:
    """Format the results as a Markdown table."""
    lines = [
        "| database | run | created/s | requests/s | x yardstick (goal) | p50 | p95 "
        "| worker CPU per request | statuses | errors | load (1 min) |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|",
    ]
    for backend, r in results.items():
        runs = [r["yardstick"][0], *r["storms"], r["yardstick"][1]]
        for s in runs:
            ratio = f"{s['ratio']:.2f} (>= {s['goal']})" if "ratio" in s else "-"
            lines.append(
                f"| {backend} | {s['label']} | {s['created_per_s']:.0f} "
                f"| {s['requests_per_s']:.0f} | {ratio} | {s['p50_ms']:.1f} ms "
                f"| {s['p95_ms']:.1f} ms | {s['cpu_ms_per_request']:.1f} ms "
                f"| {s['statuses']} | {s['error_count']} | {s['load']:.1f} |"
            )
        lines.append(
            f"\nDouble bookings in the database after the run ({backend}): "
            f"**{r['double_bookings']}**; yardstick mean {r['inserts_per_s']:.0f} INSERTs/s."
        )
    return "\n".join(lines)


def check(results: dict) -> list[str]:
    """Return what went wrong: double bookings or server errors."""
    return [
        f"{backend}: {r['double_bookings']} double bookings, {r['errors']} errors"
        for backend, r in results.items()
        if r["double_bookings"] or r["errors"]
    ]


def record(results: dict) -> None:
    """Hand the ratios to bench/run_all.py's summary."""
    for backend, r in results.items():
        for s in r["storms"]:
            record_ratio(
                f"booking storm, {s['label']} ({backend}) / yardstick",
                s["ratio"],
                f">= {s['goal']}",
                s["ratio"] >= s["goal"],
            )


def main() -> None:
    """Parse the arguments, run, print; exit non-zero on a double booking or a 5xx."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--write", metavar="FILE", help="put the table in this Markdown file")
    args = parser.parse_args()
    results = run(args.seconds, args.clients, args.workers, args.backend)
    table = report(results)
    print(table)
    print(f"Machine at the end: {machine()}")
    record(results)
    if args.write:
        write_section(
            Path(args.write),
            "booking_throughput.py",
            f"Measured {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {args.clients} clients, "
            f"{args.seconds:.0f} s a run, {args.workers} gunicorn workers; machine at the end: "
            f"{machine()}.\n\n{table}",
        )
    if problems := check(results):
        for r in results.values():
            for s in r["yardstick"] + r["storms"]:
                if s.get("server_log"):
                    print(s["errors"], s["server_log"], sep="\n")
        raise SystemExit(f"FAILED: {'; '.join(problems)}")


if __name__ == "__main__":
    main()
