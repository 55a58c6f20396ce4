"""Request bodies and answers of the forward offtake routes (docs/offtake.md): strict like
api/schemas.py, every number bounded before any service runs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from tanso.api.schemas import Body, answer
from tanso.domain import offtake as ot
from tanso.services.removals import offtake

MAX_YEN = 10**12
Year = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
Tonnes = Annotated[int, Field(ge=1, le=offtake.MAX_TONNES)]
Vintages = Annotated[
    dict[Year, Tonnes],
    Field(
        min_length=1,
        max_length=offtake.MAX_VINTAGES,
        description='Vintage year to tonnes, e.g. {"2027": 1000, "2028": 1000}.',
    ),
]
Account = Annotated[str, Field(min_length=1, max_length=64)]


class PriceRuleIn(Body):
    """A price per tonne in yen: ``fixed`` (price), ``floor_cap`` (a Tanso index's value at
    delivery kept between floor and cap) or ``indexed`` (the index's value x multiplier_bp /
    10,000 + premium, within floor and cap where given)."""

    kind: Literal["fixed", "floor_cap", "indexed"]
    price: int | None = Field(default=None, ge=1, le=MAX_YEN)
    floor: int | None = Field(default=None, ge=0, le=MAX_YEN)
    cap: int | None = Field(default=None, ge=0, le=MAX_YEN)
    multiplier_bp: int = Field(default=ot.BASIS_POINTS, ge=1, le=100 * ot.BASIS_POINTS)
    premium: int = Field(default=0, ge=-MAX_YEN, le=MAX_YEN)
    index: str | None = Field(default=None, min_length=1, max_length=40)

    def rule(self) -> ot.PriceRule:
        return ot.PriceRule(**self.model_dump())


class ListingIn(Body):
    project_id: str = Field(min_length=1, max_length=16)
    account_id: Account
    vintages: Vintages
    price_rule: PriceRuleIn
    note: str = Field(default="", max_length=2000)


class QuoteIn(Body):
    account_id: Account
    vintages: Vintages
    message: str = Field(default="", max_length=2000)


class TermsIn(Body):
    price_rule: PriceRuleIn
    shortfall_rule: Literal["carry_forward", "replacement", "refund"]
    prepaid_per_tonne: int = Field(default=0, ge=0, le=10**9)
    prepayment_mode: Literal["escrow", "milestones"] = "escrow"
    priority: int = Field(default=100, ge=1, le=offtake.MAX_PRIORITY)


class SignIn(Body):
    terms_version: str = Field(
        min_length=1,
        max_length=64,
        description="The quote's terms_version as read: refused (terms_changed) if the "
        "developer proposed other terms since.",
    )


class DeliveryIn(Body):
    quantity: int = Field(ge=1, le=MAX_YEN)


Listing = answer(offtake.Listing, "OfftakeListing")
Quote = answer(offtake.Quote, "OfftakeQuote")
Contract = answer(offtake.Contract, "OfftakeContract")
Delivered = answer(offtake.Delivered, "OfftakeDelivery")
VintageClosed = answer(offtake.VintageClosed, "OfftakeVintageClosed")
ForwardDemand = answer(offtake.ForwardDemand, "ForwardDemand")
