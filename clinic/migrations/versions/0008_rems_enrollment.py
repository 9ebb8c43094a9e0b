"""a patient's REMS enrolment: the day and the REMS patient id

Revision ID: 0008_rems_enrollment
Revises: 0008_moaas
Create Date: 2026-11-27 19:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_rems_enrollment'
down_revision = '0008_moaas'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rems_enrolled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('rems_patient_id', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('rems_patient_id')
        batch_op.drop_column('rems_enrolled_on')
