"""courses: a row per series of visits (existing series_id groups become courses)

Revision ID: 0011_courses
Revises: 0010_patient_messages
Create Date: 2026-11-27 21:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_courses'
down_revision = '0010_patient_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'courses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('series_id', sa.String(length=36), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_courses_patient_id_patients')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_courses_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
        sa.UniqueConstraint('series_id', name=op.f('uq_courses_series_id')),
    )
    op.create_index(op.f('ix_courses_patient_id'), 'courses', ['patient_id'], unique=False)
    # Every series booked before becomes a course (its first visit's patient, site, time).
    op.execute(
        "INSERT INTO courses (series_id, patient_id, site_id, created_at) "
        "SELECT series_id, MIN(patient_id), MIN(site_id), MIN(created_at) FROM visits "
        "WHERE series_id IS NOT NULL GROUP BY series_id ORDER BY MIN(infusion_start)"
    )


def downgrade():
    op.drop_index(op.f('ix_courses_patient_id'), table_name='courses')
    op.drop_table('courses')
