"""fees fixed when an order is accepted: ``orders.fees``

An order stores the fee schedule of its side as it stood when the order was accepted (JSON:
``per_tonne``, ``bps``, ``per_trade``); its trades pay those fees and a buy order's cash hold is
sized by them, so a later schedule change applies to new orders only. Open orders get the
schedule in force at the upgrade; closed orders keep none (they trade no more).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fees", sa.String(length=200), nullable=True))
    conn = op.get_bind()
    schedules = {
        (r.instrument_id, r.side): {
            "per_tonne": r.per_tonne,
            "bps": r.bps,
            "per_trade": r.per_trade,
        }
        for r in conn.execute(
            sa.text("SELECT instrument_id, side, per_tonne, bps, per_trade FROM fee_schedules")
        )
    }
    free = {"per_tonne": 0, "bps": 0, "per_trade": 0}
    orders = conn.execute(
        sa.text("SELECT id, instrument_id, side FROM orders WHERE status = 'open'")
    ).all()
    for o in orders:
        fees = schedules.get((o.instrument_id, o.side)) or schedules.get(("*", o.side)) or free
        conn.execute(
            sa.text("UPDATE orders SET fees = :fees WHERE id = :id"),
            {"fees": json.dumps(fees, separators=(",", ":"), sort_keys=True), "id": o.id},
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("fees")
