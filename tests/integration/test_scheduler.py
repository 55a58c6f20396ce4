"""The session scheduler runs TSE's day: open at 08:00, auctions at 11:30 and 15:00, close."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, OrderRejected
from tanso.services.trading.sessions import Scheduler
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

JST = ZoneInfo("Asia/Tokyo")
DAY = dt.date(2026, 1, 5)  # the test clock's trading day (a Monday)


class Clock:
    def __init__(self) -> None:
        self.t = dt.datetime.combine(DAY, dt.time(7, 0), JST)

    def set(self, hh: int, mm: int) -> None:
        self.t = dt.datetime.combine(DAY, dt.time(hh, mm), JST)

    def __call__(self) -> dt.datetime:
        return self.t


def test_a_trading_day_runs_by_the_clock_and_nothing_runs_twice(db: Database) -> None:
    cal = japan_calendar()
    x = Exchange(db, cal, enforce_sessions=True)
    clock = Clock()
    scheduler = Scheduler(db, x, cal, clock)
    seller, buyer = add_participant(db, "S1"), add_participant(db, "B1")
    add_issuance(db, "S1-MAIN", 1_000)
    fund(db, "B1", 10_000_000)
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )
    assert scheduler.tick() == []
    with pytest.raises(OrderRejected) as err:
        x.place(buyer, NewOrder("ES", "buy", 10, 2_000))
    assert err.value.code == "market_closed"
    clock.set(8, 0)
    assert scheduler.tick() == [("ES", "open")]
    x.place(buyer, NewOrder("ES", "buy", 100, 2_010))
    x.place(seller, NewOrder("ES", "sell", 60, 1_990))
    clock.set(11, 30)
    assert scheduler.tick() == [("ES", "auction")]
    assert scheduler.tick() == []  # the 11:30 auction has run: not again
    clock.set(15, 0)
    assert scheduler.tick() == [("ES", "auction"), ("indices", "2026-01-05"), ("ES", "close")]
    assert scheduler.tick() == []
    with pytest.raises(OrderRejected):
        x.place(buyer, NewOrder("ES", "buy", 10, 2_000))
    assert audit.verify(db).ok


def test_the_scheduler_clears_sealed_auctions_past_their_close_once(db: Database) -> None:
    from tanso.services.venues import sealed_auctions as sa
    from tests.integration.test_sealed_auctions import AFTER, CLOSES, DURING, OPENS, StepClock

    clock = StepClock("2026-01-06T00:00:00Z")
    db.clock = clock
    cal = japan_calendar()
    x = Exchange(db, cal)
    scheduler = Scheduler(db, x, cal, lambda: clock.now, sessions=False)
    seller, buyer = add_participant(db, "S1"), add_participant(db, "B1")
    add_issuance(db, "S1-MAIN", 100)
    fund(db, "B1", 1_000_000)
    spec = sa.NewSealedAuction(
        account_id="S1-MAIN", opens_at=OPENS, closes_at=CLOSES, reserve=10, quantity=50, lot=10
    )
    auction = sa.create(db, seller, spec)
    clock.set(DURING)
    assert scheduler.tick() == []  # open: nothing to clear
    sa.place_bid(db, buyer, auction.id, "B1-MAIN", 12, 30)
    clock.set(AFTER)
    assert scheduler.tick() == [(auction.id, "sealed_clear")]
    assert sa.get_auction(db, auction.id).state == "cleared"
    clock.now += dt.timedelta(minutes=2)
    assert scheduler.tick() == []
    assert audit.verify(db).ok
