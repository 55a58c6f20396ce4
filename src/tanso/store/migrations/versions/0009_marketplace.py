"""marketplace: project profiles, listings, requests for quote, offers, deals

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{key}"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "project_profiles",
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("summary_en", sa.Text(), nullable=False),
        sa.Column("summary_ja", sa.Text(), nullable=False),
        sa.Column("ratings", sa.Text(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=96), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        _fk("project_profiles", "project_id", "projects"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_profiles")),
    )
    op.create_table(
        "marketplace_listings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("issuance_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("min_qty", sa.BigInteger(), nullable=False),
        sa.Column("lot", sa.BigInteger(), nullable=False),
        sa.Column("settlement_days", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "price > 0 AND available >= 0 AND min_qty >= 1 AND lot >= 1",
            name=op.f("ck_marketplace_listings_terms_valid"),
        ),
        _fk("marketplace_listings", "seller_id", "participants"),
        _fk("marketplace_listings", "account_id", "accounts"),
        _fk("marketplace_listings", "issuance_id", "issuances"),
        _fk("marketplace_listings", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_listings")),
    )
    with op.batch_alter_table("marketplace_listings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_marketplace_listings_seller_id"), ["seller_id"], unique=False
        )
        batch_op.create_index(
            "ix_marketplace_listings_status_project", ["status", "project_id"], unique=False
        )
    op.create_table(
        "marketplace_rfqs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("buyer_id", sa.String(length=40), nullable=False),
        sa.Column("listing_id", sa.String(length=64), nullable=True),
        sa.Column("seller_id", sa.String(length=40), nullable=True),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        _fk("marketplace_rfqs", "buyer_id", "participants"),
        _fk("marketplace_rfqs", "listing_id", "marketplace_listings"),
        _fk("marketplace_rfqs", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_rfqs")),
    )
    with op.batch_alter_table("marketplace_rfqs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_marketplace_rfqs_buyer_id"), ["buyer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_marketplace_rfqs_project_id"), ["project_id"], unique=False
        )
    op.create_table(
        "marketplace_offers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("rfq_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("issuance_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("settlement_days", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "price > 0 AND quantity > 0", name=op.f("ck_marketplace_offers_terms_valid")
        ),
        _fk("marketplace_offers", "rfq_id", "marketplace_rfqs"),
        _fk("marketplace_offers", "seller_id", "participants"),
        _fk("marketplace_offers", "account_id", "accounts"),
        _fk("marketplace_offers", "issuance_id", "issuances"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_offers")),
    )
    with op.batch_alter_table("marketplace_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketplace_offers_rfq_id"), ["rfq_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_marketplace_offers_seller_id"), ["seller_id"], unique=False
        )
    op.create_table(
        "marketplace_deals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("listing_id", sa.String(length=64), nullable=True),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("buyer_id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("buyer_account", sa.String(length=40), nullable=False),
        sa.Column("seller_account", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("issuance_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("buyer_fee", sa.BigInteger(), nullable=False),
        sa.Column("seller_fee", sa.BigInteger(), nullable=False),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "price > 0 AND quantity > 0", name=op.f("ck_marketplace_deals_price_qty_positive")
        ),
        _fk("marketplace_deals", "buyer_id", "participants"),
        _fk("marketplace_deals", "seller_id", "participants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_deals")),
    )
    with op.batch_alter_table("marketplace_deals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_marketplace_deals_buyer_id"), ["buyer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_marketplace_deals_seller_id"), ["seller_id"], unique=False
        )


def downgrade() -> None:
    for table in (
        "marketplace_deals",
        "marketplace_offers",
        "marketplace_rfqs",
        "marketplace_listings",
        "project_profiles",
    ):
        op.drop_table(table)
