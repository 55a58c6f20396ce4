"""The demo market's JCM instruments: listed before the trading history, so that JCM credits
trade on the exchange every day of it and the JCM index (TANSO-JCM) has prices.

Before the first auction of the history each partner country's largest holder offers its
credits in a ladder of asks, and one GX League company bids for a first lot at a price that
crosses the lowest ask; the history's daily orders (demo/exchange_days.py) then buy from the
ladder. The asks stand until filled (good till cancelled) unless the holder is one the demo's
portal users log in as: theirs are day orders, so that nobody finds an open order of its
company that it did not place. Everything goes through the exchange service, so it is journaled and
audited like any other activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.domain.errors import TansoError
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import (
    JCM_CATEGORY,
    JCM_SCHEME,
    ensure_standard_instruments,
    jcm_instrument_id,
)
from tanso.store import schema as t
from tanso.store.db import Database

REFERENCES: dict[str, int] = {"JCM-MN": 2_200, "JCM-VN": 2_600, "JCM-ID": 2_400, "JCM-TH": 2_800}
"""Starting reference prices (基準値段) of the demo's JCM instruments: illustrative, not market
prices (JCM credits have none yet)."""

LADDER = ((400, 0), (600, 2), (800, 4))
"""The holder's asks: (tonnes, per cent above the reference price)."""

FIRST_BIDS: dict[str, tuple[str, int]] = {
    "JCM-MN": ("MIKAWA_SEIKI", 300),
    "JCM-VN": ("KANTO_EP", 250),
    "JCM-ID": ("SETOUCHI_EP", 200),
    "JCM-TH": ("MIKAWA_SEIKI", 150),
}
"""GX League companies that buy a first lot (for 温対法 reporting and GX-ETS), with the tonnes."""


def _holder(db: Database, country: str) -> tuple[str, str, int] | None:
    """(participant, holding account, tonnes held) of the largest holder of a country's JCM
    credits, or None."""
    b, i, p, a = t.blocks.c, t.issuances.c, t.projects.c, t.accounts.c
    quantity = func.sum(b.serial_end - b.serial_start + 1)
    q = (
        select(a.participant_id, b.account_id, quantity.label("quantity"))
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id)
            .join(t.projects, i.project_id == p.id)
            .join(t.accounts, b.account_id == a.id)
        )
        .where(p.scheme == JCM_SCHEME, p.category == JCM_CATEGORY, p.country == country)
        .where(b.status == "held", a.kind == "holding")
        .group_by(a.participant_id, b.account_id)
        .order_by(quantity.desc(), b.account_id)
        .limit(1)
    )
    with db.read() as conn:
        r = conn.execute(q).first()
    return (r.participant_id, r.account_id, int(r.quantity)) if r else None


def run(
    db: Database,
    exchange: Exchange,
    keys: dict[str, str],
    clock: DemoClock,
    days: list[dt.date],
    standing: Collection[str] | None = None,
) -> list[str]:
    """List the JCM instruments (one per partner country with credits) and, on the first
    history day before its 11:30 auction, place the holders' asks and the first bids; only the
    holders in ``standing`` (None: every one) keep their asks beyond that day. Returns the
    instruments listed."""
    clock.set(at_jst(days[0], 8, 30))
    listed = [
        i
        for i in ensure_standard_instruments(db, exchange, REFERENCES)
        if i.startswith(jcm_instrument_id(""))
    ]
    actors: dict[str, Actor] = {}

    def actor(pid: str) -> Actor | None:
        if pid not in actors and pid in keys:
            actors[pid] = participants.authenticate(db, keys[pid])
        return actors.get(pid)

    for instrument in listed:
        country = instrument.removeprefix(jcm_instrument_id(""))
        holder = _holder(db, country)
        seller = actor(holder[0]) if holder else None
        if holder is None or seller is None:
            continue
        exchange.session(SYSTEM, instrument, "open")
        reference = exchange.engine.markets[instrument].reference
        tick = max(1, reference // 100)
        tif = "gtc" if standing is None or holder[0] in standing else "day"
        for quantity, pct in LADDER:
            price = reference + pct * tick
            sell = NewOrder(instrument, "sell", quantity, price, tif=tif, account_id=holder[1])
            _place(exchange, seller, sell)
        buyer_id, quantity = FIRST_BIDS.get(instrument, ("MIKAWA_SEIKI", 100))
        buyer = actor(buyer_id)
        if buyer is not None and buyer_id != holder[0]:
            _place(exchange, buyer, NewOrder(instrument, "buy", quantity, reference + tick))
    return listed


def _place(exchange: Exchange, actor: Actor, order: NewOrder) -> None:
    # a refusal (cash, credits) leaves the demo without that order, not without a market
    try:
        exchange.place(actor, order)
    except TansoError:
        return
