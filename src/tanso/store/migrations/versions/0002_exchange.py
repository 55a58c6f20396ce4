"""exchange

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("eligibility", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("lot", sa.BigInteger(), nullable=False),
        sa.Column("price_limit_pct", sa.Integer(), nullable=False),
        sa.Column("market_orders", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("sessions", sa.Text(), nullable=False),
        sa.Column("settlement_days", sa.Integer(), nullable=False),
        sa.Column("reference_price", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint("tick > 0 AND lot > 0", name=op.f("ck_instruments_tick_lot_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
    )
    op.create_table(
        "auctions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instrument_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_auctions_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auctions")),
    )
    with op.batch_alter_table("auctions", schema=None) as batch_op:
        batch_op.create_index("ix_auctions_instrument_at", ["instrument_id", "at"], unique=False)

    op.create_table(
        "trades",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("instrument_id", sa.String(length=40), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("buy_order_id", sa.String(length=64), nullable=False),
        sa.Column("sell_order_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("auction", sa.Boolean(), nullable=False),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("settlement_date", sa.String(length=10), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.CheckConstraint("price > 0 AND qty > 0", name=op.f("ck_trades_price_qty_positive")),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_trades_instrument_id_instruments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trades_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(
            "ix_trades_instrument_at", ["instrument_id", "journal_seq"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_trades_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("instrument_id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("reserve_price", sa.BigInteger(), nullable=True),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("tif", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= qty", name=op.f("ck_orders_remaining_valid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_orders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_orders_instrument_id_instruments")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_orders_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_instrument_status", ["instrument_id", "status", "priority"], unique=False
        )
        batch_op.create_index(
            "ix_orders_participant", ["participant_id", "created_at"], unique=False
        )

    op.create_table(
        "settlement_obligations",
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("buyer_id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("buyer_account", sa.String(length=40), nullable=False),
        sa.Column("seller_account", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=False),
        sa.Column("credit_reservation", sa.String(length=64), nullable=False),
        sa.Column("cash_reservation", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("settled_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.id"], name=op.f("fk_settlement_obligations_trade_id_trades")
        ),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_settlement_obligations")),
    )
    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_obligations_buyer_id"), ["buyer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_obligations_due_date"), ["due_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_obligations_seller_id"), ["seller_id"], unique=False
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_obligations_seller_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_obligations_due_date"))
        batch_op.drop_index(batch_op.f("ix_settlement_obligations_buyer_id"))

    op.drop_table("settlement_obligations")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_participant")
        batch_op.drop_index("ix_orders_instrument_status")

    op.drop_table("orders")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trades_seller_id"))
        batch_op.drop_index("ix_trades_instrument_at")
        batch_op.drop_index(batch_op.f("ix_trades_buyer_id"))

    op.drop_table("trades")
    with op.batch_alter_table("auctions", schema=None) as batch_op:
        batch_op.drop_index("ix_auctions_instrument_at")

    op.drop_table("auctions")
    op.drop_table("instruments")
    # ### end Alembic commands ###
