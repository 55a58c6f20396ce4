"""Answers of the exchange's routes: instruments, sessions, orders and trades, public market
data (trades, auctions, bars, indices, the daily report), and settlement."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import Out, answer
from tanso.api.schemas_registry import Range
from tanso.domain import instruments
from tanso.services.clearing import settlement
from tanso.services.marketdata import daily_report, indices
from tanso.services.trading import exchange

# ---------------------------------------------------------------- instruments and sessions


Eligibility = answer(instruments.Eligibility)


class Sessions(Out):
    """The trading sessions: the call auctions' times (板寄せ) and the order-accepting windows,
    as ``HH:MM:SS`` in the instrument's time zone."""

    accept: list[list[str]]
    auctions: list[str]
    timezone: str
    weekdays: list[int] | None = None


Instrument = answer(exchange.Instrument, eligibility=Eligibility, sessions=Sessions | None)


Trade = answer(exchange.Trade)


AuctionEvent = answer(exchange.AuctionEvent)


SessionChange = answer(exchange.SessionChange, eligibility=Eligibility, sessions=Sessions | None)


BookLevel = answer(exchange.BookLevel)


Book = answer(exchange.Book)


# ---------------------------------------------------------------- orders and trades


Order = answer(exchange.Order)


class OrderEvent(Out):
    """What the order did in the book: `accepted`, `trade`, `amended`, `cancelled` ..."""

    event: str
    id: str | None = None
    instrument: str | None = None
    price: int | None = None
    quantity: int | None = None
    buy: str | None = None
    sell: str | None = None
    buyer: str | None = None
    seller: str | None = None
    reason: str | None = None
    kept_priority: bool | None = None


PlacedOrder = answer(exchange.PlacedOrder, events=list[OrderEvent])


OwnTrade = answer(exchange.OwnTrade)
Bust = answer(exchange.Bust)


PublicTrade = answer(exchange.PublicTrade)


AuctionResult = answer(exchange.AuctionResult)


# ---------------------------------------------------------------- bars, indices, daily report


BarValues = answer(daily_report.DayBar, "BarValues")


class Bar(Out):
    """4本値 of one interval: open, high, low, close, with volume, value, VWAP and trades."""

    instrument: str
    interval: str
    start: str
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    vwap: int
    trades: int


class IndexComponent(Out):
    """A category index inside the composite; without a value yet, it is ``null``."""

    index: str
    rule: str
    value: int | None
    weight: int


class IndexDetail(Out):
    """How an index value was found; which fields appear depends on its rule
    (docs/indices.md)."""

    window: list[str] | None = None
    instruments: list[str] | None = None
    trades: int | None = None
    value: int | None = None
    volume: int | None = None
    bid: int | None = None
    ask: int | None = None
    from_: str | None = Field(default=None, alias="from")
    components: list[IndexComponent] | None = None
    weights: int | None = None


IndexValue = answer(indices.IndexValue, detail=IndexDetail)


class ReportLinks(Out):
    html_en: str
    html_ja: str
    csv_en: str
    csv_ja: str
    pdf_en: str
    pdf_ja: str
    json_: str = Field(alias="json")


class ReportDate(Out):
    """A day with a daily report (日報), with a link to each form."""

    date: str
    links: ReportLinks


ReportAuction = answer(daily_report.AuctionPrint, "ReportAuction")


ReportInstrument = answer(daily_report.InstrumentDay, "ReportInstrument")


ReportTotals = answer(daily_report.Totals, "ReportTotals")


DailyReport = answer(daily_report.DailyReport)


# ---------------------------------------------------------------- settlement


FeeSchedule = answer(settlement.Fees, "FeeSchedule")


Obligation = answer(settlement.ObligationView, "Obligation")


class ObligationResolution(Out):
    """A failed obligation settled now (its legs and the late charge), or cancelled (what was
    released)."""

    deal_id: str
    venue: str
    status: str | None = None
    released_credits: int | None = None
    released_cash: int | None = None
    buyer: str | None = None
    seller: str | None = None
    quantity: int | None = None
    amount: int | None = None
    buyer_fee: int | None = None
    seller_fee: int | None = None
    late_charge: int | None = None
    currency: str | None = None
    ranges: list[Range] | None = None
    due_date: str | None = None


SettlementFailure = answer(settlement.Failed, "SettlementFailure")


SettlementRun = answer(settlement.Run, "SettlementRun")


SettlementRunSummary = answer(settlement.RunSummary, "SettlementRunSummary")


ReportObligation = answer(settlement.ReportRow, "ReportObligation")


ObligationCounts = answer(settlement.Counts, "ObligationCounts")


SettlementReport = answer(settlement.Report, "SettlementReport")
