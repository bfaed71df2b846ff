"""the remote runner a task is handed to (issue 18)

Revision ID: d5f7a9c1e3b4
Revises: c4e6a8b0d2f1
Create Date: 2026-12-06 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d5f7a9c1e3b4"
down_revision = "c4e6a8b0d2f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_task_runner_id"), ["runner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_task_runner_id_runner"),
            "runner",
            ["runner_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_task_runner_id_runner"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_task_runner_id"))
        batch_op.drop_column("runner_id")
