"""Migration 0007_treatment_types: each site's settings become its default IV type."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig
from tests.conftest import on_a_fresh_postgres_database

WHEN = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
FILLERS = {
    sa.Integer: 0,
    sa.String: "x",
    sa.Text: "",
    sa.Boolean: False,
    sa.Date: date(2026, 11, 2),
    sa.JSON: {},
}


def _filler(column: sa.Column) -> object:
    """Return a value of the column's type, for a NOT NULL column the test does not care about."""
    if isinstance(column.type, sa.DateTime):
        return WHEN.replace(tzinfo=None)
    for kind, value in FILLERS.items():
        if isinstance(column.type, kind):
            return value
    return "x"


def _insert(conn: sa.Connection, table_name: str, **values: object) -> int:
    """Insert a row with the values given and fillers in the other required columns."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    for column in table.columns:
        required = not column.nullable and column.server_default is None
        if required and column.name not in values and not column.primary_key:
            values[column.name] = _filler(column)
    return conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()


def _site(
    conn: sa.Connection, name: str, infusion: tuple[int, int, int], observation: tuple[int, int]
) -> int:
    """Insert an old site with its minute settings."""
    low, default, high = infusion
    return _insert(
        conn,
        "sites",
        name=name,
        timezone="America/Chicago",
        opening_hours={},
        recovery_mode="chair",
        vital_thresholds={},
        infusion_min=low,
        infusion_default=default,
        infusion_max=high,
        observation_min=observation[0],
        observation_default=observation[1],
    )


def _visit(conn: sa.Connection, site_id: int, mrn: str) -> int:
    """Insert an old visit of a site (its patient and chair too)."""
    patient = _insert(conn, "patients", site_id=site_id, mrn=mrn)
    chair = _insert(conn, "chairs", site_id=site_id, name="Chair 1", kind="chair", active=True)
    start = WHEN.replace(tzinfo=None)
    return _insert(
        conn,
        "visits",
        patient_id=patient,
        site_id=site_id,
        chair_id=chair,
        status="discharged",
        infusion_start=start,
        infusion_end=start,
        observation_end=start,
        chair_released_at=start,
        infusion_minutes=50,
        observation_minutes=90,
    )


def _check_migration(url: str) -> None:
    """Migrate an old database with two sites and their visits, and check every meaning kept."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(revision="0006_audit")
        with db.engine.begin() as conn:
            austin = _site(conn, "Austin", (45, 45, 60), (60, 120))
            dallas = _site(conn, "Dallas", (30, 40, 90), (45, 90))
            visits = {austin: _visit(conn, austin, "A-1"), dallas: _visit(conn, dallas, "D-1")}
        upgrade(revision="0007_treatment_types")
        with db.engine.connect() as conn:
            types = (
                conn.execute(sa.text("SELECT * FROM treatment_types ORDER BY site_id"))
                .mappings()
                .all()
            )
            sites = dict(
                conn.execute(sa.text("SELECT id, default_treatment_type_id FROM sites")).all()
            )
            pointed = dict(conn.execute(sa.text("SELECT id, treatment_type_id FROM visits")).all())
            column = next(
                c
                for c in sa.inspect(conn).get_columns("visits")
                if c["name"] == "treatment_type_id"
            )
        downgrade(revision="0006_audit")
        upgrade()
        db.engine.dispose()
    settings = [
        (
            t["site_id"],
            t["name"],
            t["kind"],
            bool(t["active"]),
            t["administration_min"],
            t["administration_default"],
            t["administration_max"],
            t["observation_min"],
            t["observation_default"],
            t["observation_from"],
            bool(t["rems"]),
            t["predose_systolic_max"],
        )
        for t in types
    ]
    assert settings == [
        (
            austin,
            "IV ketamine",
            "iv_ketamine",
            True,
            45,
            45,
            60,
            60,
            120,
            "administration_end",
            False,
            None,
        ),
        (
            dallas,
            "IV ketamine",
            "iv_ketamine",
            True,
            30,
            40,
            90,
            45,
            90,
            "administration_end",
            False,
            None,
        ),
    ]
    by_site = {t["site_id"]: t["id"] for t in types}
    assert sites == by_site
    assert pointed == {visits[austin]: by_site[austin], visits[dallas]: by_site[dallas]}
    assert column["nullable"] is False


def test_the_migration_on_sqlite(tmp_path):
    _check_migration(f"sqlite:///{tmp_path / 'old.db'}")


def test_the_migration_on_postgresql():
    on_a_fresh_postgres_database(_check_migration)
