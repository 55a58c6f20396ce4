"""Tables of sealed-bid auctions: auctions, bids, awards.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. The exchange's
call auctions (板寄せ) are the table ``auctions``; these are ``sealed_*`` to keep them apart.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Integer, String, Table, Text

from tanso.store.metadata import ID, metadata

sealed_auctions = Table(
    "sealed_auctions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("seller_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("account_id", String(ID), nullable=False),
    Column("title", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("supply", BigInteger, nullable=False),
    Column("lot", BigInteger, nullable=False),
    Column("reserve", BigInteger, nullable=False),
    Column("pricing", String(32), nullable=False),
    Column("marginal", String(16), nullable=False),
    Column("undersubscribed", String(16), nullable=False),
    Column("seed", String(64), nullable=False),
    Column("opens_at", String(32), nullable=False),
    Column("closes_at", String(32), nullable=False, index=True),
    Column("settlement_days", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("cleared_at", String(32)),
    Column("clearing_price", BigInteger),
    Column("sold", BigInteger),
    Column("unsold", BigInteger),
    Column("bidders", Integer),
    Column("valid_demand", BigInteger),
    Column("demand", Text),
    CheckConstraint("status IN ('active', 'cleared', 'cancelled')", name="status_known"),
    CheckConstraint(
        "supply > 0 AND lot > 0 AND reserve > 0 AND settlement_days >= 0", name="terms_valid"
    ),
)
"""An auction's terms and, once cleared, its published result. ``status`` is stored as active,
cleared or cancelled; scheduled, open and closed are read from the clock against the window."""

sealed_bids = Table(
    "sealed_bids",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("auction_id", String(ID), ForeignKey("sealed_auctions.id"), nullable=False, index=True),
    Column("bidder_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("account_id", String(ID), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("nonce", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint("price > 0 AND quantity > 0", name="price_quantity_positive"),
    CheckConstraint(
        "status IN ('open', 'withdrawn', 'won', 'lost', 'cancelled')", name="status_known"
    ),
)
"""Sealed bids: only their bidder reads them before the auction is cleared. ``seq`` is the journal
sequence of the bid's last placement or amendment (time priority)."""

sealed_awards = Table(
    "sealed_awards",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("auction_id", String(ID), ForeignKey("sealed_auctions.id"), nullable=False, index=True),
    Column("bid_id", String(ID), ForeignKey("sealed_bids.id"), nullable=False),
    Column("bidder_id", String(ID), nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("due_date", String(10), nullable=False),
    CheckConstraint("quantity > 0 AND price > 0", name="quantity_price_positive"),
)
"""What each winning bid won; its id is the deal id of its settlement obligation."""
