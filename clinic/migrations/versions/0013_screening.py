"""screening: measures, practitioner reviews, kiosk links, the site's measures before start

Revision ID: 0013_screening
Revises: 0012_waitlist
Create Date: 2026-11-27 21:40:00.000000

Adds the positive-screen alert to the notification kinds; existing sites get the default
["cssrs_screen"].
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_screening'
down_revision = '0012_waitlist'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('discharge_due', 'discharge_overdue', 'rems_form_due')"
NEW_KINDS = "kind IN ('discharge_due', 'discharge_overdue', 'rems_form_due', 'screen_positive')"


def _sqlite_foreign_keys(on):
    """SQLite: turn foreign keys off while batch mode rebuilds sites and notifications (other
    tables refer to them), then check them (as 0010_patient_messages does)."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    if on and bind.exec_driver_sql('PRAGMA foreign_key_check').first() is not None:
        raise RuntimeError('0013_screening left a broken foreign key')
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    bind.exec_driver_sql('BEGIN IMMEDIATE')


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('screening_before_start', sa.JSON(), server_default='["cssrs_screen"]', nullable=False)
        )
    op.create_table(
        'measures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('instrument', sa.String(length=20), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('band', sa.String(length=30), nullable=False),
        sa.Column('flags', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('via_kiosk', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "instrument IN ('phq9', 'gad7', 'cssrs_screen')", name=op.f('ck_measures_instrument')
        ),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_measures_patient_id_patients')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_measures_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_measures_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_measures')),
    )
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.create_index('ix_measures_patient_at', ['patient_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_measures_visit_id'), ['visit_id'], unique=False)
    op.create_table(
        'screening_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('proceed', 'defer')", name=op.f('ck_screening_reviews_decision')),
        sa.ForeignKeyConstraint(
            ['practitioner_id'], ['users.id'], name=op.f('fk_screening_reviews_practitioner_id_users')
        ),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_screening_reviews_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_reviews')),
    )
    with op.batch_alter_table('screening_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_reviews_visit_id'), ['visit_id'], unique=False)
    op.create_table(
        'kiosk_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_kiosk_links_created_by_id_users')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_kiosk_links_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_links')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_kiosk_links_token_digest')),
    )
    with op.batch_alter_table('kiosk_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_links_visit_id'), ['visit_id'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), NEW_KINDS)
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    op.execute("DELETE FROM notifications WHERE kind = 'screen_positive'")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), OLD_KINDS)
    with op.batch_alter_table('kiosk_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_links_visit_id'))
    op.drop_table('kiosk_links')
    with op.batch_alter_table('screening_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_reviews_visit_id'))
    op.drop_table('screening_reviews')
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measures_visit_id'))
        batch_op.drop_index('ix_measures_patient_at')
    op.drop_table('measures')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('screening_before_start')
    _sqlite_foreign_keys(True)
