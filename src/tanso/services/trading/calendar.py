"""Japan's trading calendar: public holidays from the maintained ``jpholiday`` library."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import jpholiday

from tanso.domain.calendar import TradingCalendar


@lru_cache(maxsize=8)
def japan_calendar(first_year: int = 2013, last_year: int = 2040) -> TradingCalendar:
    """Japanese business days: weekends, public holidays and 12-31 to 01-03 closed."""
    holidays: set[dt.date] = set()
    for year in range(first_year, last_year + 1):
        holidays.update(day for day, _name in jpholiday.year_holidays(year))
    return TradingCalendar(frozenset(holidays))
