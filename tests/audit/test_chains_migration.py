"""Migration 0017_audit_chains: the single-chain trail becomes chain 0, untouched and valid."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from clinic import create_app
from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import audit, audit_checkpoints
from config import TestConfig
from tests.conftest import NOW, audit_triggers_lifted

SITE = 3
OLD_COLUMNS = [c.name for c in AuditEvent.__table__.columns if c.name not in ("id", "chain")]


def _single_chain_trail(rows: int) -> list[SimpleNamespace]:
    """Write rows as the release before the chains did (one chain, no `chain` column)."""
    written, previous = [], audit.GENESIS
    for n in range(rows):
        row = SimpleNamespace(
            at=NOW + timedelta(seconds=n),
            actor_id=None,
            actor_label="system",
            action="patient.view",
            patient_id=None,
            object_type=None,
            object_id=None,
            outcome="ok",
            ip=None,
            detail={},
            prev_hash=previous,
        )
        # The release before: the canonical JSON had no chain at all.
        body = vars(row) | {"at": row.at.astimezone(UTC).isoformat(timespec="microseconds")}
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        row.hash = hmac.new(audit.audit_key(), encoded, hashlib.sha256).hexdigest()
        values = {name: getattr(row, name) for name in OLD_COLUMNS}
        db.session.execute(sa.insert(AuditEvent.__table__).values(values))
        written.append(row)
        previous = row.hash
    db.session.commit()
    return written


def _old_checkpoint(path, rows: list[SimpleNamespace]) -> None:
    """Write a checkpoint file as the release before did (no `chains`)."""
    body = {
        "last_id": len(rows),
        "hash": rows[-1].hash,
        "at": NOW.astimezone(UTC).isoformat(timespec="microseconds"),
        "count": len(rows),
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    signature = hmac.new(audit.audit_key(), encoded, hashlib.sha256).hexdigest()
    path.write_text(json.dumps(body | {"hmac": signature}))


def test_existing_rows_and_checkpoints_verify_as_chain_0_then_sites_chain_apart(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, AUDIT_CHECKPOINT_DIR=str(tmp_path))
    with app.app_context():
        upgrade(revision="0016_board_version")
        rows = _single_chain_trail(3)
        _old_checkpoint(tmp_path / "old.json", rows)
        upgrade()
        chains = db.session.execute(sa.text("SELECT id, chain, hash FROM audit_events")).all()
        assert chains == [(n + 1, 0, row.hash) for n, row in enumerate(rows)]
        checkpoint = audit_checkpoints.latest()
        assert checkpoint is not None and set(checkpoint.chains) == {0}
        assert audit.verify(checkpoint).ok
        # The next rows: a site's chain starts from the genesis hash beside chain 0.
        audit.record("system-test", "patient.view", NOW, site_id=SITE)
        audit.record("system-test", "auth.login", NOW)
        db.session.commit()
        verdict = audit.verify(checkpoint, from_checkpoint=True)
        assert verdict.ok and verdict.count == 5
        assert {c: h.count for c, h in verdict.chains.items()} == {0: 4, SITE: 1}
        # The old checkpoint still guards chain 0's tail: cut it (its links stay whole).
        with audit_triggers_lifted():
            db.session.execute(sa.text("DELETE FROM audit_events WHERE chain = 0 AND id >= 3"))
        db.session.commit()
        assert audit.verify().ok
        reason = audit.verify(checkpoint).reason
        assert reason.startswith("chain 0: the trail ends at event 2 but the checkpoint of")
        db.session.remove()
        db.engine.dispose()


def test_downgrade_is_refused_while_a_site_has_rows_and_works_without(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'db.db'}")
    with app.app_context():
        upgrade()
        audit.record("system-test", "auth.login", NOW)
        db.session.commit()
        downgrade(revision="0016_board_version")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("audit_events")}
        assert "chain" not in columns
        upgrade()
        assert audit.verify().ok
        audit.record("system-test", "patient.view", NOW, site_id=SITE)
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the refusal and exits 1
            downgrade(revision="0016_board_version")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("audit_events")}
        assert "chain" in columns and audit.verify().ok
        db.session.remove()
        db.engine.dispose()
