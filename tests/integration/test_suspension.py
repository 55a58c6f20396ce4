"""Suspension cancels: a suspended participant's resting orders, listings, offers, requests for
quote, open sealed bids and its own auctions are closed, each journaled, every hold released;
its keys, brokers and users do not change until it is reinstated."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tanso.domain import marketplace as mp
from tanso.domain.errors import Conflict
from tanso.services.access import users
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.venues import marketplace, sealed_auctions
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market
from tests.integration.test_sealed_auctions import CLOSES, DURING, OPENS, StepClock

LATER = "2026-01-09T00:00:00Z"

pytestmark = pytest.mark.fast_backends(
    "sqlite", "postgres"
)  # cheap: both databases in the fast tier


def _reserved(db: Database, pid: str) -> tuple[int, int]:
    """(cash reserved, credits reserved) of a participant."""
    b = t.blocks.c
    with db.read() as conn:
        cash = conn.execute(
            select(t.cash_accounts.c.reserved).where(t.cash_accounts.c.participant_id == pid)
        ).scalar_one()
        credits = conn.execute(
            select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
                b.account_id == f"{pid}-MAIN", b.status == "reserved"
            )
        ).scalar_one()
    return int(cash), int(credits)


@pytest.fixture
def busy(db: Database) -> dict[str, Any]:
    """P has something open in every venue: an exchange buy and sell, a listing, a firm offer,
    a request for quote with another's offer on it, a sealed bid and an auction of its own."""
    clock = StepClock("2026-01-06T00:00:00Z")
    db.clock = clock
    x = Exchange(db, japan_calendar())
    p, other = add_participant(db, "PP"), add_participant(db, "OTHER")
    issuance = add_issuance(db, "PP-MAIN", 1_000, project="FOREST1")
    add_issuance(db, "OTHER-MAIN", 1_000, project="FOREST2")
    fund(db, "PP", 10_000_000)
    fund(db, "OTHER", 10_000_000)
    open_market(x, energy_saving())
    x.place(p, NewOrder("JC-ES", "buy", 100, 2_000))
    x.place(p, NewOrder("JC-ES", "sell", 100, 2_100))
    marketplace.create_listing(
        db,
        p,
        marketplace.NewListing("PP-MAIN", mp.ListingTerms(3_000, 100), issuance_id=issuance),
    )
    theirs = marketplace.create_rfq(db, other, 40, project_id="FOREST1")
    marketplace.make_offer(
        db, p, marketplace.NewOffer(theirs.id, "PP-MAIN", issuance, 2_800, 40, LATER)
    )
    mine = marketplace.create_rfq(db, p, 40, project_id="FOREST2")
    other_issuance = participants_issuance(db, "OTHER-MAIN")
    marketplace.make_offer(
        db, other, marketplace.NewOffer(mine.id, "OTHER-MAIN", other_issuance, 2_800, 40, LATER)
    )
    terms = {"opens_at": OPENS, "closes_at": CLOSES, "reserve": 1_000, "quantity": 100}
    auction = sealed_auctions.create(
        db, other, sealed_auctions.NewSealedAuction("OTHER-MAIN", **terms)
    )
    own = sealed_auctions.create(db, p, sealed_auctions.NewSealedAuction("PP-MAIN", **terms))
    clock.set(DURING)
    sealed_auctions.place_bid(db, p, auction.id, "PP-MAIN", 1_500, 10)
    sealed_auctions.place_bid(db, other, own.id, "OTHER-MAIN", 1_500, 10)
    return {"db": db, "x": x, "p": p, "other": other, "auction": auction, "own": own}


def participants_issuance(db: Database, account: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(
                select(t.blocks.c.issuance_id).where(t.blocks.c.account_id == account).limit(1)
            ).scalar_one()
        )


def _open(db: Database) -> dict[str, int]:
    """How many things P still has open, by venue."""
    from tanso.store import schema_marketplace as m
    from tanso.store.schema_sealed import sealed_auctions as sa_t
    from tanso.store.schema_sealed import sealed_bids

    def count(table: Any, who: Any, status: str) -> int:
        with db.read() as conn:
            q = select(func.count()).select_from(table).where(who == "PP", table.c.status == status)
            return int(conn.execute(q).scalar_one())

    return {
        "orders": count(t.orders, t.orders.c.participant_id, "open"),
        "listings": count(m.marketplace_listings, m.marketplace_listings.c.seller_id, "open"),
        "offers": count(m.marketplace_offers, m.marketplace_offers.c.seller_id, "open"),
        "rfqs": count(m.marketplace_rfqs, m.marketplace_rfqs.c.buyer_id, "open"),
        "bids": count(sealed_bids, sealed_bids.c.bidder_id, "open"),
        "auctions": count(sa_t, sa_t.c.seller_id, "active"),
    }


def test_suspension_cancels_everything_open_and_releases_every_hold(
    busy: dict[str, Any],
) -> None:
    db, x = busy["db"], busy["x"]
    assert all(_open(db).values()) and all(_reserved(db, "PP"))
    other_before = _reserved(db, "OTHER")
    participants.set_status(db, SYSTEM, "PP", "suspended", "KYC lapsed")
    cancelled = x.cancel_all(SYSTEM, "PP")
    assert [o.status for o in cancelled] == ["cancelled", "cancelled"]
    assert _open(db) == dict.fromkeys(_open(db), 0)
    assert _reserved(db, "PP") == (0, 0)
    # OTHER's offer on P's request lapsed (its 40 t free again); its bid in P's auction returned
    assert _reserved(db, "OTHER") == (other_before[0] - 15_000, other_before[1] - 40 - 0)
    with db.read() as conn:
        kinds = [
            r.kind
            for r in conn.execute(
                select(t.journal.c.kind).where(
                    t.journal.c.payload.contains("participant_suspended")
                )
            )
        ]
    assert sorted(kinds) == [
        "marketplace.offer_withdrawn",
        "marketplace.rfq_cancelled",
        "marketplace.withdrawn",
        "sealed_auction.bid_cancelled",
        "sealed_auction.cancelled",
    ]
    assert marketplace.check_reservations(db) == []
    assert audit.verify(db).ok
    # the books rebuilt from the journal agree with the stored orders (recovery unchanged)
    Exchange(db, japan_calendar())


def test_a_suspended_participant_gets_no_new_key_broker_or_user_until_reinstated(
    db: Database,
) -> None:
    add_participant(db, "PP")
    add_participant(db, "BRK", roles=["broker"])
    key = participants.create_api_key(db, SYSTEM, "PP")
    participants.set_status(db, SYSTEM, "PP", "suspended", "investigation")
    new_user = users.NewUser(
        "PP", "p@example.com", "P admin", "administrator", "a long passphrase 1"
    )
    for change in (
        lambda: participants.create_api_key(db, SYSTEM, "PP"),
        lambda: participants.authorise_broker(db, SYSTEM, "PP", "BRK", True),
        lambda: users.create(db, SYSTEM, new_user),
    ):
        with pytest.raises(Conflict) as err:
            change()
        assert err.value.code == "participant_suspended"
    # taking access away stays possible
    assert participants.revoke_api_key(db, SYSTEM, "PP", key.id).revoked
    participants.set_status(db, SYSTEM, "PP", "active", "cleared")
    participants.create_api_key(db, SYSTEM, "PP")
    participants.authorise_broker(db, SYSTEM, "PP", "BRK", True)
    users.create(db, SYSTEM, new_user)
    assert audit.verify(db).ok


def test_orders_a_crash_left_open_after_a_suspension_are_cancelled_when_the_exchange_starts(
    busy: dict[str, Any],
) -> None:
    """The suspension is recorded, then the server stops before it cancels the orders: the
    next start of the sequencer cancels them before it takes any command."""
    db = busy["db"]
    participants.set_status(db, SYSTEM, "PP", "suspended", "KYC lapsed")
    assert _open(db)["orders"] == 2
    restarted = Exchange(db, japan_calendar())
    restarted.start()
    try:
        assert _open(db)["orders"] == 0
        assert _reserved(db, "PP") == (0, 0)
        assert restarted.cancel_all(SYSTEM, "PP") == []
    finally:
        restarted.stop()
    assert audit.verify(db).ok
