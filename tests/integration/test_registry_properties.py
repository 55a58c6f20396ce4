"""Property: any sequence of registry and cash operations, some refused, conserves everything.

Each example builds its own database, registers four participants and runs a random sequence
of operations among them. After each operation: a refusal changed nothing; a success wrote one
journal entry and moved exactly what it reported. At the end: for every issuance the blocks
partition serials 1..quantity exactly (no serial lost, none in two blocks), cash of each currency
sums to zero with no participant negative or over-reserved, and the audit rebuilds every stored
balance from the journal.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, cash, participants, registry, taxonomy
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant, fresh_database

Sel = registry.Selection
PIDS = ["PA", "PB", "PC", "PD"]
CURRENCIES = ["JPY", "USD"]
PURPOSES = [["offset_scope1"], ["shk_reporting"], ["re100", "cdp_sbt"], ["offset_scope1", "re100"]]
KINDS = [
    "issue",
    "transfer",
    "transfer_range",
    "retire",
    "cancel",
    "reserve",
    "release",
    "withdraw",
    "redeposit",
    "freeze",
    "unfreeze",
    "cash_deposit",
    "cash_withdraw",
    "cash_reserve",
    "cash_release",
    "suspend",
    "reinstate",
]

op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, len(PIDS) - 1),
    st.integers(0, len(PIDS) - 1),
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(0, 3),
)
ops = st.lists(op, min_size=3, max_size=25)

_dirs = itertools.count()


# ---------------------------------------------------------------- reading the state


def blocks(db: Database) -> list[tuple[Any, ...]]:
    b = t.blocks.c
    q = select(b.issuance_id, b.serial_start, b.serial_end, b.account_id, b.status, b.reservation)
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(q.order_by(b.issuance_id, b.serial_start))]


def cash_rows(db: Database) -> list[tuple[Any, ...]]:
    c = t.cash_accounts.c
    q = select(c.id, c.participant_id, c.currency, c.kind, c.balance, c.reserved).order_by(c.id)
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(q)]


def journal_length(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal)).scalar_one())


def state(db: Database) -> tuple[Any, ...]:
    return journal_length(db), blocks(db), cash_rows(db)


def totals(bs: list[tuple[Any, ...]]) -> Counter[tuple[str, str]]:
    """Credits per (account, status)."""
    out: Counter[tuple[str, str]] = Counter()
    for _, s, e, account, status, _ in bs:
        out[(account, status)] += e - s + 1
    return out


# ---------------------------------------------------------------- the run


class Run:
    """One database and the operations of one example."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.issuances: list[str] = []
        self.rounds = itertools.count(1)
        self.actors = {pid: add_participant(db, pid) for pid in PIDS}
        taxonomy.register_project(
            db, SYSTEM, taxonomy.NewProject("PX", "JC", "Project PX", "ENERGY_SAVING", "JP")
        )
        self.ok = 0
        self.refused: Counter[str] = Counter()

    def pick(
        self, bs: list[tuple[Any, ...]], where: tuple[str, str], k: int, m: int, n: int
    ) -> tuple[str, int, int]:
        """A serial range: mostly inside a block found ``where``; else (k == 3) anywhere."""
        mine = [b for b in bs if (b[3], b[4]) == where]
        if k == 3 or not mine:
            iss = self.issuances[n // 12 % len(self.issuances)] if self.issuances else "JC-ER-PX-9"
            return iss, m, m + n % 12
        iss, lo, hi, *_ = mine[m % len(mine)]
        start = lo + m % (hi - lo + 1)
        return iss, start, min(hi, start + n % 12)

    def step(self, kind: str, a: int, b: int, n: int, m: int, k: int) -> None:
        db, pa, pb = self.db, PIDS[a], PIDS[b]
        actor, src, dst = self.actors[pa], f"{pa}-MAIN", f"{pb}-MAIN"
        before = state(db)
        where = {
            "redeposit": ("SYS-EXTERNAL", "exported"),
            "unfreeze": (src, "frozen"),
        }.get(kind, (src, "held"))
        iss, lo, hi = self.pick(before[1], where, k, m, n)
        rng = f"{iss}-{lo}-{hi}"
        by_range = (
            Sel(serials=rng) if n % 2 else Sel(serial_start=f"{iss}-{lo}", serial_end=f"{iss}-{hi}")
        )
        cur = CURRENCIES[k % 2]
        calls: dict[str, Callable[[], dict[str, Any]]] = {
            "issue": lambda: registry.issue(
                db,
                SYSTEM,
                registry.NewIssuance("PX", "ER", str(next(self.rounds)), 2019 + m % 7, n, src),
            ),
            "transfer": lambda: registry.transfer(db, actor, src, dst, Sel(n)),
            "transfer_range": lambda: registry.transfer(db, actor, src, dst, by_range),
            "retire": lambda: registry.retire(
                db,
                actor,
                registry.RetirementRequest(src, Sel(n) if m % 2 else by_range, PURPOSES[k]),
            ),
            "cancel": lambda: registry.cancel(db, actor, src, by_range, "double counted"),
            "reserve": lambda: registry.reserve(db, actor, src, Sel(n), f"R{k}"),
            "release": lambda: registry.release(db, actor, f"R{k}"),
            "withdraw": lambda: registry.withdraw(db, actor, src, Sel(n), "Verra", "VCS-1"),
            "redeposit": lambda: registry.redeposit(db, SYSTEM, rng, dst, "VCS-RET"),
            "freeze": lambda: registry.freeze(db, SYSTEM, rng, True, "hold"),
            "unfreeze": lambda: registry.freeze(db, SYSTEM, rng, False, "lift"),
            "cash_deposit": lambda: cash.deposit(db, SYSTEM, pa, cur, n * 100, "bank-in"),
            "cash_withdraw": lambda: cash.withdraw(db, SYSTEM, pa, cur, m * 100, "bank-out"),
            "cash_reserve": lambda: cash.reserve(db, actor, cur, m * 100, f"C{k}"),
            "cash_release": lambda: cash.release(db, actor, f"C{k}"),
            "suspend": lambda: participants.set_status(db, SYSTEM, pa, "suspended"),
            "reinstate": lambda: participants.set_status(db, SYSTEM, pa, "active"),
        }
        before = state(db)
        try:
            out = calls[kind]()
        except TansoError as e:
            self.refused[e.code] += 1
            assert state(db) == before, f"{kind} refused with {e.code} but changed something"
            return
        self.ok += 1
        after = state(db)
        assert after[0] == before[0] + 1, f"{kind} wrote {after[0] - before[0]} journal entries"
        if kind == "issue":
            self.issuances.append(out.issuance_id)
        self.check_moved(
            kind, m, n, hi - lo + 1, out, totals(before[1]), totals(after[1]), src, dst
        )

    @staticmethod
    def check_moved(
        kind: str,
        m: int,
        n: int,
        by_range: int,
        out: dict[str, Any],
        before: Counter[tuple[str, str]],
        after: Counter[tuple[str, str]],
        src: str,
        dst: str,
    ) -> None:
        """A success moved exactly the quantity asked for, from where to where it should."""
        moved = {
            "transfer": ((src, "held"), (dst, "held"), n),
            "transfer_range": ((src, "held"), (dst, "held"), by_range),
            "retire": ((src, "held"), ("SYS-RETIREMENT", "retired"), n if m % 2 else by_range),
            "cancel": ((src, "held"), ("SYS-CANCELLATION", "cancelled"), by_range),
            "withdraw": ((src, "held"), ("SYS-EXTERNAL", "exported"), n),
            "reserve": ((src, "held"), (src, "reserved"), n),
            "redeposit": (("SYS-EXTERNAL", "exported"), (dst, "held"), by_range),
        }.get(kind)
        if moved is None:
            return
        source, target, q = moved
        assert out.quantity == q, (kind, out)
        expected = before.copy()
        expected[source] -= q
        expected[target] += q
        assert +after == +expected, (kind, out)


def check_invariants(db: Database) -> None:
    with db.read() as conn:
        issued = {r.id: r.quantity for r in conn.execute(select(t.issuances))}
    by_issuance: dict[str, list[tuple[int, int]]] = {i: [] for i in issued}
    for iss, s, e, account, status, reservation in blocks(db):
        assert s <= e
        assert (status == "reserved") == (reservation is not None), (iss, s, e, status)
        if status in ("retired", "cancelled"):
            assert account == {"retired": "SYS-RETIREMENT", "cancelled": "SYS-CANCELLATION"}[status]
        by_issuance[iss].append((s, e))
    for iss, rs in by_issuance.items():
        cursor = 1
        for s, e in sorted(rs):
            assert s == cursor, f"{iss}: serials {min(s, cursor)}.. lost or in two blocks: {rs}"
            cursor = e + 1
        assert cursor == issued[iss] + 1, f"{iss}: blocks end at {cursor - 1}, not {issued[iss]}"
    sums: Counter[str] = Counter()
    for cid, pid, currency, kind, balance, reserved in cash_rows(db):
        sums[currency] += balance
        if kind != "external":
            assert pid is not None
            assert 0 <= reserved <= balance, (cid, balance, reserved)
    assert all(v == 0 for v in sums.values()), sums
    report = audit.verify(db)
    assert report.ok, report.problems


def run_sequence(
    backend: str, request: pytest.FixtureRequest, tmp: Path, steps: list[tuple[Any, ...]]
) -> Run:
    db = fresh_database(backend, request, tmp)
    try:
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        run = Run(db)
        # start from something to move: an issuance each for two participants, and some cash
        run.step("issue", 0, 0, 40, 1, 0)
        run.step("issue", 1, 1, 25, 4, 0)
        run.step("cash_deposit", 0, 0, 30, 1, 0)
        for s in steps:
            run.step(*s)
        check_invariants(db)
        return run
    finally:
        db.dispose()


def _tmp(factory: pytest.TempPathFactory) -> Path:
    return factory.mktemp(f"prop{next(_dirs)}")


COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=40, **COMMON)
@given(steps=ops)
def test_random_operations_conserve_credits_and_cash_on_sqlite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list
) -> None:
    run_sequence("sqlite", request, _tmp(tmp_path_factory), steps)


@pytest.mark.full  # the PostgreSQL form; its SQLite form runs in both tiers
@settings(max_examples=12, **COMMON)
@given(steps=ops)
def test_random_operations_conserve_credits_and_cash_on_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list
) -> None:
    run_sequence("postgres", request, _tmp(tmp_path_factory), steps)


def test_a_busy_fixed_sequence_succeeds_and_refuses_where_it_should(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs exercise both outcomes, not only refusals."""
    steps = [
        ("transfer", 0, 2, 10, 1, 0),
        ("transfer_range", 0, 3, 5, 20, 3),  # JC-ER-PX-1-20-25
        ("reserve", 2, 2, 4, 1, 1),
        ("release", 2, 2, 1, 1, 1),
        ("retire", 2, 2, 3, 1, 0),
        ("withdraw", 0, 0, 5, 1, 0),
        ("redeposit", 0, 1, 2, 11, 3),  # brings back JC-ER-PX-1-11-13 of 11-15
        ("cash_reserve", 0, 0, 1, 10, 0),
        ("cash_withdraw", 0, 0, 1, 25, 0),  # 2,500 of 3,000 with 1,000 reserved: refused
        ("cash_release", 0, 0, 1, 1, 0),
        ("cash_withdraw", 0, 0, 1, 25, 0),
        ("suspend", 1, 1, 1, 1, 0),
        ("transfer", 1, 0, 5, 1, 1),  # PB suspended: refused
        ("reinstate", 1, 1, 1, 1, 0),
        ("transfer", 1, 0, 5, 1, 1),
        ("cancel", 3, 3, 2, 20, 3),  # PD cancels JC-ER-PX-1-20-22
        ("transfer_range", 3, 0, 2, 20, 3),  # cancelled: refused
    ]
    run = run_sequence("sqlite", request, _tmp(tmp_path_factory), steps)
    assert run.ok == 3 + 14
    assert run.refused == Counter(
        {"insufficient_cash": 1, "participant_not_active": 1, "serials_not_available": 1}
    )
