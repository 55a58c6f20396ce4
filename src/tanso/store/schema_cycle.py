"""Tables of the project cycle (issue 23, docs/project-cycle.md): methodologies as data, the
accreditations of validation and verification bodies, project plans from draft to registration,
public comments, evidence files, monitoring reports, their verifications and issuance requests.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. A plan keeps
the project's id from its draft on; the ``projects`` row appears only when the registry operator
registers it, so that every list of the registry's projects holds registered projects only.
Nothing here is deleted: each step is a new state with its journal entry.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tanso.store.metadata import ID, metadata

methodologies = Table(
    "methodologies",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("version", String(16), primary_key=True),
    Column("scheme", String(8), ForeignKey("schemes.code"), nullable=False),
    Column("sector", String(24), nullable=False),
    Column("mechanism", String(16), nullable=False),
    Column("credit_type", String(4), nullable=False),
    Column("title_en", Text, nullable=False),
    Column("title_ja", Text, nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_to", String(10)),
    Column("parameters", Text, nullable=False),
    Column("formula", Text, nullable=False),
    Column("buffer_rate_bp", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("categories", Text, nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A methodology version: the project categories it applies to (JSON), the parameters a
monitoring report gives (JSON: name, unit, kind value or series, labels), the formula that
turns them into tonnes, the buffer rate in basis points (0 where none applies) and the dates it
may be applied from and to."""

accreditations = Table(
    "accreditations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("sector", String(24), nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_to", String(10)),
    Column("granted_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("revoked_at", String(32)),
    Column("revocation_reason", Text),
    Index("ix_accreditations_body", "participant_id", "scheme", "sector"),
)
"""A verification body's accreditation for a scheme (J-Credit, VCS, ... or ``FOOTPRINT`` for
product and cargo declarations) and a sector, from and to dates; revoked with a reason."""

project_plans = Table(
    "project_plans",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("developer_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("scheme", String(8), nullable=False),
    Column("methodology_id", String(40), nullable=False),
    Column("methodology_version", String(16), nullable=False),
    Column("project", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("expected_tonnes_per_year", BigInteger, nullable=False),
    Column("validator_id", String(ID), ForeignKey("participants.id")),
    Column("comment_until", String(10)),
    Column("validation", Text),
    Column("reason", Text),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_project_plans_developer", "developer_id"),
    Index("ix_project_plans_validator", "validator_id"),
    Index("ix_project_plans_state", "state"),
)
"""A project from its plan (プロジェクト計画書) to registration: its state, its developer, the
methodology version it applies, the project's attributes (JSON, as ``POST /v1/projects`` takes
them), the validation body, the end of its public comment period, the validation's opinion
(JSON) and the reason of a rejection or withdrawal; ``journal_seq`` of its latest step."""

plan_comments = Table(
    "plan_comments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("plan_id", String(16), ForeignKey("project_plans.id"), nullable=False, index=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A public comment on a plan during its comment period."""

cycle_evidence = Table(
    "cycle_evidence",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("owner_kind", String(16), nullable=False),
    Column("owner_id", String(ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("uploaded_by", String(ID), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_base64", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("size > 0", name="cycle_evidence_size_positive"),
    Index("ix_cycle_evidence_owner", "owner_kind", "owner_id"),
)
"""A file attached to a plan (its documents), a monitoring report (documents, sensor or
satellite data) or a declaration: bytes as base64 text (``tanso backup`` refuses binary
columns), SHA-256 and size as the journal records them. ``owner_kind``: plan, report or
declaration."""

monitoring_reports = Table(
    "monitoring_reports",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("developer_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("verifier_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("methodology_id", String(40), nullable=False),
    Column("methodology_version", String(16), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("parameters", Text, nullable=False),
    Column("claimed_tonnes", BigInteger, nullable=False),
    Column("submitted_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    UniqueConstraint("project_id", "number", name="uq_monitoring_reports_number"),
    CheckConstraint("claimed_tonnes >= 0", name="claimed_not_negative"),
    Index("ix_monitoring_reports_verifier", "verifier_id"),
)
"""A monitoring report (モニタリング報告書) for one period: the methodology's parameters as
given (JSON, values and measurement series as decimal strings) and the tonnes its formula
computes from them; ``state`` submitted, verified or rejected."""

verifications = Table(
    "verifications",
    metadata,
    Column("report_id", String(ID), ForeignKey("monitoring_reports.id"), primary_key=True),
    Column("verifier_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("verified_tonnes", BigInteger, nullable=False),
    Column("parameters", Text),
    Column("findings", Text, nullable=False),
    Column("statement", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("verified_tonnes >= 0", name="verified_not_negative"),
)
"""A report's verification (検証): at most one a report (the primary key). ``parameters``: the
parameters as the body corrected them (JSON, as the report's), whose formula gives the
verified tonnes; None where the body confirms or reduces without correcting them."""

issuance_requests = Table(
    "issuance_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("report_id", String(ID), ForeignKey("monitoring_reports.id"), nullable=False),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False, index=True),
    Column("developer_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("verified_tonnes", BigInteger, nullable=False),
    Column("buffer_rate_bp", Integer, nullable=False),
    Column("buffer_tonnes", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("vintage", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("issuance_id", String(40), ForeignKey("issuances.id")),
    Column("reason", Text),
    Column("requested_at", String(32), nullable=False),
    Column("decided_at", String(32)),
    Column("journal_seq", BigInteger, nullable=False),
    UniqueConstraint("report_id", name="uq_issuance_requests_report"),
    CheckConstraint("quantity + buffer_tonnes = verified_tonnes", name="request_adds_up"),
    CheckConstraint("quantity > 0", name="request_quantity_positive"),
)
"""A request to issue a verified report's credits: ``quantity`` to the developer's account and
``buffer_tonnes`` to the scheme's buffer pool add up to the verified tonnes (the database
refuses any other figures); ``state`` pending, approved (with the issuance) or rejected."""
