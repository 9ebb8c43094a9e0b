"""Benchmark the owner's reports over a year of a 12-chair site (goal: each under 1 s).

    .venv/bin/python bench/reports.py                        # SQLite and PostgreSQL
    .venv/bin/python bench/reports.py --backend sqlite --runs 5

One site open Monday-Saturday 08:00-18:00 with 12 chairs, three visits a chair a day for a
year (about 11,000 visits: 85 % discharged, 6 % no-shows, 9 % cancelled, a third of those
late), each with its events and its discharge alerts, inserted in bulk; plus a year of
another site as large, which every query must leave out. Each report of the whole year is
computed through the service (the SQL aggregates and the medians), `runs` times in turn;
the figure is the median. PostgreSQL comes from TEST_DATABASE_URL (default: postgres on
127.0.0.1:5432); a database clinic_bench_<random> is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from common import machine
from dashboard import BenchConfig, _postgres_database, with_default_type
from sqlalchemy import insert

from clinic import create_app
from clinic.extensions import db
from clinic.models import Chair, Notification, Patient, Visit, VisitEvent
from clinic.services import reports, staff
from clinic.services.setup import save_site
from clinic.types import utcnow
from clinic.web.report_tables import KINDS, compute

CHAIRS, PATIENTS = 12, 600
FIRST, LAST = date(2025, 11, 1), date(2026, 10, 31)
STARTS = (8, 11, 14)  # local hours: 45 + 120 minutes and turnover fit three a day
TZ = ZoneInfo("America/Chicago")
HOURS = {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": None}
PG_ADMIN = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def build(seed: int = 5, analyze: bool = True) -> int:
    """Fill an empty database with two sites' year; return the measured site's id."""
    db.create_all()
    sites = [save_site(None, {"name": n, "opening_hours": HOURS}, now=utcnow()) for n in "AB"]
    for site in sites:
        db.session.add_all([Chair(site_id=site.id, name=f"Chair {i + 1}") for i in range(CHAIRS)])
    db.session.commit()
    rng = random.Random(seed)
    for site in sites:
        _year(site.id, rng)
    # Fresh statistics, as autovacuum (PostgreSQL) or `ANALYZE` would give after a bulk load:
    # without them PostgreSQL guesses a few dozen visits and loops over all of them per day.
    if analyze:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return sites[0].id


def _year(site_id: int, rng: random.Random) -> None:
    """Insert a year of visits, events and alerts at a site."""
    chairs = list(db.session.scalars(sa.select(Chair.id).where(Chair.site_id == site_id)))
    now = utcnow()
    db.session.execute(
        insert(Patient),
        [
            {
                "site_id": site_id,
                "mrn": f"R{site_id}-{i:06d}",
                "given_name": "Dana",
                "family_name": f"Patient{i}",
                "birth_date": date(1980, 1, 1),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(PATIENTS)
        ],
    )
    patients = list(db.session.scalars(sa.select(Patient.id).where(Patient.site_id == site_id)))
    visits, plans = [], []
    day = FIRST
    while day <= LAST:
        if day.weekday() < 6:
            for chair in chairs:
                for hour in STARTS:
                    start = datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)
                    row, plan = _visit(site_id, chair, rng.choice(patients), start, rng)
                    visits.append(row)
                    plans.append(plan)
        day += timedelta(days=1)
    db.session.execute(insert(Visit), with_default_type(visits))
    ids = list(
        db.session.scalars(sa.select(Visit.id).where(Visit.site_id == site_id).order_by(Visit.id))
    )
    events, alerts = [], []
    for visit_id, plan in zip(ids, plans, strict=True):
        events += [{"visit_id": visit_id, **e} for e in plan["events"]]
        alerts += [{"visit_id": visit_id, "site_id": site_id, **a} for a in plan["alerts"]]
    db.session.execute(insert(VisitEvent), events)
    db.session.execute(insert(Notification), alerts)
    db.session.commit()


def _visit(site_id, chair_id, patient_id, start, rng) -> tuple[dict, dict]:
    """Return one visit row and its events and alerts, its outcome drawn at random."""
    end, minutes = start + timedelta(minutes=45), timedelta(minutes=1)
    row = {
        "patient_id": patient_id,
        "site_id": site_id,
        "chair_id": chair_id,
        "infusion_start": start,
        "infusion_end": end,
        "observation_end": end + 120 * minutes,
        "infusion_minutes": 45,
        "observation_minutes": 120,
        "chair_released_at": end + 135 * minutes,
        "extension_minutes": 0,
        "notes": "",
        "created_at": start - timedelta(days=7),
        "updated_at": start,
        "status": "discharged",
    }
    plan: dict[str, list] = {"events": [], "alerts": []}
    luck = rng.random()
    if luck < 0.06:
        row["status"] = "no_show"
        plan["events"].append(_event("no_show", start + 20 * minutes))
        return row, plan
    if luck < 0.15:
        row["status"] = "cancelled"
        ahead = timedelta(hours=rng.choice((2, 12, 48, 96, 200)))
        plan["events"].append(_event("cancel", start - ahead))
        return row, plan
    checked_in = start - rng.randint(0, 20) * minutes
    started = start + rng.randint(0, 15) * minutes
    ended = started + rng.randint(42, 60) * minutes
    due = ended + 120 * minutes
    discharged = due + rng.randint(-5, 40) * minutes
    row |= {
        "checked_in_at": checked_in,
        "infusion_started_at": started,
        "infusion_ended_at": ended,
        "discharge_due_at": due,
        "discharged_at": discharged,
    }
    for kind, at in (("check_in", checked_in), ("start_infusion", started)):
        plan["events"].append(_event(kind, at))
    plan["events"] += [_event("end_infusion", ended), _event("discharge", discharged)]
    if discharged >= due:
        acked = due + rng.randint(5, 300) * timedelta(seconds=1)
        plan["alerts"].append(_alert("discharge_due", due, acked))
    if discharged >= due + 15 * minutes:
        plan["alerts"].append(_alert("discharge_overdue", due + 15 * minutes, None))
    return row, plan


def _event(kind: str, at: datetime) -> dict:
    return {"type": kind, "at": at, "recorded_at": at, "data": {}}


def _alert(kind: str, due: datetime, acked: datetime | None) -> dict:
    return {"kind": kind, "due_at": due, "created_at": due, "acknowledged_at": acked}


def measure(url: str, runs: int, analyze: bool = True) -> dict[str, float]:
    """Build the year on a database and time each report of it; return medians in ms."""
    app = create_app(BenchConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        site_id = build(analyze=analyze)
        admin = staff.create_user("admin@bench.test", "Admin", "admin", [], now=utcnow())
        span = reports.report_span(admin, site_id, FIRST, LAST)
        visits = db.session.scalar(sa.select(sa.func.count(Visit.id)))
        timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(runs):
            for kind in KINDS:
                db.session.expire_all()
                began = time.perf_counter()
                compute(kind, span, utcnow())
                timings[kind].append((time.perf_counter() - began) * 1000)
        db.session.remove()
        db.engine.dispose()
    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    return {"visits_in_database": float(visits or 0), **medians}


def main() -> None:
    """Run the benchmark on the chosen databases and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after loading")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    results: dict[str, dict[str, float]] = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            results["sqlite"] = measure(
                f"sqlite:///{Path(folder) / 'reports.db'}", args.runs, not args.no_analyze
            )
    if args.backend in ("postgresql", "both"):
        url, drop = _postgres_database(PG_ADMIN)
        try:
            results["postgresql"] = measure(url, args.runs, not args.no_analyze)
        finally:
            drop()
    print(f"\nA year ({FIRST} .. {LAST}) of a {CHAIRS}-chair site, median of {args.runs} runs:")
    print("| report | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    slow = []
    for kind in KINDS:
        cells = [f"{results[b][kind]:.0f} ms" for b in results]
        print(f"| {kind} | " + " | ".join(cells) + " |")
        slow += [f"{kind} on {b}" for b in results if results[b][kind] >= 1000]
    rows = {b: int(r["visits_in_database"]) for b, r in results.items()}
    print(f"(visits in each database, both sites: {rows})")
    if slow:
        raise SystemExit(f"over the 1 s goal: {', '.join(slow)}")


if __name__ == "__main__":
    main()
