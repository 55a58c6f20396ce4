"""Japan's trading calendar: public holidays from the maintained ``jpholiday`` library.

``jpholiday`` takes about 0.1 s to list a year's holidays, so the calendar asks it for a year only
when a date of that year is first looked at (each year once per process): a command or a server
that looks at this year and the next no longer spends seconds on the 28 years it could ask about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Set
from functools import cache, lru_cache

import jpholiday

from tanso.domain.calendar import TradingCalendar


@cache
def _holidays_of(year: int) -> frozenset[dt.date]:
    return frozenset(day for day, _name in jpholiday.year_holidays(year))


class JapanHolidays(Set[dt.date]):
    """Japan's public holidays of ``first_year`` to ``last_year``, read a year at a time, and
    any closed days added to them."""

    def __init__(self, first_year: int, last_year: int, extra: Iterable[dt.date] = ()) -> None:
        self.first_year, self.last_year = first_year, last_year
        self.extra = frozenset(extra)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        if day in self.extra:
            return True
        return self.first_year <= day.year <= self.last_year and day in _holidays_of(day.year)

    def __iter__(self) -> Iterator[dt.date]:
        every = set(self.extra)
        for year in range(self.first_year, self.last_year + 1):
            every |= _holidays_of(year)
        return iter(sorted(every))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __or__(self, other: Set[object]) -> JapanHolidays:
        days = frozenset(d for d in other if isinstance(d, dt.date))
        return JapanHolidays(self.first_year, self.last_year, self.extra | days)


@lru_cache(maxsize=8)
def japan_calendar(first_year: int = 2013, last_year: int = 2040) -> TradingCalendar:
    """Japanese business days: weekends, public holidays and 12-31 to 01-03 closed."""
    return TradingCalendar(JapanHolidays(first_year, last_year))
