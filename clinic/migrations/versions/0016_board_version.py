"""board version: a per-site counter bumped by every write the recovery board shows

Revision ID: 0016_board_version
Revises: 0015_plan_templates
Create Date: 2026-11-27 23:55:00.000000

A poll of the board compares this counter (with the minute) instead of building the board
(clinic/services/board_version.py bumps it). Existing sites start at 0.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_board_version'
down_revision = '0015_plan_templates'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a constant default: no table rebuild on SQLite.
    op.add_column(
        'sites',
        sa.Column('board_version', sa.Integer(), nullable=False, server_default='0'),
    )


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild of sites would trip the foreign
    # keys that point at it.
    op.execute('ALTER TABLE sites DROP COLUMN board_version')
