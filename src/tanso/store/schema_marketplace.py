"""Tables of the project marketplace: project profiles, listings, requests for quote, offers and
deals.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Credits behind
a listing or an offer are blocks reserved under the listing's or offer's id; a deal's credits and
cash are reserved under the deal's id until its settlement obligation settles.
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

project_profiles = Table(
    "project_profiles",
    metadata,
    Column("project_id", String(16), ForeignKey("projects.id"), primary_key=True),
    Column("summary_en", Text, nullable=False),
    Column("summary_ja", Text, nullable=False),
    Column("ratings", Text, nullable=False),
    Column("documents", Text, nullable=False),
    Column("updated_by", String(96), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""What the projects table does not say: the story, ratings ([{agency, grade}]) and documents
([{title, url}]) that the seller (or the registry operator) has for a project."""

marketplace_listings = Table(
    "marketplace_listings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("seller_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("issuance_id", String(40), ForeignKey("issuances.id"), nullable=False),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False),
    Column("vintage", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("available", BigInteger, nullable=False),
    Column("min_quantity", BigInteger, nullable=False),
    Column("lot", BigInteger, nullable=False),
    Column("settlement_days", Integer, nullable=False),
    Column("expires_at", String(32)),
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint(
        "price > 0 AND available >= 0 AND min_quantity >= 1 AND lot >= 1", name="terms_valid"
    ),
    Index("ix_marketplace_listings_status_project", "status", "project_id"),
)

marketplace_rfqs = Table(
    "marketplace_rfqs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("buyer_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("listing_id", String(64), ForeignKey("marketplace_listings.id")),
    Column("seller_id", String(ID)),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""A buyer's request for quote: for one listing (its seller answers) or for a project (any
holder of the project's credits may answer)."""

marketplace_offers = Table(
    "marketplace_offers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("rfq_id", String(64), ForeignKey("marketplace_rfqs.id"), nullable=False, index=True),
    Column("seller_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("issuance_id", String(40), ForeignKey("issuances.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("settlement_days", Integer, nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint("price > 0 AND quantity > 0", name="terms_valid"),
)
"""A seller's firm offer answering an RFQ; its credits stay reserved while it is open."""

marketplace_deals = Table(
    "marketplace_deals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("listing_id", String(64)),
    Column("offer_id", String(64)),
    Column("buyer_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("seller_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("buyer_account", String(ID), nullable=False),
    Column("seller_account", String(ID), nullable=False),
    Column("project_id", String(16), nullable=False),
    Column("issuance_id", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("buyer_fee", BigInteger, nullable=False),
    Column("seller_fee", BigInteger, nullable=False),
    Column("trade_date", String(10), nullable=False),
    Column("due_date", String(10), nullable=False),
    Column("at", String(32), nullable=False),
    CheckConstraint("price > 0 AND quantity > 0", name="price_quantity_positive"),
)
"""A purchase from a listing or an accepted offer; its settlement obligation has the same id."""
