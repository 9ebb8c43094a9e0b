"""Migration 0010_patient_messages on a database with patients and visits: existing rows get
no consent, visits are unconfirmed, sites keep a 24 h cancel window; down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig
from tests.test_treatment_types_migration import _site, _visit


def test_the_migration_keeps_patients_and_visits_on_sqlite(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0006_audit")
        with db.engine.begin() as conn:
            site = _site(conn, "Austin", (45, 45, 60), (60, 120))
            visit = _visit(conn, site, "A-1")
        upgrade()
        with db.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT confirmation, confirmation_at FROM visits WHERE id = :id"),
                {"id": visit},
            ).one()
            assert tuple(row) == ("unconfirmed", None)
            assert conn.execute(sa.text("SELECT cancel_window_hours FROM sites")).scalar() == 24
            consent = conn.execute(
                sa.text("SELECT email_consent_at, sms_consent_by_id FROM patients")
            ).one()
            assert tuple(consent) == (None, None)
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").first() is None
        downgrade(revision="0009_treatment_record")
        with db.engine.connect() as conn:
            names = {c["name"] for c in sa.inspect(conn).get_columns("visits")}
            assert "confirmation" not in names
            assert conn.execute(sa.text("SELECT count(*) FROM visits")).scalar() == 1
        upgrade()
        db.engine.dispose()
