"""a template's task timeout and a project's task retention (issue 19)

Revision ID: f7b9c1d3e5a6
Revises: e6a8b0c2d4f5
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f7b9c1d3e5a6"
down_revision = "e6a8b0c2d4f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("project__template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_task_duration_sec", sa.Integer(), nullable=True))
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_retention_days", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("task_retention_days")
    with op.batch_alter_table("project__template", schema=None) as batch_op:
        batch_op.drop_column("max_task_duration_sec")
