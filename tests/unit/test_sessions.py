"""TSE's session plan: order windows, the 11:30 and 15:00 auctions, and what is due when."""

from __future__ import annotations

import datetime as dt

from tanso.domain.instruments import TSE_SESSIONS
from tanso.domain.sessions import SessionPlan, due_actions
from tanso.services.trading.calendar import japan_calendar

PLAN = SessionPlan.from_dict(TSE_SESSIONS)
CAL = japan_calendar()
MONDAY = dt.date(2026, 1, 5)


def at(hh: int, mm: int, day: dt.date = MONDAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm))


def test_orders_are_accepted_0800_to_1129_and_1230_to_1459() -> None:
    assert not PLAN.accepting(at(7, 59), CAL)
    assert PLAN.accepting(at(8, 0), CAL)
    assert PLAN.accepting(dt.datetime.combine(MONDAY, dt.time(11, 29, 59)), CAL)
    assert not PLAN.accepting(at(11, 30), CAL)
    assert not PLAN.accepting(at(12, 29), CAL)
    assert PLAN.accepting(at(12, 30), CAL)
    assert PLAN.accepting(at(14, 59), CAL)
    assert not PLAN.accepting(at(15, 0), CAL)


def test_no_orders_on_holidays_or_at_the_year_end() -> None:
    assert not PLAN.accepting(at(9, 0, dt.date(2026, 1, 12)), CAL)  # 成人の日
    assert not PLAN.accepting(at(9, 0, dt.date(2025, 12, 31)), CAL)


def test_the_day_runs_open_auction_auction_close() -> None:
    assert due_actions(PLAN, at(7, 0), CAL, mode="call", state="closed", auctions_today=0) == []
    assert due_actions(PLAN, at(8, 0), CAL, mode="call", state="closed", auctions_today=0) == [
        "open"
    ]
    assert due_actions(PLAN, at(10, 0), CAL, mode="call", state="open", auctions_today=0) == []
    assert due_actions(PLAN, at(11, 30), CAL, mode="call", state="open", auctions_today=0) == [
        "auction"
    ]
    assert due_actions(PLAN, at(13, 0), CAL, mode="call", state="open", auctions_today=1) == []
    assert due_actions(PLAN, at(15, 0), CAL, mode="call", state="open", auctions_today=1) == [
        "auction",
        "close",
    ]
    assert due_actions(PLAN, at(16, 0), CAL, mode="call", state="closed", auctions_today=2) == []


def test_a_scheduler_that_was_down_catches_up_once() -> None:
    # started at 15:10 with nothing run today: open, both auctions, close, and nothing twice
    assert due_actions(PLAN, at(15, 10), CAL, mode="call", state="closed", auctions_today=0) == []
    assert due_actions(PLAN, at(12, 0), CAL, mode="call", state="closed", auctions_today=0) == [
        "open",
        "auction",
    ]


def test_continuous_instruments_open_and_close_with_auctions() -> None:
    kw = {"mode": "continuous", "auctions_today": 0}
    assert due_actions(PLAN, at(8, 0), CAL, state="closed", **kw) == ["open"]  # type: ignore[arg-type]
    assert due_actions(PLAN, at(15, 0), CAL, state="open", **kw) == ["close"]  # type: ignore[arg-type]


def test_gx_excess_trades_on_fridays_only() -> None:
    gx = SessionPlan.from_dict(
        {"accept": [["08:00", "14:59"]], "auctions": ["15:00"], "weekdays": [4]}
    )
    friday = dt.date(2026, 1, 9)
    assert gx.accepting(at(9, 0, friday), CAL)
    assert not gx.accepting(at(9, 0), CAL)
