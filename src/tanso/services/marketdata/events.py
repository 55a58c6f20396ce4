"""Public market data: bars (4本値), and the public form of committed exchange events.

Nothing here ever names a participant: the public sees instruments, prices, quantities and times.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import func, select

from tanso.domain import csv_cells
from tanso.domain.bars import INTERVALS, Bar
from tanso.domain.errors import InvalidInput, NotFound
from tanso.store import schema as t
from tanso.store.db import Database

MAX_BARS = 5_000


def bars(
    db: Database,
    instrument: str,
    interval: str = "1d",
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 1_000,
) -> list[dict[str, Any]]:
    """Bars of one instrument, oldest first, from the table the trades keep up to date."""
    if interval not in INTERVALS:
        raise InvalidInput("invalid_interval", f"interval is one of {', '.join(INTERVALS)}.")
    b = t.bars.c
    q = select(t.bars).where(b.instrument_id == instrument, b.interval == interval)
    if start is not None:
        q = q.where(b.period_start >= start.isoformat())
    if end is not None:
        q = q.where(b.period_start <= end.isoformat())
    q = q.order_by(b.period_start.desc()).limit(max(1, min(limit, MAX_BARS)))
    with db.read() as conn:
        rows = conn.execute(q).all()
        if (
            not rows
            and conn.execute(
                select(t.instruments.c.id).where(t.instruments.c.id == instrument)
            ).first()
            is None
        ):
            raise NotFound("instrument_not_found", f"There is no instrument {instrument}.")
    return [_bar(r) for r in reversed(rows)]


def _bar(r: Any) -> dict[str, Any]:
    bar = Bar.of(r)
    return {
        "instrument": r.instrument_id,
        "interval": r.interval,
        "start": r.period_start,
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
        "value": bar.value,
        "vwap": bar.vwap,
        "trades": bar.trades,
    }


def daily_page(
    db: Database, instrument: str, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of an instrument's daily bars, newest first (page 1 is the latest ``size``
    days), and how many daily bars it has in all."""
    b = t.bars.c
    where = (b.instrument_id == instrument, b.interval == "1d")
    q = (
        select(t.bars)
        .where(*where)
        .order_by(b.period_start.desc())
        .offset(max(0, page - 1) * size)
        .limit(max(1, size))
    )
    with db.read() as conn:
        total = int(
            conn.execute(select(func.count()).select_from(t.bars).where(*where)).scalar_one()
        )
        rows = conn.execute(q).all()
    return [_bar(r) for r in rows], total


def most_traded(db: Database, days: int) -> str | None:
    """The instrument with the largest traded volume over the last ``days`` calendar days up to
    the market's latest trading day (ties: the smaller id); None when nothing ever traded.
    Busted trades count for nothing: the daily bars are restated without them."""
    b = t.bars.c
    with db.read() as conn:
        latest = conn.execute(
            select(func.max(b.period_start)).where(b.interval == "1d", b.volume > 0)
        ).scalar()
        if latest is None:
            return None
        since = (dt.date.fromisoformat(latest) - dt.timedelta(days=days - 1)).isoformat()
        volume = func.sum(b.volume)
        row = conn.execute(
            select(b.instrument_id, volume.label("volume"))
            .where(b.interval == "1d", b.period_start >= since)
            .group_by(b.instrument_id)
            .order_by(volume.desc(), b.instrument_id)
            .limit(1)
        ).first()
    return str(row.instrument_id) if row is not None else None


def bars_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    cols = [
        "instrument",
        "interval",
        "start",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "value",
        "vwap",
        "trades",
    ]
    w = csv_cells.dict_writer(buf, cols)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def public_events(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The public events of one committed exchange journal entry: trades (price, quantity,
    time; never who) and busted trades, auction results, session changes and instrument
    listings."""
    out: list[dict[str, Any]] = []
    payload = entry["payload"]
    n = 0
    for e in payload.get("events", []):
        kind = e.get("event")
        if kind == "trade":
            n += 1
            out.append(
                {
                    "channel": "trades",
                    "instrument": e["instrument"],
                    "price": e["price"],
                    "quantity": e["quantity"],
                    "id": f"T{entry['seq']}-{n}",
                    "at": entry["at"],
                }
            )
        elif kind == "trade_busted":
            out.append(
                {
                    "channel": "trades",
                    "type": "trade_busted",
                    "instrument": e["instrument"],
                    "id": e["trade"],
                    "price": e["price"],
                    "quantity": e["quantity"],
                    "trade_date": e["trade_date"],
                    "at": entry["at"],
                }
            )
        elif kind == "auction":
            out.append(
                {
                    "channel": "auctions",
                    "instrument": e["instrument"],
                    "price": e["price"],
                    "volume": e["volume"],
                    "kind": e.get("kind"),
                    "reference_price": e.get("reference_price"),
                    "at": entry["at"],
                }
            )
        elif kind == "session":
            out.append(
                {
                    "channel": "sessions",
                    "instrument": e["instrument"],
                    "state": e["state"],
                    "at": entry["at"],
                }
            )
    return out
