"""sealed auctions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_auctions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("supply", sa.BigInteger(), nullable=False),
        sa.Column("lot", sa.BigInteger(), nullable=False),
        sa.Column("reserve", sa.BigInteger(), nullable=False),
        sa.Column("pricing", sa.String(length=32), nullable=False),
        sa.Column("marginal", sa.String(length=16), nullable=False),
        sa.Column("undersubscribed", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("opens_at", sa.String(length=32), nullable=False),
        sa.Column("closes_at", sa.String(length=32), nullable=False),
        sa.Column("settlement_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("cleared_at", sa.String(length=32), nullable=True),
        sa.Column("clearing_price", sa.BigInteger(), nullable=True),
        sa.Column("sold", sa.BigInteger(), nullable=True),
        sa.Column("unsold", sa.BigInteger(), nullable=True),
        sa.Column("bidders", sa.Integer(), nullable=True),
        sa.Column("valid_demand", sa.BigInteger(), nullable=True),
        sa.Column("demand", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'cleared', 'cancelled')",
            name=op.f("ck_sealed_auctions_status_known"),
        ),
        sa.CheckConstraint(
            "supply > 0 AND lot > 0 AND reserve > 0 AND settlement_days >= 0",
            name=op.f("ck_sealed_auctions_terms_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["participants.id"],
            name=op.f("fk_sealed_auctions_seller_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_auctions")),
    )
    with op.batch_alter_table("sealed_auctions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sealed_auctions_seller_id"), ["seller_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sealed_auctions_closes_at"), ["closes_at"], unique=False
        )

    op.create_table(
        "sealed_bids",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("auction_id", sa.String(length=40), nullable=False),
        sa.Column("bidder_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint("price > 0 AND qty > 0", name=op.f("ck_sealed_bids_price_qty_positive")),
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'won', 'lost', 'cancelled')",
            name=op.f("ck_sealed_bids_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"],
            ["sealed_auctions.id"],
            name=op.f("fk_sealed_bids_auction_id_sealed_auctions"),
        ),
        sa.ForeignKeyConstraint(
            ["bidder_id"],
            ["participants.id"],
            name=op.f("fk_sealed_bids_bidder_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_bids")),
    )
    with op.batch_alter_table("sealed_bids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sealed_bids_auction_id"), ["auction_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sealed_bids_bidder_id"), ["bidder_id"], unique=False)

    op.create_table(
        "sealed_awards",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("auction_id", sa.String(length=40), nullable=False),
        sa.Column("bid_id", sa.String(length=40), nullable=False),
        sa.Column("bidder_id", sa.String(length=40), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "qty > 0 AND price > 0", name=op.f("ck_sealed_awards_qty_price_positive")
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"],
            ["sealed_auctions.id"],
            name=op.f("fk_sealed_awards_auction_id_sealed_auctions"),
        ),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["sealed_bids.id"], name=op.f("fk_sealed_awards_bid_id_sealed_bids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_awards")),
    )
    with op.batch_alter_table("sealed_awards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sealed_awards_auction_id"), ["auction_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sealed_awards_bidder_id"), ["bidder_id"], unique=False)


def downgrade() -> None:
    for table, columns in (
        ("sealed_awards", ("auction_id", "bidder_id")),
        ("sealed_bids", ("auction_id", "bidder_id")),
        ("sealed_auctions", ("seller_id", "closes_at")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
