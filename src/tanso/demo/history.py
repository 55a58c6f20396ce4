"""Imported price history: the published auction results of a market that moves to Tanso.

An operator taking over a market brings its published history (each call auction's price and
volume) so that bars, reference prices and indices continue from it. Imported history has no
counterparties and moves no credits or cash: it is published prices only, journaled as imported.
The demo uses it for two years of history calibrated to the real market's published figures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from sqlalchemy import select

from tanso.domain.bars import INTERVALS, Bar, period_start
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.common import Actor, execute, require
from tanso.services.trading.calendar import japan_calendar
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx

AuctionRow = tuple[dt.date, str, int | None, int]
"""(trade date, auction time "HH:MM", price or None for no trade, volume)."""


def import_history(
    db: Database, actor: Actor, instrument: str, rows: list[AuctionRow]
) -> dict[str, Any]:
    """Import one instrument's published auction results, oldest first, before any trading."""
    require(actor, Role.EXCHANGE_OPERATOR, "import price history")
    if not rows:
        raise InvalidInput("empty_history", "There is no history to import.")
    if any(a[0] > b[0] for a, b in itertools.pairwise(rows)):
        raise InvalidInput("history_out_of_order", "History rows must be in date order.")
    for day, _time, price, volume in rows:
        if (price is None) != (volume == 0) or volume < 0 or (price is not None and price <= 0):
            raise InvalidInput("invalid_history", f"Row of {day}: a price goes with a volume > 0.")

    def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        row = repo.get_by_id(conn, t.instruments, instrument)
        if row is None:
            raise NotFound("instrument_not_found", f"There is no instrument {instrument}.")
        tr = t.trades.c
        if conn.execute(select(tr.id).where(tr.instrument_id == instrument).limit(1)).first():
            raise Conflict(
                "already_trading", "History can only be imported before the first trade."
            )
        bars: dict[tuple[str, str], Bar] = {}
        auctions = []
        last_price = None
        for day, time, price, volume in rows:
            at = f"{day.isoformat()}T{time}:00+09:00"
            auctions.append(
                {
                    "instrument_id": instrument,
                    "at": at,
                    "trade_date": day.isoformat(),
                    "price": price,
                    "volume": volume,
                    "journal_seq": tx.next_seq(),
                    "kind": "call",
                }
            )
            if price is None:
                continue
            last_price = price
            for interval in INTERVALS:
                key = (interval, period_start(day, interval).isoformat())
                bar = bars.get(key)
                bars[key] = Bar.first(price, volume) if bar is None else bar.add(price, volume)
        conn.execute(t.auctions.insert(), auctions)
        b = t.bars.c
        conn.execute(t.bars.delete().where(b.instrument_id == instrument))
        if bars:
            conn.execute(
                t.bars.insert(),
                [
                    {
                        "instrument_id": instrument,
                        "interval": k[0],
                        "period_start": k[1],
                        "open": v.open,
                        "high": v.high,
                        "low": v.low,
                        "close": v.close,
                        "volume": v.volume,
                        "value": v.value,
                        "trades": v.trades,
                        "last_seq": tx.next_seq(),
                    }
                    for k, v in bars.items()
                ],
            )
        summary = {
            "instrument": instrument,
            "auctions": len(rows),
            "from": rows[0][0].isoformat(),
            "to": rows[-1][0].isoformat(),
            "volume": sum(r[3] for r in rows),
            "last_price": last_price,
        }
        tx.record("market.history_imported", actor.label, summary)
        return summary

    return execute(db, actor, None, work)


# The real market's published levels (MISSION.md): 再エネ(電力) weighted average ¥4,257 (range
# ¥1,500-6,600) to 2025-03; 省エネ ¥2,000 (¥1,510-4,150); 森林 ¥7,000-15,000; about 2,150 t a
# day in all, trades on 78% of business days.
CALIBRATION: dict[str, tuple[int, int, int, int]] = {
    # category: (typical price, low, high, share of the daily volume in per mille)
    "ENERGY_SAVING": (2_000, 1_510, 4_150, 380),
    "RE_POWER": (4_257, 1_500, 6_600, 420),
    "RE_POWER_BIOMASS": (3_400, 2_000, 5_500, 40),
    "RE_HEAT": (3_000, 1_800, 5_000, 20),
    "RE_MIXED": (3_200, 1_800, 5_200, 15),
    "FOREST": (9_800, 7_000, 15_000, 60),
    "AGRI_MIDSEASON": (4_800, 3_000, 7_000, 30),
    "AGRI_BIOCHAR": (18_000, 12_000, 30_000, 5),
    "OTHER": (2_500, 1_500, 4_000, 10),
    "JVER": (3_000, 1_500, 5_000, 10),
    "DOMESTIC_CREDIT": (1_500, 1_000, 2_500, 10),
}
DAILY_VOLUME = 2_150
TRADING_DAY_SHARE = 78  # per cent of business days with trades


def calibrated_history(
    category: str, start: dt.date, end: dt.date, seed: int = 2023
) -> list[AuctionRow]:
    """A simulated history for the demo: two auctions a business day, prices a bounded random
    walk around the category's published level, volumes summing to the market's daily figure."""
    typical, low, high, share = CALIBRATION.get(category, (3_000, 1_500, 5_000, 10))
    rng = random.Random(f"{seed}-{category}")
    price = typical
    rows: list[AuctionRow] = []
    for day in japan_calendar().business_days(start, end):
        for time in ("11:30", "15:00"):
            traded = rng.randrange(100) < TRADING_DAY_SHARE
            if not traded:
                rows.append((day, time, None, 0))
                continue
            # mean-reverting walk inside the published range, in whole yen
            step = rng.randint(-3, 3) * max(1, typical // 200) + (typical - price) // 25
            price = min(high, max(low, price + step))
            mean = DAILY_VOLUME * share // 1_000 // 2
            volume = max(1, int(rng.expovariate(1 / max(1, mean))))
            rows.append((day, time, price, volume))
    return rows


def demo_histories(
    categories: list[str], end: dt.date, years: int = 2
) -> dict[str, list[AuctionRow]]:
    """Calibrated histories for the demo's categories, up to `end`."""
    start = end - dt.timedelta(days=365 * years)
    return {c: calibrated_history(c, start, end) for c in categories if c in CALIBRATION}


def last_price(rows: list[AuctionRow]) -> int | None:
    """The last auction price of a history: the reference price (基準値段) trading starts from."""
    prices = [r[2] for r in rows if r[2] is not None]
    return prices[-1] if prices else None
