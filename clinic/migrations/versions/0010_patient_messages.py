"""patient messages: consent per channel, reminder settings, the messages, the confirmation

Revision ID: 0010_patient_messages
Revises: 0009_treatment_record
Create Date: 2026-11-27 20:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_patient_messages'
down_revision = '0009_treatment_record'
branch_labels = None
depends_on = None

CONSENTS = ('email', 'sms', 'escort_sms')


def _sqlite_foreign_keys(on):
    """SQLite: turn foreign keys off while batch mode rebuilds the patients table (visits
    refer to it), then check them (as 0007_treatment_types does).

    The pragma does nothing inside a transaction, so the one under way is committed first.
    """
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    if on and bind.exec_driver_sql('PRAGMA foreign_key_check').first() is not None:
        raise RuntimeError('0010_patient_messages left a broken foreign key')
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    bind.exec_driver_sql('BEGIN IMMEDIATE')


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('patients', schema=None) as batch_op:
        for channel in CONSENTS:
            batch_op.add_column(sa.Column(f'{channel}_consent_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column(f'{channel}_consent_by_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                op.f(f'fk_patients_{channel}_consent_by_id_users'), 'users', [f'{channel}_consent_by_id'], ['id']
            )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cancel_window_hours', sa.Integer(), server_default='24', nullable=False))
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmation', sa.String(length=20), server_default='unconfirmed', nullable=False))
        batch_op.add_column(sa.Column('confirmation_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'patient_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('recipient', sa.String(length=254), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('token_digest', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_patient_messages_channel')),
        sa.CheckConstraint(
            "kind IN ('booked', 'reminder', 'changed', 'cancelled', 'pickup', 'offer')",
            name=op.f('ck_patient_messages_kind'),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sent', 'failed', 'skipped')", name=op.f('ck_patient_messages_status')
        ),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_messages_patient_id_patients')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_patient_messages_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_messages')),
        sa.UniqueConstraint('visit_id', 'kind', 'channel', 'scheduled_for', name='uq_patient_messages_once'),
        sa.UniqueConstraint('token_digest', name=op.f('uq_patient_messages_token_digest')),
    )
    op.create_index(op.f('ix_patient_messages_visit_id'), 'patient_messages', ['visit_id'], unique=False)
    op.create_index(op.f('ix_patient_messages_patient_id'), 'patient_messages', ['patient_id'], unique=False)
    op.create_index('ix_patient_messages_status_next', 'patient_messages', ['status', 'next_attempt_at'], unique=False)
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    op.drop_index('ix_patient_messages_status_next', table_name='patient_messages')
    op.drop_index(op.f('ix_patient_messages_patient_id'), table_name='patient_messages')
    op.drop_index(op.f('ix_patient_messages_visit_id'), table_name='patient_messages')
    op.drop_table('patient_messages')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_column('confirmation_at')
        batch_op.drop_column('confirmation')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('cancel_window_hours')
        batch_op.drop_column('reminders')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        for channel in reversed(CONSENTS):
            batch_op.drop_constraint(op.f(f'fk_patients_{channel}_consent_by_id_users'), type_='foreignkey')
            batch_op.drop_column(f'{channel}_consent_by_id')
            batch_op.drop_column(f'{channel}_consent_at')
    _sqlite_foreign_keys(True)
