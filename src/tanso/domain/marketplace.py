"""マーケットプレイス方式: the project marketplace's rules, as plain values and functions.

A seller lists a lot of one issuance's credits at a fixed price; buyers buy at that price or ask
for a quote (RFQ) that a seller answers with a firm offer. This module validates terms, decides
whether a purchase is allowed, filters and sorts listings, and moves requests and offers through
their states. It never reads a clock (the caller passes ``now``) and never touches storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tanso.domain.errors import Conflict, InvalidInput

MAX_QTY = 10**12
MAX_PRICE = 10**9
"""Yen per tonne; far above any credit's price, low enough that price x quantity stays exact."""
MAX_SETTLEMENT_DAYS = 10
DEFAULT_SETTLEMENT_DAYS = 2
"""T+2 unless the seller says otherwise (our rule; the exchange's instruments say their own)."""

LISTING_STATUSES = ("open", "sold_out", "withdrawn", "expired")
RFQ_STATUSES = ("open", "filled", "cancelled")
OFFER_STATUSES = ("open", "accepted", "declined", "withdrawn", "expired", "not_chosen")
SORTS = ("price", "-price", "vintage", "-vintage", "newest", "oldest", "quantity", "-quantity")


def parse_time(value: str) -> dt.datetime:
    """An ISO-8601 timestamp with a zone (``Z`` allowed), as an aware datetime."""
    try:
        ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput(
            "invalid_time", f"{value!r} is not a time such as 2026-01-05T09:00:00Z."
        ) from None
    if ts.tzinfo is None:
        raise InvalidInput("invalid_time", f"{value!r} has no time zone; add Z or +09:00.")
    return ts


def utc_text(ts: dt.datetime) -> str:
    """The canonical stored form: UTC with microseconds and ``Z``, so text order is time order."""
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_expired(expires_at: str | None, now: str) -> bool:
    """Whether something with this expiry has lapsed at ``now`` (expiry itself counts as lapsed)."""
    return expires_at is not None and parse_time(expires_at) <= parse_time(now)


def check_expiry(expires_at: str | None, now: str) -> str | None:
    """An expiry in canonical form; it must lie after ``now``."""
    if expires_at is None:
        return None
    ts = parse_time(expires_at)
    if ts <= parse_time(now):
        raise InvalidInput("expiry_in_past", "The expiry must lie in the future.")
    return utc_text(ts)


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"invalid_{name}", f"{name} must be a whole number from {low} to {high}."
        )
    return value


@dataclass(frozen=True, slots=True)
class ListingTerms:
    """What a seller offers: yen per tonne, how many, the smallest purchase and its steps."""

    price: int
    quantity: int
    min_quantity: int = 0
    """0: one lot."""
    lot: int = 1
    settlement_days: int = DEFAULT_SETTLEMENT_DAYS

    def __post_init__(self) -> None:
        if self.min_quantity == 0:
            object.__setattr__(self, "min_quantity", self.lot)
        _whole(self.price, "price", 1, MAX_PRICE)
        _whole(self.quantity, "quantity", 1, MAX_QTY)
        _whole(self.min_quantity, "min_quantity", 1, MAX_QTY)
        _whole(self.lot, "lot", 1, MAX_QTY)
        _whole(self.settlement_days, "settlement_days", 0, MAX_SETTLEMENT_DAYS)
        if self.min_quantity % self.lot:
            raise InvalidInput(
                "min_quantity_not_in_lots", "min_quantity must be a whole number of lots."
            )
        if self.min_quantity > self.quantity:
            raise InvalidInput(
                "min_quantity_above_quantity", "min_quantity cannot exceed the quantity."
            )


def check_purchase(available: int, min_quantity: int, lot: int, quantity: int) -> None:
    """A buyer may take a whole number of lots, at least the minimum, at most what is left; the
    last remainder may always be taken whole even if it is smaller (our rule)."""
    _whole(quantity, "quantity", 1, MAX_QTY)
    if quantity > available:
        raise Conflict(
            "quantity_above_available", f"Only {available} t are available in this listing."
        )
    if quantity == available:
        return
    if quantity < min_quantity:
        raise InvalidInput(
            "quantity_below_minimum", f"The minimum purchase from this listing is {min_quantity} t."
        )
    if quantity % lot:
        raise InvalidInput(
            "quantity_not_in_lots", f"This listing sells in lots of {lot} t; buy a multiple."
        )


def purchase_amount(price: int, quantity: int) -> int:
    """price x quantity in yen, exact."""
    return price * quantity


def listing_status(status: str, expires_at: str | None, now: str) -> str:
    """A listing's status as of ``now``: an open listing past its expiry reads as expired."""
    if status == "open" and is_expired(expires_at, now):
        return "expired"
    return status


# ---------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class ListingFilter:
    """What a buyer searches for; an empty field admits anything."""

    scheme: str | None = None
    category: str | None = None
    mechanism: str | None = None
    nature: str | None = None
    vintage_from: int | None = None
    vintage_to: int | None = None
    country: str | None = None
    property: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    project: str | None = None
    seller: str | None = None
    exclude_seller: str | None = None
    q: str | None = None
    prefecture: str | None = None
    """Local-government credits of one prefecture (JIS X 0401 code, e.g. ``20``)."""

    def admits(self, listing: dict[str, Any]) -> bool:
        """Whether a listing (a dict as the service shapes it, with its project) matches."""
        exact = (
            (self.scheme, listing.get("scheme")),
            (self.category, listing.get("category")),
            (self.mechanism, listing.get("mechanism")),
            (self.nature, listing.get("nature")),
            (self.country, listing.get("country")),
            (self.project, listing.get("project_id")),
            (self.seller, listing.get("seller_id")),
            (self.prefecture, listing.get("prefecture")),
        )
        if any(want and have != want for want, have in exact):
            return False
        if self.exclude_seller and listing.get("seller_id") == self.exclude_seller:
            return False
        vintage, price = listing.get("vintage", 0), listing.get("price", 0)
        if self.vintage_from is not None and vintage < self.vintage_from:
            return False
        if self.vintage_to is not None and vintage > self.vintage_to:
            return False
        if self.price_min is not None and price < self.price_min:
            return False
        if self.price_max is not None and price > self.price_max:
            return False
        if self.property and self.property not in listing.get("properties", ()):
            return False
        if self.q:
            text = " ".join(
                str(listing.get(k, "")) for k in ("project_name", "project_name_ja", "project_id")
            )
            if self.q.casefold() not in text.casefold():
                return False
        return True


def sort_key(sort: str) -> tuple[Callable[[dict[str, Any]], Any], bool]:
    """The key and direction of a sort (``-`` first means descending); ties by listing id."""
    if sort not in SORTS:
        raise InvalidInput("invalid_sort", f"sort is one of {', '.join(SORTS)}.")
    field = {"newest": "seq", "oldest": "seq", "-price": "price", "-vintage": "vintage"}.get(
        sort, sort.lstrip("-")
    )
    if field == "quantity":
        field = "available"
    reverse = sort.startswith("-") or sort == "newest"
    return (lambda x: (x[field], x["seq"])), reverse


def search(
    listings: Iterable[dict[str, Any]], f: ListingFilter, sort: str = "price"
) -> list[dict[str, Any]]:
    """The listings that match, in the order asked for."""
    key, reverse = sort_key(sort)
    return sorted((x for x in listings if f.admits(x)), key=key, reverse=reverse)


# ---------------------------------------------------------------- requests for quote and offers


def offer_status(status: str, expires_at: str, now: str) -> str:
    """An offer's status as of ``now``: an open offer past its expiry reads as expired."""
    if status == "open" and is_expired(expires_at, now):
        return "expired"
    return status


OFFER_EVENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("open",), "accepted"),
    "decline": (("open",), "declined"),
    "withdraw": (("open",), "withdrawn"),
    "expire": (("open",), "expired"),
    "not_chosen": (("open",), "not_chosen"),
}
"""event -> (statuses it may happen in, the status it leads to)."""


def offer_transition(status: str, expires_at: str, now: str, event: str) -> str:
    """The state an offer moves to on ``event``, or a Conflict saying why it cannot."""
    allowed, target = OFFER_EVENTS[event]
    if event == "expire":
        if status not in allowed:
            raise Conflict("offer_not_open", f"This offer is {status}.")
        if not is_expired(expires_at, now):
            raise Conflict("offer_not_expired", "This offer has not expired yet.")
        return target
    current = offer_status(status, expires_at, now)
    if current == "expired":
        raise Conflict("offer_expired", "This offer has expired.")
    if current not in allowed:
        raise Conflict("offer_not_open", f"This offer is {current}.")
    return target


def rfq_transition(status: str, event: str) -> str:
    """An RFQ is open until an offer is accepted (filled) or its buyer cancels it."""
    if status != "open":
        raise Conflict("rfq_not_open", f"This request for quote is {status}.")
    if event == "fill":
        return "filled"
    if event == "cancel":
        return "cancelled"
    if event == "offer":
        return "open"
    raise InvalidInput("invalid_event", f"Unknown event {event!r}.")


def check_offer(price: int, quantity: int, settlement_days: int) -> None:
    """A firm offer's terms."""
    _whole(price, "price", 1, MAX_PRICE)
    _whole(quantity, "quantity", 1, MAX_QTY)
    _whole(settlement_days, "settlement_days", 0, MAX_SETTLEMENT_DAYS)


def check_rfq_quantity(quantity: int) -> int:
    return _whole(quantity, "quantity", 1, MAX_QTY)
