"""The demo market's first days: orders, call auctions and settlement runs on a simulated clock."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.domain.instruments import InstrumentSpec
from tanso.domain.market_making import Programme
from tanso.services import disputes, market_makers
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, registry
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import JST, standard_instruments
from tanso.services.trading.sessions import Scheduler
from tanso.store import schema as t
from tanso.store.db import Database


def _holders(db: Database, category: str) -> list[tuple[str, str, int]]:
    """(participant, account, quantity held) of credits of a category, largest first."""
    b, i, p, a = t.blocks.c, t.issuances.c, t.projects.c, t.accounts.c
    quantity = func.sum(b.serial_end - b.serial_start + 1)
    q = (
        select(a.participant_id, b.account_id, quantity.label("quantity"))
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id)
            .join(t.projects, i.project_id == p.id)
            .join(t.accounts, b.account_id == a.id)
        )
        .where(p.category == category, b.status == "held", a.kind == "holding")
        .group_by(a.participant_id, b.account_id)
        .order_by(quantity.desc(), b.account_id)
    )
    with db.read() as conn:
        return [(r.participant_id, r.account_id, int(r.quantity)) for r in conn.execute(q)]


class DemoClock:
    """Simulated time for the demo's history: set to a moment, it advances a millisecond per
    reading so that the journal's timestamps stay in order."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def set(self, moment: dt.datetime) -> None:
        self.t = max(moment, self.t)

    def __call__(self) -> str:
        self.t += dt.timedelta(milliseconds=1)
        return self.t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def demo_days(today: dt.date, business_days_back: int = 10) -> list[dt.date]:
    """The business days of the demo's history, oldest first, ending the business day before
    ``today`` (the first live day)."""
    cal = japan_calendar()
    days: list[dt.date] = []
    d = today
    while len(days) < business_days_back:
        d -= dt.timedelta(days=1)
        if cal.is_business_day(d):
            days.append(d)
    return sorted(days)


def at_jst(day: dt.date, hh: int, mm: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), JST)


def demo_market(
    db: Database,
    exchange: Exchange,
    keys: dict[str, str],
    clock: DemoClock,
    days: list[dt.date],
    seed: int = 2023,
) -> dict[str, int]:
    """Every business day of the history on the session scheduler, as the live market runs:
    each instrument opens, holds its call auctions and closes at the times of its session plan
    (GX 超過削減枠 only on Fridays at 15:00), with orders before each auction and settlement at
    16:00: early trades settled, recent ones waiting for their date, and one failed settlement
    (credits frozen in a dispute) that the operator can resolve."""
    rng = random.Random(seed)
    actors = _actors(db, keys)
    counts = {"orders": 0, "rejected": 0, "auctions": 0, "trades": 0, "settled": 0, "failed": 0}
    specs = standard_instruments(db)
    scheduler = _scheduler(db, exchange, clock)
    clock.set(at_jst(days[0], 8, 0))
    makers = _market_maker_programmes(db, days[0]) if MARKET_MAKER in actors else {}
    failed_one = False
    for day in days:
        opened = _at(clock, scheduler, day, 8, 0, counts)
        clock.set(at_jst(day, 9, 0))
        for spec in specs:
            if spec.id in opened:
                _orders(db, exchange, actors, spec, rng, counts)
        _at(clock, scheduler, day, 11, 30, counts)
        clock.set(at_jst(day, 13, 0))
        for spec in specs:
            if spec.id in opened:
                if spec.id in makers:
                    _quote(exchange, actors[MARKET_MAKER], spec.id, makers[spec.id], counts)
                _orders(db, exchange, actors, spec, rng, counts)
        _at(clock, scheduler, day, 15, 0, counts)  # the 15:00 auctions, indices, the close
        clock.set(at_jst(day, 16, 0))
        due = settlement.obligations(db, SYSTEM, "pending", day.isoformat())
        if due and not failed_one:
            _freeze_one(db, due[0].deal_id)
            _dispute(actors, db, due[0])
            failed_one = True
        out = settlement.run(db, SYSTEM, day)
        counts["settled"] += out.settled
        counts["failed"] += out.failed
    counts["trades"] = _trade_count(db)
    return counts


def demo_morning(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, day: dt.date
) -> dict[str, int]:
    """The first live day's morning: the markets open at 08:00 and orders wait for the 11:30
    auction, which the server's scheduler runs on the demo clock (`tanso serve --simulate`)."""
    rng = random.Random(day.toordinal())
    actors = _actors(db, keys)
    counts = {"orders": 0, "rejected": 0, "auctions": 0}
    opened = _at(clock, _scheduler(db, exchange, clock), day, 8, 0, counts)
    clock.set(at_jst(day, 9, 0))
    for spec in standard_instruments(db):
        if spec.id in opened:
            _orders(db, exchange, actors, spec, rng, counts)
    clock.set(at_jst(day, 10, 45))
    return counts


def _actors(db: Database, keys: dict[str, str]) -> dict[str, Actor]:
    return {
        pid: participants.authenticate(db, key) for pid, key in keys.items() if pid != "OPERATOR"
    }


def _scheduler(db: Database, exchange: Exchange, clock: DemoClock) -> Scheduler:
    return Scheduler(db, exchange, japan_calendar(), lambda: clock.t)


def _at(
    clock: DemoClock, scheduler: Scheduler, day: dt.date, hh: int, mm: int, counts: dict[str, int]
) -> set[str]:
    """Set the clock and let the scheduler do what is due; the instruments it opened."""
    clock.set(at_jst(day, hh, mm))
    done = scheduler.tick()
    counts["auctions"] += sum(1 for _, action in done if action == "auction")
    return {instrument for instrument, action in done if action == "open"}


def _trade_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.trades)).scalar_one())


MARKET_MAKER = "YAESU_LP"
PROGRAMME_TERMS = {  # JPX's FY2025 programme: 13:00-15:00, spread at most ¥200
    "JPX-ENERGY-SAVING": ("省エネ", "energy saving", 500),
    "JPX-RE-POWER": ("再エネ（電力）", "renewable power", 1_000),
}


def _market_maker_programmes(db: Database, first: dt.date) -> dict[str, int]:
    """The market-maker programme of the fiscal year on 省エネ and 再エネ(電力), on JPX's FY2025
    terms, with Yaesu Liquidity Partners appointed; returns {instrument: size a side}."""
    fy = first.year if first.month >= 4 else first.year - 1
    out = {}
    for instrument, (ja, en, size) in PROGRAMME_TERMS.items():
        pid = f"MM-{instrument.removeprefix('JPX-')}-FY{fy}"
        programme = Programme(
            id=pid,
            instrument=instrument,
            name_en=f"Market making in {en}, FY{fy} (JPX FY2025 terms)",
            name_ja=f"{ja} マーケットメイカー制度 {fy}年度（JPX 2025年度の条件）",
            starts=dt.date(fy, 4, 1),
            ends=dt.date(fy + 1, 3, 31),
            window_from=dt.time(13, 0),
            window_to=dt.time(15, 0),
            timezone="Asia/Tokyo",
            max_spread=200,
            min_quantity=size,
            min_presence_pct=80,
            incentive_per_day=20_000,
        )
        market_makers.define_programme(db, SYSTEM, programme)
        market_makers.appoint(db, SYSTEM, pid, MARKET_MAKER)
        out[instrument] = size
    return out


def _quote(
    exchange: Exchange, maker: Actor, instrument: str, size: int, counts: dict[str, int]
) -> None:
    """The market maker's two-sided quote at 13:00: ¥100 either side of the reference price."""
    ref = exchange.engine.markets[instrument].reference
    _place(exchange, maker, NewOrder(instrument, "buy", size, ref - 100), counts)
    _place(exchange, maker, NewOrder(instrument, "sell", size, ref + 100), counts)


def _dispute(actors: dict[str, Actor], db: Database, obligation: Any) -> None:
    """The buyer of the frozen trade disputes its obligation; the seller has answered. The
    operator's disputes screen has one to review."""
    buyer, seller = actors.get(obligation.buyer or ""), actors.get(obligation.seller or "")
    if buyer is None or seller is None:
        return
    opened = disputes.open_dispute(
        db,
        buyer,
        disputes.NewDispute(
            "obligation",
            obligation.deal_id,
            "The credits of this trade were frozen before delivery. We ask for credits of the "
            "same category and vintage, or our cash back with the fee.",
            claimed_quantity=obligation.quantity,
        ),
    )
    disputes.respond(
        db,
        seller,
        opened.id,
        "The registry froze the project's credits over its monitoring report; we can deliver "
        "other credits of the same category within five business days.",
    )


def _freeze_one(db: Database, trade_id: str) -> None:
    """A dispute: the registry operator freezes the credits of one trade before it settles."""
    b = t.blocks.c
    with db.read() as conn:
        rows = conn.execute(
            select(b.issuance_id, b.serial_start, b.serial_end).where(b.reservation == trade_id)
        ).all()
    for r in rows:
        registry.freeze(
            db,
            SYSTEM,
            f"{r.issuance_id}-{r.serial_start}-{r.serial_end}",
            True,
            "Demo: a dispute over the project's monitoring report",
        )


def _orders(
    db: Database,
    exchange: Exchange,
    actors: dict[str, Actor],
    spec: InstrumentSpec,
    rng: random.Random,
    counts: dict[str, int],
) -> None:
    """Sellers among the category's holders and buyers among the other traders, priced around
    the current reference price."""
    instrument = exchange.engine.markets[spec.id]
    ref = instrument.reference
    step = max(1, ref // 100)
    holders = [h for h in _holders(db, spec.eligibility.categories[0]) if h[0] in actors]
    sellers = {h[0] for h in holders}
    for pid, account, held in holders[:3]:
        quantity = max(1, min(held // 20, rng.randint(50, 800)))
        price = ref + rng.randint(-3, 6) * step
        _place(
            exchange,
            actors[pid],
            NewOrder(spec.id, "sell", quantity, price, account_id=account),
            counts,
        )
    members = _gx_members(db) if spec.eligibility.gx_league_only else set(actors)
    buyers = [
        pid
        for pid, a in actors.items()
        if pid not in sellers
        and pid in members
        and any(r.value in ("trader", "market_maker") for r in a.roles)
    ]
    rng.shuffle(buyers)
    for pid in buyers[:4]:
        price = ref + rng.randint(-6, 3) * step
        _place(exchange, actors[pid], NewOrder(spec.id, "buy", rng.randint(50, 600), price), counts)


def _gx_members(db: Database) -> set[str]:
    """The GX League members: the only buyers of a GX-League-only instrument."""
    with db.read() as conn:
        rows = conn.execute(select(t.participants.c.id).where(t.participants.c.gx_league))
        return {r.id for r in rows}


def _place(
    exchange: Exchange, actor: Actor, order: NewOrder, counts: dict[str, int]
) -> dict[str, int]:
    try:
        exchange.place(actor, order)
        counts["orders"] += 1
    except TansoError:
        counts["rejected"] += 1
    return counts
