"""GX-ETS: covered entities, their accounts, allocations, surrenders, ceiling payments; verified
emissions

New tables ``gx_accounts``, ``gx_covered``, ``gx_allocations``, ``gx_surrenders`` and
``gx_payments``; the one emissions store (``emissions_inventories``) gains its verification
status. The operator participant gains the scheme administrator role.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def _id(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=40), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "gx_accounts",
        _id("participant_id", nullable=False),
        _id("holding_account", nullable=False),
        _id("compliance_account", nullable=False),
        sa.Column("opened_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["holding_account"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["compliance_account"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("participant_id"),
    )
    op.create_table(
        "gx_covered",
        _id("participant_id", nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("sectors", sa.Text(), nullable=False),
        sa.Column("facilities", sa.Text(), nullable=False),
        sa.Column("group_members", sa.Text(), nullable=False),
        sa.Column("covered_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="gx_fiscal_year_valid"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("participant_id", "fiscal_year"),
    )
    op.create_table(
        "gx_allocations",
        _id("id", nullable=False),
        _id("participant_id", nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("issuance_id", sa.String(length=40), nullable=False),
        sa.Column("allocated_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="gx_allocation_positive"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["issuance_id"], ["issuances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gx_allocations_fiscal_year", "gx_allocations", ["fiscal_year"])
    op.create_table(
        "gx_surrenders",
        _id("id", nullable=False),
        _id("participant_id", nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        _id("ref", nullable=False),
        sa.Column("surrendered_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="gx_surrender_positive"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gx_surrenders_fiscal_year", "gx_surrenders", ["fiscal_year"])
    op.create_table(
        "gx_payments",
        _id("id", nullable=False),
        _id("participant_id", nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "quantity > 0 AND price > 0 AND amount = quantity * price", name="gx_pay_ok"
        ),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gx_payments_fiscal_year", "gx_payments", ["fiscal_year"])
    with op.batch_alter_table("emissions_inventories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "verification", sa.String(length=16), nullable=False, server_default="unverified"
            )
        )
        batch_op.add_column(sa.Column("verified_by", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("findings", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE participants SET roles = roles || ',scheme_administrator' "
        "WHERE id = 'OPERATOR' AND roles NOT LIKE '%scheme_administrator%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("emissions_inventories", schema=None) as batch_op:
        batch_op.drop_column("findings")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verification")
    for name in ("gx_payments", "gx_surrenders", "gx_allocations", "gx_covered", "gx_accounts"):
        op.drop_table(name)
