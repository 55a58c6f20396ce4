"""The database schema (SQLAlchemy Core). Alembic migrations create it; this module describes it.

Rules that must never break are enforced here too, not only in code: balances cannot go negative,
a block's range cannot be reversed, journal sequence numbers and idempotency keys are unique.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from tanso.store.metadata import ID as ID
from tanso.store.metadata import metadata as metadata

participants = Table(
    "participants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name_ja", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("corporate_number", String(13), unique=True),
    Column("roles", Text, nullable=False),
    Column("gx_league", Boolean, nullable=False, default=False),
    Column("corporate_group", String(ID)),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("lei", String(20)),  # ISO 17442: a foreign corporation's identity, unique
    Column("country", String(2), nullable=False, server_default="JP"),
    Column("name_local", Text),
    Index("ix_participants_lei", "lei", unique=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("roles", Text, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
)

broker_authorisations = Table(
    "broker_authorisations",
    metadata,
    Column("client_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("broker_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("scopes", Text, nullable=False),
    Column("granted_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), index=True),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

schemes = Table(
    "schemes",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("unit", String(8), nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("properties", Text, nullable=False),
)

terms = Table(
    "terms",
    metadata,
    Column("kind", String(24), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("extra", Text, nullable=False, default="{}"),
)
"""Small reference lists: credit types, properties, evaluation axes, retirement purposes."""

categories = Table(
    "categories",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("scheme", String(8), ForeignKey("schemes.code")),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("tse", Boolean, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("scheme", String(8), ForeignKey("schemes.code"), nullable=False),
    Column("name", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("region", Text, nullable=False),
    Column("developer", Text, nullable=False),
    Column("methodology", Text, nullable=False),
    Column("category", String(40), ForeignKey("categories.code"), nullable=False),
    Column("mechanism", String(16), nullable=False),
    Column("nature", String(16), nullable=False),
    Column("properties", Text, nullable=False),
    Column("evaluation_axes", Text, nullable=False),
    Column("co_benefits", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

issuances = Table(
    "issuances",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False, index=True),
    Column("credit_type", String(4), nullable=False),
    Column("round", String(8), nullable=False),
    Column("vintage", Integer, nullable=False),
    Column("certified_on", String(10), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("ca_declaration", String(16), nullable=False),
    Column("ca_status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("external_registry", Text),
    Column("external_ref", Text),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

blocks = Table(
    "blocks",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("issuance_id", String(40), ForeignKey("issuances.id"), nullable=False),
    Column("serial_start", BigInteger, nullable=False),
    Column("serial_end", BigInteger, nullable=False),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("vintage", Integer, nullable=False),
    Column("reservation", String(64)),
    CheckConstraint("serial_start >= 1 AND serial_start <= serial_end", name="range_valid"),
    # oldest vintage first is one index scan: the index matches the ORDER BY of a selection
    Index(
        "ix_blocks_account_status_order",
        "account_id",
        "status",
        "vintage",
        "issuance_id",
        "serial_start",
    ),
    # a holdings page (ORDER BY id within one account) without walking the whole table
    Index("ix_blocks_account_id", "account_id", "id"),
    Index("ix_blocks_issuance_start", "issuance_id", "serial_start", unique=True),
    Index("ix_blocks_reservation", "reservation"),
)

retirements = Table(
    "retirements",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("purposes", Text, nullable=False),
    Column("scope", String(16), nullable=False),
    Column("beneficiary", Text, nullable=False),
    Column("reporting_year", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
)

credit_movements = Table(
    "credit_movements",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("journal_seq", BigInteger, nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("ref", String(ID)),
    Column("issuance_id", String(40), nullable=False),
    Column("serial_start", BigInteger, nullable=False),
    Column("serial_end", BigInteger, nullable=False),
    Column("from_account", String(ID), index=True),
    Column("to_account", String(ID), index=True),
)
"""Who moved which serials where, for account statements and retirement notices."""

cash_accounts = Table(
    "cash_accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), index=True),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("balance", BigInteger, nullable=False, default=0),
    Column("reserved", BigInteger, nullable=False, default=0),
    CheckConstraint(
        "kind = 'external' OR (balance >= 0 AND reserved >= 0 AND reserved <= balance)",
        name="no_overdraft",
    ),
    UniqueConstraint("participant_id", "currency", "kind", name="uq_cash_accounts_owner"),
)

cash_reservations = Table(
    "cash_reservations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("cash_account_id", String(ID), ForeignKey("cash_accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)
"""Cash set aside for an open order or bid, released or used when it ends."""

cash_entries = Table(
    "cash_entries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("journal_seq", BigInteger, nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("from_account", String(ID), ForeignKey("cash_accounts.id"), nullable=False, index=True),
    Column("to_account", String(ID), ForeignKey("cash_accounts.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("memo", Text, nullable=False),
    Column("external_ref", Text),
    CheckConstraint("amount > 0", name="amount_positive"),
)

journal = Table(
    "journal",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("at", String(32), nullable=False),
    Column("kind", String(48), nullable=False),
    Column("actor", String(96), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

journal_head = Table(
    "journal_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""One row: the last journal entry. Writers lock it, which puts all writes in one order."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("participant_id", String(ID), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# ---------------------------------------------------------------- the exchange

instruments = Table(
    "instruments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("eligibility", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tick", BigInteger, nullable=False),
    Column("lot", BigInteger, nullable=False),
    Column("price_limit_pct", Integer, nullable=False),
    Column("market_orders", Boolean, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("sessions", Text, nullable=False),
    Column("settlement_days", Integer, nullable=False),
    Column("reference_price", BigInteger),
    Column("state", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    CheckConstraint("tick > 0 AND lot > 0", name="tick_lot_positive"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("instrument_id", String(ID), ForeignKey("instruments.id"), nullable=False),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("agent_id", String(ID)),
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(8), nullable=False),
    Column("price", BigInteger),
    Column("cash_price", BigInteger),
    # the fee schedule of the order's side when it was accepted (JSON): what its trades pay
    Column("fees", String(200)),
    Column("quantity", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    # cancelled or expired: quantity = filled + cancelled + remaining
    Column("cancelled", BigInteger, nullable=False, server_default="0"),
    Column("tif", String(4), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", BigInteger, nullable=False),
    # an appointed market maker's order on its programme's instrument (マーケットメイカーの気配)
    Column("quote", Boolean, nullable=False, server_default=false()),
    Column("client_order_id", String(64)),
    Column("reason", String(64)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_valid"),
    Index("ix_orders_instrument_status", "instrument_id", "status", "priority"),
    Index("ix_orders_participant", "participant_id", "created_at"),
)

trades = Table(
    "trades",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("instrument_id", String(ID), ForeignKey("instruments.id"), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("buy_order_id", String(64), nullable=False),
    Column("sell_order_id", String(64), nullable=False),
    Column("buyer_id", String(ID), nullable=False, index=True),
    Column("seller_id", String(ID), nullable=False, index=True),
    Column("auction", Boolean, nullable=False),
    Column("trade_date", String(10), nullable=False),
    Column("settlement_date", String(10), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("at", String(32), nullable=False),
    # busted by the operator before it settled (issue 17): it stands no more anywhere
    Column("busted", Boolean, nullable=False, server_default=false()),
    Column("busted_at", String(32)),
    Column("bust_reason", String(32)),
    CheckConstraint("price > 0 AND quantity > 0", name="price_quantity_positive"),
    Index("ix_trades_instrument_at", "instrument_id", "journal_seq"),
)

settlement_obligations = Table(
    "settlement_obligations",
    metadata,
    Column("deal_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("buyer_id", String(ID), nullable=False, index=True),
    Column("seller_id", String(ID), nullable=False, index=True),
    Column("buyer_account", String(ID), nullable=False),
    Column("seller_account", String(ID), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("due_date", String(10), nullable=False, index=True),
    Column("credit_reservation", String(64), nullable=False),
    Column("cash_reservation", String(64), nullable=False),
    Column("reason", Text),
    Column("settled_at", String(32)),
    Column("buyer_fee", BigInteger, nullable=False, server_default="0"),
    Column("seller_fee", BigInteger, nullable=False, server_default="0"),
    Column("late_charge", BigInteger, nullable=False, server_default="0"),
    Column("venue", String(16), nullable=False, server_default="exchange"),
    Column("instrument_id", String(ID)),
)
"""What each deal owes (an exchange trade, a marketplace purchase, a sealed-bid award): cash from
the buyer, credits from the seller, on the due date. ``deal_id`` is the deal's id (a trade's, a
purchase's, an award's) and ``venue`` says which venue made it; ``instrument_id`` is the instrument
whose fee schedule applies (none off-exchange). clearing/escrow.py opens every obligation."""

auctions = Table(
    "auctions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("instrument_id", String(ID), ForeignKey("instruments.id"), nullable=False),
    Column("at", String(32), nullable=False),
    Column("trade_date", String(10), nullable=False),
    Column("price", BigInteger),
    Column("volume", BigInteger, nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False, server_default="call"),
    Index("ix_auctions_instrument_at", "instrument_id", "at"),
)
"""Each call auction's result (price and volume, or no trade), as TSE's daily report lists them."""


fee_schedules = Table(
    "fee_schedules",
    metadata,
    Column("instrument_id", String(ID), primary_key=True),
    Column("side", String(4), primary_key=True),
    Column("per_tonne", BigInteger, nullable=False),
    Column("bps", Integer, nullable=False),
    Column("per_trade", BigInteger, nullable=False),
    Column("late_charge", BigInteger, nullable=False),
    CheckConstraint(
        "per_tonne >= 0 AND bps >= 0 AND bps <= 10000 AND per_trade >= 0 AND late_charge >= 0",
        name="fees_valid",
    ),
)
"""Fees per instrument ('*' for all) and side; zero unless set, as at TSE today."""

settlement_runs = Table(
    "settlement_runs",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("date", String(10), nullable=False, index=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(96), nullable=False),
    Column("settled", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("cash_moved", BigInteger, nullable=False),
    Column("credits_moved", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
)
"""Each settlement run: the date it settled for and what it did."""

# ---------------------------------------------------------------- market data

bars = Table(
    "bars",
    metadata,
    Column("instrument_id", String(ID), ForeignKey("instruments.id"), primary_key=True),
    Column("interval", String(4), primary_key=True),
    Column("period_start", String(10), primary_key=True),
    Column("open", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    Column("low", BigInteger, nullable=False),
    Column("close", BigInteger, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("trades", Integer, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    # recomputed after a trade in it was busted (no longer the bar first published)
    Column("restated", Boolean, nullable=False, server_default=false()),
    CheckConstraint("low <= open AND open <= high AND low <= close AND close <= high", name="ohlc"),
)
"""4本値: open, high, low, close, volume and value per instrument, per day, week and month,
kept up to date by every trade in the trade's own transaction."""

index_values = Table(
    "index_values",
    metadata,
    Column("index_id", String(ID), primary_key=True),
    Column("date", String(10), primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("rule", String(24), nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("at", String(32), nullable=False),
    # when `tanso market restate` last changed the value (docs/indices.md, restatement policy)
    Column("restated_at", String(32)),
)
"""Published benchmark index values, each with the rule that produced it (vwap, mid, previous)."""

# ---------------------------------------------------------------- portal users and sessions

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("role", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_pending", String(64), nullable=True),
    Column("totp_last_step", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint(
        "role IN ('viewer', 'trader', 'account_manager', 'administrator')", name="role_known"
    ),
    CheckConstraint("status IN ('active', 'removed')", name="status_known"),
)
"""People who log in to the portal: each belongs to one participant, with one role inside it.
Emails are stored lower-case (one address is one login across the exchange); the password only
as an argon2 hash. A removed user keeps its row (the journal names it) but can never log in
again. A lock after failed logins is not a status: it is a ``login_throttle`` row.
``totp_pending`` is a TOTP secret the server made that no code has confirmed yet;
``totp_last_step`` the RFC 6238 time step (Unix time // 30) of the last code accepted, at login
or enrolment: a code of that step or an earlier one is refused, so each code works once."""

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("email_hash", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("not_before", String(32), nullable=True),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint("failures >= 0", name="failures_valid"),
)
"""Failed logins in a row per email address, whether or not a user has it, so that a lock looks
the same for every address: ``email_hash`` is the SHA-256 of the lower-case email (no address
typed by a stranger is stored), ``not_before`` the time before which every attempt is refused.
A successful login deletes the row; a row untouched for a day is forgotten."""

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("second_factor_pending", Boolean, nullable=False),
)
"""Logged-in browsers: the id is the SHA-256 of the cookie's 256-bit secret, so a copy of the
table cannot be replayed as cookies; a session waiting for its TOTP code grants nothing."""


# Tables of later capabilities live in modules of their own on the same metadata; importing
# them here keeps `metadata` complete for migrations and their check.
from tanso.store import (  # noqa: E402, F401
    schema_bust_requests,
    schema_claims,
    schema_cycle,
    schema_declarations,
    schema_disputes,
    schema_gx,
    schema_hub,
    schema_local,
    schema_market_makers,
    schema_marketplace,
    schema_offtake,
    schema_ops,
    schema_points,
    schema_removals,
    schema_sealed,
    schema_stats,
    schema_surveillance,
    schema_usage,
)
