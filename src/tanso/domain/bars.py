"""4本値 bars: open, high, low, close, volume, value, VWAP and number of trades per period.

A bar is folded one trade at a time (`Bar.add`), so bars are kept up to date as trades happen
and never need a re-scan of history; `bars_from_trades` folds a list from scratch, which is what
the property test compares the incremental bars against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

INTERVALS = ("1d", "1w", "1mo")


def period_start(day: dt.date, interval: str) -> dt.date:
    """The first day of the period (day, ISO week from Monday, calendar month) holding `day`."""
    if interval == "1d":
        return day
    if interval == "1w":
        return day - dt.timedelta(days=day.weekday())
    if interval == "1mo":
        return day.replace(day=1)
    raise ValueError(f"unknown interval {interval!r}")


@dataclass(frozen=True, slots=True)
class Bar:
    """One period's prices in minor units; `value` is the sum of price x quantity."""

    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    trades: int

    @classmethod
    def of(cls, row: Any) -> Bar:
        """The bar of a stored row (anything with its seven figures as attributes)."""
        return cls(row.open, row.high, row.low, row.close, row.volume, row.value, row.trades)

    @classmethod
    def first(cls, price: int, quantity: int) -> Bar:
        return cls(price, price, price, price, quantity, price * quantity, 1)

    def add(self, price: int, quantity: int) -> Bar:
        """The bar after one more trade (trades arrive in time order)."""
        return Bar(
            self.open,
            max(self.high, price),
            min(self.low, price),
            price,
            self.volume + quantity,
            self.value + price * quantity,
            self.trades + 1,
        )

    @property
    def vwap(self) -> int:
        """Volume-weighted average price, rounded half up to the minor unit."""
        return (2 * self.value + self.volume) // (2 * self.volume)


def bars_from_trades(
    trades: Iterable[tuple[dt.date, int, int]], interval: str
) -> dict[dt.date, Bar]:
    """Bars folded from (trade date, price, quantity) in time order."""
    out: dict[dt.date, Bar] = {}
    for day, price, quantity in trades:
        key = period_start(day, interval)
        bar = out.get(key)
        out[key] = Bar.first(price, quantity) if bar is None else bar.add(price, quantity)
    return out


def period_end(start: dt.date, interval: str) -> dt.date:
    """The last day of the period that begins on ``start``."""
    if interval == "1d":
        return start
    if interval == "1w":
        return start + dt.timedelta(days=6)
    if interval == "1mo":
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    raise ValueError(f"unknown interval {interval!r}")


def combine(bars: Iterable[Bar]) -> Bar | None:
    """One bar from consecutive ones in time order (a week's or a month's from its days)."""
    out: Bar | None = None
    for bar in bars:
        if out is None:
            out = bar
        else:
            out = Bar(
                out.open,
                max(out.high, bar.high),
                min(out.low, bar.low),
                bar.close,
                out.volume + bar.volume,
                out.value + bar.value,
                out.trades + bar.trades,
            )
    return out
