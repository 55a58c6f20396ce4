"""Tables of declarations for products and cargoes (issue 23 part 2, docs/declarations.md): a
declared unit (an LNG cargo, a batch of product, an event) with its measured emissions by stage,
the verification of those figures, and the retirements that offset them.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Evidence files
are rows of ``cycle_evidence`` with ``owner_kind`` ``declaration``. Nothing here is deleted:
each step is a new state with its journal entry, and a retirement linked once stays linked.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from tanso.store.metadata import ID, metadata

declarations = Table(
    "declarations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("unit_kind", String(16), nullable=False),
    Column("state", String(12), nullable=False),
    Column("declarant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("verifier_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("eu_consumers", Boolean, nullable=False),
    Column("stages", Text, nullable=False),
    Column("reductions", Text, nullable=False),
    Column("measured_tonnes", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("declared_at", String(32)),
    Column("declared_seq", BigInteger),
    Column("wording", String(40)),
    Column("text_en", Text),
    Column("text_ja", Text),
    Column("withdrawn_at", String(32)),
    Column("withdrawal_reason", Text),
    CheckConstraint("measured_tonnes >= 0", name="measured_not_negative"),
    Index("ix_declarations_declarant", "declarant_id"),
    Index("ix_declarations_verifier", "verifier_id"),
    Index("ix_declarations_state", "state"),
)
"""A declared unit: its kind, state (draft, verified, declared, withdrawn), declarant and the
verification body it names, its reference (JSON: cargo id, vessel, ports, dates ...), whether
the claim is aimed at consumers in the EU, the measured emissions by stage (JSON: stage, tonnes,
method) and their sum, the reductions the declarant states (JSON), and once declared the
wording applied and the declaration's text in English and Japanese (``declared_seq``: its
journal entry, which the public page verifies); ``journal_seq`` of its latest step."""

declaration_verifications = Table(
    "declaration_verifications",
    metadata,
    Column("declaration_id", String(ID), ForeignKey("declarations.id"), primary_key=True),
    Column("verifier_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("verified_tonnes", BigInteger, nullable=False),
    Column("findings", Text, nullable=False),
    Column("statement", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("verified_tonnes >= 0", name="verified_not_negative"),
)
"""A declaration's verification by an accredited body: at most one (the primary key)."""

declaration_retirements = Table(
    "declaration_retirements",
    metadata,
    Column("retirement_id", String(ID), ForeignKey("retirements.id"), primary_key=True),
    Column("declaration_id", String(ID), ForeignKey("declarations.id"), nullable=False, index=True),
    Column("tonnes", BigInteger, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("tonnes > 0", name="linked_tonnes_positive"),
)
"""A retirement of the declarant that offsets a declaration's emissions, with the tonnes it
counts for: a retirement backs at most one declaration (the primary key)."""
