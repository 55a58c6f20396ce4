"""`tanso replay`: run a JSON-lines scenario through the exchange engine and yield its events.

Each input line is one command ({"op": "order", ...}); each output is one event dict. A line that
cannot be understood gives {"event": "error", "line": n, "message": ...} and the run goes on.
Sealed-bid auctions run beside the books: "sealed_auction" defines one, "bid" sends a sealed bid
(earlier lines are earlier bids), "clear" prints one "award" per winning bid and the
"auction_result" (domain/sealed_bid.py; docs/sealed-auctions.md).
Participants have unlimited cash and credits unless a "balance" line gives them some; then orders
beyond what they hold are refused (insufficient_cash / insufficient_credits). No I/O here: the
caller reads the lines and prints the events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tanso.domain.book import BUY
from tanso.domain.errors import TansoError
from tanso.domain.exchange import (
    INSUFFICIENT_CASH,
    INSUFFICIENT_CREDITS,
    AmendOrder,
    Cancelled,
    CancelOrder,
    CloseSession,
    Command,
    DefineInstrument,
    Engine,
    Event,
    Halt,
    OpenSession,
    PlaceOrder,
    PreClose,
    PreTradeRequest,
    Resume,
    RunAuction,
    Trade,
    VoidAuction,
)
from tanso.domain.sealed_bid import SealedBid, SealedRules, check_bid, clear


class ScenarioError(ValueError):
    """A scenario line that does not make a valid command."""


@dataclass(frozen=True, slots=True)
class BalanceLine:
    """A scenario's "balance" line: None means unlimited."""

    participant: str
    cash: int | None
    credits: dict[str, int] | None


@dataclass(slots=True)
class _Reservation:
    participant: str
    instrument: str
    side: str
    unit_price: int  # cash reserved per unit for a buy
    quantity: int


@dataclass(slots=True)
class _Account:
    cash: int | None  # None: unlimited
    credits: dict[str, int] | None  # None: unlimited
    cash_reserved: int = 0


class Balances:
    """Cash and credits of the participants a scenario gives balances to, with reservations.

    A buy reserves price × quantity of cash (a market buy: at the upper price limit), a sell
    reserves its quantity of credits; a fill consumes the reservation and moves cash and credits; a
    cancellation or expiry releases it.
    """

    def __init__(self) -> None:
        self.accounts: dict[str, _Account] = {}
        self.reservations: dict[str, _Reservation] = {}

    def set(self, participant: str, cash: int | None, credits: dict[str, int] | None) -> None:
        """Give a participant balances (replacing earlier ones; reservations stay)."""
        acct = self.accounts.get(participant)
        if acct is None:
            self.accounts[participant] = _Account(cash, credits)
        else:
            acct.cash, acct.credits = cash, credits

    def _credits_reserved(self, participant: str, instrument: str, skip: str) -> int:
        return sum(
            r.quantity
            for oid, r in self.reservations.items()
            if oid != skip
            and r.participant == participant
            and r.instrument == instrument
            and r.side != BUY
        )

    def check(self, req: PreTradeRequest) -> str | None:
        """The engine's pre-trade check: approve and reserve, or give the reason to refuse."""
        acct = self.accounts.get(req.participant)
        old = self.reservations.get(req.order_id) if req.amends else None
        if acct is not None:
            if req.side == BUY:
                if acct.cash is not None:
                    held = old.unit_price * old.quantity if old is not None else 0
                    need = req.unit_price * req.quantity - held
                    if acct.cash - acct.cash_reserved < need:
                        return INSUFFICIENT_CASH
            elif acct.credits is not None:
                have = acct.credits.get(req.instrument, 0)
                used = self._credits_reserved(req.participant, req.instrument, req.order_id)
                if have - used < req.quantity:
                    return INSUFFICIENT_CREDITS
        self._release(req.order_id)
        r = _Reservation(req.participant, req.instrument, req.side, req.unit_price, req.quantity)
        self.reservations[req.order_id] = r
        if acct is not None and req.side == BUY:
            acct.cash_reserved += r.unit_price * r.quantity
        return None

    def _release(self, order_id: str, quantity: int | None = None) -> None:
        r = self.reservations.get(order_id)
        if r is None:
            return
        q = r.quantity if quantity is None else min(quantity, r.quantity)
        acct = self.accounts.get(r.participant)
        if acct is not None and r.side == BUY:
            acct.cash_reserved -= r.unit_price * q
        r.quantity -= q
        if r.quantity == 0:
            del self.reservations[order_id]

    def apply(self, event: Event) -> None:
        """Follow the engine's events: fills move balances, cancellations free reservations."""
        if isinstance(event, Cancelled):
            self._release(event.id, event.quantity)
        elif isinstance(event, Trade):
            self._release(event.buy, event.quantity)
            self._release(event.sell, event.quantity)
            value = event.price * event.quantity
            buyer = self.accounts.get(event.buyer)
            if buyer is not None:
                if buyer.cash is not None:
                    buyer.cash -= value
                if buyer.credits is not None:
                    buyer.credits[event.instrument] = (
                        buyer.credits.get(event.instrument, 0) + event.quantity
                    )
            seller = self.accounts.get(event.seller)
            if seller is not None:
                if seller.cash is not None:
                    seller.cash += value
                if seller.credits is not None:
                    seller.credits[event.instrument] = (
                        seller.credits.get(event.instrument, 0) - event.quantity
                    )


# ---------------------------------------------------------------------- parsing


def _field(d: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    if name not in d:
        if default is ...:
            raise ScenarioError(f"missing field {name!r}")
        return default
    value = d[name]
    if value is None and default is None:
        return None
    # JSON true/false must not pass for integers.
    if (kind is int and (type(value) is not int)) or not isinstance(value, kind):
        raise ScenarioError(f"field {name!r} must be {kind.__name__}, not {value!r}")
    return value


def _quantity(d: dict[str, Any], default: Any = ...) -> Any:
    """A line's quantity: `quantity`, or `qty`, the old spelling that older scenario files use."""
    return _field(d, "qty" if "qty" in d and "quantity" not in d else "quantity", int, default)


def _instrument(d: dict[str, Any]) -> Command:
    return DefineInstrument(
        id=_field(d, "id", str),
        mode=_field(d, "mode", str),
        tick=_field(d, "tick", int, 1),
        lot=_field(d, "lot", int, 1),
        reference_price=_field(d, "reference_price", int),
        price_limit_pct=_field(d, "price_limit_pct", int, 90),
        market_orders=_field(d, "market_orders", bool, False),
        currency=_field(d, "currency", str, "JPY"),
    )


def _order(d: dict[str, Any]) -> Command:
    kind = _field(d, "type", str, "limit")
    price = _field(d, "price", int, None)
    if kind == "limit" and price is None:
        raise ScenarioError("a limit order needs a price")
    return PlaceOrder(
        id=_field(d, "id", str),
        instrument=_field(d, "instrument", str),
        participant=_field(d, "participant", str),
        side=_field(d, "side", str),
        type=kind,
        price=price,
        quantity=_quantity(d),
        tif=_field(d, "tif", str, "day"),
    )


def _amend(d: dict[str, Any]) -> Command:
    quantity = _quantity(d, None)
    price = _field(d, "price", int, None)
    if quantity is None and price is None:
        raise ScenarioError("an amendment needs a quantity or a price")
    return AmendOrder(_field(d, "id", str), quantity, price)


def _session(cls: Callable[[str], Command]) -> Callable[[dict[str, Any]], Command]:
    return lambda d: cls(_field(d, "instrument", str))


PARSERS: dict[str, Callable[[dict[str, Any]], Command]] = {
    "instrument": _instrument,
    "order": _order,
    "cancel": lambda d: CancelOrder(_field(d, "id", str)),
    "amend": _amend,
    "open": _session(OpenSession),
    "pre_close": _session(PreClose),
    "close": _session(CloseSession),
    "halt": _session(Halt),
    "resume": _session(Resume),
    "auction": _session(RunAuction),
    "void_auction": lambda d: VoidAuction(
        _field(d, "instrument", str),
        _field(d, "restore", list),
        _field(d, "reference_price", int),
        _field(d, "last_price", int, None),
    ),
}


# ---------------------------------------------------------------------- sealed-bid auctions


@dataclass(frozen=True, slots=True)
class SealedAuctionLine:
    """{"op": "sealed_auction", "id", "supply", "reserve", "pricing", "marginal",
    "undersubscribed", "lot"?, "seed"?}"""

    id: str
    rules: SealedRules


@dataclass(frozen=True, slots=True)
class BidLine:
    """{"op": "bid", "auction", "id", "participant", "price", "quantity"}"""

    auction: str
    id: str
    participant: str
    price: int
    quantity: int


@dataclass(frozen=True, slots=True)
class ClearLine:
    """{"op": "clear", "auction"}"""

    auction: str


SealedLine = SealedAuctionLine | BidLine | ClearLine


def _sealed_auction(d: dict[str, Any]) -> SealedAuctionLine:
    seed = d.get("seed", "")
    if type(seed) not in (str, int):
        raise ScenarioError(f"field 'seed' must be str or int, not {seed!r}")
    try:
        rules = SealedRules(
            supply=_field(d, "supply", int),
            reserve=_field(d, "reserve", int),
            pricing=_field(d, "pricing", str, "uniform_lowest_accepted"),
            marginal=_field(d, "marginal", str, "time"),
            undersubscribed=_field(d, "undersubscribed", str, "partial"),
            lot=_field(d, "lot", int, 1),
            seed=str(seed),
        )
    except TansoError as e:
        raise ScenarioError(e.message) from None
    return SealedAuctionLine(_field(d, "id", str), rules)


def _bid(d: dict[str, Any]) -> BidLine:
    return BidLine(
        _field(d, "auction", str),
        _field(d, "id", str),
        _field(d, "participant", str),
        _field(d, "price", int),
        _quantity(d),
    )


SEALED_PARSERS: dict[str, Callable[[dict[str, Any]], SealedLine]] = {
    "sealed_auction": _sealed_auction,
    "bid": _bid,
    "clear": lambda d: ClearLine(_field(d, "auction", str)),
}


@dataclass(slots=True)
class _SealedAuction:
    rules: SealedRules
    bids: dict[str, SealedBid]
    cleared: bool = False


class SealedAuctions:
    """The scenario's sealed-bid auctions; a bid reserves price x quantity of a limited balance's
    cash until the clearing, which pays the awards and releases the rest."""

    def __init__(self, balances: Balances) -> None:
        self.balances = balances
        self.auctions: dict[str, _SealedAuction] = {}
        self.bid_ids: set[str] = set()
        self.seq = 0

    def handle(self, line: SealedLine) -> list[dict[str, Any]]:
        if isinstance(line, SealedAuctionLine):
            if line.id in self.auctions:
                raise ScenarioError(f"sealed auction {line.id!r} already exists")
            self.auctions[line.id] = _SealedAuction(line.rules, {})
            return []
        auction = self.auctions.get(line.auction)
        if auction is None:
            raise ScenarioError(f"unknown sealed auction {line.auction!r}")
        if auction.cleared:
            raise ScenarioError(f"sealed auction {line.auction!r} is already cleared")
        if isinstance(line, BidLine):
            return self._bid(auction, line)
        return self._clear(line.auction, auction)

    def _bid(self, auction: _SealedAuction, line: BidLine) -> list[dict[str, Any]]:
        if line.id in self.bid_ids:
            raise ScenarioError(f"bid {line.id!r} already exists")
        try:
            check_bid(auction.rules, line.price, line.quantity)
        except TansoError as e:
            raise ScenarioError(e.message) from None
        acct = self.balances.accounts.get(line.participant)
        need = line.price * line.quantity
        if acct is not None and acct.cash is not None:
            if acct.cash - acct.cash_reserved < need:
                raise ScenarioError(INSUFFICIENT_CASH)
            acct.cash_reserved += need
        self.seq += 1
        self.bid_ids.add(line.id)
        auction.bids[line.id] = SealedBid(
            line.id, line.participant, line.price, line.quantity, self.seq
        )
        return []

    def _clear(self, auction_id: str, auction: _SealedAuction) -> list[dict[str, Any]]:
        auction.cleared = True
        result = clear(auction.rules, list(auction.bids.values()))
        for b in auction.bids.values():
            acct = self.balances.accounts.get(b.bidder)
            if acct is not None and acct.cash is not None:
                acct.cash_reserved -= b.price * b.quantity
        out: list[dict[str, Any]] = []
        for a in result.awards:
            acct = self.balances.accounts.get(a.bidder)
            if acct is not None and acct.cash is not None:
                acct.cash -= a.amount
            out.append(
                {"event": "award", "auction": auction_id, "bid": a.bid, "quantity": a.quantity}
                | {"price": a.price}
            )
        out.append(
            {
                "event": "auction_result",
                "auction": auction_id,
                "clearing_price": result.clearing_price,
                "sold": result.sold,
                "unsold": result.unsold,
            }
        )
        return out


def parse_command(line: str) -> Command | BalanceLine | SealedLine:
    """One scenario line as an engine command, a BalanceLine or a sealed-auction line."""
    try:
        d = json.loads(line)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"not JSON: {e.msg}") from None
    if not isinstance(d, dict):
        raise ScenarioError("a line must be a JSON object")
    op = d.get("op")
    if op == "balance":
        credits = _field(d, "credits", dict, None)
        if credits is not None and not all(
            isinstance(k, str) and type(v) is int for k, v in credits.items()
        ):
            raise ScenarioError("credits must map instrument ids to integers")
        return BalanceLine(
            _field(d, "participant", str),
            _field(d, "cash", int, None),
            dict(credits) if credits is not None else None,
        )
    sealed = SEALED_PARSERS.get(op) if isinstance(op, str) else None
    if sealed is not None:
        return sealed(d)
    parser = PARSERS.get(op) if isinstance(op, str) else None
    if parser is None:
        raise ScenarioError(f"unknown op {op!r}")
    return parser(d)


def run(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Replay a scenario: one event dict per engine event, errors for lines not understood."""
    balances = Balances()
    engine = Engine(pre_trade=balances.check)
    sealed = SealedAuctions(balances)
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            command = parse_command(line)
        except ScenarioError as e:
            yield {"event": "error", "line": n, "message": str(e)}
            continue
        if isinstance(command, BalanceLine):
            balances.set(command.participant, command.cash, command.credits)
            continue
        if isinstance(command, SealedAuctionLine | BidLine | ClearLine):
            try:
                yield from sealed.handle(command)
            except ScenarioError as e:
                yield {"event": "error", "line": n, "message": str(e)}
            continue
        for event in engine.handle(command):
            balances.apply(event)
            yield event.to_json()
