"""Answers of the exchange's routes: instruments, sessions, orders and trades, public market
data (trades, auctions, bars, indices, the daily report), and settlement."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import Out
from tanso.api.schemas_registry import Range

# ---------------------------------------------------------------- instruments and sessions


class Eligibility(Out):
    """Which credits an instrument trades; an empty list means any."""

    schemes: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)
    vintage_from: int | None = None
    vintage_to: int | None = None
    ca_statuses: list[str] = Field(default_factory=list)


class Sessions(Out):
    """The trading sessions: the call auctions' times (板寄せ) and the order-accepting windows."""

    accept: list[list[str]]
    auctions: list[str]
    timezone: str
    weekdays: list[int] | None = None


class Instrument(Out):
    """An instrument with its rules, reference price (基準値段) and today's price limits."""

    id: str
    name_en: str
    name_ja: str
    kind: str
    eligibility: Eligibility
    currency: str
    tick: int
    lot: int
    price_limit_pct: int
    market_orders: bool
    mode: str
    sessions: Sessions | None
    settlement_days: int
    reference_price: int | None
    state: str
    lower_limit: int | None = None
    upper_limit: int | None = None


class Trade(Out):
    """A trade as its own parties see it when it happens (never the counterparty)."""

    id: str
    instrument: str
    price: int
    quantity: int
    trade_date: str
    settlement_date: str


class AuctionEvent(Out):
    """A call auction's outcome: its price, or none (no trade), and its volume."""

    event: str
    instrument: str
    price: int | None
    volume: int
    kind: str
    reference_price: int


class SessionChange(Instrument):
    """The instrument after a session action, with the trades and auctions it caused."""

    trades: list[Trade]
    auctions: list[AuctionEvent]


class BookLevel(Out):
    price: int
    quantity: int
    orders: int


class Book(Out):
    """Book depth aggregated per price, best first."""

    instrument: str
    phase: str
    reference_price: int
    lower_limit: int
    upper_limit: int
    bids: list[BookLevel]
    asks: list[BookLevel]


# ---------------------------------------------------------------- orders and trades


class Order(Out):
    """An order: `quantity` as placed (or amended), `remaining` and `filled`."""

    id: str
    instrument: str
    participant_id: str
    account_id: str | None
    side: str
    type: str
    price: int | None
    quantity: int
    remaining: int
    filled: int
    tif: str
    status: str
    reason: str | None
    client_order_id: str | None
    created_at: str


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


class PlacedOrder(Order):
    """An order just placed or amended, with its trades and book events."""

    trades: list[Trade]
    events: list[OrderEvent]


class OwnTrade(Out):
    """One of your trades with its settlement date and status."""

    id: str
    instrument: str
    side: str
    price: int
    quantity: int
    value: int
    currency: str
    order_id: str
    trade_date: str
    settlement_date: str
    settlement_status: str
    at: str


class PublicTrade(Out):
    """A trade as the public sees it (約定価格): never who."""

    id: str
    instrument: str
    price: int
    quantity: int
    at: str
    seq: int
    auction: bool


class AuctionResult(Out):
    """A call auction's result: `price` is null when nothing traded."""

    instrument: str
    at: str
    trade_date: str
    price: int | None
    volume: int
    kind: str


# ---------------------------------------------------------------- bars, indices, daily report


class BarValues(Out):
    """4本値: open, high, low, close, with volume, value, VWAP and the number of trades."""

    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    vwap: int
    trades: int


class Bar(BarValues):
    instrument: str
    interval: str
    start: str


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


class IndexValue(Out):
    """A benchmark index's published value for a day, with the rule that produced it."""

    id: str
    name_en: str
    name_ja: str
    date: str
    value: int | None
    rule: str
    volume: int
    currency: str
    unit: str
    detail: IndexDetail
    published_at: str
    journal_seq: int


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


class ReportAuction(Out):
    time: str
    at: str
    price: int | None
    volume: int


class ReportInstrument(Out):
    id: str
    name_en: str
    name_ja: str
    category: str
    auctions: list[ReportAuction]
    bar: BarValues | None
    reference_price: int
    lower_limit: int
    upper_limit: int


class ReportTotals(Out):
    volume: int
    value: int


class DailyReport(Out):
    """The daily market report (日報) of a day."""

    date: str
    next_business_day: str | None
    currency: str
    instruments: list[ReportInstrument]
    indices: list[IndexValue]
    totals: ReportTotals


# ---------------------------------------------------------------- settlement


class FeeSchedule(Out):
    """One side's fees on an instrument (`*`: every instrument)."""

    instrument: str
    side: str
    per_tonne: int
    bps: int
    per_trade: int
    late_charge: int


class Obligation(Out):
    """A settlement obligation (DvP): due, settled, failed or cancelled."""

    deal_id: str
    venue: str
    status: str
    due_date: str
    quantity: int
    amount: int
    currency: str
    reason: str | None
    settled_at: str | None
    late_charge: int
    side: str | None = None
    fee: int | None = None
    serials_received: list[str] | None = None
    buyer: str | None = None
    seller: str | None = None
    buyer_fee: int | None = None
    seller_fee: int | None = None


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


class SettlementFailure(Out):
    deal_id: str
    venue: str
    buyer: str
    seller: str
    reason: str
    message: str


class SettlementTotals(Out):
    settled: int
    failed: int
    cash_moved: int
    credits_moved: int
    fees: int


class SettlementRun(SettlementTotals):
    """What a settlement run settled and what failed."""

    date: str
    failures: list[SettlementFailure]
    at: str


class SettlementRunSummary(SettlementTotals):
    date: str
    at: str
    actor: str


class ReportObligation(Out):
    deal_id: str
    venue: str
    status: str
    buyer: str
    seller: str
    quantity: int
    amount: int
    buyer_fee: int
    seller_fee: int
    reason: str | None


class ObligationCounts(Out):
    pending: int
    settled: int
    failed: int
    cancelled: int


class SettlementReport(Out):
    """The settlement report of a date, reconciled."""

    date: str
    obligations: list[ReportObligation]
    counts: ObligationCounts
    trade_values: int
    fees: int
    cash_moved: int
    quantity_traded: int
    credits_moved: int
    reconciles: bool
