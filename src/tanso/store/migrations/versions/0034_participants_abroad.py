"""Participants from abroad: LEI, country and the name in the participant's own script

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs and a unique index: SQLite need not copy the table others point at
    op.add_column("participants", sa.Column("lei", sa.String(length=20), nullable=True))
    op.add_column(
        "participants",
        sa.Column("country", sa.String(length=2), nullable=False, server_default="JP"),
    )
    op.add_column("participants", sa.Column("name_local", sa.Text(), nullable=True))
    op.create_index("ix_participants_lei", "participants", ["lei"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_participants_lei", table_name="participants")
    with op.batch_alter_table("participants") as batch_op:
        batch_op.drop_column("name_local")
        batch_op.drop_column("country")
        batch_op.drop_column("lei")
