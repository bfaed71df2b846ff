"""a template's environments (2.16's environment_ids) and the variables each run received

Revision ID: c4e6a8b0d2f1
Revises: b7d2f4a9c310
Create Date: 2026-12-02 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c4e6a8b0d2f1"
down_revision = "b7d2f4a9c310"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "project__template_environment",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["project__environment.id"],
            name=op.f("fk_project__template_environment_environment_id_project__environment"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["project__template.id"],
            name=op.f("fk_project__template_environment_template_id_project__template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "template_id", "environment_id", name=op.f("pk_project__template_environment")
        ),
    )
    with op.batch_alter_table("project__template_environment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project__template_environment_environment_id"),
            ["environment_id"],
            unique=False,
        )
    # Every template that has an environment keeps it as its only one.
    op.execute(
        "INSERT INTO project__template_environment (template_id, environment_id, position) "
        "SELECT id, environment_id, 0 FROM project__template WHERE environment_id IS NOT NULL"
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_variables", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("run_variables")
    with op.batch_alter_table("project__template_environment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project__template_environment_environment_id"))
    op.drop_table("project__template_environment")
