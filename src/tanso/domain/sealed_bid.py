"""Sealed-bid auctions (as Climate Impact X, RGGI and California run them): the clearing rules.

A seller offers a supply of credits in lots; bidders send sealed bids (a price per tonne and a
quantity in whole lots) while the window is open; after the close `clear` decides who wins how
much at what price. Pure: no clock, no I/O; the pro-rata tie-break draws from `random.Random`
seeded with the seed the auction published before it opened, so the same bids and the same seed
always give the same awards. docs/sealed-auctions.md states every rule with worked examples.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from tanso.domain.errors import InvalidInput

PRICING = ("uniform_lowest_accepted", "uniform_highest_rejected", "pay_as_bid")
MARGINAL = ("time", "pro_rata")
UNDERSUBSCRIBED = ("cancel", "partial")
MAX_QTY = 10**12
MAX_PRICE = 10**12


@dataclass(frozen=True, slots=True)
class SealedRules:
    """The settings of one auction. Supply and every bid quantity are whole lots."""

    supply: int
    reserve: int
    pricing: str = "uniform_lowest_accepted"
    marginal: str = "time"
    undersubscribed: str = "partial"
    lot: int = 1
    seed: str = ""

    def __post_init__(self) -> None:
        if type(self.lot) is not int or not 1 <= self.lot <= MAX_QTY:
            raise InvalidInput("invalid_lot", "lot is a whole number of tonnes, at least 1.")
        if type(self.supply) is not int or not 1 <= self.supply <= MAX_QTY:
            raise InvalidInput("invalid_supply", "supply is a positive whole number of tonnes.")
        if self.supply % self.lot:
            raise InvalidInput("supply_not_in_lots", f"supply must be whole lots of {self.lot}.")
        if type(self.reserve) is not int or not 1 <= self.reserve <= MAX_PRICE:
            raise InvalidInput("invalid_reserve", "reserve is a price in minor units, at least 1.")
        for value, allowed, name in (
            (self.pricing, PRICING, "pricing"),
            (self.marginal, MARGINAL, "marginal"),
            (self.undersubscribed, UNDERSUBSCRIBED, "undersubscribed"),
        ):
            if value not in allowed:
                raise InvalidInput(f"invalid_{name}", f"{name} is one of {', '.join(allowed)}.")


@dataclass(frozen=True, slots=True)
class SealedBid:
    """One bid at the close. ``seq`` orders bids by time (an amendment takes a new seq)."""

    id: str
    bidder: str
    price: int
    quantity: int
    seq: int


@dataclass(frozen=True, slots=True)
class Award:
    bid: str
    bidder: str
    quantity: int
    price: int

    @property
    def amount(self) -> int:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class DemandStep:
    """All bids at one price, aggregated: nobody is named."""

    price: int
    quantity: int
    cumulative: int  # bids at this price or higher


@dataclass(frozen=True, slots=True)
class SealedResult:
    """What the clearing decided; ``clearing_price`` is None for pay_as_bid or nothing sold."""

    awards: tuple[Award, ...]
    clearing_price: int | None
    sold: int
    unsold: int
    bidders: int
    valid_demand: int
    undersubscribed: bool
    demand: tuple[DemandStep, ...]


def check_bid(rules: SealedRules, price: int, quantity: int) -> None:
    """A bid is a positive price per tonne and a positive whole number of lots."""
    if type(price) is not int or not 1 <= price <= MAX_PRICE:
        raise InvalidInput("invalid_price", "price is a whole number of minor units, at least 1.")
    if type(quantity) is not int or not 1 <= quantity <= MAX_QTY:
        raise InvalidInput("invalid_quantity", "quantity is a positive whole number of tonnes.")
    if quantity % rules.lot:
        raise InvalidInput("quantity_not_in_lots", f"quantity must be whole lots of {rules.lot}.")


def demand_curve(bids: list[SealedBid]) -> tuple[DemandStep, ...]:
    """Quantity bid at each price, highest price first, with the cumulative quantity."""
    by_price: dict[int, int] = defaultdict(int)
    for b in bids:
        by_price[b.price] += b.quantity
    steps: list[DemandStep] = []
    cumulative = 0
    for price in sorted(by_price, reverse=True):
        cumulative += by_price[price]
        steps.append(DemandStep(price, by_price[price], cumulative))
    return tuple(steps)


def _pro_rata(level: list[SealedBid], lots: int, lot: int, seed: str) -> dict[str, int]:
    """Share ``lots`` among bids at one price in proportion to their quantity, rounded down to
    lots; the leftover lots go one each to bids in an order drawn from the published seed."""
    total = sum(b.quantity // lot for b in level)
    shares = {b.id: lots * (b.quantity // lot) // total for b in level}
    leftover = lots - sum(shares.values())
    order = sorted(level, key=lambda b: (b.seq, b.id))
    random.Random(seed).shuffle(order)
    # lots < total, so every share is below its bid and leftover < len(level): one pass suffices
    for b in order[:leftover]:
        shares[b.id] += 1
    return {bid_id: n * lot for bid_id, n in shares.items()}


def _time(level: list[SealedBid], quantity: int) -> dict[str, int]:
    """Earlier bids first: each takes what it asked for until the quantity runs out."""
    out: dict[str, int] = {}
    for b in sorted(level, key=lambda b: (b.seq, b.id)):
        take = min(b.quantity, quantity)
        out[b.id] = take
        quantity -= take
    return out


def clear(rules: SealedRules, bids: list[SealedBid]) -> SealedResult:
    """Clear a sealed-bid auction: who wins how much, at what price (docs/sealed-auctions.md)."""
    for b in bids:
        check_bid(rules, b.price, b.quantity)
    valid = [b for b in bids if b.price >= rules.reserve]  # below the reserve: ignored
    demand = sum(b.quantity for b in valid)
    bidders = len({b.bidder for b in bids})
    curve = demand_curve(bids)
    undersubscribed = demand < rules.supply

    def result(filled: dict[str, int], uniform: int | None) -> SealedResult:
        awards = tuple(
            Award(b.id, b.bidder, filled[b.id], b.price if uniform is None else uniform)
            for b in sorted(valid, key=lambda b: (-b.price, b.seq, b.id))
            if filled.get(b.id, 0) > 0
        )
        sold = sum(a.quantity for a in awards)
        return SealedResult(
            awards,
            uniform if sold else None,
            sold,
            rules.supply - sold,
            bidders,
            demand,
            undersubscribed,
            curve,
        )

    if undersubscribed and (rules.undersubscribed == "cancel" or not valid):
        return result({}, None)
    filled: dict[str, int] = {}
    remaining = rules.supply
    levels: dict[int, list[SealedBid]] = defaultdict(list)
    for b in valid:
        levels[b.price].append(b)
    for price in sorted(levels, reverse=True):
        level = levels[price]
        asked = sum(b.quantity for b in level)
        if asked <= remaining:
            filled |= {b.id: b.quantity for b in level}
            remaining -= asked
        elif remaining > 0:
            if rules.marginal == "time":
                filled |= _time(level, remaining)
            else:
                filled |= _pro_rata(level, remaining // rules.lot, rules.lot, rules.seed)
            remaining = 0
    if rules.pricing == "pay_as_bid":
        return result(filled, None)
    if rules.pricing == "uniform_lowest_accepted":
        return result(filled, min(b.price for b in valid if filled.get(b.id, 0) > 0))
    # uniform_highest_rejected: a bid is rejected when it gets less than it asked for; when no
    # valid bid is rejected, winners pay the reserve price (our rule)
    rejected = [b.price for b in valid if filled.get(b.id, 0) < b.quantity]
    return result(filled, max(rejected) if rejected else rules.reserve)
