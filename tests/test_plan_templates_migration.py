"""Migration 0015_plan_templates: existing plans keep their dates with template "none"; the
template column refuses an unknown value; down and up again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig
from tests.test_treatment_types_migration import _site, _visit


def test_existing_plans_get_no_template_on_sqlite(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0006_audit")
        with db.engine.begin() as conn:
            site = _site(conn, "Austin", (45, 45, 60), (60, 120))
            visit = _visit(conn, site, "A-1")
        upgrade(revision="0013_screening")
        with db.engine.begin() as conn:
            patient = conn.execute(
                sa.text("SELECT patient_id FROM visits WHERE id = :v"), {"v": visit}
            ).scalar()
            conn.execute(
                sa.text(
                    "INSERT INTO patient_plans (patient_id, every_days, next_due_on, updated_at) "
                    "VALUES (:p, 28, '2026-12-01', '2026-11-27 12:00:00')"
                ),
                {"p": patient},
            )
        upgrade(revision="0015_plan_templates")
        with db.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT every_days, next_due_on, template FROM patient_plans")
            ).one()
            assert tuple(row) == (28, "2026-12-01", "none")
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE patient_plans SET template = 'weekly'"))
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE patient_plans SET template = 'spravato'"))
        downgrade(revision="0013_screening")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("patient_plans")}
            assert "template" not in columns
            assert conn.execute(sa.text("SELECT every_days FROM patient_plans")).scalar() == 28
        upgrade(revision="0015_plan_templates")
        db.engine.dispose()
