"""Benchmark: the alternatives of a refused booking (services.alternatives.suggest).

Builds a fresh PostgreSQL database (TEST_DATABASE_URL or 127.0.0.1:5432) with a site of
12 chairs open 08:00-18:00 (`--always-open`: around the clock, as in the booking storm of
bench/booking_throughput.py), three weeks booked at about 85 % of the chair time, and
patients of three kinds:
one with no other visit, one with a visit every other day (most starts of the window are
then too soon after one of them), and one whose clearance ends mid-window. Each asks for a
taken chair mid-week; a reschedule of one of the busy patient's visits is refused too.
Times `suggest` for each case N times (fresh session each run, as a request has) next to
a successful booking's rule check (`booking.evaluate`), and reports the medians of wall
time and of this process's CPU time, the SQL statements per call and the machine.
`--profile` prints a cProfile of the refusals (SORT=tottime to order by own time).

    .venv/bin/python bench/alternatives.py [--runs 20] [--always-open] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from common import machine, median  # also puts the repository on sys.path

CHAIRS = 12
DAYS = 21
NURSES = 4
FILL = 0.85
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
WEEKDAY_STARTS = [(8, 0), (11, 0), (14, 0)]
SATURDAY_STARTS = [(9, 0)]
# --always-open: the booking storm's site (bench/booking_throughput.py), open around the
# clock, a visit every three hours in each chair.
ALL_DAY = {day: ["00:00", "24:00"] for day in HOURS}
ALL_DAY_STARTS = [(hour, 0) for hour in range(0, 24, 3)]


def _local(day, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def build(always_open: bool) -> dict:
    """Fill the database (in an app context) and return the ids the cases need."""
    from flask_migrate import upgrade

    from clinic.domain.booking import Plan, RecoveryMode, holds_for
    from clinic.extensions import db
    from clinic.models import Chair, Clearance, Patient, Shift, Visit
    from clinic.services import setup, staff
    from clinic.types import utcnow

    rng = random.Random(12)
    logging.disable(logging.INFO)
    upgrade()
    logging.disable(logging.NOTSET)
    site = setup.save_site(
        None,
        {"name": "Bench", "opening_hours": ALL_DAY if always_open else HOURS, "nurse_ratio": 4},
        now=utcnow(),
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
        for n in range(60)
    ]
    db.session.add_all(patients)
    db.session.flush()
    today = datetime.now(TZ).date()
    # The asked day: a Wednesday in the second week, so both sides of it are booked.
    asked_day = today + timedelta(days=7 + (2 - today.weekday()) % 7)
    free, busy, lapsing = patients[-3:]
    for patient, until in ((free, 60), (busy, 60), (lapsing, (asked_day - today).days + 2)):
        db.session.add(
            Clearance(
                patient_id=patient.id,
                practitioner_id=doc.id,
                evaluated_on=today - timedelta(days=7),
                valid_until=today + timedelta(days=until),
                cleared=True,
                consent_signed=True,
                contraindications=[],
                notes="",
            )
        )
    visits, shifts = [], []

    def visit(patient, chair, start) -> Visit:
        plan = Plan(0, chair.id, start, 45, 120)
        hold = holds_for(plan, RecoveryMode.CHAIR, 15).chair
        return Visit(
            patient_id=patient.id,
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

    own = []
    for offset in range(1, DAYS + 1):
        day = today + timedelta(days=offset)
        starts = {5: SATURDAY_STARTS, 6: []}.get(day.weekday(), WEEKDAY_STARTS)
        if always_open:
            starts = ALL_DAY_STARTS
        if not starts:
            continue
        opens = _local(day, 0) if always_open else _local(day, 7)
        for user in [*nurses, doc]:
            shifts.append(
                Shift(
                    site_id=site.id,
                    user_id=user.id,
                    role=user.role,
                    starts_at=opens.astimezone(UTC),
                    ends_at=(opens + timedelta(hours=24 if always_open else 12)).astimezone(UTC),
                )
            )
        for index, chair in enumerate(chairs):
            for hour, minute in starts:
                local = _local(day, hour, minute) + timedelta(minutes=15 * (index % 4))
                if index == 0 and (hour, minute) == starts[-1] and offset % 2 == 0:
                    own.append(visit(busy, chair, local.astimezone(UTC)))  # every other day
                elif rng.random() <= FILL:
                    visits.append(visit(patients[len(visits) % 57], chair, local.astimezone(UTC)))
    db.session.add_all(shifts + visits + own)
    db.session.commit()
    moved = min(own, key=lambda v: abs(v.infusion_start - _local(asked_day, 10)))
    return {
        "clerk_id": clerk.id,
        "site_id": site.id,
        "chair_id": chairs[1].id,
        "asked": _local(asked_day, 10).astimezone(UTC),
        "free": free.id,
        "busy": busy.id,
        "lapsing": lapsing.id,
        "moved": moved.id,
        "visits": len(visits) + len(own),
    }


def cases(built: dict) -> dict:
    """Return {name: a call} for each refused request and a successful check."""
    from clinic.extensions import db
    from clinic.models import User
    from clinic.services import alternatives, booking

    def request(patient: str, **fields) -> booking.Request:
        values = {"site_id": built["site_id"], "chair_id": built["chair_id"]} | fields
        return booking.Request(patient_id=built[patient], infusion_start=built["asked"], **values)

    def clerk() -> User:
        return db.session.get(User, built["clerk_id"])

    now = datetime.now(UTC)
    return {
        "refused, free patient": lambda: alternatives.suggest(clerk(), request("free"), now),
        "refused, visits every 2nd day": lambda: alternatives.suggest(
            clerk(), request("busy"), now
        ),
        "refused, clearance lapses": lambda: alternatives.suggest(clerk(), request("lapsing"), now),
        "refused reschedule": lambda: alternatives.suggest(
            clerk(), request("busy"), now, exclude_visit_id=built["moved"]
        ),
        "booking check (evaluate)": lambda: booking.evaluate(
            clerk(), request("free", chair_id=None), now
        ),
    }


def measure(db_url: str, runs: int, profile: bool, always_open: bool) -> tuple[dict, int, str]:
    """Build the site and time every case `runs` times, interleaved."""
    import sqlalchemy as sa

    from clinic import create_app
    from clinic.extensions import db
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context():
        built = build(always_open)
        calls = cases(built)
        statements = 0

        def count(*args) -> None:
            nonlocal statements
            statements += 1

        sa.event.listen(db.engine, "before_cursor_execute", count)
        timings: dict[str, list[float]] = {name: [] for name in calls}
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        answers: dict[str, tuple[int, int]] = {}
        for _ in range(runs + 1):  # the first round warms caches and is dropped
            for name, call in calls.items():
                db.session.remove()
                statements = 0
                started, cpu_started = time.perf_counter(), time.process_time()
                result = call()
                timings[name].append((time.perf_counter() - started) * 1000)
                # This process's CPU: the app's own cost, however busy the machine is.
                cpu[name].append((time.process_time() - cpu_started) * 1000)
                size = len(result) if isinstance(result, list) else len(result[3])
                answers[name] = (size, statements)
        text = ""
        if profile:
            profiler = cProfile.Profile()
            for _ in range(5):
                for name, call in calls.items():
                    if name.startswith("refused"):
                        db.session.remove()
                        profiler.runcall(call)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(
                __import__("os").environ.get("SORT", "cumulative")
            ).print_stats(25)
            text = out.getvalue()
        sa.event.remove(db.engine, "before_cursor_execute", count)
        results = {
            name: {
                "median_ms": median(t[1:]),
                "cpu_ms": median(cpu[name][1:]),
                "answers": answers[name],
            }
            for name, t in timings.items()
        }
        db.session.remove()
        db.engine.dispose()
    return results, built["visits"], text


def main() -> None:
    """Parse the arguments, run on a fresh PostgreSQL database, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--always-open", action="store_true")
    args = parser.parse_args()
    from tests.concurrency.harness import postgres_database

    with postgres_database("clinic_bench") as url:
        results, visits, text = measure(url, args.runs, args.profile, args.always_open)
    print(f"machine: {machine()}")
    hours = "open around the clock" if args.always_open else "open 08:00-18:00"
    print(f"{visits} visits booked, {CHAIRS} chairs, {hours}, {args.runs} runs each")
    for name, r in results.items():
        size, statements = r["answers"]
        print(
            f"{name:<32} median {r['median_ms']:6.1f} ms  app CPU {r['cpu_ms']:6.1f} ms  "
            f"{statements:3d} SQL statements   {size} slots/violations"
        )
    if text:
        print(text)


if __name__ == "__main__":
    main()
