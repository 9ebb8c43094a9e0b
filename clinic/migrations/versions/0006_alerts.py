"""notifications: resolved_at and resolved_reason (an alert whose condition has gone)

Revision ID: 0006_alerts
Revises: 0005
Create Date: 2026-11-27 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_alerts'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_reason', sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('resolved_reason')
        batch_op.drop_column('resolved_at')
