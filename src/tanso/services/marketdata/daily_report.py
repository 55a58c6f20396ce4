"""The daily market report (日報) of a business day, in Japanese and English: HTML, CSV and PDF.

Per instrument: each call auction's price and volume (or no trade), the day's bar (4本値, volume,
VWAP), the next business day's reference price (基準値段) and price limits; then the day's index
values. Everything comes from published data (auctions, bars, index values, the journal), so the
report of a past day reads the same whenever it is produced. It never names a participant.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from tanso.domain.bars import Bar
from tanso.domain.errors import NotFound
from tanso.domain.exchange import price_limits
from tanso.services.common import SYSTEM, plain
from tanso.services.marketdata import indices
from tanso.services.trading.exchange import Exchange, trade_date
from tanso.services.trading.instruments import STANDARD_REFERENCE_PRICES
from tanso.store import schema as t
from tanso.store.db import Database, loads

JST = ZoneInfo("Asia/Tokyo")
LANGS = ("en", "ja")


def _category(row: Any) -> str:
    codes = (loads(row.eligibility) or {}).get("categories") or []
    return str(codes[0]) if len(codes) == 1 else ""


def _instrument_order(row: Any) -> tuple[int, str]:
    keys = list(STANDARD_REFERENCE_PRICES)
    cat = _category(row)
    return (keys.index(cat) if cat in keys else len(keys), row.id)


def _listing_references(conn: Connection) -> dict[str, int]:
    """The reference price each instrument was listed with (from its journal entry)."""
    j = t.journal.c
    out: dict[str, int] = {}
    for r in conn.execute(select(j.payload).where(j.kind == "exchange.instrument")):
        command = json.loads(r.payload).get("command", {})
        if "id" in command and "reference_price" in command:
            out[command["id"]] = int(command["reference_price"])
    return out


def _jst_time(at: str) -> str:
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(JST).strftime("%H:%M")


def report_dates(db: Database) -> list[str]:
    """Every date with market data (an auction, a trade or index values), newest first."""
    dates: set[str] = set()
    with db.read() as conn:
        for table in (t.auctions, t.trades):
            dates |= {r[0] for r in conn.execute(select(table.c.trade_date).distinct())}
        dates |= {r[0] for r in conn.execute(select(t.index_values.c.date).distinct())}
    return sorted(dates, reverse=True)


def build(db: Database, exchange: Exchange | None, date: dt.date) -> dict[str, Any]:
    """The report's figures for one day; 404 when the day has no market data at all."""
    day = date.isoformat()
    a, tr, b = t.auctions.c, t.trades.c, t.bars.c
    with db.read() as conn:
        auctions = conn.execute(
            select(t.auctions).where(a.trade_date == day).order_by(a.at, a.id)
        ).all()
        traded = conn.execute(select(tr.id).where(tr.trade_date == day).limit(1)).first()
        index_rows = indices.values_in(conn, date)
        if not auctions and traded is None and not index_rows:
            raise NotFound("no_market_data", f"There is no market data for {day}.")
        day_bars = {
            r.instrument_id: r
            for r in conn.execute(select(t.bars).where(b.interval == "1d", b.period_start == day))
        }
        listing = _listing_references(conn)
        instruments = [
            r for r in conn.execute(select(t.instruments)).all() if trade_date(r.created_at) <= date
        ]
        instruments.sort(key=_instrument_order)
        rows = [
            _instrument(conn, r, auctions, day_bars.get(r.id), listing, day) for r in instruments
        ]
    next_day = exchange.calendar.next_business_day(date) if exchange else None
    for row in rows:
        if row.pop("_current") and exchange is not None:
            _live_reference(exchange, row)
    volume = sum(r["bar"]["volume"] for r in rows if r["bar"])
    value = sum(r["bar"]["value"] for r in rows if r["bar"])
    return {
        "date": day,
        "next_business_day": next_day.isoformat() if next_day else None,
        "currency": "JPY",
        "instruments": rows,
        "indices": [plain(i) for i in index_rows],
        "totals": {"volume": volume, "value": value},
    }


def _instrument(
    conn: Connection,
    row: Any,
    auctions: Sequence[Any],
    bar_row: Any,
    listing: dict[str, int],
    day: str,
) -> dict[str, Any]:
    a = t.auctions.c
    mine = [
        {"time": _jst_time(x.at), "at": x.at, "price": x.price, "volume": x.volume}
        for x in auctions
        if x.instrument_id == row.id
    ]
    bar = None
    if bar_row is not None:
        br = Bar(
            bar_row.open,
            bar_row.high,
            bar_row.low,
            bar_row.close,
            bar_row.volume,
            bar_row.value,
            bar_row.trades,
        )
        bar = {
            "open": br.open,
            "high": br.high,
            "low": br.low,
            "close": br.close,
            "volume": br.volume,
            "value": br.value,
            "vwap": br.vwap,
            "trades": br.trades,
        }
    # 基準値段: the last call auction's price; if nothing traded, the previous reference price
    last = conn.execute(
        select(a.price)
        .where(a.instrument_id == row.id, a.trade_date <= day, a.price.is_not(None))
        .order_by(a.id.desc())
        .limit(1)
    ).first()
    later = conn.execute(
        select(a.id).where(a.instrument_id == row.id, a.trade_date > day).limit(1)
    ).first()
    reference = int(last.price) if last else listing.get(row.id, row.reference_price)
    lower, upper = price_limits(reference, row.price_limit_pct, row.tick)
    return {
        "id": row.id,
        "name_en": row.name_en,
        "name_ja": row.name_ja,
        "category": _category(row),
        "auctions": mine,
        "bar": bar,
        "reference_price": reference,
        "lower_limit": lower,
        "upper_limit": upper,
        "_current": later is None,
    }


def _live_reference(exchange: Exchange, row: dict[str, Any]) -> None:
    """For the latest day of an instrument, its reference and limits are the engine's own."""
    if row["id"] in exchange.engine.markets:
        book = exchange.book(SYSTEM, row["id"], depth=0)
        row["reference_price"] = book["reference_price"]
        row["lower_limit"] = book["lower_limit"]
        row["upper_limit"] = book["upper_limit"]
