"""What a participant's suspension takes off the market.

Suspending a participant (`participants.set_status`) calls `withdraw_all` in the same
transaction: its open marketplace listings, firm offers and requests for quote, its open
sealed bids and the sealed-bid auctions it offers that are not cleared yet are closed, each with
one journal entry of its venue's own kind (``"reason": "participant_suspended"``), every hold
released through the escrow (`services/clearing/escrow.py`), so the books still fold. Its resting
exchange orders belong to the sequencer: the suspension's callers (the API route and the
operator's screen) cancel them right after with `Exchange.cancel_all`, one `exchange.cancel`
entry each.

Until it is reinstated, nobody (the operator included) creates API keys for a suspended
participant, grants a broker mandate to or from it, or creates or changes its portal users
(`refuse_changes`); revoking a key or a mandate, which only takes access away, stays possible.

This module never changes a status and never gives anything back on reinstatement: a
reinstated participant places its orders, listings and bids again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from tanso.domain.errors import Conflict
from tanso.domain.participants import ParticipantStatus
from tanso.services.common import Actor
from tanso.services.venues import marketplace, sealed_auctions
from tanso.store import repo
from tanso.store.db import Tx

REASON = "participant_suspended"


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """Everything a suspension closed outside the exchange, by id."""

    listings: list[str]
    offers: list[str]
    rfqs: list[str]
    bids: list[str]
    auctions: list[str]


def withdraw_all(tx: Tx, actor: Actor, pid: str) -> Withdrawn:
    """Close what the participant has open in the marketplace and in sealed-bid auctions."""
    market = marketplace.withdraw_all_of(tx, actor, pid, REASON)
    sealed = sealed_auctions.withdraw_all_of(tx, actor, pid, REASON)
    return Withdrawn(market.listings, market.offers, market.rfqs, sealed.bids, sealed.auctions)


def refuse_changes(conn: Connection, pid: str) -> None:
    """Refuse a change of keys, mandates or users of a suspended participant."""
    row = repo.get_participant(conn, pid)
    if row is not None and row.status == ParticipantStatus.SUSPENDED.value:
        raise Conflict(
            "participant_suspended",
            f"Participant {pid} is suspended: its keys, brokers and users change only after "
            "it is reinstated.",
        )
