"""Behaviour-change points programmes: programmes, methodology versions, batches, events,
members' balances, pools and pledges, members' retirements, issuances from points

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _id(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=40), **kw)  # type: ignore[arg-type]


def _big(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), **kw)  # type: ignore[arg-type]


def _text(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), **kw)  # type: ignore[arg-type]


def _str(name: str, n: int, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=n), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "points_programmes",
        _id("id", nullable=False),
        _id("participant_id", nullable=False),
        _text("name_en", nullable=False),
        _text("name_ja", nullable=False),
        _id("holding_account", nullable=False),
        _str("project_id", 16, nullable=True),
        _str("status", 16, nullable=False),
        _big("events", nullable=False),
        _big("earned_grams", nullable=False),
        _big("verified_grams", nullable=False),
        _big("issued_grams", nullable=False),
        _big("carry_grams", nullable=False),
        _str("created_at", 32, nullable=False),
        _big("journal_seq", nullable=False),
        sa.CheckConstraint(
            "issued_grams <= verified_grams AND verified_grams <= earned_grams",
            name="points_issued_within_verified",
        ),
        sa.CheckConstraint(
            "carry_grams >= 0 AND carry_grams < 1000000", name="points_carry_fraction"
        ),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["holding_account"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "points_methodologies",
        _id("programme_id", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _str("effective_from", 10, nullable=False),
        _text("source", nullable=False),
        _text("body", nullable=False),
        _str("published_at", 32, nullable=False),
        _big("journal_seq", nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["points_programmes.id"]),
        sa.PrimaryKeyConstraint("programme_id", "version"),
    )
    op.create_table(
        "points_batches",
        _id("id", nullable=False),
        _id("programme_id", nullable=False),
        _str("source", 8, nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("capped", sa.Integer(), nullable=False),
        _big("grams", nullable=False),
        _str("first_on", 10, nullable=True),
        _str("last_on", 10, nullable=True),
        _str("content_hash", 64, nullable=False),
        _str("versions", 200, nullable=False),
        _str("verification", 16, nullable=False),
        _id("verified_by", nullable=True),
        _str("verified_at", 32, nullable=True),
        _text("findings", nullable=False),
        _str("received_at", 32, nullable=False),
        _big("journal_seq", nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["points_programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_points_batches_programme", "points_batches", ["programme_id", "journal_seq"]
    )
    op.create_table(
        "points_events",
        _id("programme_id", nullable=False),
        _str("event_id", 64, nullable=False),
        _str("member", 64, nullable=False),
        _str("action", 40, nullable=False),
        _big("quantity", nullable=False),
        _str("occurred_on", 10, nullable=False),
        _big("grams", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _id("batch_id", nullable=False),
        sa.PrimaryKeyConstraint("programme_id", "event_id"),
    )
    op.create_index(
        "ix_points_events_member", "points_events", ["programme_id", "member", "occurred_on"]
    )
    op.create_table(
        "points_balances",
        _id("programme_id", nullable=False),
        _str("member", 64, nullable=False),
        _big("events", nullable=False),
        _big("earned_grams", nullable=False),
        _big("pledged_grams", nullable=False),
        _big("spent_grams", nullable=False),
        _str("last_on", 10, nullable=False),
        sa.CheckConstraint(
            "pledged_grams + spent_grams <= earned_grams", name="points_balance_not_negative"
        ),
        sa.PrimaryKeyConstraint("programme_id", "member"),
    )
    op.create_table(
        "points_pools",
        _id("id", nullable=False),
        _id("programme_id", nullable=False),
        _text("name", nullable=False),
        _str("status", 16, nullable=False),
        _str("salt", 64, nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        _big("pledged_grams", nullable=False),
        _big("carry_in_grams", nullable=True),
        _big("tonnes", nullable=True),
        _big("carry_out_grams", nullable=True),
        _id("retirement_id", nullable=True),
        _str("merkle_root", 64, nullable=True),
        _str("opened_at", 32, nullable=False),
        _str("retired_at", 32, nullable=True),
        _big("journal_seq", nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["points_programmes.id"]),
        sa.ForeignKeyConstraint(["retirement_id"], ["retirements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_points_pools_programme", "points_pools", ["programme_id", "status"])
    op.create_table(
        "points_pledges",
        _id("pool_id", nullable=False),
        _str("member", 64, nullable=False),
        _big("grams", nullable=False),
        _str("pledged_at", 32, nullable=False),
        sa.CheckConstraint("grams > 0", name="points_pledge_positive"),
        sa.ForeignKeyConstraint(["pool_id"], ["points_pools.id"]),
        sa.PrimaryKeyConstraint("pool_id", "member"),
    )
    op.create_table(
        "points_member_retirements",
        _id("retirement_id", nullable=False),
        _id("programme_id", nullable=False),
        _str("member", 64, nullable=False),
        _big("quantity", nullable=False),
        _str("paid_with", 8, nullable=False),
        _big("grams", nullable=False),
        _str("retired_at", 32, nullable=False),
        sa.ForeignKeyConstraint(["retirement_id"], ["retirements.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["points_programmes.id"]),
        sa.PrimaryKeyConstraint("retirement_id"),
    )
    op.create_index(
        "ix_points_member_retirements",
        "points_member_retirements",
        ["programme_id", "member"],
    )
    op.create_table(
        "points_issuances",
        _str("issuance_id", 40, nullable=False),
        _id("programme_id", nullable=False),
        _big("tonnes", nullable=False),
        _big("grams", nullable=False),
        _text("evidence", nullable=False),
        _str("issued_at", 32, nullable=False),
        _big("journal_seq", nullable=False),
        sa.ForeignKeyConstraint(["issuance_id"], ["issuances.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["points_programmes.id"]),
        sa.PrimaryKeyConstraint("issuance_id"),
    )


def downgrade() -> None:
    for name in (
        "points_issuances",
        "points_member_retirements",
        "points_pledges",
        "points_pools",
        "points_balances",
        "points_events",
        "points_batches",
        "points_methodologies",
        "points_programmes",
    ):
        op.drop_table(name)
