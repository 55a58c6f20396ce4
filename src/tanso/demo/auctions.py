"""The demo market's sealed-bid auctions: what `tanso init --demo` adds after the trading history.

One auction cleared on the last demo day (results and a demand curve to look at, awards settled
T+0) and one open for bidding for a week of real time, with a few sealed bids already in. The
seller is the participant holding the most credits; the bidders are the others with the most
free cash. Deterministic: the same demo data gives the same auctions.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import sealed_auctions as sa
from tanso.store import schema as t
from tanso.store.db import Database

LOT = 100
BIDS = ((0.95, 4), (1.05, 4), (1.15, 3), (0.85, 5), (1.0, 4), (1.0, 3))  # price factor, lots


def _seller_and_buyers(db: Database, actors: dict[str, Actor]) -> tuple[str, str, list[str]]:
    """(seller, its holding account, bidders): the largest holder sells, the richest bid."""
    b, a, c = t.blocks.c, t.accounts.c, t.cash_accounts.c
    with db.read() as conn:
        holders = conn.execute(
            select(a.participant_id, a.id, func.sum(b.serial_end - b.serial_start + 1))
            .join(t.accounts, a.id == b.account_id)
            .where(b.status == "held", a.kind == "holding")
            .group_by(a.participant_id, a.id)
            .order_by(func.sum(b.serial_end - b.serial_start + 1).desc(), a.id)
        ).all()
        cash = conn.execute(
            select(c.participant_id, c.balance - c.reserved)
            .where(c.currency == "JPY", c.participant_id.is_not(None))
            .order_by((c.balance - c.reserved).desc(), c.participant_id)
        ).all()
    seller, account = next(
        (pid, acct) for pid, acct, _q in holders if pid in actors and actors[pid].has(Role.TRADER)
    )
    bidders = [pid for pid, _free in cash if pid in actors and pid != seller][:4]
    return seller, account, bidders


def _account_of(db: Database, pid: str) -> str:
    a = t.accounts.c
    with db.read() as conn:
        return str(
            conn.execute(
                select(a.id)
                .where(a.participant_id == pid, a.kind == "holding")
                .order_by(a.id)
                .limit(1)
            ).scalar_one()
        )


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add this capability's demo data; returns a line for the summary (empty: nothing added)."""
    actors = {
        pid: participants.authenticate(db, key) for pid, key in keys.items() if pid != "OPERATOR"
    }
    if len(actors) < 3:
        return ""
    seller, account, bidders = _seller_and_buyers(db, actors)
    if len(bidders) < 2:
        return ""
    day = days[-1]
    reserve = 3_000
    clock.set(at_jst(day, 16, 30))
    cleared = sa.create(
        db,
        actors[seller],
        sa.NewSealedAuction(
            account_id=account,
            title="Demo portfolio auction (uniform price, pro rata)",
            opens_at=sa.timestamp(at_jst(day, 16, 35)),
            closes_at=sa.timestamp(at_jst(day, 17, 0)),
            reserve=reserve,
            quantity=10 * LOT,
            lot=LOT,
            pricing="uniform_lowest_accepted",
            marginal="pro_rata",
            settlement_days=0,
            seed="demo-2026",
        ),
    )
    clock.set(at_jst(day, 16, 40))
    for n, (factor, lots) in enumerate(BIDS):
        pid = bidders[n % len(bidders)]
        price = int(reserve * factor) // 10 * 10
        sa.place_bid(db, actors[pid], cleared.id, _account_of(db, pid), price, lots * LOT)
    clock.set(at_jst(day, 17, 1))
    result = sa.clear_auction(db, SYSTEM, cleared.id)
    # open for two weeks of the demo clock (docs/demo-clock.md): the demo's users can bid in it
    open_until = at_jst(day + dt.timedelta(days=14), 15, 0)
    clock.set(at_jst(day, 17, 5))
    upcoming = sa.create(
        db,
        actors[seller],
        sa.NewSealedAuction(
            account_id=account,
            title="Demo lot auction (open for bids)",
            opens_at=sa.timestamp(at_jst(day, 17, 10)),
            closes_at=sa.timestamp(open_until),
            reserve=reserve,
            quantity=5 * LOT,
            lot=LOT,
            pricing="uniform_highest_rejected",
            marginal="time",
            settlement_days=2,
        ),
    )
    clock.set(at_jst(day, 17, 15))
    for n, (factor, lots) in enumerate(BIDS[:2]):
        pid = bidders[n % len(bidders)]
        price = int(reserve * factor) // 10 * 10
        sa.place_bid(db, actors[pid], upcoming.id, _account_of(db, pid), price, lots * LOT)
    view = sa.get_auction(db, cleared.id).result
    assert view is not None
    return (
        f"sealed-bid auctions: {cleared.id} cleared at {view.clearing_price} "
        f"({view.sold} t sold, {result.awards} awards), {upcoming.id} open for bids"
    )
