"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_movements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=True),
        sa.Column("issuance_id", sa.String(length=40), nullable=False),
        sa.Column("serial_start", sa.BigInteger(), nullable=False),
        sa.Column("serial_end", sa.BigInteger(), nullable=False),
        sa.Column("from_account", sa.String(length=40), nullable=True),
        sa.Column("to_account", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_movements")),
    )
    with op.batch_alter_table("credit_movements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_movements_from_account"), ["from_account"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_movements_journal_seq"), ["journal_seq"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_movements_to_account"), ["to_account"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("participant_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "journal",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal")),
    )
    op.create_table(
        "journal_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_head")),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("corporate_number", sa.String(length=13), nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("gx_league", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("corporate_number", name=op.f("uq_participants_corporate_number")),
    )
    op.create_table(
        "schemes",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("domestic", sa.Boolean(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_schemes")),
    )
    op.create_table(
        "terms",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_terms")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_accounts_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_accounts_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_api_keys_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "broker_authorisations",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("broker_id", sa.String(length=40), nullable=False),
        sa.Column("granted_at", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["broker_id"],
            ["participants.id"],
            name=op.f("fk_broker_authorisations_broker_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["participants.id"],
            name=op.f("fk_broker_authorisations_client_id_participants"),
        ),
        sa.PrimaryKeyConstraint("client_id", "broker_id", name=op.f("pk_broker_authorisations")),
    )
    op.create_table(
        "cash_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind = 'external' OR (balance >= 0 AND reserved >= 0 AND reserved <= balance)",
            name=op.f("ck_cash_accounts_no_overdraft"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_cash_accounts_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_accounts")),
        sa.UniqueConstraint("participant_id", "currency", "kind", name="uq_cash_accounts_owner"),
    )
    with op.batch_alter_table("cash_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cash_accounts_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "categories",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=True),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("tse", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme"], ["schemes.code"], name=op.f("fk_categories_scheme_schemes")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.create_table(
        "cash_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("from_account", sa.String(length=40), nullable=False),
        sa.Column("to_account", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_cash_entries_amount_positive")),
        sa.ForeignKeyConstraint(
            ["from_account"],
            ["cash_accounts.id"],
            name=op.f("fk_cash_entries_from_account_cash_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["to_account"],
            ["cash_accounts.id"],
            name=op.f("fk_cash_entries_to_account_cash_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_entries")),
    )
    with op.batch_alter_table("cash_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cash_entries_from_account"), ["from_account"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cash_entries_journal_seq"), ["journal_seq"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cash_entries_to_account"), ["to_account"], unique=False
        )

    op.create_table(
        "cash_reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cash_account_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_cash_reservations_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["cash_account_id"],
            ["cash_accounts.id"],
            name=op.f("fk_cash_reservations_cash_account_id_cash_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_reservations")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("developer", sa.Text(), nullable=False),
        sa.Column("methodology", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("mechanism", sa.String(length=16), nullable=False),
        sa.Column("nature", sa.String(length=16), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("evaluation_axes", sa.Text(), nullable=False),
        sa.Column("co_benefits", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["category"], ["categories.code"], name=op.f("fk_projects_category_categories")
        ),
        sa.ForeignKeyConstraint(
            ["scheme"], ["schemes.code"], name=op.f("fk_projects_scheme_schemes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "retirements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("beneficiary", sa.Text(), nullable=False),
        sa.Column("reporting_year", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_retirements_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_retirements_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retirements")),
    )
    with op.batch_alter_table("retirements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retirements_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "issuances",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("credit_type", sa.String(length=4), nullable=False),
        sa.Column("round", sa.String(length=8), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("certified_on", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("ca_declaration", sa.String(length=16), nullable=False),
        sa.Column("ca_status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("external_registry", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_issuances_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_issuances_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuances")),
    )
    with op.batch_alter_table("issuances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuances_project_id"), ["project_id"], unique=False)

    op.create_table(
        "blocks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("issuance_id", sa.String(length=40), nullable=False),
        sa.Column("serial_start", sa.BigInteger(), nullable=False),
        sa.Column("serial_end", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("reservation", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "serial_start >= 1 AND serial_start <= serial_end", name=op.f("ck_blocks_range_valid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_blocks_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["issuance_id"], ["issuances.id"], name=op.f("fk_blocks_issuance_id_issuances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocks")),
    )
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blocks_account_status_vintage", ["account_id", "status", "vintage"], unique=False
        )
        batch_op.create_index(
            "ix_blocks_issuance_start", ["issuance_id", "serial_start"], unique=True
        )
        batch_op.create_index("ix_blocks_reservation", ["reservation"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_blocks_reservation")
        batch_op.drop_index("ix_blocks_issuance_start")
        batch_op.drop_index("ix_blocks_account_status_vintage")

    op.drop_table("blocks")
    with op.batch_alter_table("issuances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuances_project_id"))

    op.drop_table("issuances")
    with op.batch_alter_table("retirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retirements_participant_id"))

    op.drop_table("retirements")
    op.drop_table("projects")
    op.drop_table("cash_reservations")
    with op.batch_alter_table("cash_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_entries_to_account"))
        batch_op.drop_index(batch_op.f("ix_cash_entries_journal_seq"))
        batch_op.drop_index(batch_op.f("ix_cash_entries_from_account"))

    op.drop_table("cash_entries")
    op.drop_table("categories")
    with op.batch_alter_table("cash_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_accounts_participant_id"))

    op.drop_table("cash_accounts")
    op.drop_table("broker_authorisations")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_participant_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_participant_id"))

    op.drop_table("accounts")
    op.drop_table("terms")
    op.drop_table("schemes")
    op.drop_table("participants")
    op.drop_table("journal_head")
    op.drop_table("journal")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("credit_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_movements_to_account"))
        batch_op.drop_index(batch_op.f("ix_credit_movements_journal_seq"))
        batch_op.drop_index(batch_op.f("ix_credit_movements_from_account"))

    op.drop_table("credit_movements")
    # ### end Alembic commands ###
