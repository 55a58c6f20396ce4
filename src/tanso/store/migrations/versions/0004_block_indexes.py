"""block indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blocks_account_status_vintage"))
        batch_op.create_index("ix_blocks_account_id", ["account_id", "id"], unique=False)
        batch_op.create_index(
            "ix_blocks_account_status_order",
            ["account_id", "status", "vintage", "issuance_id", "serial_start"],
            unique=False,
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_blocks_account_status_order")
        batch_op.drop_index("ix_blocks_account_id")
        batch_op.create_index(
            batch_op.f("ix_blocks_account_status_vintage"),
            ["account_id", "status", "vintage"],
            unique=False,
        )

    # ### end Alembic commands ###
