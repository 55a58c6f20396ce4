"""The Japanese trading calendar and T+n settlement dates."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.calendar import TradingCalendar
from tanso.services.trading.calendar import japan_calendar

D = dt.date


def test_year_end_closure_and_weekends_are_not_business_days() -> None:
    cal = TradingCalendar()
    assert not cal.is_business_day(D(2025, 12, 31))
    assert not cal.is_business_day(D(2026, 1, 2))
    assert not cal.is_business_day(D(2026, 1, 3))
    assert not cal.is_business_day(D(2026, 1, 10))  # Saturday
    assert cal.is_business_day(D(2026, 1, 5))


def test_japanese_public_holidays_are_closed() -> None:
    cal = japan_calendar()
    assert not cal.is_business_day(D(2026, 1, 12))  # 成人の日
    assert not cal.is_business_day(D(2025, 5, 5))  # こどもの日
    assert not cal.is_business_day(D(2025, 11, 3))  # 文化の日
    assert cal.is_business_day(D(2025, 11, 4))


def test_t_plus_5_counts_the_sixth_business_day_including_the_trade_day() -> None:
    cal = japan_calendar()
    # TSE: T+5 is the 6th business day counting the trade day. Trade on Fri 2025-12-26:
    # 12-29 (Mon), 12-30 (Tue), then closed 12-31..01-03, 01-05, 01-06, 01-07.
    assert cal.add_business_days(D(2025, 12, 26), 5) == D(2026, 1, 7)
    # Golden Week: trade Wed 2025-04-30 -> 05-01, 05-02, (05-03..05-06 closed), 05-07, 05-08, 05-09
    assert cal.add_business_days(D(2025, 4, 30), 5) == D(2025, 5, 9)


def test_t_plus_0_on_a_closed_day_rolls_to_the_next_business_day() -> None:
    cal = japan_calendar()
    assert cal.add_business_days(D(2026, 1, 1), 0) == D(2026, 1, 5)


def test_operator_closed_days_are_added() -> None:
    cal = japan_calendar().with_closed_days([D(2026, 3, 2)])
    assert not cal.is_business_day(D(2026, 3, 2))


@given(st.dates(D(2014, 1, 1), D(2039, 6, 30)), st.integers(0, 30))
def test_settlement_date_is_a_business_day_with_exactly_n_business_days_between(
    day: dt.date, n: int
) -> None:
    cal = japan_calendar()
    settle = cal.add_business_days(day, n)
    assert cal.is_business_day(settle)
    assert settle >= day
    between = list(cal.business_days(day + dt.timedelta(days=1), settle))
    if n > 0:
        assert len(between) == n


def test_holidays_read_a_year_at_a_time_are_jpholidays_every_one() -> None:
    """The calendar asks jpholiday for a year only when it needs it, and knows the same days."""
    import jpholiday

    from tanso.services.trading.calendar import JapanHolidays

    lazy = JapanHolidays(2013, 2040)
    eager = {day for year in range(2013, 2041) for day, _ in jpholiday.year_holidays(year)}
    assert set(lazy) == eager and len(lazy) == len(eager)
    assert dt.date(2026, 5, 4) in lazy and dt.date(2026, 5, 7) not in lazy
    assert dt.date(2041, 1, 1) not in lazy  # beyond the range asked for
    closed = lazy | frozenset({dt.date(2026, 5, 7)})
    assert dt.date(2026, 5, 7) in closed and dt.date(2026, 5, 4) in closed
    assert (
        japan_calendar()
        .with_closed_days([dt.date(2026, 5, 7)])
        .is_business_day(dt.date(2026, 5, 7))
        is False
    )
