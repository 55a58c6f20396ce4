"""The exchange service: orders reserve, trade, and leave a journal that rebuilds the books."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM, Actor, Idem
from tanso.services.ledger import audit
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, OrderRejected, PlacedOrder, Trade
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    xchg = Exchange(db, japan_calendar())
    seller = add_participant(db, "SELLER")
    buyer = add_participant(db, "BUYER")
    issuance = add_issuance(db, "SELLER-MAIN", 10_000, vintage=2020, category="ENERGY_SAVING")
    add_issuance(db, "SELLER-MAIN", 5_000, vintage=2022, category="FOREST")
    fund(db, "BUYER", 50_000_000)
    open_market(xchg, energy_saving())
    return {"x": xchg, "seller": seller, "buyer": buyer, "issuance": issuance, "db": db}


def _cash(db: Database, pid: str) -> tuple[int, int]:
    with db.read() as conn:
        row = conn.execute(
            select(t.cash_accounts).where(t.cash_accounts.c.id == f"CASH-{pid}-JPY")
        ).one()
    return row.balance, row.reserved


def test_a_call_auction_trade_creates_an_obligation_with_both_reservations(
    market: dict[str, Any],
) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    buy = x.place(market["buyer"], NewOrder("JC-ES", "buy", 1_000, 2_100))
    sell = x.place(market["seller"], NewOrder("JC-ES", "sell", 600, 1_900))
    assert buy.status == "open" and sell.status == "open"
    assert _cash(db, "BUYER") == (50_000_000, 2_100_000)
    result = x.session(SYSTEM, "JC-ES", "auction")
    assert result.auctions[0].volume == 600
    price = result.auctions[0].price
    assert price is not None and 1_900 <= price <= 2_100
    # 600 t at the auction price are reserved for the trade; 400 t stay reserved for the order
    assert _cash(db, "BUYER") == (50_000_000, 600 * price + 400 * 2_100)
    with db.read() as conn:
        ob = conn.execute(select(t.settlement_obligations)).one()
        trade = conn.execute(select(t.trades)).one()
    assert (ob.quantity, ob.amount, ob.status) == (600, 600 * price, "pending")
    assert trade.settlement_date > trade.trade_date
    assert audit.verify(db).ok


def test_a_sell_order_reserves_only_eligible_credits(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    # the seller holds 10,000 t of energy saving and 5,000 t of forest; only the former is eligible
    with pytest.raises(OrderRejected) as err:
        x.place(market["seller"], NewOrder("JC-ES", "sell", 12_000, 2_000))
    assert err.value.code == "insufficient_credits"
    ok = x.place(market["seller"], NewOrder("JC-ES", "sell", 10_000, 2_000))
    assert ok.status == "open"


def test_a_buy_without_enough_cash_is_rejected_and_changes_nothing(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    before = audit.verify(db).entries
    with pytest.raises(OrderRejected) as err:
        x.place(market["buyer"], NewOrder("JC-ES", "buy", 30_000, 2_000))
    assert err.value.code == "insufficient_cash"
    assert audit.verify(db).entries == before
    assert _cash(db, "BUYER") == (50_000_000, 0)


def test_cancel_releases_the_reservation(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    order = x.place(market["buyer"], NewOrder("JC-ES", "buy", 100, 2_000))
    x.cancel(market["buyer"], order.id)
    assert _cash(db, "BUYER") == (50_000_000, 0)
    assert audit.verify(db).ok


def test_another_participants_order_cannot_be_cancelled(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    order = x.place(market["buyer"], NewOrder("JC-ES", "buy", 100, 2_000))
    with pytest.raises(Exception) as err:
        x.cancel(market["seller"], order.id)
    assert getattr(err.value, "code", None) == "order_not_found"


def test_amend_up_reserves_more_and_amend_down_releases(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    order = x.place(market["buyer"], NewOrder("JC-ES", "buy", 100, 2_000))
    x.amend(market["buyer"], order.id, quantity=300)
    assert _cash(db, "BUYER")[1] == 600_000
    x.amend(market["buyer"], order.id, price=1_500)
    assert _cash(db, "BUYER")[1] == 450_000
    sell = x.place(market["seller"], NewOrder("JC-ES", "sell", 500, 2_500))
    x.amend(market["seller"], sell.id, quantity=200)
    assert audit.verify(db).ok


def test_the_journal_rebuilds_the_same_books_after_a_restart(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    for i in range(5):
        x.place(market["buyer"], NewOrder("JC-ES", "buy", 100 + i, 1_990 + i))
        x.place(market["seller"], NewOrder("JC-ES", "sell", 50 + i, 1_995 + i))
    x.session(SYSTEM, "JC-ES", "auction")
    x.place(market["buyer"], NewOrder("JC-ES", "buy", 10, 1_980))
    restarted = Exchange(db, japan_calendar())
    assert restarted.engine.snapshot() == x.engine.snapshot()


def test_a_suspended_participant_cannot_place_orders(market: dict[str, Any]) -> None:
    from tanso.services.ledger import participants

    participants.set_status(market["db"], SYSTEM, "BUYER", "suspended")
    with pytest.raises(Exception) as err:
        market["x"].place(market["buyer"], NewOrder("JC-ES", "buy", 10, 2_000))
    assert getattr(err.value, "code", None) == "participant_not_active"


def _continuous_with_a_resting_sell(db: Database, prefix: str) -> tuple[Exchange, Actor]:
    """A continuous RE-power market where ``{prefix}SELL`` rests 100 t at 4,100; the funded
    buyer ``{prefix}BUY``."""
    x = Exchange(db, japan_calendar())
    seller = add_participant(db, f"{prefix}SELL")
    buyer: Actor = add_participant(db, f"{prefix}BUY")
    add_issuance(db, f"{prefix}SELL-MAIN", 1_000, category="RE_POWER")
    fund(db, f"{prefix}BUY", 10_000_000)
    spec = InstrumentSpec(
        "JC-RE",
        "J-Credit RE power",
        "J-クレジット 再エネ(電力)",
        Eligibility(categories=("RE_POWER",)),
        mode="continuous",
        reference_price=4_000,
    )
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, "JC-RE", "open")
    x.place(seller, NewOrder("JC-RE", "sell", 100, 4_100))
    return x, buyer


def test_continuous_trading_fills_at_the_resting_price(db: Database) -> None:
    x, buyer = _continuous_with_a_resting_sell(db, "C")
    result = x.place(buyer, NewOrder("JC-RE", "buy", 60, 4_200))
    assert [(tr.price, tr.quantity) for tr in result.trades] == [(4_100, 60)]
    assert _cash(db, "CBUY") == (10_000_000, 60 * 4_100)
    assert audit.verify(db).ok


def test_an_idempotent_order_answers_the_same_placed_order_again(db: Database) -> None:
    x, buyer = _continuous_with_a_resting_sell(db, "I")
    idem = Idem("key-1", "fingerprint-1")
    first = x.place(buyer, NewOrder("JC-RE", "buy", 60, 4_200), idem)
    again = x.place(buyer, NewOrder("JC-RE", "buy", 60, 4_200), idem)
    assert isinstance(again, PlacedOrder) and again == first
    assert [type(tr) for tr in again.trades] == [Trade] and again.events == first.events
    assert len(x.engine.order_market) == 1  # the seller's rest only: nothing placed twice


def test_a_sell_order_of_designated_serials_reserves_exactly_those(market: dict[str, Any]) -> None:
    """Found by the JCM work (issue 22): designated serials were planned from the database but
    moved through the sequencer's memory, an AssertionError (a 500) instead of an order."""
    x, db, issuance = market["x"], market["db"], market["issuance"]
    placed = x.place(
        market["seller"], NewOrder("JC-ES", "sell", 50, 1_900, serials=f"{issuance}-101-150")
    )
    assert placed.status == "open"
    b = t.blocks.c
    with db.read() as conn:
        held = conn.execute(
            select(b.serial_start, b.serial_end).where(b.reservation == placed.id)
        ).all()
    assert [tuple(r) for r in held] == [(101, 150)]
    trade = x.place(market["buyer"], NewOrder("JC-ES", "buy", 50, 2_000))
    assert trade.status == "open"  # a call auction: it trades at the next auction
    assert audit.verify(db).ok
