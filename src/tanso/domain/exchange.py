"""The exchange engine: sessions, order validation, continuous matching and call auctions.

`Engine.handle(command) -> list[Event]` is the only way to change its state. It is pure and
deterministic: no clock, no randomness, no I/O; time priority comes from the order in which
commands arrive, so the same commands always give the same events and the same books. It must
never know about cash, credits or participants' status: those pre-trade checks come in as an
optional callable (`pre_trade`) supplied by the service layer. Standard library only.

The rules it applies are written for participants in docs/market-rules.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, NamedTuple, cast

from tanso.domain.book import BUY, SELL, Book, Order
from tanso.domain.itayose import Clearing, clearing_price, share_at_price

CALL: Final = "call"
CONTINUOUS: Final = "continuous"
MODES: Final = (CALL, CONTINUOUS)
LIMIT: Final = "limit"
MARKET: Final = "market"
DAY: Final = "day"
GTC: Final = "gtc"
IOC: Final = "ioc"
FOK: Final = "fok"
TIFS: Final = frozenset((DAY, GTC, IOC, FOK))
_TYPES: Final = frozenset((LIMIT, MARKET))

# Session phases of an instrument.
CLOSED: Final = "closed"  # call mode: orders refused; continuous mode: pre-open, orders wait
OPEN: Final = "open"
PRE_CLOSE: Final = "pre_close"  # continuous mode only: orders wait for the closing auction
HALTED: Final = "halted"

# Rejection reasons (stable codes: clients and the API rely on them).
OFF_TICK: Final = "off_tick"
NOT_WHOLE_LOT: Final = "not_whole_lot"
OUTSIDE_PRICE_LIMIT: Final = "outside_price_limit"
MARKET_CLOSED: Final = "market_closed"
HALTED_REASON: Final = "halted"
MARKET_ORDERS_NOT_ALLOWED: Final = "market_orders_not_allowed"
UNKNOWN_INSTRUMENT: Final = "unknown_instrument"
UNKNOWN_ORDER: Final = "unknown_order"
DUPLICATE_ORDER_ID: Final = "duplicate_order_id"
INVALID_QUANTITY: Final = "invalid_quantity"
INVALID_PRICE: Final = "invalid_price"
INVALID_ORDER: Final = "invalid_order"
INVALID_INSTRUMENT: Final = "invalid_instrument"
DUPLICATE_INSTRUMENT: Final = "duplicate_instrument"
INVALID_STATE: Final = "invalid_state"
# Given by the service layer's pre-trade check, never by the engine itself.
INSUFFICIENT_CASH: Final = "insufficient_cash"
INSUFFICIENT_CREDITS: Final = "insufficient_credits"
PARTICIPANT_NOT_ACTIVE: Final = "participant_not_active"

# Why an order left the book without trading.
BY_PARTICIPANT: Final = "cancelled"
EXPIRED: Final = "expired"
SELF_TRADE: Final = "self_trade"
UNFILLED: Final = "unfilled"  # IOC, FOK or market-order remainder


# ====================================================================== commands
# Commands are NamedTuples: immutable values like the events, and about three times cheaper
# to build than frozen dataclasses, which matters on the order path (bench/engine.py).


class DefineInstrument(NamedTuple):
    """List an instrument (a category of credits) for trading."""

    id: str
    mode: str
    tick: int
    lot: int
    reference_price: int
    price_limit_pct: int = 90
    market_orders: bool = False
    currency: str = "JPY"


class OpenSession(NamedTuple):
    """Start a session; in continuous mode this runs the opening auction."""

    instrument: str


class PreClose(NamedTuple):
    """Continuous mode: stop matching on arrival; orders wait for the closing auction."""

    instrument: str


class CloseSession(NamedTuple):
    """End a session: continuous mode runs the closing auction; day orders expire."""

    instrument: str


class Halt(NamedTuple):
    """Suspend trading: new orders and amendments are refused, cancels still work."""

    instrument: str


class Resume(NamedTuple):
    """Lift a halt: the instrument returns to the phase it was in."""

    instrument: str


class RunAuction(NamedTuple):
    """Run one call auction (節立会) now."""

    instrument: str


class PlaceOrder(NamedTuple):
    """A new order; `price` is None for a market order."""

    id: str
    instrument: str
    participant: str
    side: str
    type: str
    price: int | None
    quantity: int
    tif: str = DAY


class CancelOrder(NamedTuple):
    """Cancel what is left of a resting order."""

    id: str


class AmendOrder(NamedTuple):
    """Change a resting order's open quantity and/or price."""

    id: str
    quantity: int | None = None
    price: int | None = None


class VoidAuction(NamedTuple):
    """Void a call auction whose trades were busted (docs/void-auction.md): the reference price
    and last price go back to what they were before it, and each order of ``restore``, given as
    [id, participant, side, price, quantity, tif, seq], gets ``quantity`` back in the book at its
    time priority ``seq`` (the service layer decides which orders are still valid and holds
    their cash or credits again)."""

    instrument: str
    restore: list[list[Any]]
    reference_price: int
    last_price: int | None


Command = (
    DefineInstrument
    | OpenSession
    | PreClose
    | CloseSession
    | Halt
    | Resume
    | RunAuction
    | PlaceOrder
    | CancelOrder
    | AmendOrder
    | VoidAuction
)


COMMAND_TYPES: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        DefineInstrument,
        OpenSession,
        PreClose,
        CloseSession,
        Halt,
        Resume,
        RunAuction,
        PlaceOrder,
        CancelOrder,
        AmendOrder,
        VoidAuction,
    )
}
"""Each command's type by its name, as the journal records it (``command``)."""


# ====================================================================== events


class _Event:
    """What every event of the engine is: its name (``EVENT``), its fields and ``to_json``.

    Events are plain classes with ``__slots__`` and a hand-written ``__init__`` rather than frozen
    dataclasses: a frozen dataclass sets each field through ``object.__setattr__``, which made
    building a trade cost 4x a plain assignment on the order path (bench/engine.py). They are
    values all the same: equal when their type and fields are, hashable, and never assigned to
    after ``__init__`` (their fields are ``Final``, which mypy and mypyc enforce).
    """

    __slots__ = ()
    EVENT: ClassVar[str]
    # The fields in the order declared: the journal's order (replays compare to_json dicts).
    FIELDS: ClassVar[tuple[str, ...]]

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict: its name, then its fields in the order declared (the
        journal's order: replays compare these dicts)."""
        d: dict[str, Any] = {"event": self.EVENT}
        for name in self.FIELDS:
            d[name] = getattr(self, name)
        return d

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self.FIELDS])

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Event)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.EVENT, self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({inner})"


class Accepted(_Event):
    """The order is in the market."""

    __slots__ = ("id",)
    EVENT: ClassVar[str] = "accepted"
    FIELDS: ClassVar[tuple[str, ...]] = ("id",)

    def __init__(self, id: str) -> None:
        self.id: Final = id


class Rejected(_Event):
    """A command was refused; `id` is None for commands that are not about an order."""

    __slots__ = ("command", "id", "instrument", "reason")
    EVENT: ClassVar[str] = "rejected"
    FIELDS: ClassVar[tuple[str, ...]] = ("id", "reason", "command", "instrument")

    # `id` and `instrument` are typed Any: a malformed command's values are reported as given
    # (str or None otherwise), and the compiled engine must not refuse to build the rejection.
    def __init__(
        self,
        id: Any,
        reason: str,
        command: str | None = None,
        instrument: Any = None,
    ) -> None:
        self.id: Final = id
        self.reason: Final = reason
        self.command: Final = command
        self.instrument: Final = instrument

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict: ``command`` and ``instrument`` only when given."""
        d: dict[str, Any] = {"event": self.EVENT, "id": self.id, "reason": self.reason}
        if self.command is not None:
            d["command"] = self.command
        if self.instrument is not None:
            d["instrument"] = self.instrument
        return d


class Trade(_Event):
    """約定: a trade between a buy order and a sell order."""

    __slots__ = ("buy", "buyer", "instrument", "price", "quantity", "sell", "seller")
    EVENT: ClassVar[str] = "trade"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "instrument",
        "price",
        "quantity",
        "buy",
        "sell",
        "buyer",
        "seller",
    )

    def __init__(
        self,
        instrument: str,
        price: int,
        quantity: int,
        buy: str,
        sell: str,
        buyer: str,
        seller: str,
    ) -> None:
        self.instrument: Final = instrument
        self.price: Final = price
        self.quantity: Final = quantity
        self.buy: Final = buy
        self.sell: Final = sell
        self.buyer: Final = buyer
        self.seller: Final = seller


class AuctionResult(_Event):
    """The result of one call auction; price None means nothing traded."""

    __slots__ = ("instrument", "kind", "price", "reference_price", "volume")
    EVENT: ClassVar[str] = "auction"
    FIELDS: ClassVar[tuple[str, ...]] = ("instrument", "price", "volume", "kind", "reference_price")

    def __init__(
        self, instrument: str, price: int | None, volume: int, kind: str, reference_price: int
    ) -> None:
        self.instrument: Final = instrument
        self.price: Final = price
        self.volume: Final = volume
        self.kind: Final = kind
        self.reference_price: Final = reference_price


class Cancelled(_Event):
    """An order, or what was left of it, left the book without trading."""

    __slots__ = ("id", "quantity", "reason")
    EVENT: ClassVar[str] = "cancelled"
    FIELDS: ClassVar[tuple[str, ...]] = ("id", "quantity", "reason")

    def __init__(self, id: str, quantity: int, reason: str) -> None:
        self.id: Final = id
        self.quantity: Final = quantity
        self.reason: Final = reason


class Amended(_Event):
    """A resting order's quantity or price changed."""

    __slots__ = ("id", "kept_priority", "price", "quantity")
    EVENT: ClassVar[str] = "amended"
    FIELDS: ClassVar[tuple[str, ...]] = ("id", "price", "quantity", "kept_priority")

    def __init__(self, id: str, price: int | None, quantity: int, kept_priority: bool) -> None:
        self.id: Final = id
        self.price: Final = price
        self.quantity: Final = quantity
        self.kept_priority: Final = kept_priority


class Reinstated(_Event):
    """An order of a voided auction is back in the book with the quantity it had traded."""

    __slots__ = ("id", "quantity")
    EVENT: ClassVar[str] = "reinstated"
    FIELDS: ClassVar[tuple[str, ...]] = ("id", "quantity")

    def __init__(self, id: str, quantity: int) -> None:
        self.id: Final = id
        self.quantity: Final = quantity


class AuctionVoided(_Event):
    """A call auction was voided: the reference price and limits are those from before it."""

    __slots__ = ("instrument", "lower_limit", "reference_price", "upper_limit")
    EVENT: ClassVar[str] = "auction_voided"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "instrument",
        "reference_price",
        "lower_limit",
        "upper_limit",
    )

    def __init__(
        self, instrument: str, reference_price: int, lower_limit: int, upper_limit: int
    ) -> None:
        self.instrument: Final = instrument
        self.reference_price: Final = reference_price
        self.lower_limit: Final = lower_limit
        self.upper_limit: Final = upper_limit


class SessionChanged(_Event):
    """An instrument moved to another session phase."""

    __slots__ = ("instrument", "state")
    EVENT: ClassVar[str] = "session"
    FIELDS: ClassVar[tuple[str, ...]] = ("instrument", "state")

    def __init__(self, instrument: str, state: str) -> None:
        self.instrument: Final = instrument
        self.state: Final = state


class InstrumentListed(_Event):
    """An instrument was defined."""

    __slots__ = ("id", "lower_limit", "mode", "reference_price", "upper_limit")
    EVENT: ClassVar[str] = "instrument"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "mode",
        "reference_price",
        "lower_limit",
        "upper_limit",
    )

    def __init__(
        self, id: str, mode: str, reference_price: int, lower_limit: int, upper_limit: int
    ) -> None:
        self.id: Final = id
        self.mode: Final = mode
        self.reference_price: Final = reference_price
        self.lower_limit: Final = lower_limit
        self.upper_limit: Final = upper_limit


Event = (
    Accepted
    | Rejected
    | Trade
    | AuctionResult
    | Cancelled
    | Amended
    | SessionChanged
    | InstrumentListed
    | Reinstated
    | AuctionVoided
)


# ====================================================================== pre-trade hook


@dataclass(frozen=True, slots=True)
class PreTradeRequest:
    """What the service layer is asked to approve before an order or amendment is accepted.

    `unit_price` is the price to reserve cash at: the limit price, or the upper price limit for
    a market buy. For an amendment, `amends` is True and the figures are the order's new ones.
    """

    order_id: str
    instrument: str
    participant: str
    side: str
    unit_price: int
    quantity: int
    amends: bool


# Returns None to approve, or a rejection reason such as INSUFFICIENT_CASH. It is called last,
# after every check of the engine's own, so an approval means the order will be accepted.
PreTradeCheck = Callable[[PreTradeRequest], str | None]


# ====================================================================== the market


def price_limits(reference: int, pct: int, tick: int) -> tuple[int, int]:
    """値幅制限: the lowest and highest allowed prices, ±pct of the reference, inward to tick."""
    width = reference * pct // 100 // tick * tick
    # At least one tick each way, or a low-priced instrument could never move.
    width = max(width, tick)
    return max(reference - width, tick), reference + width


def _is_int(x: object) -> bool:
    return type(x) is int


def _first(c: tuple[Any, ...]) -> Any:
    """A command's first field, read as Any (see `Engine._place`)."""
    return c[0]


class Market:
    """One instrument's book, session phase and reference price (基準値段)."""

    __slots__ = (
        "book",
        "continuous",
        "id",
        "last_price",
        "lot",
        "lower",
        "market_orders",
        "mode",
        "pct",
        "pending",
        "phase",
        "phase_before_halt",
        "reference",
        "tick",
        "upper",
    )

    def __init__(self, spec: DefineInstrument) -> None:
        self.id = spec.id
        self.mode = spec.mode
        self.continuous = spec.mode == CONTINUOUS
        self.tick = spec.tick
        self.lot = spec.lot
        self.pct = spec.price_limit_pct
        self.market_orders = spec.market_orders
        self.book = Book()
        self.phase = CLOSED
        self.phase_before_halt = CLOSED
        self.reference = spec.reference_price
        self.last_price: int | None = None
        self.lower, self.upper = price_limits(self.reference, self.pct, self.tick)
        # Orders valid for one auction only (IOC, FOK, market), in arrival order.
        self.pending: dict[str, Order] = {}

    def matches_on_arrival(self) -> bool:
        """Whether an incoming order trades at once (ザラバ) rather than waiting for an auction."""
        return self.continuous and self.phase == OPEN


def _clearing(m: Market) -> Clearing:
    """The itayose of the market's book as it stands."""
    book = m.book
    return clearing_price(
        [(lv.price, lv.quantity) for lv in book.bids.values()],
        [(lv.price, lv.quantity) for lv in book.asks.values()],
        sum(o.quantity for o in book.market_buys.values()),
        sum(o.quantity for o in book.market_sells.values()),
        tick=m.tick,
        reference=m.reference,
        lower=m.lower,
        upper=m.upper,
    )


class Engine:
    """The matching engine for every listed instrument; one writer, commands in sequence."""

    def __init__(self, pre_trade: PreTradeCheck | None = None) -> None:
        self.pre_trade = pre_trade
        self.markets: dict[str, Market] = {}
        # Every live order's market, so cancel and amend need only an order id.
        self.order_market: dict[str, Market] = {}
        # Order ids ever accepted: an id is never reused, even after the order is gone.
        self.seen_ids: set[str] = set()
        self.seq = 0
        self._handlers: dict[type, Callable[[Any], list[Event]]] = {
            PlaceOrder: self._place,
            CancelOrder: self._cancel,
            AmendOrder: self._amend,
            DefineInstrument: self._define,
            OpenSession: self._open,
            PreClose: self._pre_close,
            CloseSession: self._close,
            Halt: self._halt,
            Resume: self._resume,
            RunAuction: self._run_auction,
            VoidAuction: self._void_auction,
        }

    def handle(self, command: Command) -> list[Event]:
        """Apply one command and return the events it caused, in order."""
        kind = type(command)
        # The three order commands first, by identity: cheaper than the table, most of all
        # when compiled, where these are direct calls.
        if kind is PlaceOrder:
            return self._place(cast(PlaceOrder, command))
        if kind is CancelOrder:
            return self._cancel(cast(CancelOrder, command))
        if kind is AmendOrder:
            return self._amend(cast(AmendOrder, command))
        return self._handlers[kind](command)

    # ------------------------------------------------------------------ views

    def book_snapshot(self, instrument: str) -> dict[str, Any]:
        """A canonical picture of one instrument's market, equal for equal states."""
        m = self.markets[instrument]
        snap: dict[str, Any] = dict(m.book.snapshot())
        snap |= {
            "instrument": m.id,
            "phase": m.phase,
            "reference_price": m.reference,
            "lower_limit": m.lower,
            "upper_limit": m.upper,
            "last_price": m.last_price,
        }
        return snap

    def indicative(self, instrument: str) -> Clearing:
        """The indicative price and volume (試算値) of a call auction held now: the itayose of
        the book as it stands (none for a continuous market in session, which matches on
        arrival)."""
        m = self.markets[instrument]
        if m.continuous and m.phase == OPEN:
            return Clearing(None, 0)
        return _clearing(m)

    def snapshot(self) -> dict[str, Any]:
        """Every instrument's snapshot plus the engine's counters."""

        return {
            "seq": self.seq,
            "orders_seen": len(self.seen_ids),
            "markets": {i: self.book_snapshot(i) for i in sorted(self.markets)},
        }

    def limits(self, instrument: str) -> tuple[int, int]:
        """The current lower and upper price limits of an instrument."""
        m = self.markets[instrument]
        return m.lower, m.upper

    # ------------------------------------------------------------------ instruments, sessions

    def _define(self, c: DefineInstrument) -> list[Event]:
        fields: tuple[Any, ...] = c  # read as Any, as in _place
        id, mode, tick, lot, reference, pct, market_orders, _currency = fields
        if id in self.markets:
            return [Rejected(None, DUPLICATE_INSTRUMENT, "instrument", id)]
        ok = (
            isinstance(id, str)
            and id != ""
            and mode in MODES
            and _is_int(tick)
            and tick > 0
            and _is_int(lot)
            and lot > 0
            and _is_int(reference)
            and reference > 0
            and reference % tick == 0
            and _is_int(pct)
            and pct >= 0
            and isinstance(market_orders, bool)
        )
        if not ok:
            return [Rejected(None, INVALID_INSTRUMENT, "instrument", str(id))]
        m = self.markets[c.id] = Market(c)
        return [InstrumentListed(m.id, m.mode, m.reference, m.lower, m.upper)]

    def _market_for(self, instrument: Any, command: str) -> Market | Rejected:
        m = self.markets.get(instrument)
        if m is None:
            return Rejected(None, UNKNOWN_INSTRUMENT, command, instrument)
        return m

    def _open(self, c: OpenSession) -> list[Event]:
        m = self._market_for(_first(c), "open")
        if isinstance(m, Rejected):
            return [m]
        if m.phase != CLOSED:
            return [Rejected(None, INVALID_STATE, "open", m.id)]
        events: list[Event] = []
        if m.continuous:
            # ザラバ starts with an opening call auction over the orders that waited.
            self._auction(m, "opening", events)
        m.phase = OPEN
        events.append(SessionChanged(m.id, OPEN))
        return events

    def _pre_close(self, c: PreClose) -> list[Event]:
        m = self._market_for(_first(c), "pre_close")
        if isinstance(m, Rejected):
            return [m]
        if not m.continuous or m.phase != OPEN:
            return [Rejected(None, INVALID_STATE, "pre_close", m.id)]
        m.phase = PRE_CLOSE
        return [SessionChanged(m.id, PRE_CLOSE)]

    def _close(self, c: CloseSession) -> list[Event]:
        m = self._market_for(_first(c), "close")
        if isinstance(m, Rejected):
            return [m]
        if m.phase == CLOSED:
            return [Rejected(None, INVALID_STATE, "close", m.id)]
        events: list[Event] = []
        if m.continuous and m.phase != HALTED:
            self._auction(m, "closing", events)
        # Day orders live for one session; so do IOC, FOK and market orders still waiting.
        for o in m.book.all_orders():
            if o.tif != GTC or o.price is None:
                self._drop(m, o, EXPIRED, events)
        m.phase = CLOSED
        events.append(SessionChanged(m.id, CLOSED))
        return events

    def _halt(self, c: Halt) -> list[Event]:
        m = self._market_for(_first(c), "halt")
        if isinstance(m, Rejected):
            return [m]
        if m.phase == HALTED:
            return [Rejected(None, INVALID_STATE, "halt", m.id)]
        m.phase_before_halt = m.phase
        m.phase = HALTED
        return [SessionChanged(m.id, HALTED)]

    def _resume(self, c: Resume) -> list[Event]:
        m = self._market_for(_first(c), "resume")
        if isinstance(m, Rejected):
            return [m]
        if m.phase != HALTED:
            return [Rejected(None, INVALID_STATE, "resume", m.id)]
        # No order or amendment entered during the halt, so the book cannot have become
        # crossed: returning to the previous phase needs no auction.
        m.phase = m.phase_before_halt
        return [SessionChanged(m.id, m.phase)]

    def _run_auction(self, c: RunAuction) -> list[Event]:
        m = self._market_for(_first(c), "auction")
        if isinstance(m, Rejected):
            return [m]
        if m.phase == HALTED:
            return [Rejected(None, HALTED_REASON, "auction", m.id)]
        if not m.continuous and m.phase != OPEN:
            return [Rejected(None, MARKET_CLOSED, "auction", m.id)]
        events: list[Event] = []
        self._auction(m, "call", events)
        return events

    def _void_auction(self, c: VoidAuction) -> list[Event]:
        """取消: undo a call auction's effect on the book. Each order to restore gets its traded
        quantity back: added in place if it still rests, or put back at its old time priority;
        orders outside the restored price limits are then cancelled, as after any auction."""
        fields: tuple[Any, ...] = c  # read as Any, as in _place
        instrument, restore, reference, last_price = fields
        m = self._market_for(instrument, "void_auction")
        if isinstance(m, Rejected):
            return [m]
        if not _is_int(reference) or reference <= 0 or reference % m.tick:
            return [Rejected(None, INVALID_PRICE, "void_auction", m.id)]
        if not (last_price is None or _is_int(last_price)) or not self._restorable(m, restore):
            return [Rejected(None, INVALID_ORDER, "void_auction", m.id)]
        m.reference = reference
        m.last_price = last_price
        m.lower, m.upper = price_limits(reference, m.pct, m.tick)
        events: list[Event] = [AuctionVoided(m.id, reference, m.lower, m.upper)]
        book = m.book
        for oid, participant, side, price, quantity, tif, seq in restore:
            order = book.orders.get(oid)
            if order is not None:
                book.reduce(order, order.quantity + quantity)  # grows in place: same priority
            else:
                order = Order(oid, m.id, participant, side, price, quantity, tif, seq)
                book.reinstate(order)
                self.order_market[oid] = m
                self.seen_ids.add(oid)
            events.append(Reinstated(oid, quantity))
        self._purge_outside_limits(m, events)
        return events

    def _restorable(self, m: Market, restore: Any) -> bool:
        """Whether every order to restore is well formed, and either rests in this market or
        is in no book at all (checked before anything changes)."""
        if not isinstance(restore, list):
            return False
        for r in restore:
            if not isinstance(r, list | tuple) or len(r) != 7:
                return False
            oid, participant, side, price, quantity, tif, seq = r
            ok = (
                isinstance(oid, str)
                and isinstance(participant, str)
                and side in (BUY, SELL)
                and (price is None or (_is_int(price) and price > 0))
                and _is_int(quantity)
                and quantity > 0
                and tif in TIFS
                and _is_int(seq)
            )
            if not ok or self.order_market.get(oid, m) is not m:
                return False
        return True

    # ------------------------------------------------------------------ orders

    def _check_price(self, m: Market, price: Any, is_market: bool) -> str | None:
        if is_market:
            if not m.market_orders:
                return MARKET_ORDERS_NOT_ALLOWED
            return None if price is None else INVALID_PRICE
        if not _is_int(price) or price is None or price <= 0:
            return INVALID_PRICE
        if price % m.tick:
            return OFF_TICK
        if price < m.lower or price > m.upper:
            return OUTSIDE_PRICE_LIMIT
        return None

    def _place(self, c: PlaceOrder) -> list[Event]:
        # The hottest path of the engine: fields unpacked once, the usual checks inline.
        # Read as Any: the fields are checked below, and a compiled engine must reject a value
        # of the wrong type as the pure one does, not raise on reading it.
        fields: tuple[Any, ...] = c
        oid, instrument, participant, side, type_, price, quantity, tif = fields
        if oid in self.seen_ids:
            return [Rejected(oid, DUPLICATE_ORDER_ID)]
        m = self.markets.get(instrument)
        if m is None:
            return [Rejected(oid, UNKNOWN_INSTRUMENT)]
        phase = m.phase
        if phase == HALTED:
            return [Rejected(oid, HALTED_REASON)]
        if phase == CLOSED and not m.continuous:
            return [Rejected(oid, MARKET_CLOSED)]
        if (
            (side != BUY and side != SELL)
            or tif not in TIFS
            or type_ not in _TYPES
            or not isinstance(oid, str)
            or not isinstance(participant, str)
        ):
            return [Rejected(oid, INVALID_ORDER)]
        if type(quantity) is not int or quantity <= 0:
            return [Rejected(oid, INVALID_QUANTITY)]
        if quantity % m.lot:
            return [Rejected(oid, NOT_WHOLE_LOT)]
        if type(price) is int and type_ == LIMIT:
            if price <= 0:
                return [Rejected(oid, INVALID_PRICE)]
            if price % m.tick:
                return [Rejected(oid, OFF_TICK)]
            if price < m.lower or price > m.upper:
                return [Rejected(oid, OUTSIDE_PRICE_LIMIT)]
        else:
            reason = self._check_price(m, price, type_ == MARKET)
            if reason is not None:
                return [Rejected(oid, reason)]
        pre_trade = self.pre_trade
        if pre_trade is not None:
            unit = m.upper if price is None else price
            reason = pre_trade(
                PreTradeRequest(oid, instrument, participant, side, unit, quantity, False)
            )
            if reason is not None:
                return [Rejected(oid, reason)]
        self.seen_ids.add(oid)
        seq = self.seq + 1
        self.seq = seq
        order = Order(oid, instrument, participant, side, price, quantity, tif, seq)
        events: list[Event] = [Accepted(oid)]
        if m.continuous and phase == OPEN:
            self._match_on_arrival(m, order, events)
        else:
            self._rest(m, order)
        return events

    def _rest(self, m: Market, order: Order) -> None:
        m.book.add(order)
        self.order_market[order.id] = m
        if order.price is None or order.tif == IOC or order.tif == FOK:
            m.pending[order.id] = order

    def _match_on_arrival(self, m: Market, order: Order, events: list[Event]) -> None:
        """ザラバ: trade an incoming order at once, price then time priority."""
        book = m.book
        is_buy = order.side == BUY
        price = order.price
        tif = order.tif
        resting = tif in (GTC, DAY)
        if price is not None and resting:
            # Fast path for the commonest order, a passive one: nothing to match, just rest.
            if is_buy:
                keys = book.ask_keys
                crosses = bool(keys) and -keys[-1] <= price
            else:
                keys = book.bid_keys
                crosses = bool(keys) and keys[-1] >= price
            if not crosses:
                book.add_limit(order, price, is_buy)
                self.order_market[order.id] = m
                return
        # A market order may sweep the book only as far as the price limit.
        limit = price if price is not None else (m.upper if is_buy else m.lower)
        if tif == FOK and book.fillable(order.side, limit, order.participant, order.quantity) < (
            order.quantity
        ):
            events.append(Cancelled(order.id, order.quantity, UNFILLED))
            return
        fills, self_trade = book.match(order, limit)
        if fills:
            instrument = m.id
            order_market = self.order_market
            oid = order.id
            who = order.participant
            append = events.append
            p = 0
            for r, q, p in fills:
                if is_buy:
                    append(Trade(instrument, p, q, oid, r.id, who, r.participant))
                else:
                    append(Trade(instrument, p, q, r.id, oid, r.participant, who))
                if r.quantity == 0:
                    del order_market[r.id]
            m.last_price = p
        left = order.quantity
        if left:
            if self_trade:
                # Self-trade prevention: the newer order is the one cancelled.
                events.append(Cancelled(order.id, left, SELF_TRADE))
            elif price is None or not resting:
                events.append(Cancelled(order.id, left, UNFILLED))
            else:
                book.add_limit(order, price, is_buy)
                self.order_market[order.id] = m

    def _drop(self, m: Market, order: Order, reason: str, events: list[Event]) -> None:
        m.book.remove(order)
        del self.order_market[order.id]
        if m.pending:
            m.pending.pop(order.id, None)
        events.append(Cancelled(order.id, order.quantity, reason))

    def _cancel(self, c: CancelOrder) -> list[Event]:
        oid = _first(c)
        m = self.order_market.pop(oid, None)
        if m is None:
            return [Rejected(oid, UNKNOWN_ORDER)]
        book = m.book
        order = book.orders[oid]
        book.remove(order)
        if m.pending:
            m.pending.pop(oid, None)
        return [Cancelled(oid, order.quantity, BY_PARTICIPANT)]

    def _amend(self, c: AmendOrder) -> list[Event]:
        fields: tuple[Any, ...] = c  # read as Any, as in _place
        oid, new_quantity, new_price = fields
        m = self.order_market.get(oid)
        if m is None:
            return [Rejected(oid, UNKNOWN_ORDER)]
        if m.phase == HALTED:
            return [Rejected(oid, HALTED_REASON)]
        if m.phase == CLOSED and not m.continuous:
            return [Rejected(oid, MARKET_CLOSED)]
        order = m.book.orders[oid]
        if new_quantity is None and new_price is None:
            return [Rejected(oid, INVALID_ORDER)]
        quantity = order.quantity if new_quantity is None else new_quantity
        if not _is_int(quantity) or quantity <= 0:
            return [Rejected(oid, INVALID_QUANTITY)]
        if quantity % m.lot:
            return [Rejected(oid, NOT_WHOLE_LOT)]
        price = order.price
        if new_price is not None:
            if order.price is None:
                return [Rejected(oid, INVALID_PRICE)]
            reason = self._check_price(m, new_price, False)
            if reason is not None:
                return [Rejected(oid, reason)]
            price = new_price
        if self.pre_trade is not None:
            unit = m.upper if price is None else price
            reason = self.pre_trade(
                PreTradeRequest(oid, m.id, order.participant, order.side, unit, quantity, True)
            )
            if reason is not None:
                return [Rejected(oid, reason)]
        if price == order.price and quantity <= order.quantity:
            # A smaller quantity at the same price keeps its place in the queue.
            m.book.reduce(order, quantity)
            return [Amended(oid, price, quantity, True)]
        # A new price or a larger quantity goes to the back of the queue: it is a new order
        # in all but its id.
        m.book.remove(order)
        del self.order_market[oid]
        m.pending.pop(oid, None)
        self.seq += 1
        new = Order(oid, m.id, order.participant, order.side, price, quantity, order.tif, self.seq)
        events: list[Event] = [Amended(oid, price, quantity, False)]
        if m.matches_on_arrival():
            self._match_on_arrival(m, new, events)
        else:
            self._rest(m, new)
        return events

    # ------------------------------------------------------------------ call auction

    def _auction(self, m: Market, kind: str, events: list[Event]) -> None:
        """板寄せ: one call auction over everything in the book, then its aftermath."""
        self._prevent_self_trades(m, events)

        while True:
            clearing = _clearing(m)
            buy_fills, buy_full = self._auction_fills(m, BUY, clearing)
            sell_fills, sell_full = self._auction_fills(m, SELL, clearing)
            # FOK in a call auction: an order that would not fill in full is cancelled and the
            # price is found again without it, until every FOK left fills in full.
            short = self._short_fok(m, buy_fills, sell_fills)
            if not short:
                break
            for o in short:
                self._drop(m, o, UNFILLED, events)
        price = clearing.price
        if price is not None:
            m.reference = price
            m.last_price = price
            m.lower, m.upper = price_limits(price, m.pct, m.tick)
        events.append(AuctionResult(m.id, price, clearing.volume, kind, m.reference))
        if price is not None:
            self._pair(m, price, buy_fills, sell_fills, events)
            self._apply_fills(m, BUY, buy_fills, buy_full)
            self._apply_fills(m, SELL, sell_fills, sell_full)
        # IOC, FOK and market orders are valid for one auction only.
        for o in list(m.pending.values()):
            if o.active:
                self._drop(m, o, UNFILLED, events)
        m.pending.clear()
        if price is not None:
            self._purge_outside_limits(m, events)

    def _auction_fills(
        self, m: Market, side: str, clearing: Clearing
    ) -> tuple[list[tuple[Order, int]], list[int]]:
        """Who fills how much on one side: better-priced orders in full, then the shared level.

        Also returns the prices of the levels that trade in full, so they can be removed whole.
        """
        price = clearing.price
        full: list[int] = []
        if price is None:
            return [], full
        book = m.book
        fills: list[tuple[Order, int]] = []
        remaining = clearing.volume
        markets = book.market_buys if side == BUY else book.market_sells
        for o in markets.values():
            fills.append((o, o.quantity))
            remaining -= o.quantity
        levels = book.bid_levels() if side == BUY else book.ask_levels()
        is_buy = side == BUY
        for lv in levels:
            if lv.price > price if is_buy else lv.price < price:
                full.append(lv.price)
                fills.extend([(o, o.quantity) for o in lv.orders if o.active])
                remaining -= lv.quantity
                continue
            if lv.price == price and remaining > 0:
                at = list(lv.live())
                shares = share_at_price([(o.participant, o.quantity) for o in at], remaining, m.lot)
                fills.extend((o, q) for o, q in zip(at, shares, strict=True) if q)
            break
        return fills, full

    def _short_fok(
        self, m: Market, buy_fills: list[tuple[Order, int]], sell_fills: list[tuple[Order, int]]
    ) -> list[Order]:
        foks = [o for o in m.pending.values() if o.tif == FOK]
        if not foks:
            return []
        filled = {o.id: q for o, q in buy_fills}
        filled.update((o.id, q) for o, q in sell_fills)
        return [o for o in foks if filled.get(o.id, 0) < o.quantity]

    def _pair(
        self,
        m: Market,
        price: int,
        buy_fills: list[tuple[Order, int]],
        sell_fills: list[tuple[Order, int]],
        events: list[Event],
    ) -> None:
        """Turn the two sides' fills into trades at the one auction price, in priority order."""
        if not buy_fills or not sell_fills:
            return
        instrument = m.id
        append = events.append
        buys = iter(buy_fills)
        sells = iter(sell_fills)
        b, bq = next(buys)
        s, sq = next(sells)
        while True:
            q = bq if bq < sq else sq
            append(Trade(instrument, price, q, b.id, s.id, b.participant, s.participant))
            bq -= q
            sq -= q
            if not bq:
                nb = next(buys, None)
                if nb is None:
                    break
                b, bq = nb
            if not sq:
                ns = next(sells, None)
                if ns is None:
                    break
                s, sq = ns

    def _apply_fills(
        self, m: Market, side: str, fills: list[tuple[Order, int]], full: list[int]
    ) -> None:
        """Take the auction's fills out of the book; whole levels go in one step."""
        book = m.book
        for price in full:
            book.take_level(side, price)
        order_market = self.order_market
        pending = m.pending
        fill = book.fill
        for o, q in fills:
            if o.active:
                fill(o, q)
                if o.active:
                    continue
            del order_market[o.id]
            if pending:
                pending.pop(o.id, None)

    def _prevent_self_trades(self, m: Market, events: list[Event]) -> None:
        """Self-trade prevention in a call auction.

        A participant's buy and sell can both trade at one price only if the buy is priced at or
        above the sell. For each such crossing pair, the newer order is cancelled: orders are
        taken in arrival order and one that crosses an earlier kept order of the same
        participant on the other side is cancelled. Only orders in the crossing part of the book
        can cross, so only those are looked at.
        """
        book = m.book
        if not (book.bids or book.market_buys) or not (book.asks or book.market_sells):
            return
        best_ask = None if book.market_sells else book.best_ask()
        best_bid = None if book.market_buys else book.best_bid()
        bids = [lv for lv in book.bid_levels() if best_ask is None or lv.price >= best_ask]
        asks = [lv for lv in book.ask_levels() if best_bid is None or lv.price <= best_bid]
        # First only who may be on both sides (cheap sets, a superset: cancelled orders still
        # queued count too); orders are gathered, live ones only, for those alone.
        buyers = {o.participant for o in book.market_buys.values()}
        for lv in bids:
            buyers.update([o.participant for o in lv.orders])
        sellers = {o.participant for o in book.market_sells.values()}
        for lv in asks:
            sellers.update([o.participant for o in lv.orders])
        common = buyers & sellers
        if not common:
            return
        both: dict[str, list[Order]] = {}
        for o in book.market_buys.values():
            if o.participant in common:
                both.setdefault(o.participant, []).append(o)
        for lv in bids:
            for o in lv.live():
                if o.participant in common:
                    both.setdefault(o.participant, []).append(o)
        for o in book.market_sells.values():
            if o.participant in common:
                both.setdefault(o.participant, []).append(o)
        for lv in asks:
            for o in lv.live():
                if o.participant in common:
                    both.setdefault(o.participant, []).append(o)
        for participant in sorted(both):
            max_buy: int | None = None  # None: no kept buy yet
            min_sell: int | None = None
            buy_market = sell_market = False
            for o in sorted(both[participant], key=lambda o: o.seq):
                if o.side == BUY:
                    crosses = sell_market or (
                        min_sell is not None and (o.price is None or o.price >= min_sell)
                    )
                    if crosses:
                        self._drop(m, o, SELF_TRADE, events)
                    elif o.price is None:
                        buy_market = True
                    else:
                        max_buy = o.price if max_buy is None else max(max_buy, o.price)
                else:
                    crosses = buy_market or (
                        max_buy is not None and (o.price is None or o.price <= max_buy)
                    )
                    if crosses:
                        self._drop(m, o, SELF_TRADE, events)
                    elif o.price is None:
                        sell_market = True
                    else:
                        min_sell = o.price if min_sell is None else min(min_sell, o.price)

    def _purge_outside_limits(self, m: Market, events: list[Event]) -> None:
        """Orders left outside new price limits are cancelled, so none can ever trade there."""
        book = m.book
        gone = [
            o
            for lv in book.bid_levels() + book.ask_levels()
            if lv.price < m.lower or lv.price > m.upper
            for o in lv.live()
        ]
        for o in sorted(gone, key=lambda o: o.seq):
            self._drop(m, o, OUTSIDE_PRICE_LIMIT, events)
