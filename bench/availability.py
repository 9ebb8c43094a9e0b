"""Benchmark: GET /api/v1/availability?days=28 on a site with 12 chairs and a full month.

Builds a fresh database (a SQLite file in a temporary folder, and a PostgreSQL database
when one answers on TEST_DATABASE_URL, default 127.0.0.1:5432), fills 28 days of 12 chairs
densely with visits (about 90 % of the chair time the opening hours allow), then asks, in
turn and N times each with the same token through the Flask test client (no port), for
GET /api/v1/sites/{id} (the yardstick: a plain authenticated read) and for 28 days of
availability with limit=50 and limit=1000. Reports medians, p95, the app's CPU time, the
ratio of each search to the site read (issue 15's goal: at most 3) and the machine's load.
Removes everything it created.

    .venv/bin/python bench/availability.py [--runs 30] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import machine, median, percentile, record_ratio  # also puts the repository on sys.path

from clinic.types import utcnow

CHAIRS = 12
DAYS = 28
NURSES = 4  # 4 nurses x ratio 4 = 16 >= 12 chairs, so capacity never blocks a chair
FILL = 0.9  # share of the possible visits that are booked; the rest are the free slots
TZ = ZoneInfo("America/Chicago")
HOURS = {
    "mon": ["08:00", "18:00"],
    "tue": ["08:00", "18:00"],
    "wed": ["08:00", "18:00"],
    "thu": ["08:00", "18:00"],
    "fri": ["08:00", "18:00"],
    "sat": ["09:00", "14:00"],
    "sun": None,
}
# Chair-mode holds last 45 + 120 + 15 = 180 minutes: three a weekday, one on Saturday.
WEEKDAY_STARTS = [(8, 0), (11, 0), (14, 0)]
SATURDAY_STARTS = [(9, 0)]
GOAL = 3.0  # issue 15: availability at most 3x the plain site read, in the same run


def build(db_url: str) -> dict:
    """Migrate a database and fill it with a dense month; return ids for the requests."""
    from flask_migrate import upgrade

    from clinic import create_app
    from clinic.domain.booking import Plan, RecoveryMode, holds_for
    from clinic.extensions import db
    from clinic.models import Chair, Patient, Shift, Visit
    from clinic.services import setup, staff, tokens
    from config import TestConfig

    rng = random.Random(28)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context():
        logging.disable(logging.INFO)  # alembic's "Running upgrade" lines
        upgrade()
        logging.disable(logging.NOTSET)
        site = setup.save_site(
            None, {"name": "Bench", "opening_hours": HOURS, "nurse_ratio": 4}, now=utcnow()
        )
        chairs = [Chair(site_id=site.id, name=f"Chair {n + 1}") for n in range(CHAIRS)]
        db.session.add_all(chairs)
        clerk = staff.create_user("desk@bench.test", "Desk", "front_desk", [site.id], now=utcnow())
        nurses = [
            staff.create_user(f"n{n}@bench.test", f"Nurse {n}", "nurse", [site.id], now=utcnow())
            for n in range(NURSES)
        ]
        doc = staff.create_user("doc@bench.test", "Doc", "practitioner", [site.id], now=utcnow())
        patients = [
            Patient(
                site_id=site.id,
                mrn=f"B{n:05d}",
                given_name="Pat",
                family_name=f"Bench{n}",
                birth_date=datetime(1980, 1, 1).date(),
            )
            for n in range(120)
        ]
        db.session.add_all(patients)
        db.session.flush()

        today = datetime.now(TZ).date()
        visits, shifts = [], []
        for offset in range(DAYS + 1):
            day = today + timedelta(days=offset)
            starts = {5: SATURDAY_STARTS, 6: []}.get(day.weekday(), WEEKDAY_STARTS)
            if not starts:
                continue
            opens = datetime.combine(day, datetime.min.time(), tzinfo=TZ) + timedelta(hours=7)
            for user in [*nurses, doc]:
                shifts.append(
                    Shift(
                        site_id=site.id,
                        user_id=user.id,
                        role=user.role,
                        starts_at=opens.astimezone(UTC),
                        ends_at=(opens + timedelta(hours=12)).astimezone(UTC),
                    )
                )
            for index, chair in enumerate(chairs):
                for hour, minute in starts:
                    if rng.random() > FILL:
                        continue
                    # Stagger the chairs by 0-45 minutes, as a real day is staggered.
                    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
                    start = (local + timedelta(minutes=15 * (index % 4))).astimezone(UTC)
                    plan = Plan(0, chair.id, start, 45, 120)
                    hold = holds_for(plan, RecoveryMode.CHAIR, 15).chair
                    visits.append(
                        Visit(
                            patient_id=patients[(len(visits) * 7) % len(patients)].id,
                            site_id=site.id,
                            chair_id=chair.id,
                            recovery_chair_id=chair.id,
                            status="booked",
                            infusion_start=start,
                            infusion_end=plan.infusion.end,
                            observation_end=plan.recovery.end,
                            infusion_minutes=45,
                            observation_minutes=120,
                            chair_released_at=hold.end,
                            created_at=datetime.now(UTC),
                        )
                    )
        db.session.add_all(shifts + visits)
        db.session.commit()
        token = tokens.issue(clerk, utcnow())[1]
        result = {"site_id": site.id, "token": token, "visits": len(visits), "day": today}
        db.session.remove()
        db.engine.dispose()
    return result


def _timed(client, url: str, headers: dict) -> tuple[float, float, dict]:
    """Ask once; return wall and CPU milliseconds and the JSON answer (200 or an error)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(url, headers=headers)
    wall = (time.perf_counter() - started) * 1000
    # CPU time of this process: what the app itself costs, whatever else the machine is
    # busy with (the database server's own work is not in it).
    cpu = (time.process_time() - cpu_started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url.split('?')[0]} answered {response.status_code}")
    return wall, cpu, response.get_json()


def measure(db_url: str, runs: int) -> dict:
    """Build the month on a database; time availability and the plain site read, interleaved."""
    from clinic import create_app
    from clinic.extensions import db
    from config import TestConfig

    built = build(db_url)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {built['token']}"}
    base = f"/api/v1/availability?site_id={built['site_id']}&date={built['day'].isoformat()}"
    urls = {
        "site read": f"/api/v1/sites/{built['site_id']}",
        "limit=50": f"{base}&days={DAYS}&limit=50",
        "limit=1000": f"{base}&days={DAYS}&limit=1000",
    }
    for url in urls.values():
        _timed(client, url, headers)  # warm caches and the connection pool
    samples: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in urls}
    slots = {}
    # Round-robin, so the yardstick and the searches see the same machine load.
    for _ in range(runs):
        for label, url in urls.items():
            wall, cpu, body = _timed(client, url, headers)
            samples[label]["wall"].append(wall)
            samples[label]["cpu"].append(cpu)
            if label != "site read":
                slots[label] = len(body["slots"])
    results: dict = {"visits": built["visits"]}
    for label, sample in samples.items():
        results[label] = {
            "median_ms": median(sample["wall"]),
            "p95_ms": percentile(sample["wall"], 0.95),
            "cpu_median_ms": median(sample["cpu"]),
        }
    for label, count in slots.items():
        read = results["site read"]
        results[label]["slots"] = count
        results[label]["ratio"] = results[label]["median_ms"] / read["median_ms"]
        results[label]["cpu_ratio"] = results[label]["cpu_median_ms"] / read["cpu_median_ms"]
    with app.app_context():
        db.engine.dispose()
    return results


def run(runs: int = 30, backend: str = "both") -> dict:
    """Run the benchmark on the chosen databases; return {backend: results}."""
    import sqlalchemy as sa

    from tests.concurrency.harness import postgres_database

    results = {}
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="clinic-bench-") as folder:
            results["sqlite"] = measure(f"sqlite:///{Path(folder) / 'bench.db'}", runs)
    if backend in ("postgresql", "both"):
        try:
            with postgres_database("clinic_bench") as url:
                results["postgresql"] = measure(url, runs)
        except sa.exc.OperationalError as error:
            if backend == "postgresql":
                raise
            print(f"(PostgreSQL not reachable, skipped: {str(error).splitlines()[0]})")
    return results


def report(results: dict) -> list[str]:
    """Format the results as table rows: medians, p95 and the ratio to the site read."""
    rows = []
    for backend, result in results.items():
        read = result["site read"]
        rows.append(
            f"GET /sites/{{id}} (yardstick)       {backend:<10} "
            f"median {read['median_ms']:7.1f} ms   p95 {read['p95_ms']:7.1f} ms   "
            f"app CPU median {read['cpu_median_ms']:6.1f} ms"
        )
        for label in ("limit=50", "limit=1000"):
            r = result[label]
            rows.append(
                f"availability days={DAYS} {label:<10} {backend:<10} "
                f"median {r['median_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
                f"app CPU median {r['cpu_median_ms']:6.1f} ms   "
                f"ratio {r['ratio']:4.2f} (CPU {r['cpu_ratio']:4.2f}, goal <= {GOAL:g})   "
                f"({r['slots']} slots, {result['visits']} visits booked)"
            )
    return rows


def main() -> None:
    """Parse the arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    print(f"before: {machine()}")
    results = run(args.runs, args.backend)
    for row in report(results):
        print(row)
    for backend, result in results.items():
        for label, figures in result.items():
            if isinstance(figures, dict) and "ratio" in figures:
                ratio, default = figures["ratio"], label == "limit=50"  # the API's default
                name = f"availability 28 days {label} ({figures['slots']} slots) / site read"
                goal = f"<= {GOAL:g}" if default else "grows with the slots"
                record_ratio(f"{name} ({backend})", ratio, goal, ratio <= GOAL if default else None)
    print(f"after:  {machine()}")


if __name__ == "__main__":
    main()
