"""One HMAC chain per site: rows link within their chain, and every chain is checked.

The tampering tests play the attacker of test_tamper.py: write access to the database (the
append-only triggers lifted), neither AUDIT_KEY nor the checkpoint directory.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import audit, audit_checkpoints
from clinic.services.events import record_event
from tests.audit.conftest import audit_rows
from tests.conftest import MONDAY, NOW, audit_triggers_lifted, chicago, empty_audit_trail

A, B = 1, 2  # two sites' chains; rows of no site are in chain 0


def _append(*chains: int) -> list[AuditEvent]:
    """Write one row per chain given (None: no site), each in its own transaction."""
    for n, chain in enumerate(chains):
        audit.record("system-test", "patient.view", NOW + timedelta(seconds=n), site_id=chain)
        db.session.commit()
    return audit_rows()


def _chain(chain: int) -> list[AuditEvent]:
    return [row for row in audit_rows() if row.chain == chain]


def _checkpoint(runner) -> str:
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return result.output


def _tamper(statement: str, **params: object) -> None:
    with audit_triggers_lifted():
        db.session.execute(sa.text(statement), params)
    db.session.commit()


def test_each_site_has_its_own_chain_from_the_genesis_hash(app):
    empty_audit_trail()
    _append(A, None, B, A, B, None, A)
    for chain, expected in ((0, 2), (A, 3), (B, 2)):
        rows = _chain(chain)
        assert len(rows) == expected
        assert [row.prev_hash for row in rows] == [audit.GENESIS] + [r.hash for r in rows[:-1]]
    verdict = audit.verify()
    assert verdict.ok and verdict.count == 7
    assert {c: (h.last_id, h.count) for c, h in verdict.chains.items()} == {
        c: (_chain(c)[-1].id, len(_chain(c))) for c in (0, A, B)
    }


def test_a_sites_row_signs_its_chain_and_a_row_of_no_site_is_signed_as_before(app):
    empty_audit_trail()
    none, site = _append(None, A)
    assert b'"chain"' not in audit.canonical(none)  # the rows of before the chains kept theirs
    assert b'"chain":1' in audit.canonical(site)


def test_one_transaction_links_each_row_into_its_own_chain(app):
    empty_audit_trail()
    _append(A, B)
    for n, chain in enumerate((A, B, A, None)):
        audit.record("system-test", "patient.view", NOW, patient_id=n + 1, site_id=chain)
    db.session.commit()
    assert [r.patient_id for r in _chain(A)] == [None, 1, 3]
    assert [r.patient_id for r in _chain(B)] == [None, 2]
    assert [r.patient_id for r in _chain(0)] == [4]
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("moved", "to"),
    [(A, 0), (0, A), (A, B), (B, A)],
    ids=["site-to-0", "0-to-site", "A-to-B", "B-to-A"],
)
def test_a_row_moved_to_another_chain_fails_verify(runner, app, moved, to):
    empty_audit_trail()
    _append(A, None, B, A, None, B)
    victim = _chain(moved)[0]
    _tamper("UPDATE audit_events SET chain = :to WHERE id = :id", to=to, id=victim.id)
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_id == victim.id
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"audit event {victim.id}:" in result.output


def test_a_whole_chain_relabelled_as_another_site_fails_verify(app):
    """Every link of site A's chain still holds after the move: only the signed chain tells."""
    empty_audit_trail()
    _append(A, A, A)
    _tamper("UPDATE audit_events SET chain = 7")
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_id == audit_rows()[0].id
    assert verdict.reason == "its content does not match its hash"


def test_a_deleted_row_of_one_site_breaks_only_that_chains_link(app):
    empty_audit_trail()
    _append(A, B, A, B, A)
    a_rows = _chain(A)
    _tamper("DELETE FROM audit_events WHERE id = :id", id=a_rows[1].id)
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_id == a_rows[2].id
    assert verdict.reason == f"its prev_hash does not match the row before it in chain {A}"


def test_a_cut_off_tail_of_one_site_fails_against_the_checkpoint(runner, app):
    empty_audit_trail()
    _append(A, B, A, B)
    _checkpoint(runner)
    _append(A, None)  # the other chains go on growing
    first, last = (row.id for row in _chain(B))
    _tamper("DELETE FROM audit_events WHERE id = :id", id=last)
    assert audit.verify().ok  # the links that remain hold: only the checkpoint knows
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"chain {B}: the trail ends at event {first} but the checkpoint of" in result.output
    assert f"reaches event {last}: rows were removed from its end" in result.output
    failed = runner.invoke(args=["audit", "checkpoint"])
    assert failed.exit_code == 1 and "not written, the trail is broken" in failed.output


def test_an_emptied_site_chain_fails_against_the_checkpoint(runner, app):
    empty_audit_trail()
    _append(A, B, A)
    _checkpoint(runner)
    _tamper("DELETE FROM audit_events WHERE chain = :chain", chain=B)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"chain {B}: the trail ends at event none" in result.output


def test_a_checkpointed_row_moved_out_of_its_chain_fails_against_the_checkpoint(app):
    empty_audit_trail()
    _append(A, B)
    checkpoint, _path = audit_checkpoints.write(NOW)
    moved = _chain(B)[-1].id
    _tamper("UPDATE audit_events SET chain = :to WHERE id = :id", to=A, id=moved)
    verdict = audit.verify(checkpoint, from_checkpoint=True)
    assert not verdict.ok
    assert verdict.reason.startswith(f"chain {B}: audit event {moved}, named by the checkpoint")
    assert verdict.reason.endswith(f"is now in chain {A}")


def test_the_checkpoint_names_every_chain_and_sums_them_at_the_top(runner, app):
    empty_audit_trail()
    rows = _append(None, A, B, A)
    assert f"Checkpoint: event {rows[-1].id}, 4 events in 3 chains" in _checkpoint(runner)
    (path,) = audit_checkpoints.directory().glob("*.json")
    data = json.loads(path.read_text())
    assert (data["last_id"], data["hash"], data["count"]) == (rows[-1].id, rows[-1].hash, 4)
    assert data["chains"] == {
        str(c): {"last_id": _chain(c)[-1].id, "hash": _chain(c)[-1].hash, "count": len(_chain(c))}
        for c in (0, A, B)
    }
    data["chains"][str(B)]["count"] += 1
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "its signature does not match" in result.output


def test_the_periodic_check_walks_on_from_each_chains_own_head(app):
    """Ids are ordered within a chain only: site A's row 2 may commit after site B's row 3.

    A checkpoint taken between those commits holds A at row 1 and B at row 3; the next check
    must still walk row 2, not start after the highest id.
    """
    empty_audit_trail()
    a1, a2, b1 = _append(A, A, B)
    checkpoint = audit_checkpoints.Checkpoint(
        NOW, {A: audit.Head(a1.id, a1.hash, 1), B: audit.Head(b1.id, b1.hash, 1)}
    )
    verdict = audit.verify(checkpoint, from_checkpoint=True)
    assert verdict.ok and verdict.count == 3 and verdict.chains[A].last_id == a2.id
    _tamper("UPDATE audit_events SET patient_id = 99 WHERE id = :id", id=a2.id)
    verdict = audit.verify(checkpoint, from_checkpoint=True)
    assert not verdict.ok and verdict.broken_id == a2.id


def test_a_visits_rows_go_to_its_sites_chain_and_a_sign_in_to_chain_0(
    client, auth, clinic, make_visit
):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    record_event(clinic.clerk, visit.id, "check_in", chicago(MONDAY, 9), chicago(MONDAY, 8))
    auth.login(clinic.nurse)
    assert client.get(f"/visits/{visit.id}").status_code == 200
    site = clinic.site.id
    chains = {(row.action, row.chain) for row in audit_rows()}
    assert {("visit.book", site), ("visit.event.check_in", site), ("patient.view", site)} <= chains
    assert ("auth.login", 0) in chains
    assert audit.verify().ok
