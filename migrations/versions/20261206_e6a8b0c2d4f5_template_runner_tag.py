"""a template's runner tag (issue 18)

Revision ID: e6a8b0c2d4f5
Revises: d5f7a9c1e3b4
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e6a8b0c2d4f5"
down_revision = "d5f7a9c1e3b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("project__template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner_tag", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("project__template", schema=None) as batch_op:
        batch_op.drop_column("runner_tag")
