"""Sealed-bid auctions against the database (SQLite and PostgreSQL): reservations, sealing,
clearing into settlement obligations, conservation and the audit."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.sealed_bid import SealedBid, clear
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, participants, registry
from tanso.services.venues import sealed_auctions as sa
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.store.schema_sealed import sealed_auctions, sealed_bids
from tests.conftest import add_issuance, add_participant, fund


class StepClock:
    """The database clock, set by the test: each reading a microsecond after the last."""

    def __init__(self, start: str) -> None:
        self.now = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))

    def set(self, at: str) -> None:
        self.now = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))

    def __call__(self) -> str:
        self.now += dt.timedelta(microseconds=1)
        return self.now.isoformat(timespec="microseconds").replace("+00:00", "Z")


OPENS, CLOSES = "2026-01-06T01:00:00Z", "2026-01-06T03:00:00Z"
BEFORE, DURING, AFTER = "2026-01-06T00:30:00Z", "2026-01-06T02:00:00Z", "2026-01-06T04:00:00Z"


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    clock = StepClock("2026-01-06T00:00:00Z")
    db.clock = clock
    seller = add_participant(db, "SELLER")
    buyers = [add_participant(db, p) for p in ("B1", "B2", "B3")]
    iss = [
        add_issuance(db, "SELLER-MAIN", 40, vintage=2021),
        add_issuance(db, "SELLER-MAIN", 100, vintage=2022),
    ]
    for b in buyers:
        fund(db, b.participant_id, 1_000_000)
    return {"db": db, "clock": clock, "seller": seller, "buyers": buyers, "iss": iss}


def _create(m: dict[str, Any], **kw: Any) -> sa.OfferedAuction:
    spec = sa.NewSealedAuction(
        **(
            {
                "account_id": "SELLER-MAIN",
                "opens_at": OPENS,
                "closes_at": CLOSES,
                "reserve": 10,
                "quantity": 60,
                "lot": 10,
            }
            | kw
        )
    )
    return sa.create(m["db"], m["seller"], spec)


def _cash(db: Database, pid: str) -> tuple[int, int]:
    with db.read() as conn:
        row = conn.execute(
            select(t.cash_accounts).where(t.cash_accounts.c.id == f"CASH-{pid}-JPY")
        ).one()
    return int(row.balance), int(row.reserved)


def _status(db: Database, account: str) -> dict[str, int]:
    out: dict[str, int] = registry.holdings(db, SYSTEM, account).totals.status
    return out


def _conserved(db: Database) -> None:
    with db.read() as conn:
        total = conn.execute(select(func.sum(t.cash_accounts.c.balance))).scalar_one()
        reserved = conn.execute(select(func.sum(t.cash_reservations.c.amount))).scalar_one()
        acct_reserved = conn.execute(select(func.sum(t.cash_accounts.c.reserved))).scalar_one()
    assert total == 0
    assert (reserved or 0) == (acct_reserved or 0)
    report = audit.verify(db)
    assert report.ok, report.problems


def test_creating_reserves_the_credits_and_the_state_follows_the_clock(
    market: dict[str, Any],
) -> None:
    db, clock = market["db"], market["clock"]
    a = _create(market)
    assert a.supply == 60 and a.state == "scheduled" and len(a.seed) == 32
    assert _status(db, "SELLER-MAIN") == {"held": 80, "reserved": 60}
    # oldest vintage first: the 2021 issuance entirely, then 20 of 2022
    assert [r.quantity for r in a.ranges] == [40, 20]
    for moment, state in ((BEFORE, "scheduled"), (DURING, "open"), (AFTER, "closed")):
        clock.set(moment)
        assert sa.get_auction(db, a.id).state == state
        for s in sa.STATES:  # the calendar's filter agrees with the state of each auction
            assert [x.id for x in sa.list_auctions(db, s)] == ([a.id] if s == state else [])
    _conserved(db)


def test_a_portfolio_of_serial_blocks_is_offered_as_one_supply(market: dict[str, Any]) -> None:
    i1, i2 = market["iss"]
    a = _create(market, quantity=None, parts=[f"{i1}-1-10", f"{i2}-51-70"], lot=5)
    assert a.supply == 30
    assert sorted(r.serials for r in a.ranges) == sorted([f"{i1}-1-10", f"{i2}-51-70"])


def test_bad_offers_are_refused_and_nothing_is_reserved(market: dict[str, Any]) -> None:
    db = market["db"]
    for kw, err in (
        ({"quantity": 55}, InvalidInput),  # not whole lots of 10
        ({"quantity": 500}, Conflict),  # more than held
        ({"closes_at": OPENS}, InvalidInput),
        ({"closes_at": "2026-01-05T00:00:00Z", "opens_at": "2026-01-04T00:00:00Z"}, InvalidInput),
        ({"account_id": "B1-MAIN"}, NotFound),
        ({"pricing": "vickrey"}, InvalidInput),
    ):
        with pytest.raises(err):
            _create(market, **kw)
    assert _status(db, "SELLER-MAIN") == {"held": 140}


def test_bids_only_while_open_and_amend_or_withdraw_refused_after_close(
    market: dict[str, Any],
) -> None:
    db, clock, (b1, b2, _b3) = market["db"], market["clock"], market["buyers"]
    a = _create(market)
    with pytest.raises(Conflict, match="scheduled"):
        sa.place_bid(db, b1, a.id, "B1-MAIN", 15, 10)
    clock.set(DURING)
    bid = sa.place_bid(db, b1, a.id, "B1-MAIN", 15, 10)
    assert _cash(db, "B1") == (1_000_000, 150)
    bid = sa.amend_bid(db, b1, bid.id, price=20, quantity=20)
    assert _cash(db, "B1") == (1_000_000, 400)
    sa.amend_bid(db, b1, bid.id, quantity=10)
    assert _cash(db, "B1") == (1_000_000, 200)
    other = sa.place_bid(db, b2, a.id, "B2-MAIN", 12, 30)
    sa.withdraw_bid(db, b2, other.id)
    assert _cash(db, "B2") == (1_000_000, 0)
    with pytest.raises(NotFound):
        sa.amend_bid(db, b2, bid.id, price=1)  # someone else's bid answers as missing
    with pytest.raises(Forbidden):
        sa.place_bid(db, market["seller"], a.id, "SELLER-MAIN", 15, 10)
    with pytest.raises(InvalidInput):
        sa.place_bid(db, b2, a.id, "B2-MAIN", 15, 15)  # not whole lots
    clock.set(AFTER)
    with pytest.raises(Conflict, match="closed"):
        sa.amend_bid(db, b1, bid.id, price=30)
    with pytest.raises(Conflict, match="closed"):
        sa.withdraw_bid(db, b1, bid.id)
    with pytest.raises(Conflict, match="closed"):
        sa.place_bid(db, b2, a.id, "B2-MAIN", 15, 10)
    assert sa.get_bid(db, b1, bid.id).price == 20
    _conserved(db)


def test_insufficient_cash_is_refused_and_nothing_changes(market: dict[str, Any]) -> None:
    db, clock, b1 = market["db"], market["clock"], market["buyers"][0]
    a = _create(market)
    clock.set(DURING)
    with pytest.raises(Conflict, match="does not have"):
        sa.place_bid(db, b1, a.id, "B1-MAIN", 200_000, 10)
    bid = sa.place_bid(db, b1, a.id, "B1-MAIN", 50_000, 10)
    with pytest.raises(Conflict):
        sa.amend_bid(db, b1, bid.id, quantity=30)
    assert _cash(db, "B1") == (1_000_000, 500_000)
    assert [b.quantity for b in sa.own_bids(db, b1)] == [10]
    _conserved(db)


def _run_auction(m: dict[str, Any], settlement_days: int, **kw: Any) -> dict[str, Any]:
    db, clock, (b1, b2, b3) = m["db"], m["clock"], m["buyers"]
    a = _create(m, settlement_days=settlement_days, **kw)
    clock.set(DURING)
    bids = {
        "b1": sa.place_bid(db, b1, a.id, "B1-MAIN", 15, 10),
        "b2": sa.place_bid(db, b2, a.id, "B2-MAIN", 20, 30),
        "b3": sa.place_bid(db, b3, a.id, "B3-MAIN", 12, 30),
        "b4": sa.place_bid(db, b1, a.id, "B1-MAIN", 12, 20),
        "b5": sa.place_bid(db, b2, a.id, "B2-MAIN", 8, 50),  # below the reserve
    }
    clock.set(AFTER)
    out = sa.clear_auction(db, m["seller"], a.id)
    return {"auction": a, "bids": bids, "cleared": out}


def test_clearing_t0_settles_awards_and_releases_the_rest(market: dict[str, Any]) -> None:
    db, (b1, b2, b3) = market["db"], market["buyers"]
    run = _run_auction(market, 0)
    aid = run["auction"].id
    assert run["cleared"].state == "cleared" and run["cleared"].settled == 3
    res = sa.results(db, aid)
    assert (res.clearing_price, res.sold, res.unsold, res.bidders) == (12, 60, 0, 3)
    assert res.demand_curve[0] == sa.DemandStep(price=20, quantity=30, cumulative=30)
    # b2 30 @12, b1 10 @12, b3 20 @12 (time: b3 before b4); b4 and b5 lose
    assert _cash(db, "B1") == (1_000_000 - 120, 0)
    assert _cash(db, "B2") == (1_000_000 - 360, 0)
    assert _cash(db, "B3") == (1_000_000 - 240, 0)
    assert _cash(db, "SELLER") == (720, 0)
    assert _status(db, "B2-MAIN") == {"held": 30}
    assert _status(db, "B3-MAIN") == {"held": 20}
    assert _status(db, "SELLER-MAIN") == {"held": 80}
    statuses = {b.id: b.status for b in sa.own_bids(db, b1)}
    assert statuses == {run["bids"]["b1"].id: "won", run["bids"]["b4"].id: "lost"}
    mine = sa.own_awards(db, b3)
    assert [(w.quantity, w.price, w.settlement) for w in mine] == [(20, 12, "settled")]
    assert sa.own_awards(db, b2)[0].quantity == 30
    _conserved(db)


def test_clearing_t_plus_2_leaves_obligations_that_the_settlement_run_settles(
    market: dict[str, Any],
) -> None:
    db = market["db"]
    run = _run_auction(market, 2, pricing="pay_as_bid", undersubscribed="cancel")
    aid = run["auction"].id
    assert run["cleared"].due_date == "2026-01-08" and run["cleared"].settled == 0
    assert sa.results(db, aid).clearing_price is None
    # pay as bid: b2 pays 20, b1 15, b3 12; the cash reserved is cut to the award amount
    assert _cash(db, "B2") == (1_000_000, 600)
    assert _cash(db, "B1") == (1_000_000, 150)
    assert _status(db, "SELLER-MAIN") == {"held": 80, "reserved": 60}
    _conserved(db)
    out = settlement.run(db, SYSTEM, dt.date(2026, 1, 8), early=True)
    assert out.settled == 3
    assert _cash(db, "SELLER") == (600 + 150 + 240, 0)
    assert _status(db, "SELLER-MAIN") == {"held": 80}
    assert _status(db, "B2-MAIN") == {"held": 30}
    obligations = settlement.obligations(db, SYSTEM)
    assert {o.deal_id for o in obligations} == {w.id for w in sa.auction_awards(db, SYSTEM, aid)}
    _conserved(db)


def test_undersubscribed_cancel_sells_nothing_and_releases_everything(
    market: dict[str, Any],
) -> None:
    db, clock, b1 = market["db"], market["clock"], market["buyers"][0]
    a = _create(market, undersubscribed="cancel")
    clock.set(DURING)
    sa.place_bid(db, b1, a.id, "B1-MAIN", 15, 10)
    clock.set(AFTER)
    sa.clear_auction(db, SYSTEM, a.id)
    res = sa.results(db, a.id)
    assert (res.clearing_price, res.sold, res.unsold) == (None, 0, 60)
    assert _cash(db, "B1") == (1_000_000, 0)
    assert _status(db, "SELLER-MAIN") == {"held": 140}
    _conserved(db)


def test_only_the_seller_or_operator_clears_and_only_after_the_close(
    market: dict[str, Any],
) -> None:
    db, clock, b1 = market["db"], market["clock"], market["buyers"][0]
    a = _create(market)
    clock.set(DURING)
    with pytest.raises(Conflict, match="open"):
        sa.clear_auction(db, market["seller"], a.id)
    clock.set(AFTER)
    with pytest.raises(Forbidden):
        sa.clear_auction(db, b1, a.id)
    sa.clear_auction(db, market["seller"], a.id)
    with pytest.raises(Conflict, match="cleared"):
        sa.clear_auction(db, market["seller"], a.id)
    with pytest.raises(Conflict):
        sa.cancel(db, market["seller"], a.id)


def test_cancelling_releases_credits_and_bids(market: dict[str, Any]) -> None:
    db, clock, b1 = market["db"], market["clock"], market["buyers"][0]
    a = _create(market)
    clock.set(DURING)
    bid = sa.place_bid(db, b1, a.id, "B1-MAIN", 15, 10)
    out = sa.cancel(db, market["seller"], a.id)
    assert out.state == "cancelled" and out.result is None
    assert _cash(db, "B1") == (1_000_000, 0)
    assert _status(db, "SELLER-MAIN") == {"held": 140}
    assert sa.get_bid(db, b1, bid.id).status == "cancelled"
    _conserved(db)


def test_no_service_read_shows_a_bid_to_anyone_but_its_bidder_before_clearing(
    market: dict[str, Any],
) -> None:
    db, clock, (b1, b2, _b3) = market["db"], market["clock"], market["buyers"]
    a = _create(market)
    clock.set(DURING)
    bid = sa.place_bid(db, b1, a.id, "B1-MAIN", 7919, 10)
    clock.set(AFTER)  # closed but not cleared: still sealed
    secrets_ = (bid.id, "7919", "79190")
    others: list[Actor] = [market["seller"], SYSTEM, b2]
    for who in others:
        seen = repr(
            [
                sa.list_auctions(db),
                sa.get_auction(db, a.id),
                sa.own_bids(db, who),
                sa.own_awards(db, who),
                sa.auction_awards(db, who, a.id),
            ]
        )
        assert not any(s in seen for s in secrets_), who
        with pytest.raises(NotFound):
            sa.get_bid(db, who, bid.id)
    with pytest.raises(NotFound):
        sa.results(db, a.id)
    # the journal holds only a commitment, opened by the clearing entry
    with db.read() as conn:
        rows = conn.execute(select(t.journal.c.payload).where(t.journal.c.kind.like("sealed%")))
        payloads = [json.loads(r.payload) for r in rows]
    bid_entries = [p for p in payloads if p.get("bid_id") == bid.id]
    assert len(bid_entries) == 1 and {"price", "quantity"}.isdisjoint(bid_entries[0])
    assert bid_entries[0]["commitment"] == sa.commitment(bid.id, 7919, 10, _nonce(db, bid.id))
    assert sa.own_bids(db, b1)[0].price == 7919


def _nonce(db: Database, bid_id: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(select(sealed_bids.c.nonce).where(sealed_bids.c.id == bid_id)).scalar_one()
        )


# ---------------------------------------------------------------- failures, races, properties


def test_suspending_a_bidder_cancels_its_open_bid_and_the_others_clear_and_settle(
    market: dict[str, Any],
) -> None:
    db, clock, (b1, b2, _b3) = market["db"], market["clock"], market["buyers"]
    a = _create(market)
    clock.set(DURING)
    bid = sa.place_bid(db, b1, a.id, "B1-MAIN", 15, 30)
    sa.place_bid(db, b2, a.id, "B2-MAIN", 14, 30)
    participants.set_status(db, SYSTEM, "B1", "suspended")
    assert sa.get_bid(db, b1, bid.id).status == "cancelled"
    assert _cash(db, "B1") == (1_000_000, 0)  # its bid's cash is released at once
    clock.set(AFTER)
    out = sa.clear_auction(db, SYSTEM, a.id)
    assert (out.awards, out.settled) == (1, 1)
    states = {o.deal_id: o.status for o in settlement.obligations(db, SYSTEM)}
    assert sorted(states.values()) == ["settled"]
    _conserved(db)


@pytest.mark.postgres
def test_concurrent_bids_beyond_the_cash_reserve_it_exactly_once(pg_db: Database) -> None:
    m = {"db": pg_db, "clock": StepClock("2026-01-06T00:00:00Z")}
    pg_db.clock = m["clock"]
    m["seller"] = add_participant(pg_db, "SELLER")
    add_issuance(pg_db, "SELLER-MAIN", 100)
    bidder = add_participant(pg_db, "B1")
    fund(pg_db, "B1", 1_000_000)
    a = _create(m)
    m["clock"].set(DURING)

    def bid() -> Any:
        try:
            return sa.place_bid(pg_db, bidder, a.id, "B1-MAIN", 10_000, 20)
        except Conflict as e:
            return e

    def cancel() -> Any:
        try:
            return sa.cancel(pg_db, m["seller"], a.id)
        except Conflict as e:
            return e

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda _i: bid(), range(12)))
    ok = [r for r in results if isinstance(r, sa.Bid)]
    assert len(ok) == 5 and _cash(pg_db, "B1") == (1_000_000, 1_000_000)
    # a cancel racing more bids: whatever order, nothing stays reserved
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(cancel)] + [pool.submit(bid) for _ in range(5)]
        [f.result() for f in futures]
    assert _cash(pg_db, "B1") == (1_000_000, 0)
    assert _status(pg_db, "SELLER-MAIN") == {"held": 100}
    _conserved(pg_db)


@st.composite
def bidding(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    """(action, bidder, price, lots): place, amend (the bidder's last bid) or withdraw."""
    n = draw(st.integers(1, 10))
    return [
        (
            draw(st.sampled_from(["place", "place", "place", "amend", "withdraw"])),
            draw(st.integers(0, 2)),
            draw(st.integers(5, 25)),
            draw(st.integers(1, 5)),
        )
        for _ in range(n)
    ]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=bidding(),
    pricing=st.sampled_from(["uniform_lowest_accepted", "uniform_highest_rejected", "pay_as_bid"]),
    marginal=st.sampled_from(["time", "pro_rata"]),
    under=st.sampled_from(["cancel", "partial"]),
    days=st.sampled_from([0, 1]),
)
def test_any_bidding_then_clearing_matches_the_domain_and_conserves_everything(
    market: dict[str, Any],
    ops: list[tuple[str, int, int, int]],
    pricing: str,
    marginal: str,
    under: str,
    days: int,
) -> None:
    db, clock, buyers = market["db"], market["clock"], market["buyers"]
    if _status(db, "SELLER-MAIN").get("held", 0) < 30:  # examples share the database
        add_issuance(db, "SELLER-MAIN", 1_000)
    base = clock.now
    window = {
        "opens_at": (base + dt.timedelta(minutes=1)).isoformat(),
        "closes_at": (base + dt.timedelta(minutes=2)).isoformat(),
    }
    a = _create(
        market, pricing=pricing, marginal=marginal, undersubscribed=under, quantity=30,
        settlement_days=days, **window,
    )  # fmt: skip
    clock.set((base + dt.timedelta(seconds=90)).isoformat())
    last: dict[int, str] = {}
    for action, who, price, lots in ops:
        try:
            if action == "place" or who not in last:
                last[who] = sa.place_bid(
                    db, buyers[who], a.id, f"B{who + 1}-MAIN", price, lots * 10
                ).id
            elif action == "amend":
                sa.amend_bid(db, buyers[who], last[who], price, lots * 10)
            else:
                sa.withdraw_bid(db, buyers[who], last[who])
        except Conflict:
            pass  # a withdrawn bid cannot be amended or withdrawn again
    standing = [
        SealedBid(b.id, f"B{i + 1}", b.price, b.quantity, 0)
        for i, who in enumerate(buyers)
        for b in sa.own_bids(db, who, a.id)
        if b.status == "open"
    ]
    clock.set((base + dt.timedelta(minutes=3)).isoformat())
    sa.clear_auction(db, SYSTEM, a.id)
    res = sa.results(db, a.id)
    expected = clear(sa.rules_of(_row(db, a.id)), _with_seq(db, standing))
    assert (res.sold, res.unsold, res.clearing_price) == (
        expected.sold, expected.unsold, expected.clearing_price,
    )  # fmt: skip
    won = {w.bid_id: (w.quantity, w.price) for w in sa.auction_awards(db, SYSTEM, a.id)}
    assert won == {x.bid: (x.quantity, x.price) for x in expected.awards}
    _conserved(db)


def _row(db: Database, auction_id: str) -> Any:
    with db.read() as conn:
        return conn.execute(select(sealed_auctions).where(sealed_auctions.c.id == auction_id)).one()


def _with_seq(db: Database, bids: list[SealedBid]) -> list[SealedBid]:
    with db.read() as conn:
        seqs = dict(
            conn.execute(
                select(sealed_bids.c.id, sealed_bids.c.seq).where(
                    sealed_bids.c.id.in_([b.id for b in bids])
                )
            ).all()
        )
    return [SealedBid(b.id, b.bidder, b.price, b.quantity, int(seqs[b.id])) for b in bids]
