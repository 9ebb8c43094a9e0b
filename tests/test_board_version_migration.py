"""Migration 0016_board_version: existing sites get board version 0; down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig
from tests.test_treatment_types_migration import _site


def test_existing_sites_start_at_version_0_on_sqlite(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0006_audit")
        with db.engine.begin() as conn:
            site = _site(conn, "Austin", (45, 45, 60), (60, 120))
        upgrade()
        version = sa.text("SELECT board_version FROM sites WHERE id = :id")
        with db.engine.connect() as conn:
            assert conn.execute(version, {"id": site}).scalar() == 0
        downgrade(revision="0015_plan_templates")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("sites")}
            assert "board_version" not in columns and "name" in columns
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(version, {"id": site}).scalar() == 0
        db.engine.dispose()
