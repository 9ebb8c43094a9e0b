"""audit chains: one HMAC chain per site instead of one for the whole trail

Revision ID: 0017_audit_chains
Revises: 0016_board_version
Create Date: 2026-11-28 03:15:00.000000

Every audit row names the chain it links into (`chain`: its site's id, 0 for rows of no
site), so appends of different sites take different locks. Existing rows all join chain 0
unchanged: a row's canonical JSON names its chain only when it is not 0, so their hashes
and links still verify, and so do the checkpoints written before this revision.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_audit_chains'
down_revision = '0016_board_version'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a constant default: no table rebuild (the append-only triggers
    # refuse UPDATE, and no row is updated).
    op.add_column(
        'audit_events',
        sa.Column('chain', sa.Integer(), nullable=False, server_default='0'),
    )
    op.create_index('ix_audit_events_chain_id', 'audit_events', ['chain', 'id'])


def downgrade():
    # Rows of other chains sign their chain: without the column they could never verify.
    others = op.get_bind().scalar(sa.text('SELECT count(*) FROM audit_events WHERE chain <> 0'))
    if others:
        raise RuntimeError(
            f'{others} audit events belong to a site\'s chain; the previous release cannot '
            'verify them, so this downgrade is refused'
        )
    op.drop_index('ix_audit_events_chain_id', table_name='audit_events')
    op.execute('ALTER TABLE audit_events DROP COLUMN chain')
