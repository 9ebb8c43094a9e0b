"""plans, recall and the waitlist: patient plans, waitlist entries, offers and their recipients

Revision ID: 0012_waitlist
Revises: 0010_patient_messages
Create Date: 2026-11-27 21:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_waitlist'
down_revision = '0011_courses'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'patient_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('every_days', sa.Integer(), nullable=False),
        sa.Column('next_due_on', sa.Date(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_plans_patient_id_patients')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_patient_plans_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_plans')),
        sa.UniqueConstraint('patient_id', name=op.f('uq_patient_plans_patient_id')),
    )
    op.create_index(op.f('ix_patient_plans_next_due_on'), 'patient_plans', ['next_due_on'], unique=False)
    op.create_table(
        'waitlist_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('earliest_on', sa.Date(), nullable=False),
        sa.Column('latest_on', sa.Date(), nullable=False),
        sa.Column('part_of_day', sa.String(length=10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("part_of_day IN ('any', 'morning', 'afternoon')", name=op.f('ck_waitlist_entries_part_of_day')),
        sa.CheckConstraint("status IN ('waiting', 'booked', 'removed')", name=op.f('ck_waitlist_entries_status')),
        sa.CheckConstraint('latest_on >= earliest_on', name=op.f('ck_waitlist_entries_span')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_waitlist_entries_created_by_id_users')),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_waitlist_entries_patient_id_patients')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_waitlist_entries_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    )
    op.create_index(op.f('ix_waitlist_entries_patient_id'), 'waitlist_entries', ['patient_id'], unique=False)
    op.create_index('ix_waitlist_entries_site_status', 'waitlist_entries', ['site_id', 'status'], unique=False)
    op.create_table(
        'waitlist_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('chair_id', sa.Integer(), nullable=False),
        sa.Column('infusion_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hold_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'taken', 'expired')", name=op.f('ck_waitlist_offers_status')),
        sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_waitlist_offers_chair_id_chairs')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_waitlist_offers_created_by_id_users')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_waitlist_offers_site_id_sites')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_waitlist_offers_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers')),
    )
    op.create_index(op.f('ix_waitlist_offers_site_id'), 'waitlist_offers', ['site_id'], unique=False)
    op.create_table(
        'waitlist_offer_recipients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('offer_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('answer', sa.String(length=10), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entries.id'], name=op.f('fk_waitlist_offer_recipients_entry_id_waitlist_entries')),
        sa.ForeignKeyConstraint(['offer_id'], ['waitlist_offers.id'], name=op.f('fk_waitlist_offer_recipients_offer_id_waitlist_offers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer_recipients')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_waitlist_offer_recipients_token_digest')),
    )
    op.create_index(op.f('ix_waitlist_offer_recipients_entry_id'), 'waitlist_offer_recipients', ['entry_id'], unique=False)
    op.create_index(op.f('ix_waitlist_offer_recipients_offer_id'), 'waitlist_offer_recipients', ['offer_id'], unique=False)
    # An offer's messages go through the patients' outbox: no visit, a recipient instead.
    with op.batch_alter_table('patient_messages', schema=None) as batch_op:
        batch_op.alter_column('visit_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('offer_recipient_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_messages_offer_recipient_id'), ['offer_recipient_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_patient_messages_offer_recipient_id_waitlist_offer_recipients'),
            'waitlist_offer_recipients', ['offer_recipient_id'], ['id'],
        )


def downgrade():
    op.execute('DELETE FROM patient_messages WHERE visit_id IS NULL')
    with op.batch_alter_table('patient_messages', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_patient_messages_offer_recipient_id_waitlist_offer_recipients'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_patient_messages_offer_recipient_id'))
        batch_op.drop_column('offer_recipient_id')
        batch_op.alter_column('visit_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f('ix_waitlist_offer_recipients_offer_id'), table_name='waitlist_offer_recipients')
    op.drop_index(op.f('ix_waitlist_offer_recipients_entry_id'), table_name='waitlist_offer_recipients')
    op.drop_table('waitlist_offer_recipients')
    op.drop_index(op.f('ix_waitlist_offers_site_id'), table_name='waitlist_offers')
    op.drop_table('waitlist_offers')
    op.drop_index('ix_waitlist_entries_site_status', table_name='waitlist_entries')
    op.drop_index(op.f('ix_waitlist_entries_patient_id'), table_name='waitlist_entries')
    op.drop_table('waitlist_entries')
    op.drop_index(op.f('ix_patient_plans_next_due_on'), table_name='patient_plans')
    op.drop_table('patient_plans')
