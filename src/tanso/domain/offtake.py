"""Forward offtake contracts (長期オフテイク契約, issue 21 §2): the pure rules.

A buyer and a project developer agree quantities per future vintage at a price or a price
formula, with delivery on issuance, an optional prepayment, and a rule for what happens when an
issuance falls short. This module prices a delivery, shares an issuance among the contracts due
in priority order, and settles a shortfall. Nothing here reads a database or a clock; amounts
are integer minor units (yen), quantities whole tonnes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from tanso.domain.errors import InvalidInput

PRICE_KINDS = ("fixed", "floor_cap", "indexed")
SHORTFALL_RULES = ("carry_forward", "replacement", "refund")
BASIS_POINTS = 10_000


def half_up(value: Fraction) -> int:
    """The nearest whole number, halves away from zero (prices are positive)."""
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


@dataclass(frozen=True, slots=True)
class PriceRule:
    """How a delivery is priced, per tonne (yen).

    - ``fixed``: ``price``.
    - ``floor_cap``: the reference price at delivery (e.g. the market's), kept between
      ``floor`` and ``cap``.
    - ``indexed``: the reference (a Tanso index's value at delivery) × ``multiplier_bp`` / 10,000
      + ``premium``, rounded half up once, then kept between ``floor`` and ``cap`` where given.
    """

    kind: str
    price: int | None = None
    floor: int | None = None
    cap: int | None = None
    multiplier_bp: int = BASIS_POINTS
    premium: int = 0
    index: str | None = None
    """The index (or instrument) whose value is the reference, for ``floor_cap``/``indexed``."""

    def check(self) -> PriceRule:
        if self.kind not in PRICE_KINDS:
            raise InvalidInput(
                "invalid_price_rule", f"A price rule is one of {', '.join(PRICE_KINDS)}."
            )
        if self.kind == "fixed" and (self.price is None or self.price < 1):
            raise InvalidInput(
                "invalid_price_rule", "A fixed price is a whole number of yen above 0."
            )
        if self.kind == "floor_cap" and (self.floor is None or self.cap is None):
            raise InvalidInput("invalid_price_rule", "A floor-and-cap price names both.")
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise InvalidInput(
                "invalid_price_rule",
                f"The floor ({self.floor:,} yen) is above the cap ({self.cap:,} yen).",
            )
        if self.kind != "fixed" and not self.index:
            raise InvalidInput(
                "invalid_price_rule", f"A {self.kind} price names the index it follows."
            )
        if not 1 <= self.multiplier_bp <= 100 * BASIS_POINTS:
            raise InvalidInput("invalid_price_rule", "multiplier_bp is 1 to 1,000,000.")
        return self


def unit_price(rule: PriceRule, reference: int | None = None) -> int:
    """The price per tonne of a delivery under ``rule``, given the reference price at delivery
    (needed by ``floor_cap`` and ``indexed``)."""
    rule.check()
    if rule.kind == "fixed":
        assert rule.price is not None
        return rule.price
    if reference is None or reference < 0:
        raise InvalidInput(
            "no_reference_price",
            f"A {rule.kind} price needs the value of {rule.index} at delivery; there is none.",
        )
    if rule.kind == "indexed":
        price = half_up(Fraction(reference * rule.multiplier_bp, BASIS_POINTS)) + rule.premium
    else:
        price = reference
    if rule.floor is not None:
        price = max(price, rule.floor)
    if rule.cap is not None:
        price = min(price, rule.cap)
    return price


# ---------------------------------------------------------------- deliveries on issuance


@dataclass(frozen=True, slots=True)
class Due:
    """What one contract awaits from an issuance of its vintage: its scheduled quantity plus
    what earlier shortfalls carried forward to it."""

    contract_id: str
    priority: int
    """Lower first; ties go to the contract signed first (``signed_seq``)."""
    signed_seq: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Delivery:
    contract_id: str
    due: int
    delivered: int

    @property
    def short(self) -> int:
        return self.due - self.delivered


def share(issued: int, dues: Sequence[Due]) -> list[Delivery]:
    """Share ``issued`` tonnes among the contracts due, in priority order: each takes what it
    is due while any is left. Never more than due, never more than issued."""
    if issued < 0:
        raise InvalidInput("invalid_quantity", "An issuance is a whole number of tonnes.")
    left = issued
    out = []
    for d in sorted(dues, key=lambda d: (d.priority, d.signed_seq, d.contract_id)):
        take = min(d.quantity, left)
        left -= take
        out.append(Delivery(d.contract_id, d.quantity, take))
    return out


# ---------------------------------------------------------------- shortfall


@dataclass(frozen=True, slots=True)
class Shortfall:
    """What a contract's rule makes of tonnes an issuance did not deliver."""

    rule: str
    short: int
    carried: int = 0
    """Added to what the next vintage's issuance owes (``carry_forward``)."""
    replacement: int = 0
    """To deliver from the developer's other credits of the same class (``replacement``)."""
    refund: int = 0
    """Yen of the prepayment returned to the buyer (``refund``)."""


def shortfall(
    rule: str, short: int, prepaid_per_tonne: int = 0, last_vintage: bool = False
) -> Shortfall:
    """Apply a contract's shortfall rule to ``short`` tonnes. Carrying forward past the
    contract's last vintage is not possible, so there the prepayment is refunded instead."""
    if rule not in SHORTFALL_RULES:
        raise InvalidInput(
            "invalid_shortfall_rule", f"A shortfall rule is one of {', '.join(SHORTFALL_RULES)}."
        )
    if short <= 0:
        return Shortfall(rule, 0)
    if rule == "carry_forward" and not last_vintage:
        return Shortfall(rule, short, carried=short)
    if rule == "replacement":
        return Shortfall(rule, short, replacement=short)
    return Shortfall(rule, short, refund=short * prepaid_per_tonne)


def payment(quantity: int, price: int, prepaid_per_tonne: int = 0) -> int:
    """What the buyer pays on delivery: the price of the tonnes, less what it prepaid for them
    (never below zero)."""
    return max(0, quantity * (price - prepaid_per_tonne))
