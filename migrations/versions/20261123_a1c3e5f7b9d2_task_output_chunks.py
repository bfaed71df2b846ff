"""task output stored in chunks of lines instead of one row per line

Revision ID: a1c3e5f7b9d2
Revises: 6255bab31818
Create Date: 2026-11-23 12:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a1c3e5f7b9d2"
down_revision = "6255bab31818"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task__output_chunk",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("times", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
            name=op.f("fk_task__output_chunk_task_id_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task__output_chunk")),
    )
    with op.batch_alter_table("task__output_chunk", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task__output_chunk_task_id_first_seq", ["task_id", "first_seq"], unique=True
        )
    # Nothing has been released with the per-line table: it holds no data worth carrying over.
    with op.batch_alter_table("task__output", schema=None) as batch_op:
        batch_op.drop_index("ix_task__output_task_id_seq")
    op.drop_table("task__output")


def downgrade():
    op.create_table(
        "task__output",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
            name=op.f("fk_task__output_task_id_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task__output")),
    )
    with op.batch_alter_table("task__output", schema=None) as batch_op:
        batch_op.create_index("ix_task__output_task_id_seq", ["task_id", "seq"], unique=True)
    with op.batch_alter_table("task__output_chunk", schema=None) as batch_op:
        batch_op.drop_index("ix_task__output_chunk_task_id_first_seq")
    op.drop_table("task__output_chunk")
