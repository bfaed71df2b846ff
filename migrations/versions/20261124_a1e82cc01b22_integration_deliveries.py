"""the log of requests received on integration URLs, with each integration's outcome

Revision ID: a1e82cc01b22
Revises: a1c3e5f7b9d2
Create Date: 2026-11-24 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a1e82cc01b22"
down_revision = "a1c3e5f7b9d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "project__integration_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("received", sa.DateTime(), nullable=False),
        sa.Column("alias_kind", sa.String(length=16), nullable=False),
        sa.Column("alias", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("body_excerpt", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name="fk_integration_delivery_project_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project__integration_delivery")),
    )
    with op.batch_alter_table("project__integration_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_project__integration_delivery_project_id_id", ["project_id", "id"], unique=False
        )

    op.create_table(
        "project__integration_delivery_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("integration_name", sa.String(length=255), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["project__integration_delivery.id"],
            name="fk_integration_delivery_outcome_delivery_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["project__integration.id"],
            name="fk_integration_delivery_outcome_integration_id",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
            name="fk_integration_delivery_outcome_task_id",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project__integration_delivery_outcome")),
    )
    with op.batch_alter_table("project__integration_delivery_outcome", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project__integration_delivery_outcome_delivery_id"),
            ["delivery_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_project__integration_delivery_outcome_integration_id"),
            ["integration_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_project__integration_delivery_outcome_task_id"),
            ["task_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("project__integration_delivery_outcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project__integration_delivery_outcome_task_id"))
        batch_op.drop_index(batch_op.f("ix_project__integration_delivery_outcome_integration_id"))
        batch_op.drop_index(batch_op.f("ix_project__integration_delivery_outcome_delivery_id"))
    op.drop_table("project__integration_delivery_outcome")
    with op.batch_alter_table("project__integration_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_project__integration_delivery_project_id_id")
    op.drop_table("project__integration_delivery")
