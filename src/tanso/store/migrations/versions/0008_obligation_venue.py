"""settlement obligations from every venue

Obligations were keyed by exchange trade; marketplace purchases and sealed-bid awards settle the
same way, so the key becomes a deal id with the venue beside it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_settlement_obligations_trade_id_trades", type_="foreignkey")
        batch_op.add_column(
            sa.Column("venue", sa.String(length=16), server_default="exchange", nullable=False)
        )
        batch_op.add_column(sa.Column("instrument_id", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE settlement_obligations SET instrument_id = "
        "(SELECT instrument_id FROM trades WHERE trades.id = settlement_obligations.trade_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.drop_column("instrument_id")
        batch_op.drop_column("venue")
        batch_op.create_foreign_key(
            "fk_settlement_obligations_trade_id_trades", "trades", ["trade_id"], ["id"]
        )
