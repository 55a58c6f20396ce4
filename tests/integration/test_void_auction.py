"""Voiding a whole call auction (issue 17): a faulty order moved the auction's price; the operator
voids it, every trade of it is busted, its orders go back into the book at their old priority
where still valid, the reference price is as before, and a replay rebuilds the same books."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Idem
from tanso.services.ledger import audit, participants
from tanso.services.marketdata.events import public_events
from tanso.services.trading import exchange as xs
from tanso.services.trading import void_auction as va
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

ES = "JC-ES"


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    x = Exchange(db, japan_calendar())
    who = {pid: add_participant(db, pid) for pid in ("S1", "S2", "B1", "B2", "FF")}
    add_issuance(db, "S1-MAIN", 10, vintage=2020, category="ENERGY_SAVING")
    add_issuance(db, "S2-MAIN", 5, vintage=2021, category="ENERGY_SAVING")
    fund(db, "B1", 1_000_000)
    fund(db, "B2", 1_000_000)
    fund(db, "FF", 42_000)  # exactly its fat-fingered order: 12 t at 3,500
    open_market(x, energy_saving("call"))
    return {"x": x, "db": db, **who}


def _book(market: dict[str, Any]) -> dict[str, str]:
    """The usual book, and a fat-fingered buy at 3,500 instead of 2,000 that moves the price."""
    x: Exchange = market["x"]
    ids = {
        "s1": x.place(market["S1"], NewOrder(ES, "sell", 10, 2_000)).id,
        "s2": x.place(market["S2"], NewOrder(ES, "sell", 5, 2_100, tif="gtc")).id,
        "b2": x.place(market["B2"], NewOrder(ES, "buy", 3, 2_000, tif="gtc")).id,
        # inside today's limits (200-3,800), outside those after an auction at 2,100 (210-3,990)
        "b1": x.place(market["B1"], NewOrder(ES, "buy", 4, 205)).id,
        "f": x.place(market["FF"], NewOrder(ES, "buy", 12, 3_500)).id,
    }
    return ids


def _auction(x: Exchange) -> xs.AuctionResult:
    x.session(SYSTEM, ES, "auction")
    return xs.auction_results(x.db, ES, 1)[0]


def _money(db: Database) -> dict[str, tuple[int, int]]:
    with db.read() as conn:
        rows = conn.execute(select(t.cash_accounts)).all()
    return {r.id: (r.balance, r.reserved) for r in rows}


def _credits(db: Database) -> dict[tuple[str, str], int]:
    """Credits by account and status (serials held for an order may differ; amounts may not)."""
    with db.read() as conn:
        rows = conn.execute(select(t.blocks)).all()
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r.account_id, r.status)
        out[key] = out.get(key, 0) + r.serial_end - r.serial_start + 1
    return out


def _order(db: Database, oid: str) -> Any:
    with db.read() as conn:
        return conn.execute(select(t.orders).where(t.orders.c.id == oid)).one()


def _day_bars(db: Database) -> list[Any]:
    with db.read() as conn:
        return conn.execute(select(t.bars).where(t.bars.c.instrument_id == ES)).all()


def test_voiding_a_faulty_auction_restores_the_book_cash_and_credits(
    market: dict[str, Any],
) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    ids = _book(market)
    before = x.engine.book_snapshot(ES)
    money, credits = _money(db), _credits(db)
    feed: list[dict[str, Any]] = []
    x.listeners.append(feed.extend)
    auction = _auction(x)
    assert (auction.price, auction.volume) == (2_100, 12)  # the fat finger moved it from 2,000
    assert x.engine.book_snapshot(ES)["reference_price"] == 2_100
    assert _order(db, ids["b1"]).status == "cancelled"  # outside the new limits
    assert sum(b.volume for b in _day_bars(db) if b.interval == "1d") == 12
    feed.clear()

    void = va.void(x, SYSTEM, ES, auction.seq, "erroneous_order", "F meant 2,000")
    assert (void.auction_id, void.price, void.volume) == (auction.seq, 2_100, 12)
    assert len(void.trades) == 2 and void.released_credits == 12
    assert void.released_cash == 12 * 2_100
    assert {o.order_id: (o.quantity, o.reinstated) for o in void.orders} == {
        ids["s1"]: (10, True),
        ids["s2"]: (2, True),
        ids["f"]: (12, True),
        ids["b1"]: (4, True),
    }
    # the book, the reference price, the limits and the last price are as before the auction
    assert x.engine.book_snapshot(ES) == before
    assert (void.reference_price, void.lower_limit, void.upper_limit) == (2_000, 200, 3_800)
    assert xs.get_instrument(db, ES).reference_price == 2_000
    # the cash and credits too: every order holds again what it held
    assert _money(db) == money
    assert _credits(db) == credits
    for key, quantity in (("s1", 10), ("s2", 5), ("f", 12), ("b1", 4)):
        row = _order(db, ids[key])
        assert (row.status, row.remaining, row.quantity) == ("open", quantity, quantity)
    # the trades are busted, the bars restated (no trade of the day stands), the auction void
    with db.read() as conn:
        tr = t.trades.c
        busted = conn.execute(select(tr.busted, tr.bust_reason).where(tr.id.in_(void.trades)))
        assert {tuple(r) for r in busted} == {(True, "erroneous_order")}
        statuses = conn.execute(
            select(t.settlement_obligations.c.status).where(
                t.settlement_obligations.c.deal_id.in_(void.trades)
            )
        ).scalars()
        assert set(statuses) == {"busted"}
    assert _day_bars(db) == []
    assert xs.auction_results(db, ES, 1)[0].voided
    # one journal entry, which the stream publishes as busted trades
    assert [e["kind"] for e in feed] == ["exchange.auction_voided"]
    published = public_events(feed[0])
    assert sorted(p["id"] for p in published if p.get("type") == "trade_busted") == sorted(
        void.trades
    )
    report = audit.verify(db)
    assert report.ok, report.problems


def test_a_replay_rebuilds_the_same_books_after_a_void(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    _book(market)
    va.void(x, SYSTEM, ES, _auction(x).seq, "system_fault")
    snap = x.engine.snapshot()
    assert Exchange.rebuild(db).snapshot() == snap
    assert Exchange(db, japan_calendar()).engine.snapshot() == snap  # checks the stored orders
    x.recover()
    assert x.engine.snapshot() == snap
    # the market goes on: the next auction clears the book as it would have without the fault
    x.cancel(market["FF"], next(o.id for o in xs.own_orders(db, market["FF"])))
    again = _auction(x)
    assert (again.price, again.volume) == (2_000, 3)
    assert Exchange.rebuild(db).snapshot() == x.engine.snapshot()


def test_an_auction_is_voided_once_and_only_by_the_operator(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    _book(market)
    seq = _auction(x).seq
    with pytest.raises(TansoError) as who:
        va.void(x, market["B1"], ES, seq, "erroneous_order")
    assert who.value.kind == "forbidden"
    with pytest.raises(TansoError) as why:
        va.void(x, SYSTEM, ES, seq, "because")
    assert why.value.code == "invalid_reason_code"
    with pytest.raises(TansoError) as which:
        va.void(x, SYSTEM, ES, seq + 1_000, "other")
    assert which.value.code == "auction_not_found"
    key = Idem("void-1", "f" * 64)
    first = va.void(x, SYSTEM, ES, seq, "erroneous_order", idem=key)
    assert va.void(x, SYSTEM, ES, seq, "erroneous_order", idem=key) == first
    entries = audit.verify(db).entries
    with pytest.raises(TansoError) as again:
        va.void(x, SYSTEM, ES, seq, "erroneous_order")
    assert again.value.code == "auction_already_voided"
    assert audit.verify(db).entries == entries  # nothing more happened


def test_only_the_latest_auction_and_only_before_settlement(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    _book(market)
    first = _auction(x).seq
    x.place(market["B2"], NewOrder(ES, "buy", 1, 2_100))
    second = _auction(x)
    assert second.volume == 1
    with pytest.raises(TansoError) as later:
        va.void(x, SYSTEM, ES, first, "erroneous_order")
    assert later.value.code == "auction_not_latest" and str(second.seq) in later.value.message
    with db.read() as conn:
        due = conn.execute(select(func.max(t.trades.c.settlement_date))).scalar()
    settlement.run(db, SYSTEM, dt.date.fromisoformat(due), early=True)
    with pytest.raises(TansoError) as settled:
        va.void(x, SYSTEM, ES, second.seq, "erroneous_order")
    assert settled.value.code == "trade_settled"
    assert audit.verify(db).ok


def test_orders_no_longer_valid_stay_as_they_are(market: dict[str, Any]) -> None:
    """A suspended participant's order and one whose cash went elsewhere are not reinstated:
    their trades are busted all the same, as a single bust leaves them."""
    x: Exchange = market["x"]
    db: Database = market["db"]
    ids = _book(market)
    seq = _auction(x).seq
    participants.set_status(db, SYSTEM, "S1", "suspended", "investigation")
    # F spends the cash its fill freed (12 x (3,500 - 2,100)) on a new order
    spent = x.place(market["FF"], NewOrder(ES, "buy", 8, 2_100)).id
    void = va.void(x, SYSTEM, ES, seq, "erroneous_order")
    why = {o.order_id: o.reason for o in void.orders if not o.reinstated}
    assert why == {ids["s1"]: "participant_not_active", ids["f"]: "insufficient_cash"}
    for key in ("s1", "f"):  # nothing of them traded after all
        row = _order(db, ids[key])
        assert (row.status, row.reason, row.quantity, row.remaining) == (
            "cancelled",
            "trade_busted",
            0,
            0,
        )
    assert _order(db, spent).status == "open"
    book = x.engine.book_snapshot(ES)
    assert [(lv[0], lv[1]) for lv in book["asks"]] == [(2_100, 5)]
    assert [(lv[0], lv[1]) for lv in book["bids"]] == [(2_100, 8), (2_000, 3), (205, 4)]
    assert _money(db)["CASH-FF-JPY"] == (42_000, 8 * 2_100)
    assert Exchange.rebuild(db).snapshot() == x.engine.snapshot()
    assert audit.verify(db).ok


_markets: dict[int, dict[str, Any]] = {}
PEOPLE = ("P1", "P2", "P3")


def _shared(db: Database) -> dict[str, Any]:
    """One market per database (hypothesis's examples share it, and its history)."""
    if id(db) not in _markets:
        x = Exchange(db, japan_calendar())
        who = {pid: add_participant(db, pid) for pid in PEOPLE}
        for i, pid in enumerate(PEOPLE):
            add_issuance(db, f"{pid}-MAIN", 10_000, vintage=2018 + i, category="ENERGY_SAVING")
            fund(db, pid, 500_000_000)
        open_market(x, energy_saving("call"))
        _markets[id(db)] = {"x": x, "db": db, **who}
    return _markets[id(db)]


def _totals(db: Database) -> tuple[int, int]:
    with db.read() as conn:
        cash = conn.execute(select(func.sum(t.cash_accounts.c.balance))).scalar()
        blocks = t.blocks.c
        credits = conn.execute(
            select(func.sum(blocks.serial_end - blocks.serial_start + 1))
        ).scalar()
    return int(cash or 0), int(credits or 0)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PEOPLE),
            st.sampled_from(("buy", "sell")),
            st.integers(195, 205).map(lambda p: p * 10),
            st.integers(1, 5),
            st.sampled_from(("day", "gtc")),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_orders_an_auction_and_its_void_conserve_cash_and_credits(
    db: Database, orders: list[tuple[str, str, int, int, str]]
) -> None:
    """Any orders, an auction, its void: the book is as before the auction, cash and credits
    are conserved, and the journal proves every balance."""
    market = _shared(db)
    x: Exchange = market["x"]
    totals = _totals(db)
    for pid, side, price, quantity, tif in orders:
        x.place(market[pid], NewOrder(ES, side, quantity, price, tif=tif))
    before, money = x.engine.book_snapshot(ES), _money(db)
    auction = _auction(x)
    if auction.volume:
        void = va.void(x, SYSTEM, ES, auction.seq, "other")
        assert all(o.reinstated for o in void.orders)
        assert x.engine.book_snapshot(ES) == before
        assert _money(db) == money
    assert _totals(db) == totals
    report = audit.verify(db)
    assert report.ok, report.problems


def test_the_api_and_the_client_void_an_auction(market: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from tanso.api.app import create_app
    from tanso.client import ApiError, Client

    x: Exchange = market["x"]
    db: Database = market["db"]
    ids = _book(market)
    seq = _auction(x).seq
    operator = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    trader = participants.create_api_key(db, SYSTEM, "B1").key
    with TestClient(create_app(db)) as http:
        transport = http._transport  # type: ignore[attr-defined]
        ops = Client("http://testserver", operator, transport=transport)
        public = Client("http://testserver", transport=transport)
        with pytest.raises(ApiError) as refused:
            Client("http://testserver", trader, transport=transport).void_auction(
                ES, seq, "erroneous_order"
            )
        assert refused.value.status == 403
        void = ops.void_auction(ES, seq, "erroneous_order", "F meant 2,000")
        assert void.auction_id == seq and ids["f"] in {o.order_id for o in void.orders}
        assert [(a.seq, a.voided) for a in public.auctions(ES)] == [(seq, True)]
        with pytest.raises(ApiError) as again:
            ops.void_auction(ES, seq, "erroneous_order")
        assert (again.value.status, again.value.code) == (409, "auction_already_voided")
        with pytest.raises(ApiError) as missing:
            ops.void_auction(ES, 999_999, "other")
        assert (missing.value.status, missing.value.code) == (404, "auction_not_found")
