"""Fixtures: an app on a fresh database, clients, and factories for a clinic's day."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient

from clinic import create_app
from clinic.database import begin_write
from clinic.extensions import db
from clinic.models import (
    AUDIT_TRIGGERS,
    AuditEvent,
    Chair,
    Clearance,
    Measure,
    Observation,
    Patient,
    Shift,
    Site,
    User,
    Visit,
)
from clinic.services import booking, staff, tokens, totp
from clinic.types import utcnow
from config import TestConfig

CHICAGO = ZoneInfo("America/Chicago")
# The tests' "now": Monday 30 November 2026, 07:00 in Austin. Booking days lie after it.
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=CHICAGO).astimezone(UTC)
MONDAY = date(2026, 11, 30)
PASSWORD = "correct horse battery"


def chicago(day: date, hour: int, minute: int = 0) -> datetime:
    """Return the UTC instant of a wall-clock time in Austin."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def totp_code(secret: str, at: datetime) -> str:
    """Return the code an authenticator app shows at an instant."""
    return pyotp.TOTP(secret, interval=totp.STEP_SECONDS).at(at)


def statements_of(call) -> tuple[object, list[str]]:
    """Run a call with an empty session (as each request starts); return its result and the
    SQL it sent, BEGIN, COMMIT and ROLLBACK left out."""
    db.session.expunge_all()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        return call(), statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def issue_token(user: User) -> str:
    """Create an API token for the user and return it."""
    return tokens.issue(user, utcnow())[1]


def require_env(name: str) -> bool:
    """Tell whether CI made a suite mandatory (skipping it would then be a failure)."""
    return os.environ.get(name, "") not in ("", "0")


@pytest.fixture
def frozen():
    """Freeze the clock at NOW (the clock still ticks, so timeouts work)."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


class RequestClient(FlaskClient):
    """A test client whose every request gets a fresh `g`, as in production.

    The fixtures keep one app context open for the whole test (the factories need it), and a
    request inside it would otherwise share that context's `g` with the requests before it.
    """

    def open(self, *args, **kwargs):
        """Run one request with a `g` of its own; the test's `g` comes back afterwards."""
        context = _cv_app.get(None)
        if context is None:
            return super().open(*args, **kwargs)
        kept, context.g = context.g, self.application.app_ctx_globals_class()
        try:
            return super().open(*args, **kwargs)
        finally:
            context.g = kept


def testing_app(config: type = TestConfig, **overrides) -> Flask:
    """Create an app whose test clients give each request a fresh `g`."""
    app = create_app(config, **overrides)
    app.test_client_class = RequestClient
    return app


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory) -> Path:
    """An empty SQLite database with the schema, built once and copied for each test."""
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return path


@pytest.fixture
def app(tmp_path, schema_file, frozen):
    """An app on a fresh SQLite file, schema created, clock frozen at NOW."""
    path = tmp_path / "test.db"
    shutil.copyfile(schema_file, path)
    app = testing_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit-checkpoints"),
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    """A browser-like client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


# ---------------------------------------------------------------- PostgreSQL


def _pg_admin_url() -> str:
    return os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


@contextmanager
def fresh_postgres_database(prefix: str = "clinic_mig") -> Iterator[str]:
    """Create a new, empty PostgreSQL database, give its URL, and drop it afterwards (a skip
    when PostgreSQL is unreachable, a failure with REQUIRE_POSTGRES=1)."""
    admin_url = sa.make_url(_pg_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        if require_env("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is mandatory here but unreachable: {error}")
        pytest.skip("PostgreSQL is not reachable (set REQUIRE_POSTGRES=1 to make this fail)")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def on_a_fresh_postgres_database(check: Callable[[str], None]) -> None:
    """Run `check` with the URL of a new, empty PostgreSQL database (a migration test)."""
    with fresh_postgres_database() as url:
        check(url)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated, dropped after the session."""
    with fresh_postgres_database("clinic_test") as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            db.engine.dispose()
        yield url


@contextmanager
def audit_triggers_lifted() -> Iterator[None]:
    """Let this transaction change audit_events, as only the table's owner can.

    Tests only: the app's production role does not own the table (docs/database-roles.md),
    so it can neither drop nor disable the triggers. Commit or roll back after the block.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        yield
        db.session.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        return
    for name in ("audit_events_no_update", "audit_events_no_delete"):
        db.session.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    yield
    for statement in AUDIT_TRIGGERS["sqlite"]:
        db.session.execute(sa.text(statement))


def empty_audit_trail() -> None:
    """Delete every audit row and commit (tests that count from an empty trail)."""
    with audit_triggers_lifted():
        db.session.execute(sa.delete(AuditEvent))
    db.session.commit()


@pytest.fixture
def pg_app(pg_url, frozen, tmp_path):
    """An app on the PostgreSQL test database, emptied before the test."""
    app = testing_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=pg_url,
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit-checkpoints"),
    )
    with app.app_context():
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with audit_triggers_lifted():
            db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------- factories

_serial = count(1)


@pytest.fixture
def make_site(app):
    """Create a site: Austin's defaults unless overridden."""

    def make(**overrides) -> Site:
        from clinic.services.setup import save_site

        values = {
            "name": "Austin",
            "opening_hours": {
                "mon": ["08:00", "18:00"],
                "tue": ["08:00", "18:00"],
                "wed": ["08:00", "18:00"],
                "thu": ["08:00", "18:00"],
                "fri": ["08:00", "18:00"],
                "sat": ["09:00", "14:00"],
                "sun": None,
            },
        } | overrides
        return save_site(None, values, now=utcnow())

    return make


@pytest.fixture
def make_chair(app):
    """Create a chair (or, with kind="recovery_bay", a bay)."""

    def make(
        site: Site, name: str | None = None, kind: str = "chair", active: bool = True
    ) -> Chair:
        begin_write()  # SQLite: wait for the write lock, never "database is locked"
        chair = Chair(
            site_id=site.id, name=name or f"Chair {next(_serial)}", kind=kind, active=active
        )
        db.session.add(chair)
        db.session.commit()
        return chair

    return make


@pytest.fixture
def make_user(app):
    """Create a user of a role at some sites, with the test password."""

    def make(role: str = "front_desk", sites: list[Site] | None = None, **overrides) -> User:
        n = next(_serial)
        return staff.create_user(
            overrides.get("email", f"{role}{n}@clinic.test"),
            overrides.get("name", f"{role.replace('_', ' ').title()} {n}"),
            role,
            [s.id for s in sites or []],
            password=PASSWORD,
            active=overrides.get("active", True),
            now=utcnow(),
        )

    return make


@pytest.fixture
def make_shift(app, make_user):
    """Put a nurse or practitioner on duty at a site between two instants."""

    def make(site: Site, role: str = "nurse", starts_at=None, ends_at=None, user=None) -> Shift:
        user = user or make_user(role, [site])
        begin_write()  # SQLite: wait for the write lock, never "database is locked"
        shift = Shift(
            site_id=site.id,
            user_id=user.id,
            role=role,
            starts_at=starts_at or chicago(MONDAY, 7),
            ends_at=ends_at or chicago(MONDAY + timedelta(days=13), 19),
        )
        db.session.add(shift)
        db.session.commit()
        return shift

    return make


@pytest.fixture
def make_patient(app):
    """Create a patient at a site."""

    def make(site: Site, **overrides) -> Patient:
        n = next(_serial)
        values = {
            "mrn": f"MRN{n:05d}",
            "given_name": "Dana",
            "family_name": f"Rivera{n}",
            "birth_date": date(1980, 4, 2),
            "escort_name": "Sam Rivera",
            "escort_phone": "512-555-0100",
        } | overrides
        begin_write()  # SQLite: wait for the write lock, never "database is locked"
        patient = Patient(site_id=site.id, **values)
        db.session.add(patient)
        db.session.commit()
        return patient

    return make


@pytest.fixture
def make_clearance(app, make_user):
    """Clear a patient for treatment (valid for six months from MONDAY by default)."""

    def make(patient: Patient, **overrides) -> Clearance:
        practitioner = overrides.pop("practitioner", None) or make_user(
            "practitioner", [patient.site]
        )
        values = {
            "evaluated_on": MONDAY - timedelta(days=7),
            "valid_until": MONDAY + timedelta(days=180),
            "cleared": True,
            "consent_signed": True,
            "contraindications": [],
            "notes": "",
        } | overrides
        begin_write()  # SQLite: wait for the write lock, never "database is locked"
        clearance = Clearance(patient_id=patient.id, practitioner_id=practitioner.id, **values)
        db.session.add(clearance)
        db.session.commit()
        return clearance

    return make


@pytest.fixture
def clinic(make_site, make_chair, make_shift, make_user, make_patient, make_clearance):
    """A ready clinic: Austin, 3 chairs, a nurse and a practitioner on duty for two weeks,
    a front-desk clerk, an admin, and one cleared patient."""
    site = make_site()
    nurse_shift = make_shift(site, "nurse")
    practitioner_shift = make_shift(site, "practitioner")
    practitioner = practitioner_shift.user

    def new_patient(**overrides) -> Patient:
        patient = make_patient(site, **overrides)
        make_clearance(patient, practitioner=practitioner)
        return patient

    return SimpleNamespace(
        site=site,
        chairs=[make_chair(site, f"Chair {i}") for i in range(1, 4)],
        nurse=nurse_shift.user,
        practitioner=practitioner,
        clerk=make_user("front_desk", [site]),
        admin=make_user("admin", []),
        patient=new_patient(),
        new_patient=new_patient,
    )


# A calm pre-dose reading: every start needs one in the 30 minutes before (predose rules).
BASELINE = {"systolic": 122, "diastolic": 78, "heart_rate": 72, "spo2": 98}


def add_baseline(
    visit_id: int, at: datetime, *, screened: bool = True, **values: int
) -> Observation:
    """Write a pre-dose reading taken at `at` straight to the database and commit.

    With it, unless `screened=False`, a negative C-SSRS screener at the same instant (the
    default measure a site requires before the start): the visit is ready to start.
    For tests about something else than the readings: no audit row, no flags recomputed.
    A test about readings records them through the service or the API instead.
    """
    begin_write()  # beside a running scheduler process, SQLite's write lock is waited for
    reading = Observation(visit_id=visit_id, at=at, recorded_at=at, flags=[], **(BASELINE | values))
    db.session.add(reading)
    if screened:
        add_negative_screen(visit_id, at, commit=False)
    db.session.commit()
    return reading


def add_negative_screen(visit_id: int, at: datetime, *, commit: bool = True) -> Measure:
    """Write a negative C-SSRS screener of the visit taken at `at` straight to the database."""
    if commit:
        begin_write()  # beside a running scheduler process, SQLite's write lock is waited for
    visit = db.session.get(Visit, visit_id)
    assert visit is not None
    measure = Measure(
        visit_id=visit_id,
        patient_id=visit.patient_id,
        instrument="cssrs_screen",
        answers=[False] * 6,
        score=0,
        band="negative",
        flags=[],
        at=at,
        via_kiosk=False,
        created_at=at,
    )
    db.session.add(measure)
    if commit:
        db.session.commit()
    return measure


def ready_to_start(visit_id: int, at: datetime) -> Observation:
    """Make a checked-in visit ready to start at `at`: a baseline reading and a negative screen."""
    return add_baseline(visit_id, at)


@pytest.fixture
def make_visit(app):
    """Book a visit through the booking service (so every rule applies)."""

    def make(actor: User, patient: Patient, start: datetime, **fields):
        req = booking.Request(patient_id=patient.id, infusion_start=start, **fields)
        visit, _ = booking.book(actor, req, now=NOW)
        return visit

    return make


class Api:
    """A JSON API client that signs its requests with a user's bearer token."""

    def __init__(self, client: FlaskClient, user: User) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {issue_token(user)}"}

    def __getattr__(self, method: str):
        def call(path: str, json=None, headers=None, **kwargs):
            return self.client.open(
                f"/api/v1{path}",
                method=method.upper(),
                json=json,
                headers=self.headers | (headers or {}),
                **kwargs,
            )

        return call


@pytest.fixture
def api_as(client):
    """Return an API client for a user: api_as(user).post("/visits", json={...})."""
    return lambda user: Api(client, user)


class AuthActions:
    """Sign in and out through the login form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user: User, password: str = PASSWORD):
        """Sign in as the user (CSRF token taken from the form)."""
        page = self.client.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"email": user.email, "password": password, "csrf_token": token}
        )

    def logout(self):
        """Sign out."""
        token = csrf_token(self.client.get("/").get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


def csrf_token(html: str) -> str:
    """Pull the CSRF token out of a rendered page."""
    import re

    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def auth(client) -> AuthActions:
    """Sign in through the pages."""
    return AuthActions(client)


# ---------------------------------------------------------------- no silent skips in CI

_skipped: list[str] = []


def pytest_runtest_logreport(report):
    """Remember every skipped test."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when CI forbids skips and something skipped anyway."""
    if require_env("FORBID_SKIPS") and _skipped:
        print(f"\n{len(_skipped)} test(s) skipped while FORBID_SKIPS is set:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1
