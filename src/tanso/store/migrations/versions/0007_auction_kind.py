"""auction kind

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auctions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="call", nullable=False)
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("auctions", schema=None) as batch_op:
        batch_op.drop_column("kind")

    # ### end Alembic commands ###
