"""plan templates: a maintenance plan may follow the Spravato phases

Revision ID: 0015_plan_templates
Revises: 0014_calendar_feeds
Create Date: 2026-11-27 23:50:00.000000

Existing plans keep their dates: template "none".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_plan_templates'
down_revision = '0014_calendar_feeds'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_plans', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('template', sa.String(length=20), server_default='none', nullable=False)
        )
        batch_op.create_check_constraint('template', "template IN ('none', 'spravato')")


def downgrade():
    with op.batch_alter_table('patient_plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_patient_plans_template'), type_='check')
        batch_op.drop_column('template')
