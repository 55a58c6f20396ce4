"""orders: ``cancelled``, the quantity cancelled or expired

An order's quantities add up: ``quantity`` = filled + ``cancelled`` + ``remaining``. Until now a
cancelled or expired order kept ``remaining`` 0 and reported its whole quantity as filled. Existing
cancelled and expired orders get the quantity their trades that stand do not account for.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancelled", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE orders SET cancelled = quantity - remaining - COALESCE(("
        " SELECT SUM(trades.quantity) FROM trades"
        " WHERE (trades.buy_order_id = orders.id OR trades.sell_order_id = orders.id)"
        " AND trades.busted = FALSE), 0)"
        " WHERE status IN ('cancelled', 'expired')"
    )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("cancelled")
