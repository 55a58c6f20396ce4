"""one word per concept: qty becomes quantity, min_qty min_quantity, reserve_price cash_price

``orders.reserve_price`` (the price a buy's cash was reserved at) becomes ``cash_price``, so that
"reserve" means only an auction's minimum price. The CHECK constraints that name the columns are
dropped and made again with the new names (on SQLite the batch copies each table, with foreign
keys off while it runs: ``tanso.store.migrate``). Data stays.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# table, [(old column, new column, nullable)], [(old check, new check, old sql, new sql)]
_RENAMES: list[tuple[str, list[tuple[str, str, bool]], list[tuple[str, str, str, str]]]] = [
    (
        "orders",
        [("qty", "quantity", False), ("reserve_price", "cash_price", True)],
        [
            (
                "remaining_valid",
                "remaining_valid",
                "remaining >= 0 AND remaining <= qty",
                "remaining >= 0 AND remaining <= quantity",
            )
        ],
    ),
    (
        "trades",
        [("qty", "quantity", False)],
        [
            (
                "price_qty_positive",
                "price_quantity_positive",
                "price > 0 AND qty > 0",
                "price > 0 AND quantity > 0",
            )
        ],
    ),
    (
        "marketplace_listings",
        [("min_qty", "min_quantity", False)],
        [
            (
                "terms_valid",
                "terms_valid",
                "price > 0 AND available >= 0 AND min_qty >= 1 AND lot >= 1",
                "price > 0 AND available >= 0 AND min_quantity >= 1 AND lot >= 1",
            )
        ],
    ),
    (
        "marketplace_deals",
        [],
        [
            (
                "price_qty_positive",
                "price_quantity_positive",
                "price > 0 AND quantity > 0",
                "price > 0 AND quantity > 0",
            )
        ],
    ),
    (
        "sealed_bids",
        [("qty", "quantity", False)],
        [
            (
                "price_qty_positive",
                "price_quantity_positive",
                "price > 0 AND qty > 0",
                "price > 0 AND quantity > 0",
            )
        ],
    ),
    (
        "sealed_awards",
        [("qty", "quantity", False)],
        [
            (
                "qty_price_positive",
                "quantity_price_positive",
                "qty > 0 AND price > 0",
                "quantity > 0 AND price > 0",
            )
        ],
    ),
]


def _apply(forward: bool) -> None:
    for table, columns, checks in _RENAMES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old, new, _old_sql, _new_sql in checks:
                name = old if forward else new
                batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            for old, new, nullable in columns:
                batch_op.alter_column(
                    old if forward else new,
                    new_column_name=new if forward else old,
                    existing_type=sa.BigInteger(),
                    existing_nullable=nullable,
                )
            for old, new, old_sql, new_sql in checks:
                name, sql = (new, new_sql) if forward else (old, old_sql)
                batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), sql)


def upgrade() -> None:
    _apply(forward=True)


def downgrade() -> None:
    _apply(forward=False)
