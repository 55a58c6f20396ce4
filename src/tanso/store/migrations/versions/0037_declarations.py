"""Declarations for products and cargoes: the declared unit with its measured emissions by
stage, its verification and the retirements linked to it (issue 23)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "declarations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("unit_kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("declarant_id", sa.String(length=40), nullable=False),
        sa.Column("verifier_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("eu_consumers", sa.Boolean(), nullable=False),
        sa.Column("stages", sa.Text(), nullable=False),
        sa.Column("reductions", sa.Text(), nullable=False),
        sa.Column("measured_tonnes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("declared_at", sa.String(length=32), nullable=True),
        sa.Column("declared_seq", sa.BigInteger(), nullable=True),
        sa.Column("wording", sa.String(length=40), nullable=True),
        sa.Column("text_en", sa.Text(), nullable=True),
        sa.Column("text_ja", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", sa.String(length=32), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "measured_tonnes >= 0", name=op.f("ck_declarations_measured_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["declarant_id"],
            ["participants.id"],
            name=op.f("fk_declarations_declarant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["participants.id"],
            name=op.f("fk_declarations_verifier_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
    )
    op.create_index("ix_declarations_declarant", "declarations", ["declarant_id"], unique=False)
    op.create_index("ix_declarations_state", "declarations", ["state"], unique=False)
    op.create_index("ix_declarations_verifier", "declarations", ["verifier_id"], unique=False)
    op.create_table(
        "declaration_verifications",
        sa.Column("declaration_id", sa.String(length=40), nullable=False),
        sa.Column("verifier_id", sa.String(length=40), nullable=False),
        sa.Column("verified_tonnes", sa.BigInteger(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "verified_tonnes >= 0",
            name=op.f("ck_declaration_verifications_verified_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_declaration_verifications_declaration_id_declarations"),
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["participants.id"],
            name=op.f("fk_declaration_verifications_verifier_id_participants"),
        ),
        sa.PrimaryKeyConstraint("declaration_id", name=op.f("pk_declaration_verifications")),
    )
    op.create_table(
        "declaration_retirements",
        sa.Column("retirement_id", sa.String(length=40), nullable=False),
        sa.Column("declaration_id", sa.String(length=40), nullable=False),
        sa.Column("tonnes", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "tonnes > 0", name=op.f("ck_declaration_retirements_linked_tonnes_positive")
        ),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_declaration_retirements_declaration_id_declarations"),
        ),
        sa.ForeignKeyConstraint(
            ["retirement_id"],
            ["retirements.id"],
            name=op.f("fk_declaration_retirements_retirement_id_retirements"),
        ),
        sa.PrimaryKeyConstraint("retirement_id", name=op.f("pk_declaration_retirements")),
    )
    op.create_index(
        op.f("ix_declaration_retirements_declaration_id"),
        "declaration_retirements",
        ["declaration_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_declaration_retirements_declaration_id"), table_name="declaration_retirements"
    )
    op.drop_table("declaration_retirements")
    op.drop_table("declaration_verifications")
    op.drop_index("ix_declarations_verifier", table_name="declarations")
    op.drop_index("ix_declarations_state", table_name="declarations")
    op.drop_index("ix_declarations_declarant", table_name="declarations")
    op.drop_table("declarations")
