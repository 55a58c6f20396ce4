"""Market notices, project developers and project updates (issue 22)

Revision ID: 0035
Revises: 0034 (to be re-chained onto 0034)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def _str(name: str, n: int, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=n), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), nullable=nullable)


def _big(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "market_notices",
        _str("id", 40),
        _str("kind", 16),
        _text("title_en"),
        _text("title_ja"),
        _text("body_en"),
        _text("body_ja"),
        _str("effective_on", 10),
        _text("link", nullable=True),
        _str("published_at", 32),
        _str("published_by", 120),
        _big("journal_seq"),
        _str("withdrawn_at", 32, nullable=True),
        _text("withdrawal_reason", nullable=True),
        _big("withdrawal_seq", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_market_notices_kind", "market_notices", ["kind"])
    op.create_index("ix_market_notices_effective_on", "market_notices", ["effective_on"])
    op.create_index("ix_market_notices_journal_seq", "market_notices", ["journal_seq"])
    op.create_table(
        "project_developers",
        _str("project_id", 16),
        _str("participant_id", 40),
        _str("named_at", 32),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_index("ix_project_developers_participant", "project_developers", ["participant_id"])
    op.create_table(
        "project_updates",
        _str("id", 40),
        _str("project_id", 16),
        _str("participant_id", 40),
        _str("language", 4),
        _text("title_en"),
        _text("body_en"),
        _text("title_ja"),
        _text("body_ja"),
        _str("published_on", 10),
        _str("published_at", 32),
        _big("journal_seq"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_project_updates_project", "project_updates", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_project_updates_project", table_name="project_updates")
    op.drop_table("project_updates")
    op.drop_index("ix_project_developers_participant", table_name="project_developers")
    op.drop_table("project_developers")
    op.drop_index("ix_market_notices_journal_seq", table_name="market_notices")
    op.drop_index("ix_market_notices_effective_on", table_name="market_notices")
    op.drop_index("ix_market_notices_kind", table_name="market_notices")
    op.drop_table("market_notices")
