"""Local-government credit schemes: schemes, their projects' regions, named buyers

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def _str(name: str, n: int, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=n), **kw)  # type: ignore[arg-type]


def _text(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), **kw)  # type: ignore[arg-type]


def _seq() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("journal_seq", sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "local_schemes",
        _str("code", 8, nullable=False),
        _str("participant_id", 40, nullable=False),
        _text("name_en", nullable=False),
        _text("name_ja", nullable=False),
        _str("prefecture", 2, nullable=False),
        _text("municipality", nullable=False),
        _text("methodologies", nullable=False),
        _text("proceeds_en", nullable=False),
        _text("proceeds_ja", nullable=False),
        _text("url", nullable=False),
        _str("registered_at", 32, nullable=False),
        _str("updated_at", 32, nullable=False),
        _seq(),
        sa.ForeignKeyConstraint(["code"], ["schemes.code"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_local_schemes_prefecture", "local_schemes", ["prefecture"])
    op.create_table(
        "local_projects",
        _str("project_id", 16, nullable=False),
        _str("scheme", 8, nullable=False),
        _str("prefecture", 2, nullable=False),
        _text("municipality", nullable=False),
        _str("methodology", 40, nullable=False),
        _str("registered_at", 32, nullable=False),
        _seq(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["scheme"], ["local_schemes.code"]),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_index("ix_local_projects_scheme", "local_projects", ["scheme", "project_id"])
    op.create_index("ix_local_projects_prefecture", "local_projects", ["prefecture"])
    op.create_table(
        "local_supporters",
        _str("scheme", 8, nullable=False),
        _str("participant_id", 40, nullable=False),
        _str("named_at", 32, nullable=False),
        _seq(),
        sa.ForeignKeyConstraint(["scheme"], ["local_schemes.code"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("scheme", "participant_id"),
    )


def downgrade() -> None:
    for name in ("local_supporters", "local_projects", "local_schemes"):
        op.drop_table(name)
