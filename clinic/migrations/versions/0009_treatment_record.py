"""the treatment record: doses, the IV mg/kg order, the REMS form's answers and submissions

Revision ID: 0009_treatment_record
Revises: 0008_rems_enrollment
Create Date: 2026-11-27 20:30:00.000000

Adds the REMS reminder to the notification kinds.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0009_treatment_record'
down_revision = '0008_rems_enrollment'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('discharge_due', 'discharge_overdue')"
NEW_KINDS = "kind IN ('discharge_due', 'discharge_overdue', 'rems_form_due')"


def upgrade():
    op.create_table(
        'doses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('drug', sa.String(length=80), nullable=False),
        sa.Column('dose_mg', sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column('lot', sa.String(length=40), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('route', sa.String(length=20), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('dose_mg > 0', name=op.f('ck_doses_dose_positive')),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_doses_confirmed_by_id_users')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_doses_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_doses_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_doses')),
    )
    op.create_index(op.f('ix_doses_visit_id'), 'doses', ['visit_id'], unique=False)
    op.create_table(
        'rems_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('confirmation', sa.String(length=60), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("method IN ('online', 'fax')", name=op.f('ck_rems_submissions_method')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_rems_submissions_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_rems_submissions_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rems_submissions')),
        sa.UniqueConstraint('visit_id', name=op.f('uq_rems_submissions_visit_id')),
    )
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mg_per_kg', sa.Numeric(precision=5, scale=3), nullable=True))
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rems_concomitant', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ready_to_leave_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM notifications WHERE kind = 'rems_form_due'")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), OLD_KINDS)
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_column('ready_to_leave_minutes')
        batch_op.drop_column('rems_concomitant')
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.drop_column('mg_per_kg')
    op.drop_table('rems_submissions')
    op.drop_index(op.f('ix_doses_visit_id'), table_name='doses')
    op.drop_table('doses')
