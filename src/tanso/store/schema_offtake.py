"""Tables of forward offtake contracts (長期オフテイク契約, issue 21 §2, docs/offtake.md): the
developers' listings of forward volumes, buyers' requests for quote, the contracts they sign,
each contract's schedule per vintage and the events of its deliveries and payments.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Credits and cash
move only through blocks/cash as everywhere else (the journal carries them); these tables say
what was agreed and what of it was delivered, paid, carried, replaced or refunded.
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
)

from tanso.store.metadata import ID, metadata

offtake_listings = Table(
    "offtake_listings",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False, index=True),
    Column("seller_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("seller_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("vintages", Text, nullable=False),
    Column("available", Text, nullable=False),
    Column("price_rule", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""Forward volumes a developer offers: ``vintages`` and ``available`` are JSON objects from
vintage year to tonnes (listed, and not yet under a signed contract); ``price_rule`` the
indicative price (JSON of domain/offtake.py PriceRule)."""

offtake_quotes = Table(
    "offtake_quotes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("listing_id", String(ID), ForeignKey("offtake_listings.id"), nullable=False),
    Column("buyer_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("buyer_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("vintages", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("terms", Text),
    Column("status", String(16), nullable=False),
    Column("contract_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_offtake_quotes_listing", "listing_id"),
)
"""A buyer's request for quote on a listing (``vintages``: JSON year -> tonnes wanted) and the
developer's proposed ``terms`` (JSON: price rule, shortfall rule, prepayment, priority)."""

offtake_contracts = Table(
    "offtake_contracts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("quote_id", String(ID), nullable=False),
    Column("listing_id", String(ID), ForeignKey("offtake_listings.id"), nullable=False),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False),
    Column("buyer_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("buyer_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("seller_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("seller_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price_rule", Text, nullable=False),
    Column("shortfall_rule", String(16), nullable=False),
    Column("prepaid_per_tonne", BigInteger, nullable=False),
    Column("prepayment", BigInteger, nullable=False),
    Column("prepayment_mode", String(12), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("signed_seq", BigInteger, nullable=False),
    Column("signed_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    CheckConstraint("prepaid_per_tonne >= 0 AND prepayment >= 0", name="prepayment_valid"),
    Index("ix_offtake_contracts_project_status", "project_id", "status"),
)
"""A signed forward contract: who buys what of which project at what price rule, what happens on
shortfall, the prepayment (``escrow``: held in the buyer's cash under the contract's id and
released pro rata; ``milestones``: paid to the developer at signing) and its priority on
delivery (lower first, then the contract signed first)."""

offtake_schedule = Table(
    "offtake_schedule",
    metadata,
    Column("contract_id", String(ID), ForeignKey("offtake_contracts.id"), primary_key=True),
    Column("vintage", Integer, primary_key=True, autoincrement=False),
    Column("contracted", BigInteger, nullable=False),
    Column("carried_in", BigInteger, nullable=False),
    Column("delivered", BigInteger, nullable=False),
    Column("shortfall", BigInteger, nullable=False),
    Column("carried_out", BigInteger, nullable=False),
    Column("replacement", BigInteger, nullable=False),
    Column("replaced", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("paid", BigInteger, nullable=False),
    Column("prepaid_released", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("closed_at", String(32)),
    CheckConstraint(
        "delivered >= 0 AND delivered <= contracted + carried_in", name="delivered_valid"
    ),
    CheckConstraint("replaced >= 0 AND replaced <= replacement", name="replaced_valid"),
)
"""One vintage of a contract: tonnes contracted, carried in from an earlier vintage, delivered
(from issuances), and at the vintage's close the shortfall and what the rule made of it
(carried out, owed as replacement and replaced so far, refunded yen); yen paid on delivery and
prepayment released to the developer."""

offtake_events = Table(
    "offtake_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("contract_id", String(ID), ForeignKey("offtake_contracts.id"), nullable=False),
    Column("vintage", Integer),
    Column("kind", String(24), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger),
    Column("amount", BigInteger, nullable=False),
    Column("prepaid", BigInteger, nullable=False),
    Column("issuance_id", String(40)),
    Column("detail", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_offtake_events_contract", "contract_id", "id"),
)
"""What happened under a contract, in order: the prepayment, each delivery (tonnes, price, yen
paid, prepayment released), each payment failure, each vintage closed, replacement and refund."""
