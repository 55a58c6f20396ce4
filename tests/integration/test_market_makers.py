"""Market makers (issue 17, part 3): a programme as data, appointments, quotes marked, compliance
measured from the book (time-weighted two-sided presence within spread and size), incentives
paid once from the fee income; the fold advanced entry by entry equals the fold recomputed from
the journal."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, TansoError
from tanso.domain.market_making import Programme
from tanso.services import market_makers as mm
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, get_order
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

JST = ZoneInfo("Asia/Tokyo")
DAY = dt.date(2026, 1, 5)  # a Monday, a trading day


class SetClock:
    """The database's clock, set to a moment and a millisecond later at each reading."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def set(self, hh: int, mm_: int, day: dt.date = DAY) -> None:
        self.t = max(self.t, dt.datetime(day.year, day.month, day.day, hh, mm_, tzinfo=JST))

    def now(self) -> dt.datetime:
        return self.t.astimezone(dt.UTC)

    def __call__(self) -> str:
        self.t += dt.timedelta(milliseconds=1)
        return self.t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def programme(**changes: Any) -> Programme:
    terms: dict[str, Any] = {
        "id": "MM-ES-2026",
        "instrument": "JC-ES",
        "name_en": "Energy saving market making FY2025",
        "name_ja": "省エネ マーケットメイク FY2025",
        "starts": "2026-01-05",
        "ends": "2026-01-31",
        "window_from": "13:00",
        "window_to": "15:00",
        "timezone": "Asia/Tokyo",
        "max_spread": 200,
        "min_quantity": 500,
        "min_presence_pct": 50,
        "incentive_per_day": 10_000,
    }
    return Programme.from_json(terms | changes)


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    clock = SetClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=JST))
    db.clock = clock
    x = Exchange(db, japan_calendar())
    maker = add_participant(db, "MAKER", ["trader", "market_maker"])
    trader = add_participant(db, "TRADER")
    add_issuance(db, "MAKER-MAIN", 50_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "MAKER", 100_000_000)
    fund(db, "TRADER", 100_000_000)
    open_market(x, energy_saving("continuous"))
    mm.define_programme(db, SYSTEM, programme())
    mm.appoint(db, SYSTEM, "MM-ES-2026", "MAKER")
    return {"db": db, "x": x, "clock": clock, "maker": maker, "trader": trader}


def test_presence_is_the_share_of_the_window_with_a_two_sided_quote(
    market: dict[str, Any],
) -> None:
    db, x, clock = market["db"], market["x"], market["clock"]
    maker, trader = market["maker"], market["trader"]
    clock.set(13, 0)
    bid = x.place(maker, NewOrder("JC-ES", "buy", 500, 1_950))
    x.place(maker, NewOrder("JC-ES", "sell", 500, 2_100))  # quoting: 150 apart, 500 a side
    assert bid.quote and get_order(db, maker, bid.id).quote
    clock.set(13, 30)
    hit = x.place(trader, NewOrder("JC-ES", "buy", 200, 2_100))  # 300 left: below the size
    assert not hit.quote
    clock.set(13, 45)
    x.place(maker, NewOrder("JC-ES", "sell", 500, 2_120))  # quoting again: 170 apart
    clock.set(14, 30)
    x.amend(maker, bid.id, price=1_900)  # 220 apart: no longer within the spread
    clock.set(16, 0)
    [c] = mm.compliance(db, maker, "MAKER", "JC-ES", DAY, DAY, clock.now())
    [day] = c.days
    assert (day.window_seconds, day.quoting_seconds) == (7_200, 4_500)  # 30 + 45 minutes
    assert day.presence_pct == 62.5 and day.compliant
    assert (c.compliant_days, c.incentive_earned) == (1, 10_000)
    fresh = mm.recompute(db)
    kept = mm.monitor(db).presence
    assert fresh.intervals == kept.intervals and fresh.since == kept.since


def test_a_day_below_the_presence_is_not_compliant_and_weekends_do_not_count(
    market: dict[str, Any],
) -> None:
    db, x, clock, maker = market["db"], market["x"], market["clock"], market["maker"]
    clock.set(14, 30)
    x.place(maker, NewOrder("JC-ES", "buy", 1_000, 1_950))
    x.place(maker, NewOrder("JC-ES", "sell", 1_000, 2_000))
    later = DAY + dt.timedelta(days=6)  # the following Sunday
    clock.set(12, 0, later)
    [c] = mm.compliance(db, maker, "MAKER", None, DAY, later, clock.now())
    # Monday: 30 of 120 minutes; Tuesday to Friday: the orders rest all day (continuous)
    assert [(d.day, d.presence_pct, d.compliant) for d in c.days] == [
        ("2026-01-05", 25.0, False),
        ("2026-01-06", 100.0, True),
        ("2026-01-07", 100.0, True),
        ("2026-01-08", 100.0, True),
        ("2026-01-09", 100.0, True),
    ]
    assert c.compliant_days == 4


def test_compliance_is_the_market_makers_and_the_operators_only(market: dict[str, Any]) -> None:
    db, trader = market["db"], market["trader"]
    with pytest.raises(Forbidden):
        mm.compliance(db, trader, "MAKER", None, DAY, DAY)
    with pytest.raises(InvalidInput):
        mm.compliance(db, SYSTEM, "MAKER", None, DAY, DAY - dt.timedelta(days=1))
    with pytest.raises(Forbidden):
        mm.define_programme(db, trader, programme(id="MINE"))
    with pytest.raises(Conflict) as refused:
        mm.appoint(db, SYSTEM, "MM-ES-2026", "TRADER")
    assert refused.value.code == "not_a_market_maker"
    with pytest.raises(Conflict):
        mm.appoint(db, SYSTEM, "MM-ES-2026", "MAKER")  # already appointed
    with pytest.raises(InvalidInput):
        programme(max_spread=0)
    with pytest.raises(InvalidInput):
        programme(window_from="15:00", window_to="13:00")


def test_the_public_list_names_the_programmes_market_makers(market: dict[str, Any]) -> None:
    db, x, clock, maker = market["db"], market["x"], market["clock"], market["maker"]
    [view] = mm.list_programmes(market["db"])
    assert (view.instrument, view.max_spread, view.min_quantity) == ("JC-ES", 200, 500)
    assert [m.participant_id for m in view.market_makers] == ["MAKER"]
    mm.end_appointment(db, SYSTEM, "MM-ES-2026", "MAKER")
    assert mm.list_programmes(db)[0].market_makers == []
    clock.set(13, 0)
    assert not x.place(maker, NewOrder("JC-ES", "buy", 500, 1_950)).quote  # no longer a quote


def test_incentives_are_paid_once_after_the_month_from_the_fee_income(
    market: dict[str, Any],
) -> None:
    db, x, clock, maker = market["db"], market["x"], market["clock"], market["maker"]
    clock.set(13, 0)
    x.place(maker, NewOrder("JC-ES", "buy", 500, 1_950))
    x.place(maker, NewOrder("JC-ES", "sell", 500, 2_000))
    clock.set(15, 30)
    with pytest.raises(Conflict) as early:
        mm.pay_incentives(db, SYSTEM, "2026-01", clock.now())
    assert early.value.code == "month_not_over"
    clock.set(9, 0, dt.date(2026, 2, 2))
    with pytest.raises(Conflict) as poor:
        mm.pay_incentives(db, SYSTEM, "2026-01", clock.now())
    assert poor.value.code == "insufficient_cash"
    fund(db, "OPERATOR", 1_000_000)
    [paid] = mm.pay_incentives(db, SYSTEM, "2026-01", clock.now())
    # 19 trading days from Jan 5 to Jan 30 (Jan 12 is 成人の日), the orders resting throughout
    assert (paid.participant_id, paid.compliant_days) == ("MAKER", 19)
    assert paid.amount == 190_000
    assert mm.pay_incentives(db, SYSTEM, "2026-01", clock.now()) == []  # paid once
    report = mm.monthly_report_csv(db, SYSTEM, "2026-01", "ja")
    assert report.splitlines()[0].startswith("対象月,プログラム")
    assert "2026-01,MM-ES-2026,JC-ES,MAKER,19,19,100.00,190000" in report
    assert audit.verify(db).ok


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["bid", "ask", "cancel", "amend", "hit", "lift", "query"]),
        st.integers(1, 12),  # quantity in hundreds of tonnes
        st.integers(-3, 3),  # price steps of 50
        st.integers(1, 40),  # minutes later
    ),
    max_size=25,
)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_the_fold_kept_as_the_journal_grows_equals_the_fold_recomputed(
    market: dict[str, Any], actions: list[tuple[str, int, int, int]]
) -> None:
    db, x, clock = market["db"], market["x"], market["clock"]
    maker, trader = market["maker"], market["trader"]
    clock.set(12, 50)
    mine: list[str] = []
    for kind, hundreds, steps, minutes in actions:
        clock.t += dt.timedelta(minutes=minutes)
        quantity, price = hundreds * 100, 2_000 + steps * 50
        try:
            if kind in ("bid", "ask"):
                side = "buy" if kind == "bid" else "sell"
                mine.append(x.place(maker, NewOrder("JC-ES", side, quantity, price)).id)
            elif kind == "cancel" and mine:
                x.cancel(maker, mine.pop(hundreds % len(mine)))
            elif kind == "amend" and mine:
                x.amend(maker, mine[hundreds % len(mine)], quantity=quantity)
            elif kind in ("hit", "lift"):
                side = "sell" if kind == "hit" else "buy"
                x.place(trader, NewOrder("JC-ES", side, quantity, price, tif="ioc"))
            elif kind == "query":
                mm.compliance(db, SYSTEM, "MAKER", None, DAY, DAY + dt.timedelta(days=3))
        except TansoError:
            pass  # a refusal (an order gone, no credits left) changes nothing
    kept = mm.monitor(db).advance()
    fresh = mm.recompute(db)
    assert (kept.seq, kept.intervals, kept.since) == (fresh.seq, fresh.intervals, fresh.since)
    end = DAY + dt.timedelta(days=3)
    now = clock.now()
    assert mm.compliance_of(kept, "MAKER", None, DAY, end, now) == mm.compliance_of(
        fresh, "MAKER", None, DAY, end, now
    )


def test_the_book_shows_the_indicative_auction_price_while_orders_are_taken(db: Database) -> None:
    """試算値: during order acceptance of a call market, the price and volume an auction held now
    would give; the auction then trades at that price."""
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SELLER"), add_participant(db, "BUYER")
    add_issuance(db, "SELLER-MAIN", 1_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 10_000_000)
    open_market(x, energy_saving("call"))
    assert (
        x.book(SYSTEM, "JC-ES").indicative_price,
        x.book(SYSTEM, "JC-ES").indicative_volume,
    ) == (
        None,
        0,
    )
    x.place(buyer, NewOrder("JC-ES", "buy", 100, 2_010))
    x.place(seller, NewOrder("JC-ES", "sell", 60, 2_000))
    book = x.book(SYSTEM, "JC-ES")
    assert (book.indicative_price, book.indicative_volume) == (2_010, 60)
    result = x.session(SYSTEM, "JC-ES", "auction")
    assert [(tr.price, tr.quantity) for tr in result.trades] == [(2_010, 60)]
