"""The daily market report (日報) of a business day, in Japanese and English: HTML, CSV and PDF.

Per instrument: each call auction's price and volume (or no trade), the day's bar (4本値, volume,
VWAP), the next business day's reference price (基準値段) and price limits; then the day's index
values. Everything comes from published data (auctions, bars, index values, the journal), so the
report of a past day reads the same whenever it is produced. It never names a participant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from tanso.domain.bars import Bar
from tanso.domain.errors import NotFound
from tanso.domain.exchange import price_limits
from tanso.services.common import SYSTEM
from tanso.services.marketdata import indices
from tanso.services.trading.exchange import Exchange, trade_date
from tanso.services.trading.instruments import STANDARD_REFERENCE_PRICES
from tanso.store import schema as t
from tanso.store.db import Database, loads

JST = ZoneInfo("Asia/Tokyo")
LANGS = ("en", "ja")


@dataclass(frozen=True, slots=True)
class AuctionPrint:
    """One call auction of the day: its price and volume (price None: no trade)."""

    time: str
    at: str
    price: int | None
    volume: int


@dataclass(frozen=True, slots=True)
class DayBar:
    """The day's bar: 4本値, volume, value, VWAP and the number of trades."""

    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    vwap: int
    trades: int
    restated: bool = False
    """Recomputed after a trade of the day was busted (issue 17): not the bar first published."""


@dataclass(frozen=True, slots=True)
class InstrumentDay:
    """One instrument's day: its auctions, its bar (None: nothing traded), and the next
    business day's reference price and limits."""

    id: str
    name_en: str
    name_ja: str
    category: str
    auctions: list[AuctionPrint]
    bar: DayBar | None
    reference_price: int
    lower_limit: int
    upper_limit: int


@dataclass(frozen=True, slots=True)
class Totals:
    volume: int
    value: int


@dataclass(frozen=True, slots=True)
class DailyReport:
    """The daily market report's figures for one day."""

    date: str
    next_business_day: str | None
    currency: str
    instruments: list[InstrumentDay]
    indices: list[indices.IndexValue]
    totals: Totals


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


def build(db: Database, exchange: Exchange | None, date: dt.date) -> DailyReport:
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
    days = [
        _live_reference(exchange, row) if current and exchange is not None else row
        for row, current in rows
    ]
    volume = sum(r.bar.volume for r in days if r.bar)
    value = sum(r.bar.value for r in days if r.bar)
    return DailyReport(
        date=day,
        next_business_day=next_day.isoformat() if next_day else None,
        currency="JPY",
        instruments=days,
        indices=index_rows,
        totals=Totals(volume=volume, value=value),
    )


def _instrument(
    conn: Connection,
    row: Any,
    auctions: Sequence[Any],
    bar_row: Any,
    listing: dict[str, int],
    day: str,
) -> tuple[InstrumentDay, bool]:
    """The instrument's day, and whether it is the instrument's latest day (no auction since)."""
    a = t.auctions.c
    mine = [
        AuctionPrint(time=_jst_time(x.at), at=x.at, price=x.price, volume=x.volume)
        for x in auctions
        if x.instrument_id == row.id
    ]
    bar = None
    if bar_row is not None:
        br = Bar.of(bar_row)
        bar = DayBar(
            open=br.open,
            high=br.high,
            low=br.low,
            close=br.close,
            volume=br.volume,
            value=br.value,
            vwap=br.vwap,
            trades=br.trades,
            restated=bool(bar_row.restated),
        )
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
    view = InstrumentDay(
        id=row.id,
        name_en=row.name_en,
        name_ja=row.name_ja,
        category=_category(row),
        auctions=mine,
        bar=bar,
        reference_price=reference,
        lower_limit=lower,
        upper_limit=upper,
    )
    return view, later is None


def _live_reference(exchange: Exchange, row: InstrumentDay) -> InstrumentDay:
    """For the latest day of an instrument, its reference and limits are the engine's own."""
    if row.id not in exchange.engine.markets:
        return row
    book = exchange.book(SYSTEM, row.id, depth=0)
    return dataclasses.replace(
        row,
        reference_price=book.reference_price,
        lower_limit=book.lower_limit,
        upper_limit=book.upper_limit,
    )
