"""The weekly (週報) and monthly (月報) market reports: a period's figures, folded from the daily
reports (日報) of its days.

A period is an ISO 8601 week (``2026-W49``, Monday to Sunday; week 53 only in a year that has
one) or a calendar month (``2026-12``). Per instrument: the period's bar (4本値 over the period:
the first traded day's open, the highest high, the lowest low, the last traded day's close;
volume, value, VWAP with the bars' rounding, trades), the business days it traded, its call
auctions (held, traded, volume) and the reference price after the period; per index: first,
last, high, low and change; then the sealed-bid auctions cleared in the period and the
registry's activity (credits issued, retired and transferred, by scheme).

The market figures are built only by folding ``daily_report.build`` of each day with data, so a
period report always equals the sum of its daily reports; the sealed-bid results and registry
activity are read from their tables by Tokyo date. It never names a participant.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from tanso.domain.bars import Bar, combine
from tanso.domain.errors import InvalidInput, NotFound
from tanso.services.marketdata import daily_report, stats
from tanso.services.marketdata.daily_report import DailyReport, DayBar
from tanso.services.trading.exchange import Exchange, trade_date
from tanso.store.db import Database
from tanso.store.schema_sealed import sealed_auctions

KINDS = ("weekly", "monthly")
WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)
MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
YEARS = (1900, 9998)  # a period and the days around it stay inside the calendar's range


@dataclass(frozen=True, slots=True)
class Period:
    """A report period: its kind (weekly, monthly), its name and its first and last day."""

    kind: str
    name: str
    start: dt.date
    end: dt.date

    def holds(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def week(text: str) -> Period:
    """The ISO 8601 week ``YYYY-Www`` (Monday to Sunday); 422 when it is not a week."""
    m = WEEK.match(text)
    if not m:
        raise InvalidInput(
            "invalid_week", f"A week is written YYYY-Www (ISO 8601, e.g. 2026-W49), not {text!r}."
        )
    year, number = _year(int(m[1]), "invalid_week"), int(m[2])
    weeks = dt.date(year, 12, 28).isocalendar().week  # 28 December is always in the last week
    if not 1 <= number <= weeks:
        raise InvalidInput(
            "invalid_week",
            f"ISO year {year} has weeks 01 to {weeks}: there is no week {text}.",
        )
    start = dt.date.fromisocalendar(year, number, 1)
    return Period("weekly", f"{year:04d}-W{number:02d}", start, start + dt.timedelta(days=6))


def month(text: str) -> Period:
    """The calendar month ``YYYY-MM``; 422 when it is not a month."""
    m = MONTH.match(text)
    if not m or not 1 <= int(m[2]) <= 12:
        raise InvalidInput(
            "invalid_month", f"A month is written YYYY-MM (e.g. 2026-12), not {text!r}."
        )
    start = dt.date(_year(int(m[1]), "invalid_month"), int(m[2]), 1)
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return Period("monthly", f"{start:%Y-%m}", start, following - dt.timedelta(days=1))


def _year(year: int, code: str) -> int:
    if not YEARS[0] <= year <= YEARS[1]:
        raise InvalidInput(code, f"A report's year is from {YEARS[0]} to {YEARS[1]}, not {year}.")
    return year


def period_of(kind: str, day: dt.date) -> Period:
    """The week or month that holds ``day``."""
    if kind == "weekly":
        iso = day.isocalendar()
        return week(f"{iso.year:04d}-W{iso.week:02d}")
    if kind == "monthly":
        return month(f"{day:%Y-%m}")
    raise InvalidInput("invalid_period", f"A report period is one of {', '.join(KINDS)}.")


def parse(kind: str, text: str) -> Period:
    """The period named ``text`` of a kind (weekly: ``YYYY-Www``, monthly: ``YYYY-MM``)."""
    if kind == "weekly":
        return week(text)
    if kind == "monthly":
        return month(text)
    raise InvalidInput("invalid_period", f"A report period is one of {', '.join(KINDS)}.")


# ---------------------------------------------------------------- the figures


@dataclass(frozen=True, slots=True)
class InstrumentPeriod:
    """One instrument over the period: its bar (None: nothing traded), the business days it
    traded, its call auctions, and the reference price and limits after the period's last day."""

    id: str
    name_en: str
    name_ja: str
    category: str
    bar: DayBar | None
    days_traded: int
    auctions: int
    auctions_traded: int
    auction_volume: int
    reference_price: int
    lower_limit: int
    upper_limit: int


@dataclass(frozen=True, slots=True)
class IndexPeriod:
    """One benchmark index over the period: first, last, highest and lowest published value and
    the change from first to last (None when no value was published)."""

    id: str
    name_en: str
    name_ja: str
    days: int
    first: int | None
    last: int | None
    high: int | None
    low: int | None
    change: int | None
    restated: bool


@dataclass(frozen=True, slots=True)
class SealedResult:
    """A sealed-bid auction cleared in the period: its published result (no bid, no bidder)."""

    id: str
    title: str
    cleared_at: str
    currency: str
    clearing_price: int | None
    sold: int
    unsold: int
    bidders: int


@dataclass(frozen=True, slots=True)
class RegistryActivity:
    """Credits issued, retired and transferred in the period, of one scheme (tonnes)."""

    scheme: str
    issued: int
    retired: int
    transferred: int


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    volume: int
    value: int
    trades: int
    days_traded: int
    auctions: int
    auction_volume: int
    issued: int
    retired: int
    transferred: int


@dataclass(frozen=True, slots=True)
class PeriodReport:
    """The weekly or monthly market report's figures."""

    kind: str
    period: str
    start: str
    end: str
    days: list[str]
    currency: str
    instruments: list[InstrumentPeriod]
    indices: list[IndexPeriod]
    sealed_auctions: list[SealedResult]
    registry: list[RegistryActivity]
    totals: PeriodTotals


def fold_bars(bars: Iterable[DayBar]) -> DayBar | None:
    """The period's bar from its days' bars in date order (``bars.combine``), restated if any
    day's was."""
    days = list(bars)
    bar = combine(Bar(b.open, b.high, b.low, b.close, b.volume, b.value, b.trades) for b in days)
    if bar is None:
        return None
    return DayBar(
        open=bar.open,
        high=bar.high,
        low=bar.low,
        close=bar.close,
        volume=bar.volume,
        value=bar.value,
        vwap=bar.vwap,
        trades=bar.trades,
        restated=any(b.restated for b in days),
    )


def fold_instruments(dailies: Sequence[DailyReport]) -> list[InstrumentPeriod]:
    """Each instrument's period from the daily reports in date order, in the last day's order."""
    if not dailies:
        return []
    out = []
    for last in dailies[-1].instruments:
        days = [r for d in dailies for r in d.instruments if r.id == last.id]
        auctions = [a for r in days for a in r.auctions]
        out.append(
            InstrumentPeriod(
                id=last.id,
                name_en=last.name_en,
                name_ja=last.name_ja,
                category=last.category,
                bar=fold_bars(r.bar for r in days if r.bar),
                days_traded=sum(1 for r in days if r.bar),
                auctions=len(auctions),
                auctions_traded=sum(1 for a in auctions if a.volume > 0),
                auction_volume=sum(a.volume for a in auctions),
                reference_price=last.reference_price,
                lower_limit=last.lower_limit,
                upper_limit=last.upper_limit,
            )
        )
    return out


def fold_indices(dailies: Sequence[DailyReport]) -> list[IndexPeriod]:
    """Each index's period from the daily reports' published values, in first-seen order."""
    ids = list(dict.fromkeys(i.id for d in dailies for i in d.indices))
    out = []
    for index_id in ids:
        rows = [i for d in dailies for i in d.indices if i.id == index_id]
        values = [i.value for i in rows if i.value is not None]
        first, last = (values[0], values[-1]) if values else (None, None)
        out.append(
            IndexPeriod(
                id=index_id,
                name_en=rows[-1].name_en,
                name_ja=rows[-1].name_ja,
                days=len(rows),
                first=first,
                last=last,
                high=max(values) if values else None,
                low=min(values) if values else None,
                change=None if first is None or last is None else last - first,
                restated=any(i.restated_at for i in rows),
            )
        )
    return out


# ---------------------------------------------------------------- building a report


def period_dates(db: Database, period: Period) -> list[dt.date]:
    """The days of the period with a daily report, oldest first."""
    days = (dt.date.fromisoformat(d) for d in daily_report.report_dates(db))
    return sorted(d for d in days if period.holds(d))


def build(db: Database, exchange: Exchange | None, period: Period) -> PeriodReport:
    """The report's figures for one period; 404 when none of its days has market data."""
    days = period_dates(db, period)
    if not days:
        raise NotFound(
            "no_market_data",
            f"There is no market data in {period.name} ({period.start} to {period.end}).",
        )
    dailies = [daily_report.build(db, exchange, d) for d in days]
    instruments = fold_instruments(dailies)
    with db.read() as conn:
        sealed = _sealed_results(conn, period)
    registry = _registry_activity(db, period)
    return PeriodReport(
        kind=period.kind,
        period=period.name,
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        days=[d.isoformat() for d in days],
        currency="JPY",
        instruments=instruments,
        indices=fold_indices(dailies),
        sealed_auctions=sealed,
        registry=registry,
        totals=PeriodTotals(
            volume=sum(d.totals.volume for d in dailies),
            value=sum(d.totals.value for d in dailies),
            trades=sum(r.bar.trades for r in instruments if r.bar),
            days_traded=sum(1 for d in dailies if any(r.bar for r in d.instruments)),
            auctions=sum(r.auctions for r in instruments),
            auction_volume=sum(r.auction_volume for r in instruments),
            issued=sum(r.issued for r in registry),
            retired=sum(r.retired for r in registry),
            transferred=sum(r.transferred for r in registry),
        ),
    )


def periods(db: Database, kind: str) -> list[Period]:
    """Every week or month with market data, newest first."""
    found: dict[str, Period] = {}
    for day in daily_report.report_dates(db):
        p = period_of(kind, dt.date.fromisoformat(day))
        found.setdefault(p.name, p)
    return sorted(found.values(), key=lambda p: p.start, reverse=True)


def _utc_bounds(period: Period) -> tuple[str, str]:
    """A range of stored UTC timestamps wide enough to hold every Tokyo moment of the period;
    rows are then kept by their Tokyo date."""
    return (period.start - dt.timedelta(days=1)).isoformat(), (
        period.end + dt.timedelta(days=2)
    ).isoformat()


def _sealed_results(conn: Connection, period: Period) -> list[SealedResult]:
    a = sealed_auctions.c
    low, high = _utc_bounds(period)
    rows = conn.execute(
        select(sealed_auctions)
        .where(a.status == "cleared", a.cleared_at >= low, a.cleared_at < high)
        .order_by(a.cleared_at, a.id)
    ).all()
    return [
        SealedResult(
            id=r.id,
            title=r.title,
            cleared_at=r.cleared_at,
            currency=r.currency,
            clearing_price=r.clearing_price,
            sold=int(r.sold or 0),
            unsold=int(r.unsold or 0),
            bidders=int(r.bidders or 0),
        )
        for r in rows
        if period.holds(trade_date(r.cleared_at))
    ]


def _registry_activity(db: Database, period: Period) -> list[RegistryActivity]:
    """Tonnes issued, retired and transferred per scheme in the period: the public statistics'
    figures (services/marketdata/stats.py), so a report and /stats never disagree."""
    rows = stats.registry(db, "scheme", period.start, period.end).rows
    return [
        RegistryActivity(r.key, r.issued, r.retired, r.transferred)
        for r in rows
        if r.issued or r.retired or r.transferred
    ]


def day_links(day: dt.date) -> dict[str, str]:
    """The week and the month a daily report belongs to (for its page's links)."""
    return {kind: period_of(kind, day).name for kind in KINDS}
