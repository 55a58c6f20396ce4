"""Forward offtake contracts: listings, quotes, contracts, schedules and events

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def _str(name: str, n: int, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=n), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _big(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "offtake_listings",
        _str("id", 40),
        _str("project_id", 16),
        _str("seller_id", 40),
        _str("seller_account", 40),
        _text("vintages"),
        _text("available"),
        _text("price_rule"),
        _str("currency", 3),
        _text("note"),
        _str("status", 16),
        _str("created_at", 32),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["seller_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["seller_account"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offtake_listings_project_id", "offtake_listings", ["project_id"])
    op.create_index("ix_offtake_listings_seller_id", "offtake_listings", ["seller_id"])
    op.create_table(
        "offtake_quotes",
        _str("id", 40),
        _str("listing_id", 40),
        _str("buyer_id", 40),
        _str("buyer_account", 40),
        _text("vintages"),
        _text("message"),
        _text("terms", nullable=True),
        _str("status", 16),
        _str("contract_id", 40, nullable=True),
        _str("created_at", 32),
        _str("updated_at", 32),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["listing_id"], ["offtake_listings.id"]),
        sa.ForeignKeyConstraint(["buyer_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["buyer_account"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offtake_quotes_buyer_id", "offtake_quotes", ["buyer_id"])
    op.create_index("ix_offtake_quotes_listing", "offtake_quotes", ["listing_id"])
    op.create_table(
        "offtake_contracts",
        _str("id", 40),
        _str("quote_id", 40),
        _str("listing_id", 40),
        _str("project_id", 16),
        _str("buyer_id", 40),
        _str("buyer_account", 40),
        _str("seller_id", 40),
        _str("seller_account", 40),
        _str("currency", 3),
        _text("price_rule"),
        _str("shortfall_rule", 16),
        _big("prepaid_per_tonne"),
        _big("prepayment"),
        _str("prepayment_mode", 12),
        _int("priority"),
        _big("signed_seq"),
        _str("signed_at", 32),
        _str("status", 16),
        sa.CheckConstraint(
            "prepaid_per_tonne >= 0 AND prepayment >= 0",
            name=op.f("ck_offtake_contracts_prepayment_valid"),
        ),
        sa.ForeignKeyConstraint(["listing_id"], ["offtake_listings.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["buyer_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["buyer_account"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["seller_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["seller_account"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offtake_contracts_buyer_id", "offtake_contracts", ["buyer_id"])
    op.create_index("ix_offtake_contracts_seller_id", "offtake_contracts", ["seller_id"])
    op.create_index(
        "ix_offtake_contracts_project_status", "offtake_contracts", ["project_id", "status"]
    )
    op.create_table(
        "offtake_schedule",
        _str("contract_id", 40),
        sa.Column("vintage", sa.Integer(), autoincrement=False, nullable=False),
        _big("contracted"),
        _big("carried_in"),
        _big("delivered"),
        _big("shortfall"),
        _big("carried_out"),
        _big("replacement"),
        _big("replaced"),
        _big("refunded"),
        _big("paid"),
        _big("prepaid_released"),
        _int("failures"),
        _str("status", 8),
        _str("closed_at", 32, nullable=True),
        sa.CheckConstraint(
            "delivered >= 0 AND delivered <= contracted + carried_in",
            name=op.f("ck_offtake_schedule_delivered_valid"),
        ),
        sa.CheckConstraint(
            "replaced >= 0 AND replaced <= replacement",
            name=op.f("ck_offtake_schedule_replaced_valid"),
        ),
        sa.ForeignKeyConstraint(["contract_id"], ["offtake_contracts.id"]),
        sa.PrimaryKeyConstraint("contract_id", "vintage"),
    )
    op.create_table(
        "offtake_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _str("contract_id", 40),
        _int("vintage", nullable=True),
        _str("kind", 24),
        _big("quantity"),
        _big("unit_price", nullable=True),
        _big("amount"),
        _big("prepaid"),
        _str("issuance_id", 40, nullable=True),
        _text("detail"),
        _str("at", 32),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["contract_id"], ["offtake_contracts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offtake_events_contract", "offtake_events", ["contract_id", "id"])


def downgrade() -> None:
    for name in (
        "offtake_events",
        "offtake_schedule",
        "offtake_contracts",
        "offtake_quotes",
        "offtake_listings",
    ):
        op.drop_table(name)
