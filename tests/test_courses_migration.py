"""Migration 0011_courses: every series of visits booked before becomes a course (one per
series_id, its patient and site); down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig
from tests.test_treatment_types_migration import _site, _visit


def test_existing_series_become_courses_on_sqlite(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0006_audit")
        with db.engine.begin() as conn:
            site = _site(conn, "Austin", (45, 45, 60), (60, 120))
            first = _visit(conn, site, "A-1")
            second = _visit(conn, site, "A-2")
            loose = _visit(conn, site, "A-3")
        upgrade(revision="0010_patient_messages")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE visits SET series_id = 's-1' WHERE id IN (:a, :b)"),
                {"a": first, "b": second},
            )
            conn.execute(
                sa.text(
                    "UPDATE visits SET patient_id = (SELECT patient_id FROM visits "
                    "WHERE id = :a) WHERE id = :b"
                ),
                {"a": first, "b": second},
            )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT series_id, patient_id, site_id FROM courses")).all()
            patient = conn.execute(
                sa.text("SELECT patient_id FROM visits WHERE id = :a"), {"a": first}
            ).scalar()
            assert [tuple(r) for r in rows] == [("s-1", patient, site)]
            assert (
                conn.execute(
                    sa.text("SELECT series_id FROM visits WHERE id = :id"), {"id": loose}
                ).scalar()
                is None
            )
        downgrade(revision="0010_patient_messages")
        with db.engine.connect() as conn:
            assert "courses" not in sa.inspect(conn).get_table_names()
        upgrade()
        db.engine.dispose()
