"""Property: what the sequencer keeps in memory always equals the database.

The sequencer decides from rows it remembers (orders it has read or written, instruments,
accounts) and writes a batch's order rows once, at the end of the batch. Random batches of
commands — buys and sells that rest, cross or are refused, cancels and amendments of orders that
may be gone, orders on accounts that do not exist — are run as group commits, refusals in the
middle of a batch included. After every batch each remembered order row equals its stored row,
each remembered bar equals its stored bar, the live books equal the stored open orders, and
nothing remembered is closed; the escrow memory (services/clearing/memory.py) has nothing left
to write and every cash account, hold and list of free or held blocks it remembers equals the
stored rows. Transfers run as units of work inside batches, and deposits and issuances by other
writers between batches, so the memory must also let go of what others change. After a recovery
the same holds, and the audit rebuilds every balance from the journal.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.errors import TansoError
from tanso.domain.registry import BlockStatus
from tanso.services.clearing.memory import MemoryLedger
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, registry
from tanso.services.ledger.blocks import Selection
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, _Job
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

REFERENCE = 2_000

command = st.one_of(
    st.tuples(
        st.just("place"),
        st.sampled_from(["BUYER", "SELLER"]),
        st.integers(-6, 6),  # price offset from the reference: some cross, some rest
        st.sampled_from([1, 5, 40, 400, 5_000]),  # the last is more than anyone can cover
        st.booleans(),  # on an account that does not exist
    ),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("amend"), st.integers(0, 30), st.integers(1, 60), st.integers(-3, 3)),
    # a unit of the batch: moving credits through the sequencer's memory, or on the database
    st.tuples(st.just("transfer"), st.sampled_from([1, 3, 50_000]), st.booleans()),
)
between = st.sampled_from(["nothing", "nothing", "deposit", "issue"])  # another writer


def _job(x: Exchange, actors: dict[str, Actor], c: tuple[Any, ...], known: list[str]) -> _Job:
    if c[0] == "transfer":
        sel = Selection(quantity=c[1])
        seller = actors["SELLER"]

        def unit(tx: Any) -> Any:
            return registry.transfer_unit(tx, seller, "SELLER-MAIN", "BUYER-MAIN", sel)

        return _Job(seller, "unit", {"unit": unit, "in_memory": c[2]})
    if c[0] == "place":
        _kind, who, offset, quantity, bad_account = c
        order = NewOrder(
            "JC-ES",
            "buy" if who == "BUYER" else "sell",
            quantity,
            REFERENCE + offset,
            account_id="NOBODY-MAIN" if bad_account else None,
        )
        return _Job(actors[who], "place", {"order": order, "idem": None})
    order_id = known[c[1] % len(known)] if known else "O1"
    owner = actors["BUYER"] if order_id in x._orders and x._orders[order_id].side == "buy" else None
    actor = owner or SYSTEM
    if c[0] == "cancel":
        return _Job(actor, "cancel", {"order_id": order_id})
    return _Job(actor, "amend", {"order_id": order_id, "quantity": c[2], "price": REFERENCE + c[3]})


def _same_as_stored(x: Exchange, db: Database) -> None:
    with db.read() as conn:
        stored = {r.id: r._mapping for r in conn.execute(select(t.orders)).all()}
    for oid, row in x._orders.items():
        assert row.status == "open", f"{oid} is remembered though {row.status}"
        assert vars(row) == dict(stored[oid]), oid
    with db.read() as conn:
        bars = {
            (r.instrument_id, r.interval, r.period_start): r
            for r in conn.execute(select(t.bars)).all()
        }
    for key, (bar, is_stored) in x._bars.items():
        assert is_stored, f"bar {key} is remembered as not stored after its batch"
        r = bars[key]
        assert (r.open, r.high, r.low, r.close, r.volume, r.value, r.trades) == (
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            bar.value,
            bar.trades,
        ), key
    assert not x._dirty_bars and not x._command_bars
    x._check_against_database()
    _ledger_same_as_stored(x._ledger, db)


def _ledger_same_as_stored(mem: MemoryLedger, db: Database) -> None:
    assert not mem.pending, "the escrow memory has changes left to write after its batch"
    with db.read() as conn:
        cash = {r.id: (r.balance, r.reserved) for r in conn.execute(select(t.cash_accounts))}
        holds = {r.id: r.amount for r in conn.execute(select(t.cash_reservations))}
        b = t.blocks.c
        rows = conn.execute(
            select(t.blocks).order_by(b.vintage, b.issuance_id, b.serial_start)
        ).all()
    for cid, c in mem._cash.items():
        assert (None if c is None else (c.balance, c.reserved)) == cash.get(cid), cid
    for hid, h in mem._holds.items():
        assert (h.amount if h is not None and h.amount else None) == holds.get(hid), hid

    def shape(blocks: Any) -> list[tuple[Any, ...]]:
        for x in blocks:
            assert x.stored == x.start, f"{x} is remembered as stored elsewhere"
        return [(x.issuance, x.start, x.end, x.account, x.status, x.reservation) for x in blocks]

    stored = [
        (
            r.issuance_id,
            r.serial_start,
            r.serial_end,
            r.account_id,
            BlockStatus(r.status),
            r.reservation,
        )
        for r in rows
    ]
    for account, free in mem._free.items():
        want = [s for s in stored if s[3] == account and s[4] is BlockStatus.HELD]
        got = shape(free.blocks)
        assert got == (want if free.complete else want[: len(got)]), account
    for (account, hold), held in mem._held.items():
        want = [
            s for s in stored if s[3] == account and s[4] is BlockStatus.RESERVED and s[5] == hold
        ]
        assert shape(held) == want, hold


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(
        st.tuples(between, st.lists(command, min_size=1, max_size=8)), min_size=1, max_size=6
    )
)
def test_the_sequencers_memory_equals_the_database_after_any_batches(
    db: Database, batches: list[tuple[str, list[tuple[Any, ...]]]]
) -> None:
    x = _market(db)
    actors = {pid: Actor(pid, x_roles()) for pid in ("BUYER", "SELLER")}
    for other, commands in batches:
        if other == "deposit":
            fund(db, "BUYER", 7_000)
        elif other == "issue":
            add_issuance(db, "SELLER-MAIN", 5, vintage=2019, category="ENERGY_SAVING")
        with db.read() as conn:
            known = list(conn.execute(select(t.orders.c.id).order_by(t.orders.c.id)).scalars())
        jobs = [_job(x, actors, c, known) for c in commands]
        x._run_batch(jobs)
        for job in jobs:
            outcome = job.future.exception()
            assert outcome is None or isinstance(outcome, TansoError), outcome
        _same_as_stored(x, db)
    x.recover()
    _same_as_stored(x, db)
    assert audit.verify(db).ok


def x_roles() -> frozenset[Any]:
    from tanso.domain.participants import Role

    return frozenset({Role.TRADER})


_markets: dict[int, Exchange] = {}


def _market(db: Database) -> Exchange:
    """One exchange per database (examples share it: memory must hold whatever came before)."""
    if id(db) not in _markets:
        x = Exchange(db, japan_calendar())
        x._ledger.prefix = 3  # read free blocks three at a time: plans must read further
        add_participant(db, "SELLER")
        add_participant(db, "BUYER")
        add_issuance(db, "SELLER-MAIN", 10_000, vintage=2020, category="ENERGY_SAVING")
        fund(db, "BUYER", 5_000_000)
        open_market(x, energy_saving("continuous"))
        _markets[id(db)] = x
    return _markets[id(db)]
