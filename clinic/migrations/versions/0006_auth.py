"""pending sign-ins on the server, API token lifetimes, TOTP secrets encrypted at rest

Revision ID: 0006_auth
Revises: 0006_admin
Create Date: 2026-11-27 14:30:00.000000

"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_auth'
down_revision = '0006_admin'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_sign_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('next_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("step IN ('second_factor', 'enrol')", name=op.f('ck_pending_sign_ins_step')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pending_sign_ins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_sign_ins')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_pending_sign_ins_token_digest'))
    )
    with op.batch_alter_table('pending_sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_sign_ins_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_sign_ins_user_id'), ['user_id'], unique=False)

    # Tokens issued before lifetimes existed get the default 90 days from now.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=80), nullable=False, server_default='API token'))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_used_ip', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=20), nullable=True))
    tokens = sa.table('api_tokens', sa.column('expires_at', sa.DateTime(timezone=True)))
    expires = datetime.now(UTC) + timedelta(days=90)
    if op.get_bind().dialect.name == 'sqlite':
        expires = expires.replace(tzinfo=None)  # SQLite columns hold naive UTC
    op.execute(tokens.update().values(expires_at=expires))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)

    # TOTP secrets: encrypt the existing ones (the key comes from the app's configuration).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret_encrypted', sa.String(length=255), nullable=True))
    _copy_secrets('totp_secret', 'totp_secret_encrypted', encrypt=True)
    op.drop_column('users', 'totp_secret')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
    _copy_secrets('totp_secret_encrypted', 'totp_secret', encrypt=False)
    op.drop_column('users', 'totp_secret_encrypted')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('last_used_ip')
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('name')

    with op.batch_alter_table('pending_sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_sign_ins_user_id'))
        batch_op.drop_index(batch_op.f('ix_pending_sign_ins_expires_at'))
    op.drop_table('pending_sign_ins')


def _copy_secrets(source: str, target: str, encrypt: bool) -> None:
    """Copy every user's TOTP secret from one column to the other, encrypting or decrypting."""
    from clinic.services.totp_secrets import seal, unseal

    users = sa.table('users', sa.column('id', sa.Integer), sa.column(source), sa.column(target))
    bind = op.get_bind()
    rows = bind.execute(sa.select(users.c.id, users.c[source]).where(users.c[source].is_not(None)))
    for user_id, value in rows.all():
        new = seal(value) if encrypt else unseal(value)
        bind.execute(users.update().where(users.c.id == user_id).values({target: new}))
