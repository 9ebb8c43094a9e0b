"""The probe's attacks on the audit trail, and the signed checkpoints that expose them.

An attacker here can write to the database (the SQLite file, or PostgreSQL as the table's
owner, so the append-only triggers are lifted first) but holds neither AUDIT_KEY nor write
access to the checkpoint directory.
"""

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from clinic import create_app
from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import audit, audit_checkpoints
from config import ProductionConfig, UnsafeConfiguration
from tests.audit.conftest import audit_rows
from tests.conftest import NOW, audit_triggers_lifted, empty_audit_trail


def _rows(user, n: int = 5) -> list[AuditEvent]:
    empty_audit_trail()
    for i in range(n):
        audit.record(user, "patient.view", NOW + timedelta(seconds=i), patient_id=i + 1)
        db.session.commit()
    return audit_rows()


def _verify(runner, *args: str):
    return runner.invoke(args=["audit", "verify", *args])


def _checkpoint(runner) -> None:
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET actor_label = 'x'", "DELETE FROM audit_events"],
)
def test_sqlite_refuses_update_and_delete_of_audit_rows(clinic, statement):
    before = len(_rows(clinic.clerk, 2))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert len(audit_rows()) == before and audit.verify().ok


def test_the_chain_is_an_hmac_under_audit_key_not_a_plain_hash(app, clinic):
    row = _rows(clinic.clerk, 1)[0]
    assert row.hash != hashlib.sha256(audit.canonical(row)).hexdigest()
    assert audit.verify().ok
    app.config["AUDIT_KEY"] = "another-key-of-at-least-32-bytes-long!!"
    assert not audit.verify().ok


def test_a_rechained_edit_fails_verify(runner, clinic):
    """Edit a row, then recompute every later hash with plain SHA-256, as a script would."""
    rows = _rows(clinic.clerk)
    with audit_triggers_lifted():
        previous = rows[1].prev_hash
        for row in rows[1:]:
            if row is rows[1]:
                row.patient_id = 99
            row.prev_hash = previous
            row.hash = hashlib.sha256(audit.canonical(row)).hexdigest()
            previous = row.hash
        db.session.flush()
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"audit event {rows[1].id}: its content does not match its hash" in result.output


def test_a_deleted_middle_row_fails_verify(runner, clinic):
    rows = _rows(clinic.clerk)
    _checkpoint(runner)
    with audit_triggers_lifted():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == rows[2].id))
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"audit event {rows[3].id}: its prev_hash does not match" in result.output


def test_a_deleted_tail_fails_verify_against_the_checkpoint(runner, clinic):
    rows = _rows(clinic.clerk)
    _checkpoint(runner)
    # The links that remain are intact: only the checkpoint knows the trail went further.
    with audit_triggers_lifted():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id >= rows[3].id))
    db.session.commit()
    assert audit.verify().ok
    result = _verify(runner)
    assert result.exit_code == 1
    assert (
        f"the trail ends at event {rows[2].id} but the checkpoint of" in result.output
        and f"reaches event {rows[-1].id}: rows were removed from its end" in result.output
    )


def test_an_emptied_trail_fails_verify_against_the_checkpoint(runner, clinic):
    _rows(clinic.clerk)
    _checkpoint(runner)
    empty_audit_trail()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "the trail ends at event none" in result.output


def test_rows_after_the_checkpoint_pass_and_the_next_checkpoint_covers_them(runner, clinic):
    rows = _rows(clinic.clerk, 3)
    _checkpoint(runner)
    audit.record(clinic.clerk, "patient.view", NOW, patient_id=7)
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "OK: 4 events; the checkpoint of" in result.output
    assert f"(event {rows[-1].id}, 3 events) holds" in result.output
    _checkpoint(runner)
    latest = audit_checkpoints.latest()
    assert (latest.last_id, latest.count) == (audit_rows()[-1].id, 4)
    assert latest.hash == audit_rows()[-1].hash


def test_verify_without_a_checkpoint_says_the_tail_is_unchecked(runner, clinic):
    _rows(clinic.clerk, 2)
    result = _verify(runner)
    assert result.exit_code == 0
    assert "OK: 2 events (no checkpoint yet" in result.output


def test_a_checkpoint_is_not_written_for_a_broken_trail(runner, clinic):
    rows = _rows(clinic.clerk)
    _checkpoint(runner)
    with audit_triggers_lifted():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == rows[-1].id))
    db.session.commit()
    before = list(audit_checkpoints.directory().iterdir())
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1
    assert "not written, the trail is broken" in result.output
    assert list(audit_checkpoints.directory().iterdir()) == before


def test_an_edited_checkpoint_file_fails_verify(runner, clinic):
    _rows(clinic.clerk)
    _checkpoint(runner)
    (path,) = audit_checkpoints.directory().glob("*.json")
    data = json.loads(path.read_text())
    data["count"] -= 1
    path.write_text(json.dumps(data))
    result = _verify(runner)
    assert result.exit_code == 1
    assert "its signature does not match" in result.output


def test_verify_takes_a_checkpoint_file_kept_elsewhere(runner, clinic, tmp_path):
    rows = _rows(clinic.clerk)
    _checkpoint(runner)
    (path,) = audit_checkpoints.directory().glob("*.json")
    kept = tmp_path / "kept.json"
    kept.write_text(path.read_text())
    path.unlink()
    with audit_triggers_lifted():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == rows[-1].id))
    db.session.commit()
    assert _verify(runner).exit_code == 0  # no checkpoint left in the directory
    result = _verify(runner, "--checkpoint", str(kept))
    assert result.exit_code == 1 and "rows were removed from its end" in result.output


def test_the_checkpoint_holds_id_hash_time_count_and_hmac(runner, clinic):
    rows = _rows(clinic.clerk, 2)
    _checkpoint(runner)
    (path,) = audit_checkpoints.directory().glob("*.json")
    data = json.loads(path.read_text())
    assert set(data) == {"last_id", "hash", "at", "count", "hmac"}
    assert (data["last_id"], data["hash"], data["count"]) == (rows[-1].id, rows[-1].hash, 2)


def test_production_refuses_to_start_without_an_audit_key():
    settings = {
        "SECRET_KEY": "s" * 48,
        "TOTP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
    }
    for key in ("", "short", audit.DEVELOPMENT_KEY):
        with pytest.raises(UnsafeConfiguration, match="AUDIT_KEY") as refused:
            create_app(ProductionConfig, AUDIT_KEY=key, **settings)
        assert refused.value.code != 0
    assert create_app(ProductionConfig, AUDIT_KEY="k" * 32, **settings)
