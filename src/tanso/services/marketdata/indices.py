"""Benchmark indices: one per TSE trading category and a composite J-Credit index, one per JCM
partner country and a composite JCM index (docs/indices.md).

Each business day every index gets one value, in integer yen per tonne, and the rule that
produced it: ``vwap`` (the day's trades), ``mid`` (best bid and offer of the live book when nothing
traded), ``previous`` (the last published value carried forward) or ``none`` (nothing to go on).
A composite is the ``weighted`` average of its components' values (the J-Credit categories, or
the JCM partner countries), weighted by each component's volume over the trailing window. A date
is published once, in one journal entry (``index.published``); publishing it again returns the
stored values and changes nothing.

This module never names a participant: indices are built from prices and quantities only.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from tanso.domain import csv_cells
from tanso.domain.calendar import TradingCalendar
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.services.common import SYSTEM, Actor, Idem, execute, loader, plain, require_operator
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, trade_date
from tanso.services.trading.instruments import (
    JCM_CATEGORY,
    JCM_SCHEME,
    STANDARD_REFERENCE_PRICES,
    jcm_name,
)
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads

PREFIX = "TANSO-"
COMPOSITE_ID = "TANSO-JCREDIT"
COMPOSITE_SCHEME = "JC"
JCM_COMPOSITE_ID = "TANSO-JCM"
JCM_PREFIX = JCM_COMPOSITE_ID + "-"
JCM_COMPOSITE_NAMES = ("Tanso JCM composite index", "Tanso 二国間クレジット総合指数")
WEIGHT_WINDOW = 20
"""Business days of volume (the publication day included) that weight the composite."""
RULES = ("vwap", "mid", "previous", "none", "weighted")
MAX_HISTORY = 5_000
CURRENCY = "JPY"


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up to an integer (both non-negative, no floats)."""
    return (2 * numerator + denominator) // (2 * denominator)


def index_id(category: str) -> str:
    """The id of a category's index: ``TANSO-ENERGY-SAVING`` for ``ENERGY_SAVING``."""
    return PREFIX + category.replace("_", "-")


def jcm_index_id(country: str) -> str:
    """The id of a JCM partner country's index: ``TANSO-JCM-VN`` for Viet Nam."""
    return JCM_PREFIX + country


def _jcm_names(country: str) -> tuple[str, str]:
    en, ja = jcm_name(country)
    return (f"Tanso JCM {en} index", f"Tanso 二国間クレジット {ja}指数")


@dataclass(frozen=True, slots=True)
class IndexDef:
    """One index: its id, names, category (None for a composite), scheme (a composite weighs the
    indices of its scheme) and constituent instruments."""

    id: str
    name_en: str
    name_ja: str
    category: str | None
    scheme: str | None
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Value:
    """One computed value: ``value`` is None only under the rule ``none``."""

    value: int | None
    rule: str
    volume: int
    detail: dict[str, Any]


# ---------------------------------------------------------------- the pure calculation


def category_value(
    value: int,
    volume: int,
    trades: int,
    bid: int | None,
    ask: int | None,
    previous: tuple[int, str] | None,
) -> Value:
    """A category's value: VWAP of the day's trades, else the mid of best bid and offer, else the
    previous published value, else none. ``value`` is the sum of price x quantity."""
    if volume > 0:
        return Value(
            half_up(value, volume),
            "vwap",
            volume,
            {"trades": trades, "value": value, "volume": volume},
        )
    if bid is not None and ask is not None:
        return Value(half_up(bid + ask, 2), "mid", 0, {"bid": bid, "ask": ask})
    if previous is not None:
        return Value(previous[0], "previous", 0, {"from": previous[1]})
    return Value(None, "none", 0, {})


def composite_value(
    components: Iterable[tuple[str, Value, int]],
    previous: tuple[int, str] | None,
    window: tuple[str, str],
) -> Value:
    """The composite: category values weighted by each category's volume over the window.

    Categories without a value or without volume in the window weigh nothing; if nothing weighs,
    the previous composite value is carried forward (else none)."""
    parts = []
    weighted = weights = day_volume = 0
    for ident, v, weight in components:
        counted = v.value is not None and weight > 0
        parts.append({"index": ident, "value": v.value, "rule": v.rule, "weight": weight})
        day_volume += v.volume
        if counted and v.value is not None:
            weighted += v.value * weight
            weights += weight
    if weights > 0:
        detail = {"components": parts, "window": list(window), "weights": weights}
        return Value(half_up(weighted, weights), "weighted", day_volume, detail)
    if previous is not None:
        return Value(previous[0], "previous", day_volume, {"from": previous[1]})
    return Value(None, "none", day_volume, {})


# ---------------------------------------------------------------- definitions


def _order(category: str) -> tuple[int, str]:
    keys = list(STANDARD_REFERENCE_PRICES)
    return (keys.index(category) if category in keys else len(keys), category)


def _jcm_country(elig: dict[str, Any]) -> str | None:
    """The partner country of an instrument trading exactly the JCM credits of one country."""
    countries = elig.get("countries") or []
    schemes = elig.get("schemes") or []
    if (
        elig.get("categories") == [JCM_CATEGORY]
        and schemes in ([], [JCM_SCHEME])
        and len(countries) == 1
        and not elig.get("projects")
    ):
        return str(countries[0])
    return None


def definitions(conn: Connection) -> list[IndexDef]:
    """The J-Credit composite and one index per TSE category that has an instrument trading
    exactly it; then, once a JCM instrument is listed, the JCM composite and one index per
    partner country that has an instrument trading exactly its JCM credits."""
    cats = {r.code: r for r in repo.list_table(conn, t.categories, t.categories.c.code, tse=True)}
    members: dict[str, list[str]] = {}
    jcm: dict[str, list[str]] = {}
    for row in repo.list_table(conn, t.instruments, t.instruments.c.id):
        elig = loads(row.eligibility) or {}
        codes = elig.get("categories") or []
        if row.currency != CURRENCY:
            continue
        if len(codes) == 1 and codes[0] in cats:
            members.setdefault(codes[0], []).append(row.id)
        elif (country := _jcm_country(elig)) is not None:
            jcm.setdefault(country, []).append(row.id)
    out = [
        IndexDef(
            COMPOSITE_ID,
            "Tanso J-Credit composite index",
            "Tanso J-クレジット総合指数",
            None,
            COMPOSITE_SCHEME,
            (),
        )
    ]
    for code in sorted(members, key=_order):
        c = cats[code]
        out.append(
            IndexDef(
                index_id(code),
                f"Tanso {c.name_en} index",
                f"Tanso {c.name_ja}指数",
                code,
                c.scheme,
                tuple(members[code]),
            )
        )
    if jcm:
        out.append(IndexDef(JCM_COMPOSITE_ID, *JCM_COMPOSITE_NAMES, None, JCM_SCHEME, ()))
    for country in sorted(jcm):
        en, ja = _jcm_names(country)
        out.append(
            IndexDef(jcm_index_id(country), en, ja, JCM_CATEGORY, JCM_SCHEME, tuple(jcm[country]))
        )
    return out


def _names(conn: Connection) -> dict[str, tuple[str, str]]:
    """Names of every index that exists or could exist (so old rows keep their names)."""
    names = {d.id: (d.name_en, d.name_ja) for d in definitions(conn)}
    for c in repo.list_table(conn, t.categories, t.categories.c.code, tse=True):
        names.setdefault(index_id(c.code), (f"Tanso {c.name_en} index", f"Tanso {c.name_ja}指数"))
    names.setdefault(JCM_COMPOSITE_ID, JCM_COMPOSITE_NAMES)
    return names


def _name(ident: str, names: dict[str, tuple[str, str]]) -> tuple[str, str]:
    if ident in names:
        return names[ident]
    if ident.startswith(JCM_PREFIX):  # a partner country whose instrument was delisted
        return _jcm_names(ident.removeprefix(JCM_PREFIX))
    return (ident, ident)


def _sort_key(ident: str) -> tuple[int, tuple[int, str]]:
    """The J-Credit composite, the category indices, then the JCM composite and countries."""
    if ident == COMPOSITE_ID:
        return (0, (0, ""))
    if ident == JCM_COMPOSITE_ID:
        return (2, (0, ""))
    if ident.startswith(JCM_PREFIX):
        return (2, (1, ident))
    return (1, _order(ident.removeprefix(PREFIX).replace("-", "_")))


# ---------------------------------------------------------------- computing and publishing


def book_quotes(
    exchange: Exchange, instruments: Iterable[str]
) -> dict[str, tuple[int | None, ...]]:
    """Best bid and best offer of each instrument's live book, now."""
    out: dict[str, tuple[int | None, ...]] = {}
    for ident in instruments:
        if ident not in exchange.engine.markets:
            continue
        book = exchange.book(SYSTEM, ident, depth=1)
        bid = book.bids[0].price if book.bids else None
        ask = book.asks[0].price if book.asks else None
        out[ident] = (bid, ask)
    return out


def _window_start(calendar: TradingCalendar, day: dt.date) -> dt.date:
    start, n = day, 1
    while n < WEIGHT_WINDOW:
        start -= dt.timedelta(days=1)
        if calendar.is_business_day(start):
            n += 1
    return start


def _previous(conn: Connection, ident: str, day: str) -> tuple[int, str] | None:
    """The last published value (not ``none``) of an index before ``day``."""
    iv = t.index_values.c
    row = conn.execute(
        select(iv.value, iv.date)
        .where(iv.index_id == ident, iv.date < day, iv.rule != "none")
        .order_by(iv.date.desc())
        .limit(1)
    ).first()
    return (int(row.value), str(row.date)) if row else None


def _sums(conn: Connection, start: str, end: str) -> dict[str, tuple[int, int, int]]:
    """Per instrument: (sum of price x quantity, quantity, trades) over trade dates start..end."""
    tr = t.trades.c
    q = (
        select(
            tr.instrument_id,
            func.sum(tr.price * tr.quantity).label("value"),
            func.sum(tr.quantity).label("volume"),
            func.count().label("n"),
        )
        .where(tr.trade_date >= start, tr.trade_date <= end, tr.currency == CURRENCY)
        .where(tr.busted.is_(False))  # a busted trade never happened, for every figure
        .group_by(tr.instrument_id)
    )
    return {r.instrument_id: (int(r.value), int(r.volume), int(r.n)) for r in conn.execute(q)}


def calculate(
    conn: Connection,
    defs: list[IndexDef],
    day: dt.date,
    window_start: dt.date,
    quotes: dict[str, tuple[int | None, ...]],
) -> list[tuple[IndexDef, Value]]:
    """Every index's value for ``day`` from the stored trades and the given book quotes."""
    d = day.isoformat()
    today = _sums(conn, d, d)
    window = _sums(conn, window_start.isoformat(), d)
    out: list[tuple[IndexDef, Value]] = []
    components: dict[str | None, list[tuple[str, Value, int]]] = {}
    for idef in defs:
        if idef.category is None:
            continue
        value = volume = trades = weight = 0
        bids: list[int] = []
        asks: list[int] = []
        for ident in idef.instruments:
            v, q, n = today.get(ident, (0, 0, 0))
            value, volume, trades = value + v, volume + q, trades + n
            weight += window.get(ident, (0, 0, 0))[1]
            bid, ask = quotes.get(ident, (None, None))
            if bid is not None:
                bids.append(bid)
            if ask is not None:
                asks.append(ask)
        v_ = category_value(
            value,
            volume,
            trades,
            max(bids) if bids else None,
            min(asks) if asks else None,
            _previous(conn, idef.id, d),
        )
        v_.detail["instruments"] = list(idef.instruments)
        out.append((idef, v_))
        components.setdefault(idef.scheme, []).append((idef.id, v_, weight))
    composites = []
    for composite in (i for i in defs if i.category is None):
        cv = composite_value(
            components.get(composite.scheme, []),
            _previous(conn, composite.id, d),
            (window_start.isoformat(), d),
        )
        composites.append((composite, cv))
    return sorted([*composites, *out], key=lambda pair: _sort_key(pair[0].id))


def compute(
    db: Database,
    exchange: Exchange,
    date: dt.date,
    actor: Actor = SYSTEM,
    idem: Idem | None = None,
) -> list[IndexValue]:
    """Compute and publish every index's value for a business day (operator); a date already
    published answers with its stored values and changes nothing."""
    require_operator(actor, "publish index values")
    if not exchange.calendar.is_business_day(date):
        raise InvalidInput("not_a_business_day", f"{date} is not a business day.")
    day = date.isoformat()
    with db.read() as conn:
        defs = definitions(conn)
    # the book is read before the write transaction: the sequencer takes its lock, then the
    # database's, and so must everyone else
    quotes = book_quotes(exchange, [i for d in defs for i in d.instruments])
    window_start = _window_start(exchange.calendar, date)

    def work(tx: Tx) -> Published:
        conn = tx.conn
        iv = t.index_values.c
        if conn.execute(select(iv.index_id).where(iv.date == day).limit(1)).first():
            tx.allow_empty = True  # published already: nothing to write, nothing to journal
            return Published(date=day, indices=_rows(conn, iv.date == day))
        today = trade_date(tx.at)
        if date > today:
            raise InvalidInput("date_in_future", f"{day} has not happened yet.")
        latest = conn.execute(select(func.max(iv.date))).scalar()
        if latest is not None and day < latest:
            raise Conflict(
                "index_date_out_of_order",
                f"Index values are published in date order; {latest} is already published.",
            )
        # the live book is the book of today only; for an earlier day there is no mid
        values = calculate(conn, defs, date, window_start, quotes if date == today else {})
        seq = tx.next_seq()
        published = []
        for idef, v in values:
            repo.insert_row(
                conn,
                t.index_values,
                index_id=idef.id,
                date=day,
                value=v.value if v.value is not None else 0,
                rule=v.rule,
                volume=v.volume,
                detail=dumps(v.detail),
                journal_seq=seq,
                at=tx.at,
            )
            published.append(
                {"index": idef.id, "value": v.value, "rule": v.rule, "volume": v.volume}
            )
        tx.record("index.published", actor.label, {"date": day, "values": published})
        return Published(date=day, indices=_rows(conn, iv.date == day))

    return execute(db, actor, idem, work, load=loader(Published)).indices


# ---------------------------------------------------------------- restatement


@dataclass(frozen=True, slots=True)
class Restated:
    """One published value a restatement changed: before and after."""

    id: str
    date: str
    old_value: int | None
    old_rule: str
    new_value: int | None
    new_rule: str


def _stored_quotes(
    defs: list[IndexDef], stored: dict[str, Any]
) -> dict[str, tuple[int | None, ...]]:
    """The book quotes a day's ``mid`` values were computed from (the live book of that day is
    gone; its best bid and offer are in the value's detail)."""
    quotes: dict[str, tuple[int | None, ...]] = {}
    for idef in defs:
        row = stored.get(idef.id)
        if row is not None and row.rule == "mid" and idef.instruments:
            detail = loads(row.detail) or {}
            quotes[idef.instruments[0]] = (detail.get("bid"), detail.get("ask"))
    return quotes


def restate(
    db: Database,
    actor: Actor,
    date: dt.date,
    reason: str,
    calendar: TradingCalendar | None = None,
) -> list[Restated]:
    """Recompute the published values of ``date`` and of every later date from the trades that
    stand (a busted trade never happened) and store those that changed, with when (exchange
    operator). One journal entry, ``index.restated``, with each old and new value and the
    reason; the original ``index.published`` entries stay. A ``mid`` value keeps the book
    quotes it was computed from; a value carried forward follows the restated one. Nothing to
    change: nothing written."""
    require_operator(actor, "restate index values")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput(
            "reason_required", "A restatement gives its reason (1 to 500 characters)."
        )
    cal = calendar or japan_calendar()
    day = date.isoformat()

    def work(tx: Tx) -> list[Restated]:
        conn = tx.conn
        iv = t.index_values.c
        dates = list(
            conn.execute(
                select(iv.date).where(iv.date >= day).distinct().order_by(iv.date)
            ).scalars()
        )
        if not dates or dates[0] != day:
            raise NotFound("index_date_not_published", f"No index values are published for {day}.")
        defs = definitions(conn)
        changed: list[Restated] = []
        for d in dates:
            stored = {
                r.index_id: r for r in conn.execute(select(t.index_values).where(iv.date == d))
            }
            when = dt.date.fromisoformat(d)
            quotes = _stored_quotes(defs, stored)
            for idef, v in calculate(conn, defs, when, _window_start(cal, when), quotes):
                row = stored.get(idef.id)
                value = v.value if v.value is not None else 0
                detail = dumps(v.detail)
                if row is None or (row.value, row.rule, row.volume, row.detail) == (
                    value,
                    v.rule,
                    v.volume,
                    detail,
                ):
                    continue
                conn.execute(
                    update(t.index_values)
                    .where(iv.index_id == idef.id, iv.date == d)
                    .values(
                        value=value, rule=v.rule, volume=v.volume, detail=detail, restated_at=tx.at
                    )
                )
                old = None if row.rule == "none" else int(row.value)
                changed.append(Restated(idef.id, d, old, row.rule, v.value, v.rule))
        if not changed:
            tx.allow_empty = True
            return []
        tx.record(
            "index.restated",
            actor.label,
            {"date": day, "reason": reason, "changes": [plain(c) for c in changed]},
        )
        return changed

    return execute(db, actor, None, work)


# ---------------------------------------------------------------- public reads


@dataclass(frozen=True, slots=True)
class IndexValue:
    """An index's published value for a day, with the rule that produced it (``value`` None
    when the rule is ``none``) and the figures behind it (``detail``)."""

    id: str
    name_en: str
    name_ja: str
    date: str
    value: int | None
    rule: str
    volume: int
    currency: str
    unit: str
    detail: dict[str, Any]
    published_at: str
    journal_seq: int
    restated_at: str | None = None
    """When `tanso market restate` last changed the value (docs/indices.md, section 9)."""


@dataclass(frozen=True, slots=True)
class Published:
    """The values published for a date (what the idempotency store keeps)."""

    date: str
    indices: list[IndexValue]


def _view(row: Any, names: dict[str, tuple[str, str]]) -> IndexValue:
    name_en, name_ja = _name(row.index_id, names)
    return IndexValue(
        id=row.index_id,
        name_en=name_en,
        name_ja=name_ja,
        date=row.date,
        value=None if row.rule == "none" else row.value,
        rule=row.rule,
        volume=row.volume,
        currency=CURRENCY,
        unit="JPY/t-CO2",
        detail=loads(row.detail) or {},
        published_at=row.at,
        journal_seq=row.journal_seq,
        restated_at=row.restated_at,
    )


def _rows(conn: Connection, *where: Any) -> list[IndexValue]:
    names = _names(conn)
    rows = conn.execute(select(t.index_values).where(*where)).all()
    rows = sorted(rows, key=lambda r: (r.date, _sort_key(r.index_id)))
    return [_view(r, names) for r in rows]


def values_in(conn: Connection, day: dt.date) -> list[IndexValue]:
    """Every index's published value of one date (empty if not published)."""
    return _rows(conn, t.index_values.c.date == day.isoformat())


def latest(db: Database) -> list[IndexValue]:
    """The latest published value of each index."""
    iv = t.index_values.c
    last = select(iv.index_id, func.max(iv.date).label("date")).group_by(iv.index_id).subquery()
    q = select(t.index_values).join(
        last, (iv.index_id == last.c.index_id) & (iv.date == last.c.date)
    )
    with db.read() as conn:
        names = _names(conn)
        rows = sorted(conn.execute(q).all(), key=lambda r: _sort_key(r.index_id))
        return [_view(r, names) for r in rows]


def history(
    db: Database,
    ident: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 1_000,
) -> list[IndexValue]:
    """One index's published values, oldest first, from ``start`` to ``end`` (both included)."""
    iv = t.index_values.c
    q = select(t.index_values).where(iv.index_id == ident)
    if start is not None:
        q = q.where(iv.date >= start.isoformat())
    if end is not None:
        q = q.where(iv.date <= end.isoformat())
    q = q.order_by(iv.date.desc()).limit(max(1, min(limit, MAX_HISTORY)))
    with db.read() as conn:
        names = _names(conn)
        if ident not in names:
            known = conn.execute(select(iv.index_id).where(iv.index_id == ident).limit(1)).first()
            if known is None:
                raise NotFound("index_not_found", f"There is no index {ident}.")
        rows = conn.execute(q).all()
        return [_view(r, names) for r in reversed(rows)]


def published_dates(db: Database) -> list[str]:
    """Dates with published index values, newest first."""
    iv = t.index_values.c
    with db.read() as conn:
        return [r[0] for r in conn.execute(select(iv.date).distinct().order_by(iv.date.desc()))]


INDEX_CSV_COLUMNS = ("index", "date", "value", "rule", "volume", "currency", "unit")


def history_csv(values: Iterable[IndexValue]) -> str:
    """Index values as CSV (one row a day, formula cells neutralised), for a spreadsheet."""
    buf = io.StringIO()
    w = csv_cells.dict_writer(buf, list(INDEX_CSV_COLUMNS))
    w.writeheader()
    for v in values:
        w.writerow(
            {
                "index": v.id,
                "date": v.date,
                "value": v.value,
                "rule": v.rule,
                "volume": v.volume,
                "currency": v.currency,
                "unit": v.unit,
            }
        )
    return buf.getvalue()
