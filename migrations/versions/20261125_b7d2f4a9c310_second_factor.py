"""TOTP authenticators, recovery codes, sessions waiting for a second factor, token expiry

Revision ID: b7d2f4a9c310
Revises: a1e82cc01b22
Create Date: 2026-11-25 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7d2f4a9c310"
down_revision = "a1e82cc01b22"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user__totp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user__totp_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user__totp")),
        sa.UniqueConstraint("user_id", name=op.f("uq_user__totp_user_id")),
    )
    op.create_table(
        "user__recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_user__recovery_code_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user__recovery_code")),
    )
    with op.batch_alter_table("user__recovery_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user__recovery_code_user_id"), ["user_id"], unique=False
        )
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("user__token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("user__token", schema=None) as batch_op:
        batch_op.drop_column("expires")
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.drop_column("verified")
    with op.batch_alter_table("user__recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user__recovery_code_user_id"))
    op.drop_table("user__recovery_code")
    op.drop_table("user__totp")
