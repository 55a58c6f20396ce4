"""Property: any sequence of trading, market control, registry freezes, participant suspensions,
settlement runs and resolutions keeps cash and credits whole, and settles each trade at most once.

Each example builds its own database with two buyers (who only buy) and two sellers (who only
sell), one call-auction and one continuous instrument with fees, makes a few trades on both, and
runs a random sequence of operations; refusals are allowed. At the end: cash of each currency
sums to zero with no participant negative or reserved beyond its balance and every reservation
accounted for; each issuance's blocks partition its serials; each obligation's legs are where its
status says (settled: the serials it received are in the buyer's account, both reservations
spent; pending or failed: both reservations intact; cancelled: both released); no trade has two
`settlement.settled` entries; the live books equal the stored open orders; and the audit
rebuilds every balance.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.domain.fees import FeeSchedule
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, participants, registry, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fresh_database, fund

BUYERS = ["BUYA", "BUYB"]
SELLERS = ["SELA", "SELB"]
INSTRUMENTS = ["ESC", "ESX"]  # call auctions only; continuous matching
REFERENCE = 2_000
DUE = dt.date(2026, 1, 13)  # trades are on 2026-01-05; T+5 skips 成人の日 (Jan 12)
RUN_DATES = [dt.date(2026, 1, 9), DUE, dt.date(2026, 1, 14), dt.date(2026, 1, 20)]

KINDS = [
    "buy",
    "buy",
    "buy",
    "sell",
    "sell",
    "sell",
    "cancel",
    "amend",
    "auction",
    "auction",
    "suspend",
    "reinstate",
    "freeze",
    "unfreeze",
    "settle",
    "settle",
    "settle",
    "resolve_settle",
    "resolve_cancel",
]
op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 3),  # who / which instrument / which date
    st.integers(-10, 40),  # price offset: buys above the reference, sells below, mostly
    st.integers(1, 400),  # quantity
    st.integers(0, 1_000),  # picks an order, an obligation or a block
)
ops = st.lists(op, min_size=8, max_size=40)

OPENING = [  # every example starts with trades on both instruments, then goes its own way
    ("buy", 0, 4, 200, 0),  # BUYA on ESC
    ("sell", 2, 4, 150, 0),  # SELB on ESC
    ("buy", 3, 4, 100, 0),  # BUYB on ESX
    ("sell", 1, 2, 60, 0),  # SELA on ESX: trades
    ("auction", 0, 0, 1, 0),  # ESC: trades
]

_dirs = itertools.count()


# ---------------------------------------------------------------- reading the state


def all_blocks(db: Database) -> list[Any]:
    b = t.blocks.c
    with db.read() as conn:
        return list(conn.execute(select(t.blocks).order_by(b.issuance_id, b.serial_start)))


def all_obligations(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(t.settlement_obligations)))


def settled_entries(db: Database) -> Counter[str]:
    """How many `settlement.settled` journal entries name each trade."""
    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(select(j.payload).where(j.kind == "settlement.settled")).all()
    return Counter(json.loads(r.payload)["trade_id"] for r in rows)


def check_cash(db: Database) -> None:
    """Each currency sums to zero; nobody negative or over-reserved; reservations add up."""
    r = t.cash_reservations.c
    with db.read() as conn:
        accounts = conn.execute(select(t.cash_accounts)).all()
        reserved = dict(
            conn.execute(
                select(r.cash_account_id, func.sum(r.amount)).group_by(r.cash_account_id)
            ).all()
        )
    sums: Counter[str] = Counter()
    for a in accounts:
        sums[a.currency] += a.balance
        if a.kind != "external":
            assert 0 <= a.reserved <= a.balance, (a.id, a.balance, a.reserved)
        assert a.reserved == int(reserved.get(a.id, 0)), (a.id, a.reserved, reserved.get(a.id))
    assert all(v == 0 for v in sums.values()), sums


def check_partition(db: Database, blocks: list[Any]) -> None:
    """For every issuance the blocks cover serials 1..quantity exactly once."""
    with db.read() as conn:
        issued = {r.id: r.quantity for r in conn.execute(select(t.issuances))}
    ranges: dict[str, list[tuple[int, int]]] = {i: [] for i in issued}
    for blk in blocks:
        assert blk.serial_start <= blk.serial_end
        if blk.status in ("reserved", "held"):
            assert (blk.status == "reserved") == (blk.reservation is not None), blk
        ranges[blk.issuance_id].append((blk.serial_start, blk.serial_end))
    for iss, rs in ranges.items():
        cursor = 1
        for s, e in sorted(rs):
            assert s == cursor, f"{iss}: serials near {min(s, cursor)} lost or twice: {rs}"
            cursor = e + 1
        assert cursor == issued[iss] + 1, f"{iss}: blocks end at {cursor - 1}"


def in_account(blocks: list[Any], serials: str, account: str) -> bool:
    """Whether every serial of `ISSUANCE-start-end` sits in `account` (held or frozen there)."""
    iss, lo, hi = serials.rsplit("-", 2)
    start, end = int(lo), int(hi)
    covered = 0
    for b in blocks:
        if b.issuance_id != iss or b.serial_end < start or b.serial_start > end:
            continue
        if b.account_id != account or b.status not in ("held", "frozen"):
            return False
        covered += min(end, b.serial_end) - max(start, b.serial_start) + 1
    return covered == end - start + 1


def check_obligations(db: Database, blocks: list[Any]) -> Counter[str]:
    """Each obligation's legs are where its status says; returns the count of each status."""
    with db.read() as conn:
        cash_res = {r.id: r.amount for r in conn.execute(select(t.cash_reservations)).all()}
    by_reservation: Counter[tuple[str, str]] = Counter()
    for b in blocks:
        if b.reservation is not None:
            by_reservation[(b.reservation, b.account_id)] += b.serial_end - b.serial_start + 1
    settled_views = {
        v.deal_id: v for v in settlement.obligations(db, SYSTEM, "settled", limit=100_000)
    }
    entries = settled_entries(db)
    statuses: Counter[str] = Counter()
    for ob in all_obligations(db):
        statuses[ob.status] += 1
        credits = by_reservation[(ob.credit_reservation, ob.seller_account)]
        held_cash = cash_res.get(ob.cash_reservation, 0)
        if ob.status == "settled":
            assert entries[ob.deal_id] == 1, (ob.deal_id, entries[ob.deal_id])
            assert credits == 0 and held_cash == 0, (ob.deal_id, credits, held_cash)
            received = settled_views[ob.deal_id].serials_received
            got = 0
            for serials in received:
                assert in_account(blocks, serials, ob.buyer_account), (ob.deal_id, serials)
                _iss, lo, hi = serials.rsplit("-", 2)
                got += int(hi) - int(lo) + 1
            assert got == ob.quantity, (ob.deal_id, received)
        else:
            assert entries[ob.deal_id] == 0, ob.deal_id
            if ob.status in ("pending", "failed"):
                assert credits == ob.quantity, (ob.deal_id, ob.status, credits)
                assert held_cash == ob.amount + ob.buyer_fee, (ob.deal_id, held_cash)
            else:
                assert ob.status == "cancelled", ob.status
                assert credits == 0 and held_cash == 0, (ob.deal_id, credits, held_cash)
    assert sum(entries.values()) == statuses["settled"], entries
    return statuses


def check_books(x: Exchange) -> None:
    """The live books hold exactly the stored open orders."""
    with x.db.read() as conn:
        o = t.orders.c
        stored = dict(conn.execute(select(o.id, o.remaining).where(o.status == "open")).all())
    live = {oid: m.book.orders[oid].quantity for oid, m in x.engine.order_market.items()}
    assert live == stored, sorted(set(live.items()) ^ set(stored.items()))[:5]


def check_invariants(x: Exchange) -> Counter[str]:
    db = x.db
    blocks = all_blocks(db)
    check_cash(db)
    check_partition(db, blocks)
    statuses = check_obligations(db, blocks)
    check_books(x)
    report = audit.verify(db)
    assert report.ok, report.problems
    return statuses


# ---------------------------------------------------------------- the run


def instrument(iid: str, mode: str) -> InstrumentSpec:
    return InstrumentSpec(
        iid,
        f"Energy saving {mode}",
        "省エネ",
        Eligibility(categories=("ENERGY_SAVING",)),
        mode=mode,
        reference_price=REFERENCE,
    )


class Market:
    """One database, its exchange and the participants of one example."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.x = Exchange(db, japan_calendar())
        self.actors: dict[str, Actor] = {}
        for pid in BUYERS + SELLERS:
            self.actors[pid] = add_participant(db, pid)
        for pid in BUYERS:
            fund(db, pid, 50_000_000)
        self.issuances = [add_issuance(db, f"{pid}-MAIN", 3_000) for pid in SELLERS]
        self.issuances.append(add_issuance(db, "SELA-MAIN", 500, vintage=2019))
        self.x.define_instrument(SYSTEM, instrument("ESC", "call"))
        self.x.define_instrument(SYSTEM, instrument("ESX", "continuous"))
        settlement.set_fees(
            db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=2, bps=10, late_charge=1_000)
        )
        settlement.set_fees(db, SYSTEM, "ESX", "sell", FeeSchedule(per_trade=50, late_charge=700))
        for iid in INSTRUMENTS:
            self.x.session(SYSTEM, iid, "open")
        self.orders: list[tuple[str, Actor]] = []
        self.ok: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def pick_range(self, statuses: tuple[str, ...], k: int, quantity: int) -> str | None:
        """A serial range inside one block of the given statuses (trade reservations only:
        freezing credits an open order reserved breaks matching, see the xfail below)."""
        candidates = [
            b
            for b in all_blocks(self.db)
            if b.status in statuses
            and b.account_id != "SYS-RETIREMENT"
            and (b.reservation is None or b.reservation.startswith("T"))
        ]
        if not candidates:
            return None
        # trades' credits first, in trade order
        candidates.sort(key=lambda b: (b.status != "reserved", b.reservation or ""))
        b = candidates[k % len(candidates)]
        start = b.serial_start + k % (b.serial_end - b.serial_start + 1)
        end = min(b.serial_end, start + quantity // 4)
        return f"{b.issuance_id}-{start}-{end}"

    def pick_obligation(self, k: int) -> str | None:
        obs = sorted(all_obligations(self.db), key=lambda o: o.deal_id)
        failed = [str(o.deal_id) for o in obs if o.status == "failed"]
        if failed and k % 5:
            return failed[k % len(failed)]
        return str(obs[k % len(obs)].deal_id) if obs else None

    def step(self, kind: str, who: int, offset: int, quantity: int, k: int) -> None:
        db, x = self.db, self.x
        iid = INSTRUMENTS[who % 2]
        price = REFERENCE + offset * 5 * (1 if kind == "buy" else -1)
        try:
            if kind in ("buy", "sell"):
                pid = (BUYERS if kind == "buy" else SELLERS)[who // 2]
                out = x.place(self.actors[pid], NewOrder(iid, kind, quantity, price))
                self.orders.append((out.id, self.actors[pid]))
            elif kind in ("cancel", "amend"):
                if not self.orders:
                    return
                order_id, actor = self.orders[k % len(self.orders)]
                if kind == "cancel":
                    x.cancel(actor, order_id)
                elif k % 2:
                    x.amend(actor, order_id, quantity=quantity)
                else:
                    x.amend(actor, order_id, price=price)
            elif kind == "auction":
                x.session(SYSTEM, iid, "auction")
            elif kind in ("suspend", "reinstate"):
                status = "suspended" if kind == "suspend" else "active"
                participants.set_status(db, SYSTEM, (BUYERS + SELLERS)[who], status)
            elif kind in ("freeze", "unfreeze"):
                freeze = kind == "freeze"
                rng = self.pick_range(("held", "reserved") if freeze else ("frozen",), k, quantity)
                if rng is None:
                    return
                registry.freeze(db, SYSTEM, rng, freeze, "dispute")
            elif kind == "settle":
                settlement.run(db, SYSTEM, RUN_DATES[who], early=True)
            else:
                trade_id = self.pick_obligation(k)
                if trade_id is None:
                    return
                action = "settle" if kind == "resolve_settle" else "cancel"
                settlement.resolve(db, SYSTEM, trade_id, action)
        except TansoError as e:
            self.refused[f"{kind}:{e.code}"] += 1
            return
        self.ok[kind] += 1


def run_sequence(
    backend: str, request: pytest.FixtureRequest, tmp: Path, steps: list[tuple[Any, ...]]
) -> tuple[Market, Counter[str]]:
    db = fresh_database(backend, request, tmp)
    try:
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        m = Market(db)
        for s in steps:
            m.step(*s)
        return m, check_invariants(m.x)
    finally:
        db.dispose()


def _tmp(factory: pytest.TempPathFactory) -> Path:
    return factory.mktemp(f"settleprop{next(_dirs)}")


COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=25, **COMMON)
@given(steps=ops)
def test_random_trading_and_settlement_keep_everything_whole_on_sqlite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    _, statuses = run_sequence("sqlite", request, _tmp(tmp_path_factory), OPENING + steps)
    event(f"obligations {'+'.join(sorted(statuses)) or 'none'}")


@pytest.mark.full  # the PostgreSQL form; its SQLite form runs in both tiers
@pytest.mark.postgres
@settings(max_examples=8, **COMMON)
@given(steps=ops)
def test_random_trading_and_settlement_keep_everything_whole_on_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    _, statuses = run_sequence("postgres", request, _tmp(tmp_path_factory), OPENING + steps)
    event(f"obligations {'+'.join(sorted(statuses)) or 'none'}")


FIXED = [
    ("buy", 0, 0, 300, 0),  # BUYA on ESC
    ("sell", 0, 0, 300, 0),  # SELA on ESC
    ("buy", 1, 2, 100, 0),  # BUYA on ESX
    ("sell", 1, 0, 100, 0),  # SELA on ESX: trades at 2,010
    ("buy", 2, 0, 200, 0),  # BUYB on ESC
    ("sell", 2, 2, 200, 0),  # SELB on ESC at 1,990
    ("auction", 0, 0, 1, 0),  # ESC: three trades, SELB's 200 first
    ("suspend", 3, 0, 1, 0),  # SELB suspended: its trade fails
    ("freeze", 0, 0, 40, 0),  # freezes 11 credits of the ESX trade
    ("settle", 0, 0, 1, 0),  # Jan 9: nothing due
    ("settle", 1, 0, 1, 0),  # Jan 13: two settle, two fail (ESX's frozen, SELB suspended)
    ("resolve_settle", 0, 0, 1, 1),  # still frozen or suspended: refused
    ("reinstate", 3, 0, 1, 0),
    ("unfreeze", 0, 0, 40, 0),
    ("resolve_settle", 0, 0, 1, 1),
    ("resolve_cancel", 0, 0, 1, 2),
    ("resolve_settle", 0, 0, 1, 1),  # nothing failed is left: picks a settled one, refused
    ("settle", 3, 0, 1, 0),
]


def test_a_fixed_sequence_settles_fails_resolves_and_cancels(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs reach every outcome, not only refusals."""
    m, statuses = run_sequence("sqlite", request, _tmp(tmp_path_factory), FIXED)
    assert statuses == Counter({"settled": 3, "cancelled": 1}), statuses
    assert m.ok["auction"] == 1 and m.ok["freeze"] == 1 and m.ok["unfreeze"] == 1
    assert m.ok["resolve_settle"] == 1 and m.ok["resolve_cancel"] == 1
    assert m.refused == Counter(
        {"resolve_settle:seller_not_active": 1, "resolve_settle:obligation_not_failed": 1}
    ), m.refused
    assert failure_reasons(m.db) == Counter({"credits_frozen": 1, "seller_not_active": 1})


def failure_reasons(db: Database) -> Counter[str]:
    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(select(j.payload).where(j.kind == "settlement.failed")).all()
    return Counter(json.loads(r.payload)["reason"] for r in rows)


def test_credits_of_an_open_sell_order_cannot_be_frozen_and_the_books_stay_as_stored(
    sqlite_db: Database,
) -> None:
    db = sqlite_db
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SELA"), add_participant(db, "BUYA")
    issuance = add_issuance(db, "SELA-MAIN", 100)
    fund(db, "BUYA", 10_000_000)
    x.define_instrument(SYSTEM, instrument("ESX", "continuous"))
    x.session(SYSTEM, "ESX", "open")
    x.place(seller, NewOrder("ESX", "sell", 50, REFERENCE))
    # credits backing an open order cannot be frozen: the order must be cancelled first
    with pytest.raises(TansoError) as err:
        registry.freeze(db, SYSTEM, f"{issuance}-1-50", True, "dispute")
    assert err.value.code == "credits_reserved_by_order"
    x.place(buyer, NewOrder("ESX", "buy", 50, REFERENCE))
    check_books(x)
    x.place(buyer, NewOrder("ESX", "buy", 10, REFERENCE - 5))  # the market still takes orders
