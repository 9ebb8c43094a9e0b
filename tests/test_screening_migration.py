"""Migration 0013_screening: a site that existed before gets the default screen before the
start (the C-SSRS screener); down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig
from tests.conftest import on_a_fresh_postgres_database
from tests.test_treatment_types_migration import _site


def _required(conn: sa.Connection, site_id: int) -> list[str]:
    value = conn.execute(
        sa.text("SELECT screening_before_start FROM sites WHERE id = :id"), {"id": site_id}
    ).scalar_one()
    return json.loads(value) if isinstance(value, str) else value


def _check_migration(url: str) -> None:
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(revision="0012_waitlist")
        with db.engine.begin() as conn:
            austin = _site(conn, "Austin", (45, 45, 60), (60, 120))
            dallas = _site(conn, "Dallas", (30, 40, 90), (45, 90))
        upgrade(revision="0013_screening")
        with db.engine.connect() as conn:
            assert _required(conn, austin) == ["cssrs_screen"]
            assert _required(conn, dallas) == ["cssrs_screen"]
            tables = set(sa.inspect(conn).get_table_names())
            assert {"measures", "screening_reviews", "kiosk_links"} <= tables
        downgrade(revision="0012_waitlist")
        with db.engine.connect() as conn:
            assert "measures" not in sa.inspect(conn).get_table_names()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("sites")}
            assert "screening_before_start" not in columns
        upgrade()
        with db.engine.connect() as conn:
            assert _required(conn, austin) == ["cssrs_screen"]
        db.engine.dispose()


def test_existing_sites_get_the_screener_on_sqlite(tmp_path):
    _check_migration(f"sqlite:///{tmp_path / 'old.db'}")


def test_existing_sites_get_the_screener_on_postgresql():
    on_a_fresh_postgres_database(_check_migration)
