"""The project cycle: methodologies, accreditations, plans, comments, evidence, monitoring
reports, verifications and issuance requests (issue 23)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cycle_evidence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("uploaded_by", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_base64", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_cycle_evidence_cycle_evidence_size_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_evidence")),
    )
    op.create_index(
        "ix_cycle_evidence_owner", "cycle_evidence", ["owner_kind", "owner_id"], unique=False
    )
    op.create_table(
        "accreditations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=24), nullable=False),
        sa.Column("valid_from", sa.String(length=10), nullable=False),
        sa.Column("valid_to", sa.String(length=10), nullable=True),
        sa.Column("granted_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_accreditations_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accreditations")),
    )
    op.create_index(
        "ix_accreditations_body",
        "accreditations",
        ["participant_id", "scheme", "sector"],
        unique=False,
    )
    op.create_table(
        "methodologies",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("sector", sa.String(length=24), nullable=False),
        sa.Column("mechanism", sa.String(length=16), nullable=False),
        sa.Column("credit_type", sa.String(length=4), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("title_ja", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.String(length=10), nullable=False),
        sa.Column("valid_to", sa.String(length=10), nullable=True),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("buffer_rate_bp", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme"], ["schemes.code"], name=op.f("fk_methodologies_scheme_schemes")
        ),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_methodologies")),
    )
    op.create_table(
        "project_plans",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("developer_id", sa.String(length=40), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("methodology_id", sa.String(length=40), nullable=False),
        sa.Column("methodology_version", sa.String(length=16), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("expected_tonnes_per_year", sa.BigInteger(), nullable=False),
        sa.Column("validator_id", sa.String(length=40), nullable=True),
        sa.Column("comment_until", sa.String(length=10), nullable=True),
        sa.Column("validation", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["developer_id"],
            ["participants.id"],
            name=op.f("fk_project_plans_developer_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["validator_id"],
            ["participants.id"],
            name=op.f("fk_project_plans_validator_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_plans")),
    )
    op.create_index("ix_project_plans_developer", "project_plans", ["developer_id"], unique=False)
    op.create_index("ix_project_plans_state", "project_plans", ["state"], unique=False)
    op.create_index("ix_project_plans_validator", "project_plans", ["validator_id"], unique=False)
    op.create_table(
        "plan_comments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("plan_id", sa.String(length=16), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_plan_comments_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["project_plans.id"], name=op.f("fk_plan_comments_plan_id_project_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_comments")),
    )
    op.create_index(op.f("ix_plan_comments_plan_id"), "plan_comments", ["plan_id"], unique=False)
    op.create_table(
        "monitoring_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("developer_id", sa.String(length=40), nullable=False),
        sa.Column("verifier_id", sa.String(length=40), nullable=False),
        sa.Column("methodology_id", sa.String(length=40), nullable=False),
        sa.Column("methodology_version", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("claimed_tonnes", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "claimed_tonnes >= 0", name=op.f("ck_monitoring_reports_claimed_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["developer_id"],
            ["participants.id"],
            name=op.f("fk_monitoring_reports_developer_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_monitoring_reports_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["participants.id"],
            name=op.f("fk_monitoring_reports_verifier_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_reports")),
        sa.UniqueConstraint("project_id", "number", name="uq_monitoring_reports_number"),
    )
    op.create_index(
        op.f("ix_monitoring_reports_project_id"), "monitoring_reports", ["project_id"], unique=False
    )
    op.create_index(
        "ix_monitoring_reports_verifier", "monitoring_reports", ["verifier_id"], unique=False
    )
    op.create_table(
        "issuance_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("developer_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("verified_tonnes", sa.BigInteger(), nullable=False),
        sa.Column("buffer_rate_bp", sa.Integer(), nullable=False),
        sa.Column("buffer_tonnes", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issuance_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.String(length=32), nullable=False),
        sa.Column("decided_at", sa.String(length=32), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "quantity + buffer_tonnes = verified_tonnes",
            name=op.f("ck_issuance_requests_request_adds_up"),
        ),
        sa.CheckConstraint(
            "quantity > 0", name=op.f("ck_issuance_requests_request_quantity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_issuance_requests_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["developer_id"],
            ["participants.id"],
            name=op.f("fk_issuance_requests_developer_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["issuance_id"],
            ["issuances.id"],
            name=op.f("fk_issuance_requests_issuance_id_issuances"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_issuance_requests_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["monitoring_reports.id"],
            name=op.f("fk_issuance_requests_report_id_monitoring_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuance_requests")),
        sa.UniqueConstraint("report_id", name="uq_issuance_requests_report"),
    )
    op.create_index(
        op.f("ix_issuance_requests_project_id"), "issuance_requests", ["project_id"], unique=False
    )
    op.create_table(
        "verifications",
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("verifier_id", sa.String(length=40), nullable=False),
        sa.Column("verified_tonnes", sa.BigInteger(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "verified_tonnes >= 0", name=op.f("ck_verifications_verified_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["monitoring_reports.id"],
            name=op.f("fk_verifications_report_id_monitoring_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["participants.id"],
            name=op.f("fk_verifications_verifier_id_participants"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_verifications")),
    )


def downgrade() -> None:
    op.drop_table("verifications")
    op.drop_index(op.f("ix_issuance_requests_project_id"), table_name="issuance_requests")
    op.drop_table("issuance_requests")
    op.drop_index("ix_monitoring_reports_verifier", table_name="monitoring_reports")
    op.drop_index(op.f("ix_monitoring_reports_project_id"), table_name="monitoring_reports")
    op.drop_table("monitoring_reports")
    op.drop_index(op.f("ix_plan_comments_plan_id"), table_name="plan_comments")
    op.drop_table("plan_comments")
    op.drop_index("ix_project_plans_validator", table_name="project_plans")
    op.drop_index("ix_project_plans_state", table_name="project_plans")
    op.drop_index("ix_project_plans_developer", table_name="project_plans")
    op.drop_table("project_plans")
    op.drop_table("methodologies")
    op.drop_index("ix_accreditations_body", table_name="accreditations")
    op.drop_table("accreditations")
    op.drop_index("ix_cycle_evidence_owner", table_name="cycle_evidence")
    op.drop_table("cycle_evidence")
