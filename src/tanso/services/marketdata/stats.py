"""Public statistics of the registry and the market, folded from the journal (docs/statistics.md).

Every figure comes from the journal's entries, folded in order: ``facts_of`` turns a run of
entries into sums per day and dimension (a pure function of the entries and of the immutable
attributes of the issuances, accounts and participants they name), and ``fold`` adds the sums of
the entries after ``stats_cursor`` to the ``stats_*`` tables and moves the cursor in the same
transaction. Reads fold first, so an answer includes every committed entry. ``recompute`` folds
the whole journal in memory, which a test and ``tanso stats check`` compare with the tables.

What counts (each quantity in tonnes, each value in yen):

- ``issued``: credits that entered the registry by issuance or allocation; ``imported``: by a
  deposit from another registry;
- ``transferred``: credits that arrived in a participant's holding account from another holder
  (a transfer, a settled trade, a marketplace deal or auction award);
- ``retired``, ``cancelled``, ``exported``: credits that took that status;
- traded volume and value per venue: ``exchange`` (each trade, less a busted one on its trade
  date), ``marketplace`` (each deal), ``auction`` (each sealed-bid award).

It never names a participant: only kinds and countries of participants are counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from tanso.domain import csv_cells
from tanso.domain.errors import InvalidInput
from tanso.domain.journal import read_payload
from tanso.services.trading.exchange import trade_date
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.store.schema_stats import (
    stats_cursor,
    stats_market,
    stats_participants,
    stats_purposes,
    stats_registry,
    stats_usage,
)

MEASURES = ("issued", "imported", "transferred", "retired", "cancelled", "exported")
REGISTRY_BY = ("scheme", "category", "credit_type", "vintage", "region", "month")
MARKET_BY = ("instrument", "venue", "month")
VENUES = ("exchange", "marketplace", "auction")
BATCH = 2_000
"""Journal entries folded per transaction."""
ALLOWANCE = "AL"
"""The credit type of GX-ETS allowances."""
MIXED = "MIXED"
"""The instrument of a sealed-bid auction whose lot spans categories."""

REGISTRY_COLUMNS = ("measure", "day", "scheme", "category", "credit_type", "vintage", "region")
RegistryKey = tuple[str, str, str, str, str, int, str]
"""measure, day, scheme, category, credit_type, vintage, region."""


@dataclass
class Facts:
    """Sums of a run of journal entries, per day and dimension."""

    registry: dict[RegistryKey, int] = field(default_factory=lambda: defaultdict(int))
    purposes: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    market: dict[tuple[str, str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    participants: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    usage: dict[tuple[str, str, str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )

    def plain(self) -> dict[str, dict[Any, Any]]:
        """Every non-zero sum, for comparing two folds."""

        def keep(d: dict[Any, Any]) -> dict[Any, Any]:
            out = {}
            for k, v in d.items():
                vals = tuple(v) if isinstance(v, list) else (v,)
                if any(vals):
                    out[k] = vals
            return out

        return {
            "registry": keep(self.registry),
            "purposes": keep(self.purposes),
            "market": keep(self.market),
            "participants": keep(self.participants),
            "usage": keep(self.usage),
        }


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: str
    kind: str
    payload: dict[str, Any]


class Lookup:
    """The immutable attributes the folded entries name, read once per fold."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.issuances: dict[str, tuple[str, str, str, int, str]] = {}
        self.accounts: dict[str, tuple[str | None, str]] = {}
        self.participants: dict[str, tuple[str, str]] = {}
        self.projects: dict[str, str] = {}

    def load(self, entries: Sequence[Entry]) -> None:
        issuances: set[str] = set()
        accounts: set[str] = set()
        pids: set[str] = set()
        projects: set[str] = set()
        for e in entries:
            p = e.payload
            for eff in p.get("issue") or ():
                issuances.add(eff[0])
            for mv in p.get("moves") or ():
                issuances.add(mv[0])
                accounts.update((mv[3], mv[5]))
            if e.kind in ("participant.registered", "participant.status_changed"):
                pids.add(str(p.get("participant") or ""))
            if e.kind in DEAL_KINDS and p.get("project_id"):
                projects.add(p["project_id"])
        self._issuances(issuances - self.issuances.keys())
        self._accounts(accounts - self.accounts.keys())
        self._participants({x for x in pids if x} - self.participants.keys())
        self._projects(projects - self.projects.keys())

    def _issuances(self, ids: set[str]) -> None:
        i, p = t.issuances.c, t.projects.c
        for chunk in _chunks(sorted(ids)):
            q = select(i.id, i.credit_type, i.vintage, p.scheme, p.category, p.country, p.region)
            for r in self.conn.execute(q.join_from(t.issuances, t.projects).where(i.id.in_(chunk))):
                region = (r.region or r.country) if r.country == "JP" else r.country
                self.issuances[r.id] = (r.scheme, r.category, r.credit_type, r.vintage, region[:64])

    def _accounts(self, ids: set[str]) -> None:
        a = t.accounts.c
        for chunk in _chunks(sorted(ids)):
            for r in self.conn.execute(
                select(a.id, a.participant_id, a.kind).where(a.id.in_(chunk))
            ):
                self.accounts[r.id] = (r.participant_id, r.kind)

    def _participants(self, ids: set[str]) -> None:
        p = t.participants.c
        for chunk in _chunks(sorted(ids)):
            for r in self.conn.execute(select(p.id, p.kind, p.country).where(p.id.in_(chunk))):
                self.participants[r.id] = (r.kind, r.country or "JP")

    def _projects(self, ids: set[str]) -> None:
        p = t.projects.c
        for chunk in _chunks(sorted(ids)):
            for r in self.conn.execute(select(p.id, p.category).where(p.id.in_(chunk))):
                self.projects[r.id] = r.category


DEAL_KINDS = ("marketplace.purchased", "marketplace.offer_accepted")


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def facts_of(entries: Sequence[Entry], lookup: Lookup, into: Facts | None = None) -> Facts:
    """The sums of ``entries`` (added to ``into``)."""
    facts = into if into is not None else Facts()
    lookup.load(entries)
    for e in entries:
        day = trade_date(e.at).isoformat()
        _registry(facts, lookup, e, day)
        _market(facts, lookup, e, day)
        _participants(facts, lookup, e)
        if e.kind == "credits.retired":
            _retirement(facts, e, day)
    return facts


def _registry(facts: Facts, lookup: Lookup, e: Entry, day: str) -> None:
    p = e.payload
    entered = "imported" if e.kind == "credits.deposited" else "issued"
    for issuance, start, end, *_ in p.get("issue") or ():
        facts.registry[(entered, day, *lookup.issuances[issuance])] += end - start + 1
    for issuance, start, end, src, from_status, dst, to_status, *_ in p.get("moves") or ():
        measure = _measure_of(lookup, src, from_status, dst, to_status)
        if measure:
            facts.registry[(measure, day, *lookup.issuances[issuance])] += end - start + 1


def _measure_of(lookup: Lookup, src: str, from_status: str, dst: str, to_status: str) -> str | None:
    for status, measure in (("retired", "retired"), ("cancelled", "cancelled")):
        if to_status == status:
            return measure if from_status != status else None
    if to_status == "exported":
        return "exported" if from_status != "exported" else None
    owner_to, kind_to = lookup.accounts.get(dst, (None, ""))
    owner_from = lookup.accounts.get(src, (None, ""))[0]
    if kind_to == "holding" and owner_to is not None and owner_to != owner_from:
        return "transferred"
    return None


def _market(facts: Facts, lookup: Lookup, e: Entry, day: str) -> None:
    p = e.payload
    events = p.get("events")
    for ev in events if isinstance(events, list) else ():
        if not isinstance(ev, dict):
            continue
        if ev.get("event") == "trade":
            _add(facts.market[(day, "exchange", ev["instrument"])], ev["quantity"], ev["price"], 1)
        elif ev.get("event") == "trade_busted":
            cell = facts.market[(ev["trade_date"], "exchange", ev["instrument"])]
            _add(cell, -ev["quantity"], ev["price"], -1)
    if e.kind in DEAL_KINDS:
        category = lookup.projects.get(p.get("project_id") or "", "")
        cell = facts.market[(p.get("trade_date") or day, "marketplace", category)]
        cell[0] += p["quantity"]
        cell[1] += p["amount"]
        cell[2] += 1
    elif e.kind == "sealed_auction.cleared":
        categories = {lookup.issuances[mv[0]][1] for mv in p.get("moves") or ()}
        instrument = categories.pop() if len(categories) == 1 else MIXED
        for award in p.get("awards") or ():
            cell = facts.market[(day, "auction", instrument)]
            cell[0] += award["quantity"]
            cell[1] += award["amount"]
            cell[2] += 1


def _add(cell: list[int], quantity: int, price: int, trades: int) -> None:
    cell[0] += quantity
    cell[1] += quantity * price
    cell[2] += trades


def _participants(facts: Facts, lookup: Lookup, e: Entry) -> None:
    p = e.payload
    if e.kind == "participant.registered":
        key = lookup.participants.get(p["participant"], (str(p.get("kind", "")), "JP"))
        facts.participants[key][0] += 1
    elif e.kind == "participant.status_changed":
        known = lookup.participants.get(p["participant"])
        if known is None:
            return
        was, now = p.get("from") == "active", p.get("to") == "active"
        facts.participants[known][1] += int(now) - int(was)


def _retirement(facts: Facts, e: Entry, day: str) -> None:
    p = e.payload
    quantity = int(p.get("quantity") or 0)
    for purpose in p.get("purposes") or ():
        cell = facts.purposes[(day, str(purpose))]
        cell[0] += quantity
        cell[1] += 1
    for use in p.get("usage") or ():
        warned = any(w.get("ok") is False for w in use.get("warnings") or ())
        key = (
            day,
            str(use.get("purpose", "")),
            str(use.get("ruleset", "")),
            "warnings" if warned else "clean",
        )
        facts.usage[key][0] += int(use.get("tonnes") or 0)
        facts.usage[key][1] += 1


# ---------------------------------------------------------------- folding into the tables


def _entries(conn: Connection, after: int, upto: int, limit: int) -> list[Entry]:
    j = t.journal.c
    rows = conn.execute(
        select(j.seq, j.at, j.kind, j.payload)
        .where(j.seq > after, j.seq <= upto)
        .order_by(j.seq)
        .limit(limit)
    )
    return [Entry(r.seq, r.at, r.kind, read_payload(r.payload)) for r in rows]


def _head(conn: Connection) -> int:
    row = conn.execute(select(t.journal_head.c.seq).where(t.journal_head.c.id == 1)).first()
    return int(row.seq) if row else 0


def _lock_cursor(conn: Connection) -> int:
    c = stats_cursor.c
    row = conn.execute(select(c.seq).where(c.id == 1).with_for_update()).first()
    if row is None:
        conn.execute(_insert(conn, stats_cursor).values(id=1, seq=0).on_conflict_do_nothing())
        row = conn.execute(select(c.seq).where(c.id == 1).with_for_update()).one()
    return int(row.seq)


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def fold(db: Database, batch: int = BATCH) -> int:
    """Fold every committed journal entry after the cursor; returns the cursor's new seq."""
    while True:
        with db.engine.connect() as conn:
            conn.info["tanso_begin"] = "IMMEDIATE"  # SQLite: one folder at a time
            try:
                with conn.begin():
                    after = _lock_cursor(conn)
                    head = _head(conn)
                    entries = _entries(conn, after, head, batch) if head > after else []
                    if entries:
                        _write(conn, facts_of(entries, Lookup(conn)))
                        last = entries[-1].seq
                        conn.execute(
                            stats_cursor.update().where(stats_cursor.c.id == 1).values(seq=last)
                        )
                        after = last
            finally:
                conn.info["tanso_begin"] = "DEFERRED"
        if after >= head:
            return after


def _write(conn: Connection, facts: Facts) -> None:
    r = stats_registry.c
    _upsert(
        conn,
        stats_registry,
        [
            dict(zip(REGISTRY_COLUMNS, k, strict=True)) | {"quantity": v}
            for k, v in facts.registry.items()
            if v
        ],
        {"quantity": r.quantity},
    )
    _upsert(
        conn,
        stats_purposes,
        [
            {"day": d, "purpose": p, "quantity": v[0], "retirements": v[1]}
            for (d, p), v in facts.purposes.items()
        ],
        {"quantity": stats_purposes.c.quantity, "retirements": stats_purposes.c.retirements},
    )
    m = stats_market.c
    _upsert(
        conn,
        stats_market,
        [
            {"day": d, "venue": ven, "instrument": i, "volume": v[0], "value": v[1], "trades": v[2]}
            for (d, ven, i), v in facts.market.items()
            if any(v)
        ],
        {"volume": m.volume, "value": m.value, "trades": m.trades},
    )
    pc = stats_participants.c
    _upsert(
        conn,
        stats_participants,
        [
            {"kind": k, "country": c, "registered": v[0], "active": v[1]}
            for (k, c), v in facts.participants.items()
            if any(v)
        ],
        {"registered": pc.registered, "active": pc.active},
    )
    u = stats_usage.c
    _upsert(
        conn,
        stats_usage,
        [
            {"day": d, "purpose": p, "ruleset": rs, "outcome": o, "tonnes": v[0], "checks": v[1]}
            for (d, p, rs, o), v in facts.usage.items()
        ],
        {"tonnes": u.tonnes, "checks": u.checks},
    )


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], sums: dict[str, Any]) -> None:
    """Add each row's sums to the stored row of its key (a new key is inserted)."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    for start in range(0, len(rows), 500):
        stmt = _insert(conn, table).values(rows[start : start + 500])
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=keys,
                set_={name: col + getattr(stmt.excluded, name) for name, col in sums.items()},
            )
        )


def rebuild(db: Database) -> int:
    """Empty the statistics and fold the whole journal again; returns the cursor's seq."""
    with db.engine.begin() as conn:
        for table in (
            stats_registry,
            stats_purposes,
            stats_market,
            stats_participants,
            stats_usage,
        ):
            conn.execute(delete(table))
        conn.execute(delete(stats_cursor))
    return fold(db)


def recompute(db: Database, upto: int | None = None) -> Facts:
    """Every sum folded afresh from the whole journal, in memory (the tables are not read)."""
    facts = Facts()
    with db.read() as conn:
        head = _head(conn) if upto is None else upto
        lookup, after = Lookup(conn), 0
        while after < head:
            entries = _entries(conn, after, head, BATCH)
            if not entries:
                break
            facts_of(entries, lookup, facts)
            after = entries[-1].seq
    return facts


def stored(db: Database) -> tuple[int, Facts]:
    """The cursor and the sums in the tables, in the shape of `recompute`'s."""
    facts = Facts()
    with db.read() as conn:
        row = conn.execute(select(stats_cursor.c.seq).where(stats_cursor.c.id == 1)).first()
        for r in conn.execute(select(stats_registry)):
            key = (r.measure, r.day, r.scheme, r.category, r.credit_type, r.vintage, r.region)
            facts.registry[key] = r.quantity
        for r in conn.execute(select(stats_purposes)):
            facts.purposes[(r.day, r.purpose)] = [r.quantity, r.retirements]
        for r in conn.execute(select(stats_market)):
            facts.market[(r.day, r.venue, r.instrument)] = [r.volume, r.value, r.trades]
        for r in conn.execute(select(stats_participants)):
            facts.participants[(r.kind, r.country)] = [r.registered, r.active]
        for r in conn.execute(select(stats_usage)):
            facts.usage[(r.day, r.purpose, r.ruleset, r.outcome)] = [r.tonnes, r.checks]
    return (int(row.seq) if row else 0), facts


# ---------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class RegistryRow:
    """Credits per group, in tonnes."""

    key: str
    issued: int
    imported: int
    transferred: int
    retired: int
    cancelled: int
    exported: int


@dataclass(frozen=True, slots=True)
class MarketRow:
    """Trading per group: volume in tonnes, value in yen, VWAP in yen per tonne (None: no
    volume)."""

    key: str
    volume: int
    value: int
    trades: int
    vwap: int | None


@dataclass(frozen=True, slots=True)
class PurposeRow:
    purpose: str
    quantity: int
    retirements: int


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    kind: str
    country: str
    registered: int
    active: int


@dataclass(frozen=True, slots=True)
class UsageRow:
    purpose: str
    ruleset: str
    outcome: str
    tonnes: int
    checks: int


@dataclass(frozen=True, slots=True)
class Period:
    """The days asked for (None: open-ended) and the journal entry the figures include."""

    start: str | None
    end: str | None
    as_of_seq: int


@dataclass(frozen=True, slots=True)
class RegistryStats:
    """Credits per group over a period, in tonnes."""

    by: str
    period: Period
    rows: list[RegistryRow]


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Trading per group over a period."""

    by: str
    period: Period
    rows: list[MarketRow]


@dataclass(frozen=True, slots=True)
class PurposeStats:
    """Retirements by purpose over a period."""

    period: Period
    rows: list[PurposeRow]


@dataclass(frozen=True, slots=True)
class ParticipantStats:
    """Participants by kind and country."""

    period: Period
    rows: list[ParticipantRow]


@dataclass(frozen=True, slots=True)
class UsageStats:
    """The usage rules' verdicts on retirements over a period."""

    period: Period
    rows: list[UsageRow]


def _period(start: dt.date | None, end: dt.date | None) -> tuple[str | None, str | None]:
    if start and end and start > end:
        raise InvalidInput(
            "invalid_period", f"The period starts ({start}) after it ends ({end}); swap them."
        )
    return (start.isoformat() if start else None, end.isoformat() if end else None)


def _check_by(by: str, allowed: Sequence[str]) -> None:
    if by not in allowed:
        raise InvalidInput(
            "invalid_grouping", f"Group by {by!r} is not offered; use one of {', '.join(allowed)}."
        )


def _within(col: Any, start: str | None, end: str | None) -> list[Any]:
    out = []
    if start:
        out.append(col >= start)
    if end:
        out.append(col <= end)
    return out


def registry(
    db: Database,
    by: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    credits_only: bool = False,
) -> RegistryStats:
    """Credits issued, imported, transferred, retired, cancelled and exported per ``by``;
    ``credits_only`` leaves out GX-ETS allowances (credit type AL), whose tonnes dwarf the
    credits'."""
    _check_by(by, REGISTRY_BY)
    first, last = _period(start, end)
    seq = fold(db)
    r = stats_registry.c
    key = func.substr(r.day, 1, 7) if by == "month" else getattr(r, by)
    q = (
        select(key.label("key"), r.measure, func.sum(r.quantity).label("quantity"))
        .where(*_within(r.day, first, last))
        .where(*([r.credit_type != ALLOWANCE] if credits_only else []))
        .group_by(key, r.measure)
    )
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    with db.read() as conn:
        for row in conn.execute(q):
            table[str(row.key)][row.measure] += int(row.quantity)
    order = sorted(table, key=lambda k: (int(k) if by == "vintage" else 0, k))
    rows = [RegistryRow(key=k, **table[k]) for k in order if any(table[k].values())]
    return RegistryStats(by, Period(first, last, seq), rows)


def market(
    db: Database, by: str, start: dt.date | None = None, end: dt.date | None = None
) -> MarketStats:
    """Traded volume, value, trades and VWAP per ``by`` (instrument, venue or month)."""
    _check_by(by, MARKET_BY)
    first, last = _period(start, end)
    seq = fold(db)
    m = stats_market.c
    key = func.substr(m.day, 1, 7) if by == "month" else getattr(m, by)
    q = (
        select(
            key.label("key"),
            func.sum(m.volume).label("volume"),
            func.sum(m.value).label("value"),
            func.sum(m.trades).label("trades"),
        )
        .where(*_within(m.day, first, last))
        .group_by(key)
        .order_by(key)
    )
    with db.read() as conn:
        rows = [
            MarketRow(
                key=str(x.key),
                volume=int(x.volume),
                value=int(x.value),
                trades=int(x.trades),
                vwap=_vwap(int(x.value), int(x.volume)),
            )
            for x in conn.execute(q)
            if x.volume or x.trades
        ]
    return MarketStats(by, Period(first, last, seq), rows)


def _vwap(value: int, volume: int) -> int | None:
    return (2 * value + volume) // (2 * volume) if volume > 0 else None


def purposes(
    db: Database, start: dt.date | None = None, end: dt.date | None = None
) -> PurposeStats:
    """Retirements by purpose (a retirement with two purposes counts under each)."""
    first, last = _period(start, end)
    seq = fold(db)
    c = stats_purposes.c
    q = (
        select(c.purpose, func.sum(c.quantity).label("q"), func.sum(c.retirements).label("n"))
        .where(*_within(c.day, first, last))
        .group_by(c.purpose)
        .order_by(func.sum(c.quantity).desc(), c.purpose)
    )
    with db.read() as conn:
        rows = [PurposeRow(x.purpose, int(x.q), int(x.n)) for x in conn.execute(q)]
    return PurposeStats(Period(first, last, seq), rows)


def participants(db: Database) -> ParticipantStats:
    """Participants registered, and active now, by kind and country."""
    seq = fold(db)
    c = stats_participants.c
    with db.read() as conn:
        rows = [
            ParticipantRow(x.kind, x.country, int(x.registered), int(x.active))
            for x in conn.execute(select(stats_participants).order_by(c.kind, c.country))
            if x.registered or x.active
        ]
    return ParticipantStats(Period(None, None, seq), rows)


def usage(db: Database, start: dt.date | None = None, end: dt.date | None = None) -> UsageStats:
    """The usage rules' verdicts on retirements, by purpose, rule set and outcome."""
    first, last = _period(start, end)
    seq = fold(db)
    c = stats_usage.c
    q = (
        select(
            c.purpose,
            c.ruleset,
            c.outcome,
            func.sum(c.tonnes).label("tonnes"),
            func.sum(c.checks).label("checks"),
        )
        .where(*_within(c.day, first, last))
        .group_by(c.purpose, c.ruleset, c.outcome)
        .order_by(c.purpose, c.ruleset, c.outcome)
    )
    with db.read() as conn:
        rows = [
            UsageRow(x.purpose, x.ruleset, x.outcome, int(x.tonnes), int(x.checks))
            for x in conn.execute(q)
        ]
    return UsageStats(Period(first, last, seq), rows)


def instrument_names(db: Database) -> dict[str, tuple[str, str]]:
    """Each listed instrument's English and Japanese names, by id (for the page's labels)."""
    i = t.instruments.c
    with db.read() as conn:
        return {
            r.id: (r.name_en, r.name_ja) for r in conn.execute(select(i.id, i.name_en, i.name_ja))
        }


def to_csv(kind: type, rows: Sequence[Any]) -> str:
    """Rows of one answer as CSV (the header names ``kind``'s fields; formula cells
    neutralised); a header only when there are no rows."""
    buf = io.StringIO()
    names = [f.name for f in dataclasses.fields(kind)]
    w = csv_cells.dict_writer(buf, names)
    w.writeheader()
    for row in rows:
        w.writerow({n: getattr(row, n) for n in names})
    return buf.getvalue()
