"""The standard instruments (one per TSE trading category) and the demo market's first orders."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services import participants
from tanso.services.common import SYSTEM, Actor
from tanso.services.exchange import Exchange, NewOrder
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database

# 基準値段 to start from, after the real market's price levels (MISSION.md): 省エネ about ¥2,000,
# 再エネ(電力) about ¥4,257 (weighted average to 2025-03), 森林 ¥7,000-15,000.
STANDARD_REFERENCE_PRICES: dict[str, int] = {
    "ENERGY_SAVING": 2_000,
    "RE_POWER": 4_257,
    "RE_POWER_BIOMASS": 3_500,
    "RE_HEAT": 3_000,
    "RE_MIXED": 3_200,
    "FOREST": 9_800,
    "AGRI_MIDSEASON": 5_000,
    "AGRI_BIOCHAR": 18_000,
    "OTHER": 2_500,
    "JVER": 3_000,
    "DOMESTIC_CREDIT": 1_500,
    "GX_EXCESS": 3_000,
}

GX_WEEKLY_SESSIONS: dict[str, Any] = {
    "timezone": "Asia/Tokyo",
    "accept": [["08:00", "14:59"]],
    "auctions": ["15:00"],
    "weekdays": [4],
}
"""GX-ETS 超過削減枠 trades once a week, on Fridays at 15:00."""


def standard_instruments(db: Database) -> list[InstrumentSpec]:
    """One call-auction instrument per TSE trading category, with TSE's rules."""
    specs = []
    with db.read() as conn:
        categories = repo.list_table(conn, t.categories, t.categories.c.code, tse=True)
    for c in categories:
        reference = STANDARD_REFERENCE_PRICES.get(c.code, 3_000)
        extra: dict[str, Any] = {"sessions": GX_WEEKLY_SESSIONS} if c.code == "GX_EXCESS" else {}
        specs.append(
            InstrumentSpec(
                id=f"JPX-{c.code}".replace("_", "-"),
                name_en=f"{c.name_en}",
                name_ja=c.name_ja,
                eligibility=Eligibility(
                    schemes=(c.scheme,) if c.scheme else (), categories=(c.code,)
                ),
                reference_price=reference,
                **extra,
            )
        )
    return specs


def ensure_standard_instruments(db: Database, exchange: Exchange) -> list[str]:
    """List every standard instrument that is not listed yet; returns the ids added."""
    added = []
    with db.read() as conn:
        existing = {r.id for r in repo.list_table(conn, t.instruments, t.instruments.c.id)}
    for spec in standard_instruments(db):
        if spec.id not in existing:
            exchange.define_instrument(SYSTEM, spec)
            added.append(spec.id)
    return added


def _holders(db: Database, category: str) -> list[tuple[str, str, int]]:
    """(participant, account, quantity held) of credits of a category, largest first."""
    b, i, p, a = t.blocks.c, t.issuances.c, t.projects.c, t.accounts.c
    qty = func.sum(b.serial_end - b.serial_start + 1)
    q = (
        select(a.participant_id, b.account_id, qty.label("qty"))
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id)
            .join(t.projects, i.project_id == p.id)
            .join(t.accounts, b.account_id == a.id)
        )
        .where(p.category == category, b.status == "held", a.kind == "holding")
        .group_by(a.participant_id, b.account_id)
        .order_by(qty.desc(), b.account_id)
    )
    with db.read() as conn:
        return [(r.participant_id, r.account_id, int(r.qty)) for r in conn.execute(q)]


def demo_trading(
    db: Database, exchange: Exchange, keys: dict[str, str], seed: int = 2023
) -> dict[str, int]:
    """Open every standard instrument, post orders around the reference price and run one
    call auction each, then leave a fresh book of open orders for the next auction."""
    rng = random.Random(seed)
    actors: dict[str, Actor] = {
        pid: participants.authenticate(db, key) for pid, key in keys.items() if pid != "OPERATOR"
    }
    traders = [
        pid
        for pid, actor in actors.items()
        if actor.roles and any(r.value in ("trader", "market_maker") for r in actor.roles)
    ]
    counts = {"orders": 0, "rejected": 0, "auctions": 0, "trades": 0}
    for spec in standard_instruments(db):
        exchange.session(SYSTEM, spec.id, "open")
        category = spec.eligibility.categories[0]
        holders = [h for h in _holders(db, category) if h[0] in actors]
        ref = spec.reference_price or 3_000
        for round_ in range(2):
            for pid, account, held in holders[:3]:
                qty = max(1, min(held // 10, rng.randint(50, 800)))
                price = ref + rng.randint(-3, 6) * max(1, ref // 100)
                counts |= _place(
                    exchange,
                    actors[pid],
                    NewOrder(spec.id, "sell", qty, price, account_id=account),
                    counts,
                )
            sellers = {h[0] for h in holders}
            buyers = [p for p in traders if p not in sellers]
            rng.shuffle(buyers)
            for pid in buyers[:4]:
                qty = rng.randint(50, 600)
                price = ref + rng.randint(-6, 3) * max(1, ref // 100)
                counts |= _place(
                    exchange, actors[pid], NewOrder(spec.id, "buy", qty, price), counts
                )
            if round_ == 0:
                result = exchange.session(SYSTEM, spec.id, "auction")
                counts["auctions"] += 1
                counts["trades"] += len(result["trades"])
    return counts


def _place(
    exchange: Exchange, actor: Actor, order: NewOrder, counts: dict[str, int]
) -> dict[str, int]:
    try:
        exchange.place(actor, order)
        counts["orders"] += 1
    except TansoError:
        counts["rejected"] += 1
    return counts
