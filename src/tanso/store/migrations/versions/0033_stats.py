"""Public statistics folded from the journal

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def _str(name: str, n: int) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=n), nullable=False)


def _big(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "stats_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        _big("seq"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "stats_registry",
        _str("measure", 16),
        _str("day", 10),
        _str("scheme", 8),
        _str("category", 40),
        _str("credit_type", 4),
        sa.Column("vintage", sa.Integer(), nullable=False),
        _str("region", 64),
        _big("quantity"),
        sa.PrimaryKeyConstraint(
            "measure", "day", "scheme", "category", "credit_type", "vintage", "region"
        ),
    )
    op.create_table(
        "stats_purposes",
        _str("day", 10),
        _str("purpose", 40),
        _big("quantity"),
        _big("retirements"),
        sa.PrimaryKeyConstraint("day", "purpose"),
    )
    op.create_table(
        "stats_market",
        _str("day", 10),
        _str("venue", 16),
        _str("instrument", 40),
        _big("volume"),
        _big("value"),
        _big("trades"),
        sa.PrimaryKeyConstraint("day", "venue", "instrument"),
    )
    op.create_table(
        "stats_participants",
        _str("kind", 24),
        _str("country", 2),
        _big("registered"),
        _big("active"),
        sa.PrimaryKeyConstraint("kind", "country"),
    )
    op.create_table(
        "stats_usage",
        _str("day", 10),
        _str("purpose", 40),
        _str("ruleset", 64),
        _str("outcome", 16),
        _big("tonnes"),
        _big("checks"),
        sa.PrimaryKeyConstraint("day", "purpose", "ruleset", "outcome"),
    )


def downgrade() -> None:
    for name in (
        "stats_usage",
        "stats_participants",
        "stats_market",
        "stats_purposes",
        "stats_registry",
        "stats_cursor",
    ):
        op.drop_table(name)
