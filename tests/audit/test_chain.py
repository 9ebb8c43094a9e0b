"""The HMAC chain: rows link to the one before, `flask audit verify` finds tampering.

The tampering tests play an attacker who can write to the database file or as its owner
(they lift the append-only triggers) but does not hold AUDIT_KEY.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import audit
from tests.audit.conftest import audit_rows
from tests.conftest import NOW, audit_triggers_lifted, empty_audit_trail


def _three_rows(user) -> None:
    """Start from an empty trail (the fixtures' set-up is audited too), then add three rows."""
    empty_audit_trail()
    for n in range(3):
        audit.record(user, "patient.view", NOW + timedelta(seconds=n), patient_id=n + 1)
        db.session.commit()


def test_rows_chain_from_the_genesis_hash(clinic):
    _three_rows(clinic.clerk)
    first, second, third = audit_rows()
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert all(audit.row_hash(row) == row.hash for row in (first, second, third))
    assert audit.verify().ok and audit.verify().count == 3


def test_rows_queued_in_one_transaction_chain_in_order(clinic):
    before = len(audit_rows())
    audit.record(clinic.clerk, "patient.view", NOW, patient_id=1)
    audit.record(clinic.clerk, "patient.view", NOW, patient_id=2)
    assert len(audit_rows()) == before  # nothing is written before the commit
    db.session.commit()
    first, second = audit_rows()[before:]
    assert (first.patient_id, second.patient_id) == (1, 2)
    assert second.prev_hash == first.hash


def test_a_rolled_back_transaction_leaves_no_row(clinic):
    audit.record(clinic.clerk, "patient.view", NOW, patient_id=1)
    db.session.rollback()
    db.session.commit()
    assert audit_rows("patient.view") == []
    audit.record(clinic.clerk, "patient.view", NOW, patient_id=2)
    db.session.commit()
    assert [row.patient_id for row in audit_rows("patient.view")] == [2]
    assert audit.verify().ok


def test_verify_command_says_ok_with_the_count(runner, clinic):
    _three_rows(clinic.clerk)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 3 events" in result.output


def test_verify_command_names_a_tampered_row(runner, clinic):
    _three_rows(clinic.clerk)
    second = audit_rows()[1]
    with audit_triggers_lifted():
        db.session.execute(
            sa.text("UPDATE audit_events SET patient_id = 99 WHERE id = :id"), {"id": second.id}
        )
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit event {second.id}" in result.output
    assert "does not match its hash" in result.output


def test_verify_finds_a_deleted_row_through_the_next_ones_link(runner, clinic):
    _three_rows(clinic.clerk)
    _, second, third = audit_rows()
    with audit_triggers_lifted():
        db.session.execute(sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": second.id})
    db.session.commit()
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_id == third.id and verdict.count == 1
    assert "prev_hash" in verdict.reason


def test_verify_finds_a_rewritten_hash(clinic):
    _three_rows(clinic.clerk)
    first = audit_rows()[0]
    # Recomputing one row's hash after changing it breaks the link to the next row.
    with audit_triggers_lifted():
        first.actor_label = "someone-else@clinic.test"
        first.hash = audit.row_hash(first)
        db.session.flush()
    db.session.commit()
    verdict = audit.verify()
    assert verdict.broken_id == audit_rows()[1].id


def test_detail_refuses_free_text(clinic):
    with pytest.raises(ValueError):
        audit.record(clinic.clerk, "patient.update", NOW, detail={"name": "Dana Rivera"})
    audit.record(clinic.clerk, "patient.update", NOW, detail={"fields": ["given_name"]})
    db.session.commit()
    assert audit_rows("patient.update")[-1].detail == {"fields": ["given_name"]}


def test_actor_outside_a_request_is_the_system(app):
    audit.record(None, "admin.site.create", NOW, object_type="site", object_id=1)
    db.session.commit()
    row = db.session.scalar(sa.select(AuditEvent))
    assert (row.actor_id, row.actor_label, row.ip) == (None, "system", None)
