"""A real server for race tests: a migrated database, a small clinic, gunicorn workers.

Shared by the concurrency tests and the benchmarks: everything runs on 127.0.0.1, every
database and process it makes is removed again by the caller's context manager.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from clinic.types import utcnow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHICAGO = ZoneInfo("America/Chicago")
PASSWORD = "race condition proof"  # a throwaway account in a throwaway database
ALL_DAY = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def pg_admin_url() -> str:
    """Return the URL of a PostgreSQL server's maintenance database."""
    return os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


def require_env(name: str) -> bool:
    """Tell whether CI made a suite mandatory."""
    return os.environ.get(name, "") not in ("", "0")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_database(prefix: str = "clinic_conc") -> Iterator[str]:
    """Create an empty PostgreSQL database and drop it (WITH FORCE) afterwards.

    Raises sqlalchemy.exc.OperationalError when no server answers.
    """
    admin_url = sa.make_url(pg_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def flask_cli(db_url: str, *args: str, stdin: str | None = None) -> str:
    """Run `flask --app wsgi ARGS` against a database and return its standard output."""
    env = os.environ | {"DATABASE_URL": db_url, "FLASK_CONFIG": "test"}
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Clinic:
    """What a race needs: ids, the day it happens and the front desk's tokens."""

    db_url: str
    site_id: int
    chair_ids: list[int]
    patient_ids: list[int]
    day: date
    tokens: list[str] = field(default_factory=list)

    def at(self, hour: int, minute: int = 0, day_offset: int = 0) -> datetime:
        """Return an instant of the clinic's race day, in Austin."""
        day = self.day + timedelta(days=day_offset)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


def prepare_clinic(
    db_url: str,
    *,
    chairs: int = 1,
    patients: int = 50,
    nurses: int = 1,
    nurse_ratio: int = 4,
    days: int = 3,
    clerks: int = 1,
    min_hours_between_infusions: int = 24,
) -> Clinic:
    """Migrate the database with the CLI and set up an always-open clinic from tomorrow."""
    from clinic import create_app
    from clinic.extensions import db
    from clinic.services import patients as patients_service
    from clinic.services import setup, staff
    from config import TestConfig

    flask_cli(db_url, "db", "upgrade")
    tomorrow = datetime.now(CHICAGO).date() + timedelta(days=1)
    first = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=CHICAGO) - timedelta(
        days=1
    )
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context():
        site = setup.save_site(
            None,
            {
                "name": "Race",
                "opening_hours": ALL_DAY,
                "nurse_ratio": nurse_ratio,
                "min_hours_between_infusions": min_hours_between_infusions,
            },
            now=utcnow(),
        )
        chair_ids = [
            setup.save_chair(None, {"site_id": site.id, "name": f"Chair {n + 1}"}, now=utcnow()).id
            for n in range(chairs)
        ]
        staff_ids = [
            staff.create_user(
                f"nurse{n}@race.test", f"Nurse {n}", "nurse", [site.id], now=utcnow()
            ).id
            for n in range(nurses)
        ]
        practitioner = staff.create_user(
            "doc@race.test", "Doc", "practitioner", [site.id], now=utcnow()
        )
        on_duty = [(u, "nurse") for u in staff_ids] + [(practitioner.id, "practitioner")]
        for n in range(days + 1):
            starts = first + timedelta(days=n)
            for user_id, role in on_duty:
                setup.add_shift(
                    site.id, user_id, role, starts, starts + timedelta(days=1), now=utcnow()
                )
        patient_ids = []
        for n in range(patients):
            patient = patients_service.create_patient(
                practitioner,
                site.id,
                {
                    "mrn": f"RACE{n:05d}",
                    "given_name": "Pat",
                    "family_name": f"Racer{n}",
                    "birth_date": date(1980, 1, 1),
                    "escort_name": "Escort",
                },
                now=utcnow(),
            )
            patients_service.record_clearance(
                practitioner,
                patient,
                {
                    "evaluated_on": tomorrow - timedelta(days=7),
                    "valid_until": tomorrow + timedelta(days=days + 30),
                    "cleared": True,
                    "consent_signed": True,
                },
                now=utcnow(),
            )
            patient_ids.append(patient.id)
        db.session.commit()
        site_id = site.id
        db.session.remove()
        db.engine.dispose()

    clinic = Clinic(db_url, site_id, chair_ids, patient_ids, tomorrow)
    for n in range(clerks):
        email = f"desk{n}@race.test"
        flask_cli(
            db_url,
            "users",
            "create",
            email,
            "--name",
            f"Desk {n}",
            "--role",
            "front_desk",
            "--site",
            str(site_id),
            stdin=PASSWORD + "\n",
        )
        clinic.tokens.append(flask_cli(db_url, "users", "token", email).strip().splitlines()[-1])
    return clinic


# A gunicorn config file for the tests: the project's gunicorn.conf.py (as in production),
# and each worker leaves a mark once it has loaded the app, so a race starts only when every
# worker can take part in it.
READY_HOOK = """
import os, pathlib

exec(pathlib.Path(os.environ["CLINIC_GUNICORN_CONF"]).read_text())

def post_worker_init(worker):
    pathlib.Path(os.environ["CLINIC_READY_DIR"], str(worker.pid)).touch()
"""


@dataclass
class Server:
    """A running gunicorn: where it listens and where its log goes."""

    address: str
    log: Path
    pid: int = 0  # gunicorn's master, once started

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the server's log (tracebacks of any 500 are there)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def gunicorn(
    db_url: str, workers: int = 4, app: str = "wsgi:app", port: int | None = None
) -> Iterator[Server]:
    """Serve the app with gunicorn on a local port (127.0.0.1; a free one by default)."""
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="clinic-gunicorn-") as scratch:
        ready = Path(scratch, "ready")
        ready.mkdir()
        hook = Path(scratch, "hooks.py")
        hook.write_text(READY_HOOK)
        server = Server(address, Path(scratch, "gunicorn.log"))
        env = os.environ | {
            "DATABASE_URL": db_url,
            "CLINIC_READY_DIR": str(ready),
            "CLINIC_GUNICORN_CONF": str(ROOT / "gunicorn.conf.py"),
            # Races and benchmarks send far more than people do (the limits have own tests).
            **dict.fromkeys(
                (
                    "RATELIMIT_SIGN_IN_PER_ACCOUNT",
                    "RATELIMIT_SIGN_IN_PER_ADDRESS",
                    "RATELIMIT_API_PER_TOKEN",
                    "RATELIMIT_CONFIRM_PER_ADDRESS",
                ),
                "1000000/minute",
            ),
        }
        env.pop("FLASK_CONFIG", None)
        # The log goes to a file, not a pipe: a pipe nobody reads fills up and blocks workers.
        log = server.log.open("wb")
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                str(hook),
                "-w",
                str(workers),
                "-b",
                address,
                "--timeout",
                "60",
                "--log-level",
                "warning",
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server.pid = process.pid
        try:
            _wait_until_up(server, process, ready, workers)
            yield server
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            log.close()


def _wait_until_up(
    server: Server, process: subprocess.Popen, ready: Path, workers: int, timeout: float = 60
) -> None:
    """Wait until every worker has loaded the app and /healthz answers, or fail."""
    host, port = server.address.split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log_tail()}")
        if len(list(ready.iterdir())) >= workers:
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn's {workers} workers were not ready within {timeout} s")


@dataclass
class Answer:
    """One HTTP answer: status, body text, seconds it took."""

    status: int
    body: str
    seconds: float

    def json(self) -> dict:
        """Return the body as JSON (an empty dict when it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


def post_json(conn: http.client.HTTPConnection, path: str, token: str, body: dict) -> Answer:
    """POST a JSON body on an open connection and read the whole answer."""
    payload = json.dumps(body)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    conn.request("POST", path, body=payload, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    return Answer(response.status, text, time.perf_counter() - started)


def race(address: str, token: str, bodies: list[dict], path: str = "/api/v1/visits") -> list:
    """POST every body at once, one thread and one connection each; return the answers.

    Each thread connects first, then waits at a barrier, so the requests leave together.
    """
    host, port = address.split(":")
    barrier = threading.Barrier(len(bodies))
    answers: list[Answer | BaseException | None] = [None] * len(bodies)

    def fire(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.connect()
            barrier.wait(timeout=30)
            answers[index] = post_json(conn, path, token, bodies[index])
        except BaseException as error:  # reported by the caller's assertions
            answers[index] = error
        finally:
            conn.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


def overlapping_active_chair_holds(db_url: str) -> int:
    """Count pairs of active visits whose chair holds overlap (a double booking)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(*) FROM visits a JOIN visits b "
                    "ON a.chair_id = b.chair_id AND a.id < b.id "
                    "AND a.infusion_start < b.chair_released_at "
                    "AND b.infusion_start < a.chair_released_at "
                    "WHERE a.status IN ('booked', 'checked_in', 'infusing', 'recovering') "
                    "AND b.status IN ('booked', 'checked_in', 'infusing', 'recovering')"
                )
            ).scalar_one()
    finally:
        engine.dispose()


def count_active_visits(db_url: str) -> int:
    """Count the active visits in a database."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(*) FROM visits "
                    "WHERE status IN ('booked', 'checked_in', 'infusing', 'recovering')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
