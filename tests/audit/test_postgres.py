"""On PostgreSQL the application cannot change or delete audit rows, and appends stay linear."""

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic import create_app
from clinic.extensions import db
from clinic.services import audit
from config import TestConfig
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


def _one_row() -> int:
    audit.record("system-test", "admin.site.update", NOW, object_type="site", object_id=1)
    db.session.commit()
    return db.session.scalar(sa.text("SELECT max(id) FROM audit_events"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor_label = 'x' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "TRUNCATE audit_events",
    ],
)
def test_the_trigger_refuses_update_delete_and_truncate(pg_app, statement):
    row_id = _one_row()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text(statement), {"id": row_id})
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT actor_label FROM audit_events")) == "system-test"
    assert audit.verify().ok


def test_the_old_truncate_escape_no_longer_opens_anything(pg_app):
    runner = pg_app.test_cli_runner()
    """The probe's attack: any role could set the custom setting and empty the trail."""
    _one_row()
    db.session.execute(sa.text("SET LOCAL clinic.allow_audit_truncate = 'on'"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only: TRUNCATE refused"):
        db.session.execute(sa.text("TRUNCATE audit_events"))
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM audit_events")) == 1
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "OK: 1 events" in result.output


def test_a_truncate_by_the_tables_owner_fails_verify_against_the_checkpoint(pg_app):
    runner = pg_app.test_cli_runner()
    _one_row()
    _one_row()
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    # The owner (here the test's superuser) can lift the trigger; the checkpoint remembers.
    db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    db.session.execute(sa.text("TRUNCATE audit_events"))
    db.session.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "rows were removed from its end" in result.output


def test_even_the_orm_cannot_edit_a_row(pg_app):
    _one_row()
    row = db.session.scalar(sa.select(audit.AuditEvent))
    row.outcome = "failed"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_concurrent_appends_keep_one_linear_chain(pg_app: Flask):
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with pg_app.app_context():
                for i in range(10):
                    audit.record(
                        f"writer-{n}", "patient.view", NOW + timedelta(seconds=i), patient_id=n
                    )
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    verdict = audit.verify()
    assert verdict.ok and verdict.count == 60
    # No fork: every prev_hash is used by exactly one row.
    forks = db.session.scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT prev_hash FROM audit_events GROUP BY prev_hash "
            "HAVING count(*) > 1) AS f"
        )
    )
    assert forks == 0


def _commit_audited(app: Flask, site_id: int, lock_timeout: str) -> BaseException | None:
    """Commit one audited write of a site in another session; return what it raised."""
    try:
        with app.app_context():
            db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            audit.record("writer", "patient.view", NOW, site_id=site_id)
            db.session.commit()
            db.session.remove()
    except BaseException as error:  # returned to the test
        return error
    return None


def _in_thread(call, *args):
    """Run a call in a thread of its own (a session of its own) and return its result."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call(*args)))
    thread.start()
    thread.join(timeout=60)
    assert result, "the other session never finished"
    return result[0]


def test_a_sites_open_audit_append_does_not_hold_up_another_sites_commit(pg_app: Flask):
    """Site 1's transaction has appended its row and not committed: its chain is locked.

    Site 2's audited commit goes through all the same (it would wait on the one global lock
    of a single chain); another write of site 1 waits, and gives up at its lock_timeout.
    """
    audit.record("writer", "patient.view", NOW, site_id=1)
    audit._write_pending(db.session())  # what its commit does first: lock, read, append
    held = db.session.execute(
        sa.text(
            "SELECT classid::bigint, objid::bigint, objsubid FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
        )
    ).all()
    assert held == [(audit.LOCK_CLASS, 1, 2)]  # the two-int form: (class, chain)
    assert _in_thread(_commit_audited, pg_app, 2, "30s") is None
    blocked = _in_thread(_commit_audited, pg_app, 1, "200ms")
    assert isinstance(blocked, sa.exc.OperationalError) and "lock timeout" in str(blocked)
    db.session.commit()
    assert _in_thread(_commit_audited, pg_app, 1, "30s") is None
    rows = db.session.execute(sa.text("SELECT chain FROM audit_events ORDER BY id")).scalars()
    assert sorted(rows) == [1, 1, 2]
    verdict = audit.verify()
    assert verdict.ok and {c: h.count for c, h in verdict.chains.items()} == {1: 2, 2: 1}


def test_concurrent_appends_of_several_sites_keep_each_chain_linear(pg_app: Flask):
    errors: list[BaseException] = []

    def append(site: int) -> None:
        try:
            with pg_app.app_context():
                for i in range(8):
                    at = NOW + timedelta(seconds=i)
                    audit.record(f"writer-{site}", "patient.view", at, site_id=site)
                    audit.record(f"writer-{site}", "auth.login", at)  # and chain 0, same commit
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=append, args=(site,)) for site in (1, 2, 3, 1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    verdict = audit.verify()
    assert verdict.ok and verdict.count == 80
    assert {c: h.count for c, h in verdict.chains.items()} == {0: 40, 1: 16, 2: 16, 3: 8}
    forks = db.session.scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT chain, prev_hash FROM audit_events "
            "GROUP BY chain, prev_hash HAVING count(*) > 1) AS f"
        )
    )
    assert forks == 0


def _documented_grants(role: str) -> list[str]:
    """Return the grants docs/database-roles.md gives the app's role after an upgrade."""
    text = (ROOT / "docs" / "database-roles.md").read_text()
    block = text.split("then (idempotent, safe to run every deploy):", 1)[1]
    sql = block.split("```sql", 1)[1].split("```", 1)[0]
    lines = [line for line in sql.splitlines() if line.strip() and not line.startswith("--")]
    return [s.strip().replace("clinic_app", role) for s in " ".join(lines).split(";") if s.strip()]


def test_the_documented_roles_leave_the_app_only_insert_and_select(pg_url, frozen):
    role = f"clinic_app_{uuid.uuid4().hex[:8]}"
    owner = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        for statement in _documented_grants(role):
            conn.execute(sa.text(statement))
    app_url = sa.make_url(pg_url).set(username=role, password=None)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app_url.render_as_string(False))
    try:
        with app.app_context():
            audit.record("system-test", "admin.site.update", NOW, object_type="site", object_id=1)
            db.session.commit()
            assert audit.verify().ok
            for statement in (
                "UPDATE audit_events SET actor_label = 'x'",
                "DELETE FROM audit_events",
                "TRUNCATE audit_events",
                "ALTER TABLE audit_events DISABLE TRIGGER USER",
                "DROP TRIGGER audit_events_no_truncate ON audit_events",
                "SET LOCAL clinic.allow_audit_truncate = 'on'; TRUNCATE audit_events",
            ):
                with pytest.raises(sa.exc.DBAPIError, match=r"permission denied|must be owner"):
                    db.session.execute(sa.text(statement))
                db.session.rollback()
            assert audit.verify().ok
            db.session.remove()
            db.engine.dispose()
    finally:
        with owner.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        owner.dispose()
