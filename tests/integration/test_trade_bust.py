"""Error trades (issue 17, 取引の取消): the operator busts a trade that has not settled. Its cash
and credits come back free, nothing goes back into the book, the bars are recomputed without it,
and the journal still proves every balance (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.bars import INTERVALS, bars_from_trades, combine, period_start
from tanso.domain.errors import TansoError
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Idem
from tanso.services.ledger import audit
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    x = Exchange(db, japan_calendar())
    seller = add_participant(db, "SELLER")
    buyer = add_participant(db, "BUYER")
    add_issuance(db, "SELLER-MAIN", 10_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 50_000_000)
    open_market(x, energy_saving("continuous"))
    return {"x": x, "seller": seller, "buyer": buyer, "db": db}


def _row(db: Database, table: Any, **where: Any) -> Any:
    with db.read() as conn:
        q = select(table)
        for name, value in where.items():
            q = q.where(table.c[name] == value)
        return conn.execute(q).one()


def _cash(db: Database, pid: str) -> tuple[int, int]:
    row = _row(db, t.cash_accounts, id=f"CASH-{pid}-JPY")
    return row.balance, row.reserved


def _free_credits(db: Database, account: str) -> int:
    with db.read() as conn:
        rows = conn.execute(
            select(t.blocks).where(t.blocks.c.account_id == account, t.blocks.c.status == "held")
        ).all()
    return sum(r.serial_end - r.serial_start + 1 for r in rows)


def _trade(market: dict[str, Any], sell: int = 10, buy: int = 4, price: int = 2_000) -> Any:
    x: Exchange = market["x"]
    resting = x.place(market["seller"], NewOrder("JC-ES", "sell", sell, price))
    placed = x.place(market["buyer"], NewOrder("JC-ES", "buy", buy, price))
    return resting, placed, placed.trades[0]


def test_a_bust_gives_back_cash_and_credits_and_leaves_the_book_alone(
    market: dict[str, Any],
) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    cash_before, credits_before = _cash(db, "BUYER"), _free_credits(db, "SELLER-MAIN")
    resting, placed, trade = _trade(market)
    assert _cash(db, "BUYER")[1] > 0
    bust = x.bust(SYSTEM, trade.id, "erroneous_order", "a fat finger")
    assert (bust.trade_id, bust.quantity, bust.reason_code) == (trade.id, 4, "erroneous_order")
    assert bust.released_credits == 4 and bust.released_cash == 8_000 + _fee(db, trade.id)
    # the buyer's cash is free again; the seller's 4 t are free again, its 6 t still on sale
    assert _cash(db, "BUYER") == cash_before
    assert _free_credits(db, "SELLER-MAIN") == credits_before - 6
    ob = _row(db, t.settlement_obligations, deal_id=trade.id)
    assert ob.status == "busted"
    stored = _row(db, t.trades, id=trade.id)
    assert stored.busted and stored.bust_reason == "erroneous_order"
    # the buy order traded nothing after all; the sell order keeps 6 open, with its priority
    buy = _row(db, t.orders, id=placed.id)
    assert (buy.quantity, buy.remaining, buy.status) == (0, 0, "cancelled")
    sell = _row(db, t.orders, id=resting.id)
    assert (sell.quantity, sell.remaining, sell.status) == (6, 6, "open")
    book = x.book(SYSTEM, "JC-ES")
    assert [(lvl.price, lvl.quantity) for lvl in book.asks] == [(2_000, 6)]
    assert audit.verify(db).ok


def _fee(db: Database, trade_id: str) -> int:
    return int(_row(db, t.settlement_obligations, deal_id=trade_id).buyer_fee)


def test_a_bust_happens_once_and_never_after_settlement(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    _r, _p, trade = _trade(market)
    key = Idem("bust-1", "f" * 64)
    first = x.bust(SYSTEM, trade.id, "system_fault", idem=key)
    assert x.bust(SYSTEM, trade.id, "system_fault", idem=key) == first  # the same answer
    entries = audit.verify(db).entries
    with pytest.raises(TansoError) as again:
        x.bust(SYSTEM, trade.id, "other")
    assert again.value.code == "trade_already_busted"
    assert audit.verify(db).entries == entries  # nothing more happened
    # a busted trade never settles
    _r, _p, other = _trade(market, sell=3, buy=3, price=2_010)
    due = _row(db, t.trades, id=other.id).settlement_date
    import datetime as dt

    settlement.run(db, SYSTEM, dt.date.fromisoformat(due), early=True)
    assert _row(db, t.settlement_obligations, deal_id=trade.id).status == "busted"
    assert _row(db, t.settlement_obligations, deal_id=other.id).status == "settled"
    with pytest.raises(TansoError) as settled:
        x.bust(SYSTEM, other.id, "erroneous_order")
    assert settled.value.code == "trade_settled"
    assert audit.verify(db).ok


def test_only_the_operator_busts_and_bad_requests_are_explained(market: dict[str, Any]) -> None:
    x: Exchange = market["x"]
    _r, _p, trade = _trade(market)
    with pytest.raises(TansoError) as who:
        x.bust(market["buyer"], trade.id, "erroneous_order")
    assert who.value.kind == "forbidden"
    with pytest.raises(TansoError) as why:
        x.bust(SYSTEM, trade.id, "because")
    assert why.value.code == "invalid_reason_code" and "erroneous_order" in why.value.message
    with pytest.raises(TansoError) as which:
        x.bust(SYSTEM, "T999-1", "other")
    assert which.value.code == "trade_not_found"


def _stored_bars(db: Database) -> dict[tuple[str, str], tuple[int, ...]]:
    with db.read() as conn:
        rows = conn.execute(select(t.bars)).all()
    return {
        (r.interval, r.period_start): (r.open, r.high, r.low, r.close, r.volume, r.value, r.trades)
        for r in rows
    }


def _recomputed_bars(db: Database) -> dict[tuple[str, str], tuple[int, ...]]:
    import datetime as dt

    with db.read() as conn:
        tr = t.trades.c
        rows = conn.execute(
            select(t.trades).where(tr.busted.is_(False)).order_by(tr.journal_seq, tr.id)
        ).all()
    trades = [(dt.date.fromisoformat(r.trade_date), r.price, r.quantity) for r in rows]
    out = {}
    days = bars_from_trades(trades, "1d")
    for interval in INTERVALS:
        groups: dict[dt.date, list[Any]] = {}
        for day in sorted(days):
            groups.setdefault(period_start(day, interval), []).append(days[day])
        for start, bars in groups.items():
            b = combine(bars)
            assert b is not None
            out[(interval, start.isoformat())] = (
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume,
                b.value,
                b.trades,
            )
    return out


_markets: dict[int, dict[str, Any]] = {}


def _shared(db: Database) -> dict[str, Any]:
    """One market per database (hypothesis's examples share it, and its history)."""
    if id(db) not in _markets:
        x = Exchange(db, japan_calendar())
        seller = add_participant(db, "SELLER")
        buyer = add_participant(db, "BUYER")
        add_issuance(db, "SELLER-MAIN", 100_000, vintage=2020, category="ENERGY_SAVING")
        fund(db, "BUYER", 500_000_000)
        open_market(x, energy_saving("continuous"))
        _markets[id(db)] = {"x": x, "seller": seller, "buyer": buyer, "db": db}
    return _markets[id(db)]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.integers(1_990, 2_010), st.integers(1, 5), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_the_bars_always_equal_the_trades_that_stand(
    db: Database, steps: list[tuple[int, int, bool]]
) -> None:
    """Any sequence of trades and busts: the bars are those recomputed from the trades that
    stand, cash and credits are conserved, and the journal proves every balance."""
    market = _shared(db)
    x: Exchange = market["x"]
    for price, quantity, bust in steps:
        _r, _p, trade = _trade(market, sell=quantity, buy=quantity, price=price)
        if bust:
            x.bust(SYSTEM, trade.id, "erroneous_order")
        assert _stored_bars(db) == _recomputed_bars(db)
    report = audit.verify(db)
    assert report.ok, report.problems


def test_the_daily_report_shows_the_restated_day(market: dict[str, Any]) -> None:
    import datetime as dt

    from tanso.services.marketdata import daily_report
    from tanso.web.documents.daily_report import to_csv

    x: Exchange = market["x"]
    db: Database = market["db"]
    _trade(market, sell=5, buy=5, price=2_000)
    _r, _p, trade = _trade(market, sell=3, buy=3, price=2_100)
    day = dt.date.fromisoformat(trade.trade_date)
    before = next(i for i in daily_report.build(db, x, day).instruments if i.id == "JC-ES")
    assert before.bar is not None and (before.bar.volume, before.bar.restated) == (8, False)
    x.bust(SYSTEM, trade.id, "erroneous_order")
    report = daily_report.build(db, x, day)
    after = next(i for i in report.instruments if i.id == "JC-ES")
    assert after.bar is not None and after.bar.restated
    assert (after.bar.volume, after.bar.high, after.bar.close) == (5, 2_000, 2_000)
    assert "restated: a trade of the day was busted" in to_csv(report, "en")
    assert "訂正（当日の取引を取消）" in to_csv(report, "ja")


def test_the_public_page_strikes_a_busted_trade_through(market: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from tanso.api.app import create_app

    x: Exchange = market["x"]
    _r, _p, kept = _trade(market, sell=2, buy=2, price=2_000)
    _r, _p, busted = _trade(market, sell=3, buy=3, price=2_100)
    x.bust(SYSTEM, busted.id, "erroneous_order")
    with TestClient(create_app(market["db"])) as c:
        page = c.get("/en").text
        ja = c.get("/ja").text
        public = c.get("/v1/market/trades").json()
    assert f'<tr data-trade="{busted.id}" class="busted">' in page
    assert f'<tr data-trade="{kept.id}">' in page
    assert '<span class="tag">busted</span>' in page and '<span class="tag">取消</span>' in ja
    assert {t["id"]: t["busted"] for t in public} == {kept.id: False, busted.id: True}
