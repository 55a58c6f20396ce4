"""Removal credits: project profiles, buffer pool contributions, reversals

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def _str(name: str, n: int, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=n), **kw)  # type: ignore[arg-type]


def _text(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), nullable=False)


def _int(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), nullable=False)


def _big(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "removal_profiles",
        _str("project_id", 16, nullable=False),
        _str("pathway", 24, nullable=False),
        _str("storage", 16, nullable=False),
        _int("permanence_years"),
        _str("reversal_risk", 8, nullable=False),
        _int("monitoring_years"),
        _int("buffer_rate_bp"),
        _text("source"),
        _str("developer_id", 40, nullable=True),
        _str("set_at", 32, nullable=False),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["developer_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_index("ix_removal_profiles_pathway", "removal_profiles", ["pathway"])
    op.create_table(
        "buffer_contributions",
        _str("issuance_id", 40, nullable=False),
        _str("project_id", 16, nullable=False),
        _str("scheme", 8, nullable=False),
        _str("account_id", 40, nullable=False),
        _big("serial_start"),
        _big("serial_end"),
        _big("quantity"),
        _int("rate_bp"),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["issuance_id"], ["issuances.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("issuance_id"),
    )
    op.create_index("ix_buffer_contributions_project", "buffer_contributions", ["project_id"])
    op.create_index("ix_buffer_contributions_scheme", "buffer_contributions", ["scheme"])
    op.create_table(
        "reversals",
        _str("id", 40, nullable=False),
        _str("project_id", 16, nullable=False),
        _str("scheme", 8, nullable=False),
        _big("quantity"),
        _str("cause", 16, nullable=False),
        _str("occurred_on", 10, nullable=False),
        _text("description"),
        _big("from_project_buffer"),
        _big("from_holders"),
        _big("from_pool"),
        _big("uncompensated"),
        _text("cancelled"),
        _text("released"),
        _str("reported_at", 32, nullable=False),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reversals_project_id", "reversals", ["project_id"])


def downgrade() -> None:
    for name in ("reversals", "buffer_contributions", "removal_profiles"):
        op.drop_table(name)
