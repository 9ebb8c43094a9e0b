"""Discharge alarms: lateness of 1,000 alarms due within a minute, and catch-up after an outage.

    .venv/bin/python bench/alerts.py [--backend postgresql|sqlite|both] [--visits 1000]
        [--window 60] [--outage 60] [--postgres ADMIN_URL] [--write docs/benchmarks.md]

For each database the script creates its own (and drops it), starts a local SMTP server
(aiosmtpd) and a local webhook receiver on 127.0.0.1, and runs the real scheduler process
(`python -m flask --app wsgi scheduler`) against them:

1. Live: `--visits` recovering visits whose discharge falls due evenly within `--window`
   seconds (from 5 s after they are written). Lateness = notification row's created_at minus
   the due instant; delivery lateness = arrival at the receiver minus the due instant (one
   webhook per alarm, one e-mail per alarm to each of the two nurses on shift).
2. Outage: the scheduler is stopped, `--visits` more visits fall due during the next
   `--outage` seconds, then the scheduler is started again. Measured: the time from the
   restart (process spawned; and scheduler code running, after Python has imported the app)
   until every missed alarm has its notification. Duplicates are counted: notifications per
   (visit, kind), webhook posts per notification, e-mails per (visit, recipient).

Only 127.0.0.1 traffic (ports from BENCH_PORT_BASE if set, else free ones); everything it
starts it stops. Each database's tables are printed as soon as that database is done.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa
from common import ROOT, bench_port, machine, percentile
from sqlalchemy import func, insert, select

from clinic import create_app
from clinic.extensions import db
from clinic.models import (
    Chair,
    Delivery,
    Notification,
    Patient,
    SchedulerHeartbeat,
    Shift,
    Site,
    User,
    Visit,
)
from clinic.services.setup import save_site
from clinic.types import utcnow
from config import TestConfig

CHAIRS = 24
NURSES = 2
LEAD_SECONDS = 5.0  # the first alarm of a batch is due this long after the batch is written


# ---------------------------------------------------------------- receivers


class Webhooks:
    """A local webhook receiver: arrival time of every POST, by notification id."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, float]] = []
        lock = threading.Lock()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.time()
                with lock:
                    arrivals.append((json.loads(body)["notification_id"], at))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", bench_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """A local SMTP server: arrival time of every message, by visit id and recipient."""

    VISIT = re.compile(rb"Visit: (\d+)")

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[tuple[int, str, float]] = []
        arrivals = self.arrivals

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                at = time.time()
                visit = int(Mailbox.VISIT.search(envelope.content).group(1))
                for to in envelope.rcpt_tos:
                    arrivals.append((visit, to, at))
                return "250 OK"

        port = bench_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.port = port

    def close(self) -> None:
        """Stop serving."""
        self.controller.stop()


# ---------------------------------------------------------------- databases


def postgres_database(admin_url: str) -> tuple[str, callable]:
    """Create a database of our own; return its URL and a function that drops it."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_alerts_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return engine.url.set(database=name).render_as_string(hide_password=False), drop


def prepare(app, visits: int) -> dict:
    """Create the schema, a site, chairs, nurses on shift and 2 x `visits` patients."""
    now = datetime.now(UTC)
    with app.app_context():
        db.create_all()
        site = save_site(
            None,
            {
                "name": "Austin",
                "opening_hours": {
                    key: ["00:00", "24:00"]
                    for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
            },
            now=utcnow(),
        )
        db.session.execute(
            insert(Chair), [{"site_id": site.id, "name": f"Chair {i + 1}"} for i in range(CHAIRS)]
        )
        db.session.execute(
            insert(User),
            [
                {"email": f"nurse{i}@bench.test", "name": f"Nurse {i}", "role": "nurse"}
                for i in range(NURSES)
            ],
        )
        db.session.flush()
        nurse_ids = db.session.scalars(select(User.id).where(User.role == "nurse")).all()
        db.session.execute(
            insert(Shift),
            [
                {
                    "site_id": site.id,
                    "user_id": uid,
                    "role": "nurse",
                    "starts_at": now - timedelta(hours=1),
                    "ends_at": now + timedelta(hours=8),
                }
                for uid in nurse_ids
            ],
        )
        db.session.execute(
            insert(Patient),
            [
                {
                    "site_id": site.id,
                    "mrn": f"B{i:06d}",
                    "given_name": "Bench",
                    "family_name": f"Patient{i}",
                    "birth_date": date(1980, 1, 1),
                }
                for i in range(2 * visits)
            ],
        )
        db.session.commit()
        return {
            "site_id": site.id,
            "chair_ids": db.session.scalars(select(Chair.id).order_by(Chair.id)).all(),
            "patient_ids": db.session.scalars(select(Patient.id).order_by(Patient.id)).all(),
        }


def write_visits(app, setup: dict, patient_ids: list[int], first_due: datetime, window: float):
    """Insert recovering visits whose discharge falls due evenly over `window` seconds."""
    now = datetime.now(UTC)
    rows = []
    step = window / max(len(patient_ids) - 1, 1)
    for i, patient_id in enumerate(patient_ids):
        due = first_due + timedelta(seconds=i * step)
        ended = due - timedelta(minutes=60)
        start = ended - timedelta(minutes=45)
        rows.append(
            {
                "patient_id": patient_id,
                "site_id": setup["site_id"],
                "chair_id": setup["chair_ids"][i % CHAIRS],
                "status": "recovering",
                "infusion_start": start,
                "infusion_end": ended,
                "observation_end": due,
                "infusion_minutes": 45,
                "observation_minutes": 60,
                "chair_released_at": due + timedelta(minutes=15),
                "checked_in_at": start - timedelta(minutes=5),
                "infusion_started_at": start,
                "infusion_ended_at": ended,
                "discharge_due_at": due,
                "extension_minutes": 0,
                "notes": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    with app.app_context():
        type_id = db.session.get(Site, setup["site_id"]).default_treatment_type_id
        db.session.execute(insert(Visit), [row | {"treatment_type_id": type_id} for row in rows])
        db.session.commit()
        return dict(
            db.session.execute(
                select(Visit.id, Visit.discharge_due_at).where(Visit.patient_id.in_(patient_ids))
            ).all()
        )


# ---------------------------------------------------------------- the scheduler process


class Scheduler:
    """The real scheduler process on the benchmark's database and receivers."""

    def __init__(self, url: str, env: dict, log: Path) -> None:
        self.log = log.open("a")
        self.spawned = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
            cwd=ROOT,
            env=os.environ | env | {"DATABASE_URL": url, "PYTHONUNBUFFERED": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def wait_until(predicate, timeout: float, every: float = 0.02) -> bool:
    """Poll until the predicate is true or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def leading(app) -> bool:
    """Tell whether a scheduler process has started leading."""
    with app.app_context():
        return bool(
            db.session.scalar(select(func.count()).where(SchedulerHeartbeat.is_leader.is_(True)))
        )


def notification_rows(app, visit_ids) -> list[tuple[int, int, str, datetime, datetime]]:
    """Return (id, visit_id, kind, due_at, created_at) of the visits' notifications."""
    with app.app_context():
        return db.session.execute(
            select(
                Notification.id,
                Notification.visit_id,
                Notification.kind,
                Notification.due_at,
                Notification.created_at,
            ).where(Notification.visit_id.in_(list(visit_ids)))
        ).all()


def count_notifications(app, visit_ids) -> int:
    """Count the notifications of some visits."""
    with app.app_context():
        return db.session.scalar(
            select(func.count(Notification.id)).where(Notification.visit_id.in_(list(visit_ids)))
        )


def stats_ms(values: list[float]) -> dict:
    """Return p50, p99 and max in milliseconds, and how many values there were."""
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "min_ms": round(min(values) * 1000, 1) if values else float("nan"),
    }


# ---------------------------------------------------------------- the run


def run(backend: str, url: str, visits: int, window: float, outage: float, tmp: Path) -> dict:
    """Run both phases on one database; return the figures."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    setup = prepare(app, visits)
    hooks, mail = Webhooks(), Mailbox()
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "alerts@bench.test",
        "WEBHOOK_URLS": hooks.url,
        "WEBHOOK_SECRET": "bench",
    }
    log = tmp / f"scheduler-{backend}.log"
    scheduler: Scheduler | None = None
    result: dict = {"backend": backend, "visits": visits, "window_s": window, "outage_s": outage}
    try:
        # Phase 1: live.
        scheduler = Scheduler(url, env, log)
        assert wait_until(lambda: leading(app), 60, 0.1), "the scheduler did not start"
        first_due = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
        live = write_visits(app, setup, setup["patient_ids"][:visits], first_due, window)
        print(f"[{backend}] {visits} alarms due {first_due:%H:%M:%S} + {window:.0f} s ...")
        deadline = LEAD_SECONDS + window + 60
        assert wait_until(lambda: count_notifications(app, live) >= visits, deadline, 0.5)
        wanted_mail = visits * NURSES
        wait_until(
            lambda: len(hooks.arrivals) >= visits and len(mail.arrivals) >= wanted_mail, 60, 0.2
        )
        rows = notification_rows(app, live)
        result["live"] = live_figures(rows, live, hooks, mail)

        # Phase 2: outage.
        scheduler.stop()
        stopped = time.time()
        missed_first = datetime.now(UTC) + timedelta(seconds=1)
        missed = write_visits(
            app, setup, setup["patient_ids"][visits : 2 * visits], missed_first, outage - 2
        )
        print(f"[{backend}] scheduler stopped; {visits} alarms fall due in the {outage:.0f} s")
        time.sleep(max(0.0, stopped + outage - time.time()))
        hooks_before = len(hooks.arrivals)
        scheduler = Scheduler(url, env, log)
        spawned = scheduler.spawned
        ok = wait_until(lambda: count_notifications(app, missed) >= visits, 60)
        all_fired = time.time()
        assert ok, "the missed alarms did not all fire"
        with app.app_context():
            runner_started = db.session.scalar(
                select(SchedulerHeartbeat.started_at).where(
                    SchedulerHeartbeat.instance_id.endswith(f":{scheduler.process.pid}")
                )
            )
        wait_until(lambda: len(hooks.arrivals) - hooks_before >= visits, 60, 0.1)
        delivered = time.time()
        time.sleep(3.0)  # a few more reconciles, in case anything would fire twice
        rows = notification_rows(app, missed)
        result["outage"] = {
            "missed": len(missed),
            "fired": len(rows),
            "restart_to_all_fired_s": round(all_fired - spawned, 3),
            "scheduler_start_to_all_fired_s": round(all_fired - runner_started.timestamp(), 3),
            "python_startup_s": round(runner_started.timestamp() - spawned, 3),
            "restart_to_all_webhooks_s": round(delivered - spawned, 3),
        }
        scheduler.stop()
        result["duplicates"] = duplicates(app, hooks, mail)
    finally:
        if scheduler is not None and scheduler.process.poll() is None:
            scheduler.stop()
        hooks.close()
        mail.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return result


def live_figures(rows, live: dict, hooks: Webhooks, mail: Mailbox) -> dict:
    """Lateness of the notification rows and of each channel's arrivals."""
    due_rows = [r for r in rows if r.kind == "discharge_due"]
    lateness = [(r.created_at - r.due_at).total_seconds() for r in due_rows]
    due_by_notification = {r.id: r.due_at.timestamp() for r in due_rows}
    webhook = [at - due_by_notification[n] for n, at in hooks.arrivals if n in due_by_notification]
    email = [at - live[v].timestamp() for v, _, at in mail.arrivals if v in live]
    return {
        "notification": stats_ms(lateness),
        "early": sum(1 for x in lateness if x < 0),
        "webhook": stats_ms(webhook),
        "email": stats_ms(email),
    }


def duplicates(app, hooks: Webhooks, mail: Mailbox) -> dict:
    """Count everything that happened more than once."""
    with app.app_context():
        per_alarm = db.session.execute(
            select(func.count()).select_from(
                select(Notification.visit_id, Notification.kind)
                .group_by(Notification.visit_id, Notification.kind)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar()
        failed = db.session.scalar(select(func.count(Delivery.id)).where(Delivery.status != "sent"))
    posts = Counter(n for n, _ in hooks.arrivals)
    mails = Counter((v, to) for v, to, _ in mail.arrivals)
    return {
        "notifications": per_alarm,
        "webhook_posts": sum(c - 1 for c in posts.values()),
        "emails": sum(c - 1 for c in mails.values()),
        "deliveries_not_sent": failed,
    }


# ---------------------------------------------------------------- report


def report(results: list[dict]) -> str:
    """Return the Markdown tables."""
    lines = [
        "| database | alarms | lateness to notification p50 / p99 / max | early | "
        "webhook arrival p50 / p99 / max | e-mail arrival p50 / p99 / max (messages) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        live = r["live"]
        n, w, e = live["notification"], live["webhook"], live["email"]
        lines.append(
            f"| {r['backend']} | {n['n']:,} | {n['p50_ms']} / {n['p99_ms']} / {n['max_ms']} ms "
            f"| {live['early']} | {w['p50_ms']} / {w['p99_ms']} / {w['max_ms']} ms "
            f"| {e['p50_ms']} / {e['p99_ms']} / {e['max_ms']} ms ({e['n']:,}) |"
        )
    lines += [
        "",
        "| database | missed during the outage | fired | restart to all fired "
        "(process spawned) | of which Python start-up | scheduler start to all fired "
        "| restart to all webhooks | duplicates (notifications / posts / e-mails) "
        "| deliveries not sent |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        o, d = r["outage"], r["duplicates"]
        lines.append(
            f"| {r['backend']} | {o['missed']:,} in {r['outage_s']:.0f} s | {o['fired']:,} "
            f"| {o['restart_to_all_fired_s']:.2f} s | {o['python_startup_s']:.2f} s "
            f"| {o['scheduler_start_to_all_fired_s']:.2f} s "
            f"| {o['restart_to_all_webhooks_s']:.2f} s "
            f"| {d['notifications']} / {d['webhook_posts']} / {d['emails']} "
            f"| {d['deliveries_not_sent']} |"
        )
    return "\n".join(lines)


START = "<!-- bench/alerts.py: start -->"
END = "<!-- bench/alerts.py: end -->"


def write_section(path: Path, table: str) -> None:
    """Put the tables between this benchmark's markers in the file (appended if missing)."""
    figures = (
        f"{START}\nMeasured {datetime.now(UTC).date()}: {platform.python_implementation()} "
        f"{platform.python_version()}; {machine()}.\n\n{table}\n{END}"
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + figures + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + figures + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--write", metavar="FILE", help="put the figures in this Markdown file")
    args = parser.parse_args(argv)
    results = []

    def done(result: dict) -> None:
        """Keep a database's figures and print its tables at once."""
        results.append(result)
        print(report([result]), json.dumps(result, indent=2, default=str), sep="\n", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.backend in ("postgresql", "both"):
            url, drop = postgres_database(args.postgres)
            try:
                done(run("PostgreSQL", url, args.visits, args.window, args.outage, tmp_path))
            finally:
                drop()
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{tmp_path / 'bench-alerts.db'}"
            done(run("SQLite", url, args.visits, args.window, args.outage, tmp_path))
    table = report(results)
    if len(results) > 1:
        print(table)
    if args.write:
        write_section(Path(args.write), table)
    return results


if __name__ == "__main__":
    main()
