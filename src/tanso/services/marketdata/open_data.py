"""Open data (issue 22, docs/open-data.md): the public record of the market and the registry as
bulk files, CSV and Parquet, under the Creative Commons Attribution 4.0 licence.

Datasets (``DATASETS``): trades, daily bars, auctions, index values, issuances and retirements,
one file per calendar month (``tanso-trades-2026-11.csv``), and projects, one full file named by
the day of its last change (``tanso-projects-2026-12-06.csv``). Every column is in the data
dictionary (``DATASETS[...].columns`` here, its meanings in the catalogs, context
``open_data_dictionary``).

What this module must never do: write a participant's id, account, order or name into a file.
Trades are the public prints (instrument, price, quantity, time); retirements are what the public
retirement notice shows to verify a claim, less who retired (its beneficiary and serials stay).

A month's file is *final* when the month is over in Tokyo and, for the market's datasets, no trade
of the month can still be busted (every one settled or busted); from then on the same bytes are
built every time (rows in a fixed order, Parquet written with fixed options), so a download can
be checked against an earlier one. Before that the file is provisional (the month so far).
"""

from __future__ import annotations

import calendar as cal
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, and_, func, select

from tanso.domain import csv_cells
from tanso.domain.bars import Bar
from tanso.domain.errors import NotFound
from tanso.services.marketdata import indices
from tanso.services.trading.exchange import voided_auctions
from tanso.store import schema as t
from tanso.store.db import Database

JST = ZoneInfo("Asia/Tokyo")
PREFIX = "tanso"
FORMS = ("csv", "parquet")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
FILE_RE = re.compile(r"tanso-([a-z]+)-(\d{4}-\d{2}(?:-\d{2})?)\.(csv|parquet)")
LIST_SEPARATOR = ";"
"""Between the items of a list in one cell (a retirement's purposes and serial ranges)."""
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1_000_000,
    "version": "2.6",
    "data_page_version": "1.0",
}
"""Fixed so that the same rows give the same bytes (no time or host is written)."""


@dataclass(frozen=True, slots=True)
class Licence:
    """The licence of every file (CC BY 4.0): its name, where it is, and how to attribute."""

    id: str
    name: str
    url: str
    attribution: str
    text_path: str


LICENCE = Licence(
    id="CC-BY-4.0",
    name="Creative Commons Attribution 4.0 International",
    url="https://creativecommons.org/licenses/by/4.0/",
    attribution="Source: Tanso open data (CC BY 4.0), {url}",
    text_path="/open-data/LICENSE.txt",
)

TYPES = {
    "text": pa.string(),
    "integer": pa.int64(),
    "date": pa.date32(),
    "timestamp": pa.string(),
    "boolean": pa.bool_(),
}
"""Each column type's Parquet type: integers int64, dates date32, timestamps ISO 8601 text."""
CSV_FORMS = {
    "text": "UTF-8 text",
    "integer": "decimal digits",
    "date": "YYYY-MM-DD",
    "timestamp": "ISO 8601 UTC, e.g. 2026-11-30T06:00:00.000000Z",
    "boolean": "true or false",
}


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a dataset: its type (``TYPES``), unit (empty: none) and whether it may be
    empty; its meaning is in the catalogs (``open_data_dictionary``, ``dataset.column``)."""

    name: str
    type: str
    unit: str = ""
    nullable: bool = False

    @property
    def parquet_type(self) -> str:
        return str(TYPES[self.type])


@dataclass(frozen=True, slots=True)
class Period:
    """A month (``2026-11``) or, for a reference dataset, a day (``2026-12-06``)."""

    label: str
    start: dt.date
    end: dt.date
    """The first day after the period."""

    @classmethod
    def month(cls, label: str) -> Period:
        start = dt.date.fromisoformat(label + "-01")
        days = cal.monthrange(start.year, start.month)[1]
        return cls(label, start, start + dt.timedelta(days=days))

    def utc_bounds(self) -> tuple[str, str]:
        """The period's first and last instant (exclusive) in Tokyo, as stored UTC times."""
        return _utc(self.start), _utc(self.end)

    def closes_at(self) -> str:
        return _utc(self.end)


def _utc(day: dt.date) -> str:
    at = dt.datetime.combine(day, dt.time(0), JST).astimezone(dt.UTC)
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _jst_day(at: str) -> dt.date:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(JST).date()


Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset: its columns, whether it comes monthly or as one full file, and how its rows,
    periods and finality are read."""

    name: str
    monthly: bool
    columns: tuple[Column, ...]
    rows: Callable[[Connection, Period], Rows]
    periods: Callable[[Connection], Counter[str]]
    """Row count per period label."""
    market: bool = False
    """Its month is final only when no trade of the month can still be busted."""
    changed_at: Callable[[Connection, Period], str | None] | None = None
    """The latest change to a closed month (a restatement, a settlement, a bust)."""


# ---------------------------------------------------------------- trades


def _date_periods(table: Any, column: Any, *where: Any) -> Callable[[Connection], Counter[str]]:
    def periods(conn: Connection) -> Counter[str]:
        month = func.substr(column, 1, 7)
        q = select(month, func.count()).select_from(table).where(*where).group_by(month)
        return Counter({str(m): int(n) for m, n in conn.execute(q)})

    return periods


def _in_month(column: Any, p: Period) -> Any:
    return and_(column >= p.start.isoformat(), column < p.end.isoformat())


def _trade_rows(conn: Connection, p: Period) -> Rows:
    tr = t.trades.c
    q = (
        select(
            tr.id,
            tr.trade_date,
            tr.at,
            tr.instrument_id,
            tr.price,
            tr.quantity,
            tr.currency,
            tr.auction,
            tr.busted,
            tr.journal_seq,
        )
        .where(_in_month(tr.trade_date, p))
        .order_by(tr.journal_seq, tr.id)
    )
    return [
        (
            r.id,
            r.trade_date,
            r.at,
            r.instrument_id,
            r.price,
            r.quantity,
            r.price * r.quantity,
            r.currency,
            bool(r.auction),
            bool(r.busted),
            r.journal_seq,
        )
        for r in conn.execute(q)
    ]


def _trades_changed(conn: Connection, p: Period) -> str | None:
    tr, ob = t.trades.c, t.settlement_obligations.c
    settled = conn.execute(
        select(func.max(ob.settled_at))
        .select_from(t.trades.join(t.settlement_obligations, ob.deal_id == tr.id))
        .where(_in_month(tr.trade_date, p))
    ).scalar()
    busted = conn.execute(
        select(func.max(tr.busted_at)).where(_in_month(tr.trade_date, p))
    ).scalar()
    return max((x for x in (settled, busted) if x), default=None)


def pending_trades(conn: Connection, p: Period) -> int:
    """Trades of the month that can still be busted: neither settled nor busted."""
    tr, ob = t.trades.c, t.settlement_obligations.c
    q = (
        select(func.count())
        .select_from(t.trades.outerjoin(t.settlement_obligations, ob.deal_id == tr.id))
        .where(
            _in_month(tr.trade_date, p),
            tr.busted.is_(False),
            (ob.status.is_(None)) | (ob.status != "settled"),
        )
    )
    return int(conn.execute(q).scalar_one())


# ---------------------------------------------------------------- bars, auctions, indices


def _bar_rows(conn: Connection, p: Period) -> Rows:
    b = t.bars.c
    q = (
        select(t.bars)
        .where(b.interval == "1d", _in_month(b.period_start, p))
        .order_by(b.period_start, b.instrument_id)
    )
    out = []
    for r in conn.execute(q):
        bar = Bar.of(r)
        out.append(
            (
                r.period_start,
                r.instrument_id,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                bar.value,
                bar.vwap,
                bar.trades,
                bool(r.restated),
            )
        )
    return out


def _auction_rows(conn: Connection, p: Period) -> Rows:
    a = t.auctions.c
    q = select(t.auctions).where(_in_month(a.trade_date, p)).order_by(a.journal_seq, a.id)
    rows = conn.execute(q).all()
    voided = voided_auctions(conn, None, min(r.journal_seq for r in rows)) if rows else set()
    return [
        (
            r.trade_date,
            r.at,
            r.instrument_id,
            r.kind,
            r.price,
            r.volume,
            r.journal_seq,
            r.journal_seq in voided,
        )
        for r in rows
    ]


def _index_rows(conn: Connection, p: Period) -> Rows:
    iv = t.index_values.c
    q = select(t.index_values).where(_in_month(iv.date, p)).order_by(iv.date, iv.index_id)
    return [
        (
            r.date,
            r.index_id,
            None if r.rule == "none" else r.value,
            r.rule,
            r.volume,
            indices.CURRENCY,
            "JPY/t-CO2",
            r.at,
            r.restated_at,
        )
        for r in conn.execute(q)
    ]


def _indices_changed(conn: Connection, p: Period) -> str | None:
    iv = t.index_values.c
    q = select(func.max(iv.restated_at)).where(_in_month(iv.date, p))
    value: str | None = conn.execute(q).scalar()
    return value


# ---------------------------------------------------------------- registry


def _timestamp_periods(
    query: Callable[[], Any],
) -> Callable[[Connection], Counter[str]]:
    def periods(conn: Connection) -> Counter[str]:
        return Counter(_jst_day(at).isoformat()[:7] for (at,) in conn.execute(query()))

    return periods


def _issuance_query() -> Any:
    i, j = t.issuances.c, t.journal.c
    return select(j.at).select_from(t.issuances.join(t.journal, j.seq == i.journal_seq))


def _issuance_rows(conn: Connection, p: Period) -> Rows:
    i, j, pr = t.issuances.c, t.journal.c, t.projects.c
    start, end = p.utc_bounds()
    q = (
        select(t.issuances, j.at, pr.scheme, pr.category, pr.mechanism)
        .select_from(
            t.issuances.join(t.journal, j.seq == i.journal_seq).join(
                t.projects, pr.id == i.project_id
            )
        )
        .where(j.at >= start, j.at < end)
        .order_by(i.journal_seq, i.id)
    )
    return [
        (
            r.id,
            r.at,
            r.project_id,
            r.scheme,
            r.category,
            r.mechanism,
            r.credit_type,
            r.round,
            r.vintage,
            r.certified_on,
            r.quantity,
            f"{r.id}-1-{r.quantity}",
            r.ca_declaration,
            r.origin,
            r.external_registry,
        )
        for r in conn.execute(q)
    ]


def _retirement_query() -> Any:
    return select(t.retirements.c.created_at)


def _retirement_rows(conn: Connection, p: Period) -> Rows:
    rt, m = t.retirements.c, t.credit_movements.c
    start, end = p.utc_bounds()
    # never participant_id, account_id or note: who retired is not in the file
    q = (
        select(
            rt.id,
            rt.created_at,
            rt.quantity,
            rt.purposes,
            rt.scope,
            rt.reporting_year,
            rt.beneficiary,
        )
        .where(rt.created_at >= start, rt.created_at < end)
        .order_by(rt.journal_seq, rt.id)
    )
    rows = conn.execute(q).all()
    ranges: dict[str, list[str]] = {}
    ids = [r.id for r in rows]
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        moves = select(m.ref, m.issuance_id, m.serial_start, m.serial_end).where(
            m.kind == "retirement", m.ref.in_(chunk)
        )
        for mv in conn.execute(moves.order_by(m.ref, m.issuance_id, m.serial_start)):
            ranges.setdefault(mv.ref, []).append(
                f"{mv.issuance_id}-{mv.serial_start}-{mv.serial_end}"
            )
    return [
        (
            r.id,
            r.created_at,
            r.quantity,
            LIST_SEPARATOR.join(r.purposes.split(",")),
            r.scope,
            r.reporting_year,
            r.beneficiary,
            LIST_SEPARATOR.join(ranges.get(r.id, [])),
            f"/verify/{r.id}",
        )
        for r in rows
    ]


# ---------------------------------------------------------------- projects


def _project_rows(conn: Connection, p: Period) -> Rows:
    pr = t.projects.c
    q = select(t.projects).where(pr.created_at < _utc(p.end)).order_by(pr.id)
    return [
        (
            r.id,
            r.scheme,
            r.name,
            r.name_ja,
            r.country,
            r.region,
            r.developer,
            r.methodology,
            r.category,
            r.mechanism,
            r.nature,
            r.created_at,
        )
        for r in conn.execute(q)
    ]


def _project_periods(conn: Connection) -> Counter[str]:
    pr = t.projects.c
    last, count = conn.execute(select(func.max(pr.created_at), func.count())).one()
    return Counter({_jst_day(last).isoformat(): int(count)}) if last else Counter()


# ---------------------------------------------------------------- the datasets

YEN_PER_T = "currency/t-CO2"
TONNES = "t-CO2"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "trades",
            True,
            (
                Column("trade_id", "text"),
                Column("trade_date", "date"),
                Column("traded_at", "timestamp"),
                Column("instrument", "text"),
                Column("price", "integer", YEN_PER_T),
                Column("quantity", "integer", TONNES),
                Column("value", "integer", "currency"),
                Column("currency", "text"),
                Column("auction", "boolean"),
                Column("busted", "boolean"),
                Column("journal_seq", "integer"),
            ),
            _trade_rows,
            _date_periods(t.trades, t.trades.c.trade_date),
            market=True,
            changed_at=_trades_changed,
        ),
        Dataset(
            "bars",
            True,
            (
                Column("date", "date"),
                Column("instrument", "text"),
                Column("open", "integer", YEN_PER_T),
                Column("high", "integer", YEN_PER_T),
                Column("low", "integer", YEN_PER_T),
                Column("close", "integer", YEN_PER_T),
                Column("volume", "integer", TONNES),
                Column("value", "integer", "currency"),
                Column("vwap", "integer", YEN_PER_T),
                Column("trades", "integer"),
                Column("restated", "boolean"),
            ),
            _bar_rows,
            _date_periods(t.bars, t.bars.c.period_start, t.bars.c.interval == "1d"),
            market=True,
            changed_at=_trades_changed,
        ),
        Dataset(
            "auctions",
            True,
            (
                Column("trade_date", "date"),
                Column("auction_at", "timestamp"),
                Column("instrument", "text"),
                Column("kind", "text"),
                Column("price", "integer", YEN_PER_T, nullable=True),
                Column("volume", "integer", TONNES),
                Column("auction_seq", "integer"),
                Column("voided", "boolean"),
            ),
            _auction_rows,
            _date_periods(t.auctions, t.auctions.c.trade_date),
            market=True,
            changed_at=_trades_changed,
        ),
        Dataset(
            "indices",
            True,
            (
                Column("date", "date"),
                Column("index", "text"),
                Column("value", "integer", "JPY/t-CO2", nullable=True),
                Column("rule", "text"),
                Column("volume", "integer", TONNES),
                Column("currency", "text"),
                Column("unit", "text"),
                Column("published_at", "timestamp"),
                Column("restated_at", "timestamp", nullable=True),
            ),
            _index_rows,
            _date_periods(t.index_values, t.index_values.c.date),
            changed_at=_indices_changed,
        ),
        Dataset(
            "issuances",
            True,
            (
                Column("issuance_id", "text"),
                Column("recorded_at", "timestamp"),
                Column("project_id", "text"),
                Column("scheme", "text"),
                Column("category", "text"),
                Column("mechanism", "text"),
                Column("credit_type", "text"),
                Column("round", "text"),
                Column("vintage", "integer", "year"),
                Column("certified_on", "date"),
                Column("quantity", "integer", TONNES),
                Column("serials", "text"),
                Column("ca_declaration", "text"),
                Column("origin", "text"),
                Column("external_registry", "text", nullable=True),
            ),
            _issuance_rows,
            _timestamp_periods(_issuance_query),
        ),
        Dataset(
            "retirements",
            True,
            (
                Column("retirement_id", "text"),
                Column("retired_at", "timestamp"),
                Column("quantity", "integer", TONNES),
                Column("purposes", "text"),
                Column("scope", "text"),
                Column("reporting_year", "integer", "year"),
                Column("beneficiary", "text"),
                Column("serials", "text"),
                Column("verify_path", "text"),
            ),
            _retirement_rows,
            _timestamp_periods(_retirement_query),
        ),
        Dataset(
            "projects",
            False,
            (
                Column("project_id", "text"),
                Column("scheme", "text"),
                Column("name", "text"),
                Column("name_ja", "text"),
                Column("country", "text"),
                Column("region", "text"),
                Column("developer", "text"),
                Column("methodology", "text"),
                Column("category", "text"),
                Column("mechanism", "text"),
                Column("nature", "text"),
                Column("registered_at", "timestamp"),
            ),
            _project_rows,
            _project_periods,
        ),
    )
}


# ---------------------------------------------------------------- the catalog


@dataclass(frozen=True, slots=True)
class DataFile:
    """A dataset's file for one period, in both forms: rows, and whether it is final (it will
    never change) and since when."""

    dataset: str
    period: str
    name: str
    rows: int
    final: bool
    final_at: str | None
    csv: str
    parquet: str


@dataclass(frozen=True, slots=True)
class DatasetFiles:
    name: str
    period: str
    """``month`` (a file a month) or ``snapshot`` (one full file, dated by its last change)."""
    columns: int
    files: list[DataFile]


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every dataset and its files, the licence, the dictionary and the feed."""

    licence: Licence
    dictionary: dict[str, str]
    feed: str
    datasets: list[DatasetFiles]


def file_name(dataset: str, period: str, form: str) -> str:
    return f"{PREFIX}-{dataset}-{period}.{form}"


def file_path(dataset: str, period: str, form: str) -> str:
    return f"/open-data/{dataset}/{file_name(dataset, period, form)}"


def _now(db: Database) -> dt.datetime:
    return dt.datetime.fromisoformat(db.clock().replace("Z", "+00:00"))


def _files(conn: Connection, d: Dataset, today: dt.date) -> list[DataFile]:
    out = []
    for label, rows in sorted(d.periods(conn).items()):
        final, final_at = True, None
        if d.monthly:
            p = Period.month(label)
            final = today >= p.end and not (d.market and pending_trades(conn, p))
            if final:
                changed = d.changed_at(conn, p) if d.changed_at else None
                final_at = max(p.closes_at(), changed or "")
        else:  # a snapshot is named by the day of its last change: that name never changes
            final_at = conn.execute(select(func.max(t.projects.c.created_at))).scalar()
        out.append(
            DataFile(
                d.name,
                label,
                f"{PREFIX}-{d.name}-{label}",
                rows,
                final,
                final_at,
                file_path(d.name, label, "csv"),
                file_path(d.name, label, "parquet"),
            )
        )
    return out


def catalog(db: Database) -> Catalog:
    """What is published: each dataset's files (oldest first) with their row counts."""
    today = _now(db).astimezone(JST).date()
    with db.read() as conn:
        datasets = [
            DatasetFiles(
                d.name,
                "month" if d.monthly else "snapshot",
                len(d.columns),
                _files(conn, d, today),
            )
            for d in DATASETS.values()
        ]
    return Catalog(
        licence=LICENCE,
        dictionary={
            "html": "/open-data/dictionary",
            "json": "/v1/open-data/dictionary",
            "csv": "/v1/open-data/dictionary?format=csv",
        },
        feed="/open-data.atom",
        datasets=datasets,
    )


def final_files(db: Database) -> list[DataFile]:
    """The files that will never change, latest first (the Atom feed's entries)."""
    files = [f for d in catalog(db).datasets for f in d.files if f.final]
    return sorted(files, key=lambda f: (f.final_at or "", f.dataset, f.period), reverse=True)


# ---------------------------------------------------------------- building a file


@dataclass(frozen=True, slots=True)
class Built:
    name: str
    media_type: str
    body: bytes
    final: bool


def parse_name(dataset: str, name: str) -> tuple[str, str]:
    """The period and form a file name asks for, or 404 when it is not one of ours."""
    m = FILE_RE.fullmatch(name)
    d = DATASETS.get(dataset)
    if d is None:
        known = ", ".join(DATASETS)
        raise NotFound(
            "open_data_dataset_not_found", f"There is no dataset {dataset}; there are {known}."
        )
    if m is None or m.group(1) != dataset or (len(m.group(2)) == 7) != d.monthly:
        example = file_name(dataset, "2026-11" if d.monthly else "2026-12-06", "csv")
        raise NotFound(
            "open_data_file_not_found",
            f"{name} is not a file of {dataset}: its files are named like {example} "
            "(the catalog at /v1/open-data lists them).",
        )
    return m.group(2), m.group(3)


def build_file(db: Database, dataset: str, name: str) -> Built:
    """One file of the catalog, built from the records (the same bytes for a final one)."""
    label, form = parse_name(dataset, name)
    d = DATASETS[dataset]
    today = _now(db).astimezone(JST).date()
    with db.read() as conn:
        files = {f.period: f for f in _files(conn, d, today)}
        f = files.get(label)
        if f is None:
            listed = ", ".join(sorted(files)[-3:]) or "none yet"
            raise NotFound(
                "open_data_file_not_found",
                f"There is no file {name}: {dataset} has files for {len(files)} periods "
                f"(latest: {listed}).",
            )
        p = Period.month(label) if d.monthly else _day(label)
        rows = d.rows(conn, p)
    body = to_csv(d.columns, rows) if form == "csv" else to_parquet(d.columns, rows)
    return Built(name, MEDIA_TYPES[form], body, f.final)


def _day(label: str) -> Period:
    day = dt.date.fromisoformat(label)
    return Period(label, day, day + dt.timedelta(days=1))


def _cell(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if column.type == "boolean":
        return "true" if value else "false"
    return value


def to_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a header row (RFC 4180 line ends); formula cells neutralised."""
    buf = io.StringIO()
    w = csv_cells.writer(buf)
    w.writerow([c.name for c in columns])
    for row in rows:
        w.writerow([_cell(c, v) for c, v in zip(columns, row, strict=True)])
    return buf.getvalue().encode("utf-8")


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, TYPES[c.type], nullable=c.nullable) for c in columns])


def to_parquet(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> bytes:
    """Parquet with the dictionary's types (int64, date32, string, bool), written the same way
    every time."""
    arrays = []
    for i, c in enumerate(columns):
        values = [r[i] for r in rows]
        if c.type == "date":
            values = [dt.date.fromisoformat(v) if v is not None else None for v in values]
        arrays.append(pa.array(values, type=TYPES[c.type]))
    table = pa.Table.from_arrays(arrays, schema=arrow_schema(columns))
    sink = io.BytesIO()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue()


# ---------------------------------------------------------------- the dictionary


@dataclass(frozen=True, slots=True)
class DictionaryColumn:
    dataset: str
    name: str
    type: str
    parquet_type: str
    csv_form: str
    unit: str
    nullable: bool
    meaning_en: str
    meaning_ja: str


def dictionary(meanings: Callable[[str], tuple[str, str]]) -> list[DictionaryColumn]:
    """Every column of every dataset; ``meanings`` gives a key's English and Japanese text."""
    return [
        DictionaryColumn(
            d.name,
            c.name,
            c.type,
            c.parquet_type,
            CSV_FORMS[c.type],
            c.unit,
            c.nullable,
            *meanings(f"{d.name}.{c.name}"),
        )
        for d in DATASETS.values()
        for c in d.columns
    ]


DICTIONARY_COLUMNS = (
    "dataset",
    "name",
    "type",
    "parquet_type",
    "csv_form",
    "unit",
    "nullable",
    "meaning_en",
    "meaning_ja",
)


def dictionary_csv(entries: Iterable[DictionaryColumn]) -> str:
    buf = io.StringIO()
    w = csv_cells.writer(buf)
    w.writerow(DICTIONARY_COLUMNS)
    for e in entries:
        row = [getattr(e, k) for k in DICTIONARY_COLUMNS]
        w.writerow(["true" if v is True else "false" if v is False else v for v in row])
    return buf.getvalue()


def read_csv(body: bytes) -> list[dict[str, str]]:
    """A file written here read back, formula prefixes undone (tests, users' checks)."""
    reader = csv.DictReader(io.StringIO(body.decode("utf-8")))
    return [{k: csv_cells.unneutralise(v) for k, v in row.items()} for row in reader]
