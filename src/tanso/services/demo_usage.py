"""The demo market's usage: what `tanso init --demo` adds after the trading history."""

from __future__ import annotations

import datetime as dt

from tanso.services.exchange import Exchange
from tanso.services.market_setup import DemoClock
from tanso.store.db import Database


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add this capability's demo data; returns a line for the summary (empty: nothing added)."""
    return ""
