"""A participant's history: its orders in every state, its trades and its settlement
obligations, filtered and paged, and the same rows for a CSV download.

It reads only the caller's own participant's rows (even for an operator's actor: the portal
passes the user's participant); it never writes and never names a counterparty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from tanso.services.clearing.settlement import ObligationView, obligation_view
from tanso.services.common import Actor
from tanso.services.trading.exchange import Order, OwnTrade, order_view, own_trade
from tanso.store import schema as t
from tanso.store.db import Database

JST = ZoneInfo("Asia/Tokyo")

ORDER_STATES = ("open", "partially_filled", "filled", "cancelled", "expired")
"""The order states a history can be filtered by. ``partially_filled``: some but not all of the
quantity traded, whether the rest is still open, cancelled or expired. A rejected order is never
stored (the refusal is the answer), so it has no state here."""
OBLIGATION_STATES = ("pending", "settled", "failed", "cancelled", "busted")
"""A settlement obligation's states (決済債務)."""
SIDES = ("buy", "sell")
EXPORT_MAX = 50_000
"""Rows in one CSV download at most (the newest)."""

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of a history: its rows, the page's first row's position (``offset``) and the
    number of rows the filter matches (``total``)."""

    rows: list[R]
    offset: int
    total: int


@dataclass(frozen=True, slots=True)
class Filter:
    """What a history is narrowed to; None: any. Dates are inclusive, in Japan: an order's day
    is the day it was placed, a trade's its trade date, an obligation's its due date."""

    instrument: str | None = None
    side: str | None = None
    status: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


def _jst_midnight(day: dt.date) -> str:
    """The UTC timestamp (as stored) of midnight in Japan starting ``day``."""
    at = dt.datetime.combine(day, dt.time(), JST).astimezone(dt.UTC)
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _page(db: Database, q: Select[Any], order_by: tuple[Any, ...], offset: int, limit: int) -> Any:
    with db.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
        rows = conn.execute(q.order_by(*order_by).offset(offset).limit(limit)).all()
    return rows, total


# ---------------------------------------------------------------- orders


def _order_query(actor: Actor, f: Filter) -> Select[Any]:
    o = t.orders.c
    where: list[ColumnElement[bool]] = [o.participant_id == actor.participant_id]
    if f.instrument:
        where.append(o.instrument_id == f.instrument)
    if f.side:
        where.append(o.side == f.side)
    if f.status == "partially_filled":
        filled = o.quantity - o.remaining - o.cancelled
        where += [filled > 0, filled < o.quantity]
    elif f.status:
        where.append(o.status == f.status)
    if f.start:
        where.append(o.created_at >= _jst_midnight(f.start))
    if f.end:
        where.append(o.created_at < _jst_midnight(f.end + dt.timedelta(days=1)))
    return select(t.orders).where(and_(*where))


def order_history(
    db: Database, actor: Actor, f: Filter, offset: int = 0, limit: int = 50
) -> Page[Order]:
    """The caller's orders in every state, newest first, with filled, cancelled and remaining
    quantities that add up to the quantity."""
    o = t.orders.c
    rows, total = _page(
        db, _order_query(actor, f), (o.created_at.desc(), o.id.desc()), offset, limit
    )
    return Page([order_view(r) for r in rows], offset, total)


# ---------------------------------------------------------------- trades


def _trade_query(actor: Actor, f: Filter) -> Select[Any]:
    tr, ob = t.trades.c, t.settlement_obligations.c
    pid = actor.participant_id
    if f.side == "buy":
        where: list[ColumnElement[bool]] = [tr.buyer_id == pid]
    elif f.side == "sell":
        where = [tr.seller_id == pid]
    else:
        where = [or_(tr.buyer_id == pid, tr.seller_id == pid)]
    if f.instrument:
        where.append(tr.instrument_id == f.instrument)
    if f.start:
        where.append(tr.trade_date >= f.start.isoformat())
    if f.end:
        where.append(tr.trade_date <= f.end.isoformat())
    return (
        select(t.trades, ob.status.label("settlement_status"))
        .join(t.settlement_obligations, ob.deal_id == tr.id)
        .where(and_(*where))
    )


def trade_history(
    db: Database, actor: Actor, f: Filter, offset: int = 0, limit: int = 50
) -> Page[OwnTrade]:
    """The caller's trades, newest first, with its side and settlement status; never the
    counterparty."""
    tr = t.trades.c
    q = _trade_query(actor, f)
    rows, total = _page(db, q, (tr.journal_seq.desc(), tr.id), offset, limit)
    out = [own_trade(r, actor.participant_id) for r in rows]
    return Page(out, offset, total)


# ---------------------------------------------------------------- settlement


def settlement_history(
    db: Database, actor: Actor, f: Filter, offset: int = 0, limit: int = 50
) -> Page[ObligationView]:
    """The caller's settlement obligations of every venue, latest due date first: its side,
    due date, status (pending, settled, failed ...), amount and fee."""
    ob = t.settlement_obligations.c
    pid = actor.participant_id
    where: list[ColumnElement[bool]] = [or_(ob.buyer_id == pid, ob.seller_id == pid)]
    if f.side == "buy":
        where = [ob.buyer_id == pid]
    elif f.side == "sell":
        where = [ob.seller_id == pid]
    if f.instrument:
        where.append(ob.instrument_id == f.instrument)
    if f.status:
        where.append(ob.status == f.status)
    if f.start:
        where.append(ob.due_date >= f.start.isoformat())
    if f.end:
        where.append(ob.due_date <= f.end.isoformat())
    q = select(t.settlement_obligations).where(and_(*where))
    with db.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
        rows = conn.execute(
            q.order_by(ob.due_date.desc(), ob.deal_id.desc()).offset(offset).limit(limit)
        ).all()
        return Page([obligation_view(conn, r, pid) for r in rows], offset, total)
