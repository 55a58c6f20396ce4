"""評価額: an account's holdings valued at the reference price (基準値段) of the instrument that
trades each category of credits, in integer yen.

It reads; it never writes, and it never values a category no listed instrument prices: such a
category is answered with its quantity and no value, so the screen can say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from tanso.domain.registry import FINAL_STATUSES
from tanso.services.common import Actor, own_account
from tanso.services.trading.exchange import trade_date
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database


@dataclass(frozen=True, slots=True)
class CategoryValue:
    """One category's credits in the account (held, reserved or frozen) and, when an instrument
    prices it, that instrument, its reference price, the price's date and the value."""

    category: str
    quantity: int
    instrument: str | None
    reference_price: int | None
    price_date: str | None
    """The trade date of the instrument's latest call auction (which sets the reference price);
    before any auction, the day the instrument was listed with its starting price."""
    value: int | None


@dataclass(frozen=True, slots=True)
class Valuation:
    """An account's holdings at reference prices: by category, the total of the valued ones,
    and the quantity no instrument prices."""

    account_id: str
    categories: list[CategoryValue]
    total: int
    unvalued_quantity: int


def _pricing_instrument(instruments: list[tuple[str, list[str]]], category: str) -> str | None:
    """The instrument that prices a category: the one that delivers it alone, else the first
    (by id) whose eligibility names it."""
    naming = [i for i, cats in instruments if category in cats]
    alone = [i for i, cats in instruments if cats == [category]]
    found = alone or naming
    return found[0] if found else None


def valuation(db: Database, actor: Actor, account_id: str) -> Valuation:
    """The account's credits that are not retired or cancelled, valued by category at the
    reference price of the instrument that trades the category."""
    final = [s.value for s in FINAL_STATUSES]
    with db.read() as conn:
        own_account(conn, actor, account_id, write=False)
        quantities: dict[str, int] = {}
        for r in repo.holdings_totals(conn, account_id):
            if r.status not in final:
                quantities[r.category] = quantities.get(r.category, 0) + int(r.quantity)
        rows = conn.execute(select(t.instruments).order_by(t.instruments.c.id)).all()
        by_id = {r.id: r for r in rows}
        listed = [(r.id, list(json.loads(r.eligibility).get("categories") or [])) for r in rows]
        a = t.auctions.c
        latest = dict(
            conn.execute(
                select(a.instrument_id, func.max(a.trade_date)).group_by(a.instrument_id)
            ).all()
        )
    out = []
    for category, quantity in sorted(quantities.items()):
        iid = _pricing_instrument(listed, category)
        row = by_id.get(iid) if iid else None
        price = row.reference_price if row is not None else None
        if row is None or price is None:
            out.append(CategoryValue(category, quantity, iid, None, None, None))
            continue
        listed_on = trade_date(row.created_at).isoformat()
        day = latest.get(row.id) or listed_on
        out.append(CategoryValue(category, quantity, row.id, price, day, price * quantity))
    return Valuation(
        account_id=account_id,
        categories=out,
        total=sum(c.value for c in out if c.value is not None),
        unvalued_quantity=sum(c.quantity for c in out if c.value is None),
    )
