"""Migration 0006: the SHA-256 chain of earlier releases is checked and re-signed with HMAC."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from clinic import create_app
from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import audit
from config import TestConfig
from tests.conftest import NOW

OLD_COLUMNS = [c for c in AuditEvent.__table__.columns if c.name not in ("id", "chain")]


def _old_trail(tmp_path, rows: int = 3, broken: bool = False):
    """Return an app on a SQLite file at revision 0005 holding a SHA-256 chained trail."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0005")
        previous = audit.GENESIS
        for n in range(rows):
            row = AuditEvent(
                at=NOW + timedelta(seconds=n),
                actor_id=None,
                actor_label="system",
                action="patient.view",
                patient_id=n + 1,
                outcome="ok",
                detail={},
                prev_hash=previous,
            )
            row.hash = hashlib.sha256(audit.canonical(row)).hexdigest()
            if broken and n == 1:
                row.patient_id = 99  # edited after hashing
            previous = row.hash
            # Core, not the ORM: the model has columns (audit_events.chain) revision 0005 has not.
            columns = {c.name: getattr(row, c.name) for c in OLD_COLUMNS}
            db.session.execute(sa.insert(AuditEvent.__table__).values(columns))
        db.session.commit()
        db.engine.dispose()
    return app


def test_upgrading_re_signs_an_intact_sha256_trail(tmp_path):
    app = _old_trail(tmp_path)
    with app.app_context():
        upgrade()
        assert audit.verify().ok and audit.verify().count == 3
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text("DELETE FROM audit_events"))
        db.session.rollback()
        db.engine.dispose()


def test_upgrading_refuses_a_broken_sha256_trail(tmp_path, capfd):
    app = _old_trail(tmp_path, broken=True)
    with app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits 1
            upgrade()
        assert "audit event 2 breaks the SHA-256 chain" in capfd.readouterr().err
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version != "0006_audit"
        db.session.remove()
        db.engine.dispose()
