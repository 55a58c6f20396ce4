"""Report periods: ISO 8601 weeks (Monday to Sunday, week 53 only in a year that has one) and
calendar months, as the weekly and monthly market reports name them; and the folding of daily
bars into a period's bar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain.errors import InvalidInput
from tanso.services.marketdata import period_report as pr
from tanso.services.marketdata.daily_report import DayBar


def test_2026_has_a_week_53_and_2025_has_none() -> None:
    w53 = pr.week("2026-W53")
    assert (w53.start, w53.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    with pytest.raises(InvalidInput) as refused:
        pr.week("2025-W53")
    assert refused.value.code == "invalid_week"
    assert str(refused.value) == "ISO year 2025 has weeks 01 to 52: there is no week 2025-W53."


def test_2026_w01_starts_on_monday_29_december_2025() -> None:
    w01 = pr.week("2026-W01")
    assert (w01.kind, w01.name, w01.start, w01.end) == (
        "weekly",
        "2026-W01",
        dt.date(2025, 12, 29),
        dt.date(2026, 1, 4),
    )
    assert w01.start.weekday() == 0 and w01.holds(dt.date(2026, 1, 4))
    assert not w01.holds(dt.date(2026, 1, 5))


@pytest.mark.parametrize(
    "text",
    [
        "2026-W00",
        "2026-W54",
        "2026W49",
        "2026-w49",
        "2026-W4",
        "26-W49",
        "",
        "2026-W4a",
        "0000-W01",
        "9999-W52",
        "２０２６-W01",
    ],
)
def test_what_is_not_an_iso_week_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        pr.week(text)
    assert refused.value.code == "invalid_week"


def test_months_have_their_calendar_days() -> None:
    assert (pr.month("2028-02").start, pr.month("2028-02").end) == (
        dt.date(2028, 2, 1),
        dt.date(2028, 2, 29),
    )
    assert pr.month("2026-12").end == dt.date(2026, 12, 31)
    for bad in ("2026-13", "2026-00", "2026-1", "2026/01", "0000-01", "9999-12", "1899-12"):
        with pytest.raises(InvalidInput) as refused:
            pr.month(bad)
        assert refused.value.code == "invalid_month"


@settings(max_examples=40, deadline=None)
@given(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)))
def test_every_day_is_in_exactly_the_week_and_month_that_name_it(day: dt.date) -> None:
    week, month = pr.period_of("weekly", day), pr.period_of("monthly", day)
    assert week.holds(day) and month.holds(day)
    assert (week.end - week.start).days == 6 and week.start.weekday() == 0
    assert pr.week(week.name) == week and pr.month(month.name) == month
    assert not pr.period_of("weekly", week.end + dt.timedelta(days=1)).holds(day)
    assert pr.day_links(day) == {"weekly": week.name, "monthly": month.name}


def test_a_period_bar_takes_the_first_open_the_extremes_and_the_last_close() -> None:
    days = [
        DayBar(100, 120, 90, 110, 10, 1_050, 105, 2),
        DayBar(111, 130, 95, 99, 5, 500, 100, 1, restated=True),
    ]
    assert pr.fold_bars(days) == DayBar(100, 130, 90, 99, 15, 1_550, 103, 3, restated=True)
    assert pr.fold_bars([]) is None
