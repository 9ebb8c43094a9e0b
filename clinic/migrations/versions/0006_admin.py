"""clearances can be corrected and voided: who and when, and why for a void

Revision ID: 0006_admin
Revises: 0006_alerts
Create Date: 2026-11-27 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_admin'
down_revision = '0006_alerts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('corrected_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_clearances_corrected_by_id_users'), 'users', ['corrected_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_clearances_voided_by_id_users'), 'users', ['voided_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_clearances_voided_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_clearances_corrected_by_id_users'), type_='foreignkey')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('corrected_by_id')
        batch_op.drop_column('corrected_at')
