"""audit trail: no TRUNCATE escape, SQLite append-only triggers, the chain re-signed with HMAC

Revision ID: 0006_audit
Revises: 0006_workflow
Create Date: 2026-11-27 14:30:00.000000

The rows written so far were chained with plain SHA-256. This migration checks that old
chain and re-signs every row with HMAC-SHA-256 under AUDIT_KEY (so run it with the
production AUDIT_KEY set); a broken old chain stops the upgrade, so nothing broken gets a
new signature.
"""
import hashlib
import hmac
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_audit'
down_revision = '0006_workflow'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

# 0005's function let TRUNCATE through when `clinic.allow_audit_truncate` was on, and any
# role may set a custom setting: the escape is gone. Tests lift the triggers as the owner.
REFUSE_CHANGES = """
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

ESCAPE_HATCH = """
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('clinic.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
)


def _resign() -> None:
    """Check the SHA-256 chain and re-sign every row with HMAC-SHA-256, in id order."""
    from clinic.services import audit
    from clinic.types import UTCDateTime

    names = ("actor_id", "actor_label", "action", "patient_id", "object_type", "object_id",
             "outcome", "ip", "prev_hash", "hash")
    table = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("at", UTCDateTime),
        sa.column("detail", sa.JSON),
        *(sa.column(name) for name in names),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    previous_old, previous_new = GENESIS, GENESIS
    for values in rows:
        row = SimpleNamespace(**values)
        if row.prev_hash != previous_old or (
            hashlib.sha256(audit.canonical(row)).hexdigest() != row.hash
        ):
            raise RuntimeError(
                f"audit event {row.id} breaks the SHA-256 chain: run `flask --app wsgi audit "
                "verify` on the previous release and investigate before upgrading"
            )
        previous_old = row.hash
        row.prev_hash = previous_new
        row.hash = hmac.new(audit.audit_key(), audit.canonical(row), hashlib.sha256).hexdigest()
        previous_new = row.hash
        bind.execute(
            table.update().where(table.c.id == row.id).values(prev_hash=row.prev_hash, hash=row.hash)
        )


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(REFUSE_CHANGES)
        # The migration runs as the table's owner: it may lift its own trigger for this.
        op.execute('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete')
        _resign()
        op.execute('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete')
    else:
        _resign()
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    # The rows keep their HMAC chain: 0005's SHA-256 verify would call them broken.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(ESCAPE_HATCH)
    else:
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_delete')
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_update')
