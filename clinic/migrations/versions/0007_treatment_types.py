"""treatment types per site; each site's current settings become its default IV type

Revision ID: 0007_treatment_types
Revises: 0006_audit
Create Date: 2026-11-27 18:30:00.000000

Every site gets one type, "IV ketamine", made from its infusion and observation minutes with
observation counted from the end of the administration (what booking has always done), and
every existing visit is pointed at its site's type, so nothing changes meaning.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_treatment_types'
down_revision = '0006_audit'
branch_labels = None
depends_on = None

DEFAULT_TYPES = """
INSERT INTO treatment_types (site_id, name, kind, active, administration_min,
    administration_max, administration_default, observation_min, observation_default,
    observation_from, rems)
SELECT id, 'IV ketamine', 'iv_ketamine', :yes, infusion_min, infusion_max, infusion_default,
    observation_min, observation_default, 'administration_end', :no
FROM sites
"""
POINT_SITES = """
UPDATE sites SET default_treatment_type_id =
    (SELECT min(t.id) FROM treatment_types t WHERE t.site_id = sites.id)
"""
POINT_VISITS = """
UPDATE visits SET treatment_type_id =
    (SELECT s.default_treatment_type_id FROM sites s WHERE s.id = visits.site_id)
"""


def _sqlite_foreign_keys(on):
    """SQLite: turn foreign keys off while batch mode rebuilds referenced tables, then check.

    The pragma does nothing inside a transaction, so the one under way is committed first
    (nothing has been written yet when it is turned off).
    """
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    if on and bind.exec_driver_sql('PRAGMA foreign_key_check').first() is not None:
        raise RuntimeError('0007_treatment_types left a broken foreign key')
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    bind.exec_driver_sql('BEGIN IMMEDIATE')


def upgrade():
    _sqlite_foreign_keys(False)
    op.create_table(
        'treatment_types',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('administration_min', sa.Integer(), nullable=False),
        sa.Column('administration_max', sa.Integer(), nullable=False),
        sa.Column('administration_default', sa.Integer(), nullable=False),
        sa.Column('observation_min', sa.Integer(), nullable=False),
        sa.Column('observation_default', sa.Integer(), nullable=False),
        sa.Column('observation_from', sa.String(length=30), nullable=False),
        sa.Column('rems', sa.Boolean(), nullable=False),
        sa.Column('predose_systolic_max', sa.Integer(), nullable=True),
        sa.Column('predose_diastolic_max', sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('iv_ketamine', 'esketamine', 'other')", name=op.f('ck_treatment_types_kind')),
        sa.CheckConstraint("observation_from IN ('administration_start', 'administration_end')", name=op.f('ck_treatment_types_observation_from')),
        sa.CheckConstraint(
            '0 < administration_min AND administration_min <= administration_default '
            'AND administration_default <= administration_max',
            name=op.f('ck_treatment_types_administration_range'),
        ),
        sa.CheckConstraint('0 <= observation_min AND observation_min <= observation_default', name=op.f('ck_treatment_types_observation_range')),
        sa.CheckConstraint('(predose_systolic_max IS NULL) = (predose_diastolic_max IS NULL)', name=op.f('ck_treatment_types_predose_bp_pair')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_treatment_types_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_treatment_types')),
    )
    with op.batch_alter_table('treatment_types', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_treatment_types_site_id'), ['site_id'], unique=False)

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_treatment_type_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rems_certified_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('rems_authorized_representative', sa.String(length=120), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sites_default_treatment_type_id_treatment_types'), 'treatment_types', ['default_treatment_type_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('treatment_type_id', sa.Integer(), nullable=True))

    op.execute(sa.text(DEFAULT_TYPES).bindparams(yes=True, no=False))
    op.execute(POINT_SITES)
    op.execute(POINT_VISITS)

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.alter_column('treatment_type_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_visits_treatment_type_id_treatment_types'), 'treatment_types', ['treatment_type_id'], ['id'])
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_visits_treatment_type_id_treatment_types'), type_='foreignkey')
        batch_op.drop_column('treatment_type_id')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sites_default_treatment_type_id_treatment_types'), type_='foreignkey')
        batch_op.drop_column('rems_authorized_representative')
        batch_op.drop_column('rems_certified_on')
        batch_op.drop_column('default_treatment_type_id')
    with op.batch_alter_table('treatment_types', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_treatment_types_site_id'))
    op.drop_table('treatment_types')
    _sqlite_foreign_keys(True)
