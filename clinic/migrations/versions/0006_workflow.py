"""site settings for the visit window: check-in opening and no-show delay

Revision ID: 0006_workflow
Revises: 0006_edges
Create Date: 2026-11-27 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_workflow'
down_revision = '0006_edges'
branch_labels = None
depends_on = None


def upgrade():
    # Existing sites get the defaults through the server defaults.
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_in_open_minutes', sa.Integer(), nullable=False, server_default='120'))
        batch_op.add_column(sa.Column('no_show_after_minutes', sa.Integer(), nullable=False, server_default='15'))


def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('no_show_after_minutes')
        batch_op.drop_column('check_in_open_minutes')
