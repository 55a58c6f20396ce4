"""The trading calendar: business days, and settlement dates counted in them.

Holidays are data handed in (the service layer takes Japan's public holidays from the
``jpholiday`` library and adds the operator's own closed days); the exchange is also closed on
weekends and from 12-31 to 01-03, as TSE is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

YEAR_END_CLOSURE = frozenset({(12, 31), (1, 1), (1, 2), (1, 3)})
"""年末年始: the exchange is closed from December 31 to January 3."""


@dataclass(frozen=True)
class TradingCalendar:
    """Which days the market is open, and the business day n days after a trade."""

    holidays: AbstractSet[dt.date] = field(default_factory=frozenset)
    """The closed days besides weekends (any set: the service layer's reads a year at a time)."""
    closed_month_days: frozenset[tuple[int, int]] = YEAR_END_CLOSURE

    def is_business_day(self, day: dt.date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.holidays
            and (day.month, day.day) not in self.closed_month_days
        )

    def add_business_days(self, day: dt.date, n: int) -> dt.date:
        """T+n: the n-th business day after ``day`` (T+0 is ``day`` itself if it is one)."""
        if n < 0:
            raise ValueError("n must not be negative")
        current = day
        if n == 0:
            while not self.is_business_day(current):
                current += dt.timedelta(days=1)
            return current
        while n:
            current += dt.timedelta(days=1)
            if self.is_business_day(current):
                n -= 1
        return current

    def next_business_day(self, day: dt.date) -> dt.date:
        return self.add_business_days(day, 1)

    def business_days(self, start: dt.date, end: dt.date) -> Iterable[dt.date]:
        """Every business day from start to end, both included."""
        current = start
        while current <= end:
            if self.is_business_day(current):
                yield current
            current += dt.timedelta(days=1)

    def with_closed_days(self, days: Iterable[dt.date]) -> TradingCalendar:
        """This calendar with the operator's extra closed days."""
        return TradingCalendar(self.holidays | frozenset(days), self.closed_month_days)
