"""Tables of behaviour-change points programmes (docs/points.md): programmes and their
methodology versions, batches of members' events, the events themselves, members' balances,
pools of pledged points and their retirements, members' own retirements, and the issuances made
from a programme's verified reductions.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. A member is
only ever the programme's keyed hash of its own member id (64 hex characters): no table holds a
name, an address, an e-mail or a member number. Quantities are integer grams of CO2.

``points_events`` is written by the database's bulk path (PostgreSQL ``COPY``, SQLite batched
inserts) and has no foreign keys, so that ingesting a batch checks each row only against its
primary key; the batch and programme it names are written in the same transaction.
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

MEMBER = 64
"""A member: the hex of an HMAC-SHA256 of the programme's own member id."""

points_programmes = Table(
    "points_programmes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("holding_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(16), ForeignKey("projects.id")),
    Column("status", String(16), nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("earned_grams", BigInteger, nullable=False),
    Column("verified_grams", BigInteger, nullable=False),
    Column("issued_grams", BigInteger, nullable=False),
    Column("carry_grams", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint(
        "issued_grams <= verified_grams AND verified_grams <= earned_grams",
        name="points_issued_within_verified",
    ),
    CheckConstraint("carry_grams >= 0 AND carry_grams < 1000000", name="points_carry_fraction"),
)
"""A points programme, run by a participant: its totals (grams of CO2), the holding account
its retirements come from, the project its verified reductions may be issued under, and the
fraction of a tonne its pools carry to the next."""

points_methodologies = Table(
    "points_methodologies",
    metadata,
    Column("programme_id", String(ID), ForeignKey("points_programmes.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("effective_from", String(10), nullable=False),
    Column("source", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("published_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A programme's methodology, versioned: from ``effective_from`` on it rates events (actions,
grams per unit, daily caps) and states how double counting is settled (JSON ``body``)."""

points_batches = Table(
    "points_batches",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("programme_id", String(ID), ForeignKey("points_programmes.id"), nullable=False),
    Column("source", String(8), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("capped", Integer, nullable=False),
    Column("grams", BigInteger, nullable=False),
    Column("first_on", String(10)),
    Column("last_on", String(10)),
    Column("content_hash", String(64), nullable=False),
    Column("versions", String(200), nullable=False),
    Column("verification", String(16), nullable=False),
    Column("verified_by", String(ID)),
    Column("verified_at", String(32)),
    Column("findings", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_points_batches_programme", "programme_id", "journal_seq"),
)
"""A batch of events as received: counts, the grams it credited, the methodology versions that
rated them (comma-separated) and the SHA-256 of its accepted events (what the journal records
instead of the events), and its verification (``pending``, ``verified``, ``returned``)."""

points_events = Table(
    "points_events",
    metadata,
    Column("programme_id", String(ID), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("member", String(MEMBER), nullable=False),
    Column("action", String(40), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("occurred_on", String(10), nullable=False),
    Column("grams", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("batch_id", String(ID), nullable=False),
    Index("ix_points_events_member", "programme_id", "member", "occurred_on"),
)
"""Each accepted event once (the programme's event id makes a resend a duplicate): what the
member did, on which day, and the grams it was credited under the methodology in force."""

points_balances = Table(
    "points_balances",
    metadata,
    Column("programme_id", String(ID), primary_key=True),
    Column("member", String(MEMBER), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("earned_grams", BigInteger, nullable=False),
    Column("pledged_grams", BigInteger, nullable=False),
    Column("spent_grams", BigInteger, nullable=False),
    Column("last_on", String(10), nullable=False),
    CheckConstraint(
        "pledged_grams + spent_grams <= earned_grams", name="points_balance_not_negative"
    ),
)
"""A member's points, folded batch by batch: earned, pledged to pools, spent on retirements."""

points_pools = Table(
    "points_pools",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("programme_id", String(ID), ForeignKey("points_programmes.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("members", Integer, nullable=False),
    Column("pledged_grams", BigInteger, nullable=False),
    Column("carry_in_grams", BigInteger),
    Column("tonnes", BigInteger),
    Column("carry_out_grams", BigInteger),
    Column("retirement_id", String(ID), ForeignKey("retirements.id")),
    Column("merkle_root", String(64)),
    Column("opened_at", String(32), nullable=False),
    Column("retired_at", String(32)),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_points_pools_programme", "programme_id", "status"),
)
"""A pooled retirement: members pledge points to it; the programme retires the whole tonnes of
its pledges (and the carry it takes in) and publishes the Merkle root of the members' shares.
``salt`` is the pool's secret: each leaf is salted with an HMAC of it, so pools cannot be
linked; it never leaves the server except as one member's own leaf salt in their proof."""

points_pledges = Table(
    "points_pledges",
    metadata,
    Column("pool_id", String(ID), ForeignKey("points_pools.id"), primary_key=True),
    Column("member", String(MEMBER), primary_key=True),
    Column("grams", BigInteger, nullable=False),
    Column("pledged_at", String(32), nullable=False),
    CheckConstraint("grams > 0", name="points_pledge_positive"),
)
"""A member's share of a pool (pledges to one pool add up)."""

points_member_retirements = Table(
    "points_member_retirements",
    metadata,
    Column("retirement_id", String(ID), ForeignKey("retirements.id"), primary_key=True),
    Column("programme_id", String(ID), ForeignKey("points_programmes.id"), nullable=False),
    Column("member", String(MEMBER), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("paid_with", String(8), nullable=False),
    Column("grams", BigInteger, nullable=False),
    Column("retired_at", String(32), nullable=False),
    Index("ix_points_member_retirements", "programme_id", "member"),
)
"""A small retirement a programme made for one member (paid with points or money): the
retirement names the member's hash as beneficiary."""

points_issuances = Table(
    "points_issuances",
    metadata,
    Column("issuance_id", String(40), ForeignKey("issuances.id"), primary_key=True),
    Column("programme_id", String(ID), ForeignKey("points_programmes.id"), nullable=False),
    Column("tonnes", BigInteger, nullable=False),
    Column("grams", BigInteger, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""Credits issued from a programme's verified reductions, with the batches that evidence them."""
