"""wall displays: a link is claimed once for a device cookie

Revision ID: 0006_edges
Revises: 0006_auth
Create Date: 2026-11-27 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_edges'
down_revision = '0006_auth'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('display_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('device_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_display_links_device_digest'), ['device_digest']
        )


def downgrade():
    with op.batch_alter_table('display_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_display_links_device_digest'), type_='unique')
        batch_op.drop_column('device_digest')
        batch_op.drop_column('claimed_at')
