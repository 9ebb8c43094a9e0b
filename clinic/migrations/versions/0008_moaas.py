"""observations.moaas: the MOAA/S sedation score (0-5) of a reading

Revision ID: 0008_moaas
Revises: 0007_treatment_types
Create Date: 2026-11-27 19:20:00.000000

Nullable: the readings taken before it existed have no score, and it stays optional.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_moaas'
down_revision = '0007_treatment_types'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moaas', sa.SmallInteger(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_observations_moaas_range'), 'moaas BETWEEN 0 AND 5'
        )


def downgrade():
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_observations_moaas_range'), type_='check')
        batch_op.drop_column('moaas')
