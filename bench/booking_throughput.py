"""Benchmark: booking throughput and latency through gunicorn, and no double booking.

Creates its own PostgreSQL database (on TEST_DATABASE_URL or 127.0.0.1:5432), migrates it,
sets up an always-open site with 12 chairs and enough nurses, serves the app with gunicorn
(4 workers) on 127.0.0.1, and lets 16 client threads POST /api/v1/visits for about
10 seconds: most requests ask for a slot no one else asks for (distinct), the rest fight
over a handful of hot slots (colliding). Reports successful bookings per second, requests
per second, p50/p95 latency, answers by status, and the number of overlapping active chair
holds afterwards (a SQL self-join: must be 0). Stops gunicorn and drops the database.

    .venv/bin/python bench/booking_throughput.py [--seconds 10] [--clients 16]
        [--backend postgresql|sqlite|both]
"""

from __future__ import annotations

import argparse
import http.client
import random
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from common import median, percentile  # also puts the repository on sys.path

CHAIRS = 12
HOLD = timedelta(minutes=45 + 120 + 15)  # chair mode: infusion + observation + turnover
HOT_SLOTS = 4
COLLIDING_SHARE = 0.25
SLOT_DAYS = 20  # distinct slots: 12 chairs x 8 holds a day x 20 days = 1920


def measure(db_url: str, seconds: float, clients: int, workers: int) -> dict:
    """Set up the clinic, serve it, hammer it, and count what happened."""
    from tests.concurrency.harness import (
        gunicorn,
        overlapping_active_chair_holds,
        post_json,
        prepare_clinic,
    )

    # Each client books with two patients of its own: one for its distinct slots (never at
    # the same time twice), one for the hot slots, so patients never block each other.
    clinic = prepare_clinic(
        db_url,
        chairs=CHAIRS,
        patients=2 * clients,
        nurses=4,
        nurse_ratio=4,
        days=SLOT_DAYS + 2,
        clerks=1,
        min_hours_between_infusions=0,
    )
    first = clinic.at(0, day_offset=1)
    per_day = int(timedelta(days=1) / HOLD)
    # Slot i: time step i // CHAIRS, chair i % CHAIRS. A client owns every i with
    # i % clients == its number, so no two of its own slots share a time when clients > 12.
    distinct = [
        (first + HOLD * (i // CHAIRS), clinic.chair_ids[i % CHAIRS])
        for i in range(CHAIRS * per_day * SLOT_DAYS)
    ]
    hot_day = clinic.at(0)  # the hot slots are on the first day, apart from the distinct ones
    hot = [(hot_day + HOLD * n, clinic.chair_ids[0]) for n in range(HOT_SLOTS)]

    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(number: int, token: str) -> None:
        rng = random.Random(number)
        mine = iter(distinct[number::clients])
        own_patient = clinic.patient_ids[2 * number]
        hot_patient = clinic.patient_ids[2 * number + 1]
        host, port = address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        barrier.wait(timeout=30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if rng.random() < COLLIDING_SHARE:
                start, chair = rng.choice(hot)
                patient = hot_patient
            else:
                slot = next(mine, None)
                if slot is None:
                    break
                start, chair = slot
                patient = own_patient
            body = {"patient_id": patient, "chair_id": chair, "infusion_start": start.isoformat()}
            try:
                answer = post_json(conn, "/api/v1/visits", token, body)
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

    with gunicorn(db_url, workers=workers) as server:
        address = server.address
        threads = [
            threading.Thread(target=client, args=(n, clinic.tokens[0])) for n in range(clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 120)
        elapsed = time.monotonic() - started
        log = server.log_tail(60) if errors else ""

    total = sum(statuses.values())
    return {
        "seconds": elapsed,
        "requests": total,
        "booked": statuses[201],
        "requests_per_s": total / elapsed,
        "bookings_per_s": statuses[201] / elapsed,
        "p50_ms": median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "statuses": dict(sorted(statuses.items())),
        "errors": errors[:5],
        "error_count": len(errors),
        "server_log": log,
        "double_bookings": overlapping_active_chair_holds(db_url),
    }


def run(
    seconds: float = 10, clients: int = 16, workers: int = 4, backend: str = "postgresql"
) -> dict:
    """Run on the chosen databases; return {backend: results}."""
    from tests.concurrency.harness import postgres_database

    results = {}
    if backend in ("postgresql", "both"):
        with postgres_database("clinic_bench") as url:
            results["postgresql"] = measure(url, seconds, clients, workers)
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="clinic-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            results["sqlite"] = measure(url, seconds, clients, workers)
    return results


def report(results: dict) -> list[str]:
    """Format the results as table rows."""
    rows = []
    for backend, r in results.items():
        rows.append(
            f"booking via gunicorn      {backend:<10} "
            f"{r['bookings_per_s']:6.1f} bookings/s  {r['requests_per_s']:6.1f} requests/s   "
            f"p50 {r['p50_ms']:6.1f} ms   p95 {r['p95_ms']:6.1f} ms   "
            f"statuses {r['statuses']}   errors {r['error_count']}   "
            f"double bookings {r['double_bookings']}"
        )
    return rows


def main() -> None:
    """Parse the arguments, run, print; exit non-zero on a double booking or a 5xx."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="postgresql")
    args = parser.parse_args()
    results = run(args.seconds, args.clients, args.workers, args.backend)
    for row in report(results):
        print(row)
    if any(r["double_bookings"] or r["error_count"] for r in results.values()):
        raise SystemExit("FAILED: double bookings or server errors; see above")


if __name__ == "__main__":
    main()
