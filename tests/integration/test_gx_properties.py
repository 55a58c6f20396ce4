"""Property: any sequence of GX-ETS acts, some refused, keeps the scheme's books straight.

Each example covers three entities of its own for FY2026 (April 2026 to March 2027) in the test's
database (both backends, through the ``db`` fixture), gives them J-Credits and yen, and runs a
random sequence of allocations, transfers of allowances between entities (and a trader that may
hold them), trades of allowances on the exchange settled by delivery versus payment, emissions
reports and their verification or return, surrenders of allowances and of credits, retirements
for ``gx_ets_surrender``, ceiling payments, cancellations of allowances and attempts to move
surrendered ones. After each act: a refusal changed nothing; no allowance that reached a
compliance account ever leaves it or changes status. At the end: every issuance's blocks
partition its serials exactly; each entity's compliance position equals its recomputation from
the journal (gx.* and credits.retired entries folded here); credits surrendered are never more
than 10% of verified emissions; the audit rebuilds every balance from the journal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.domain.participants import Role
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import gx_compliance as gc
from tanso.services.compliance import gx_cycle as gx
from tanso.services.ledger import audit, registry
from tanso.services.ledger.blocks import Selection
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import allowance_instrument
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund, open_market

FY = 2026
INSTRUMENT = dataclasses.replace(allowance_instrument(FY), mode="continuous")
"""FY2026 allowances on a continuous market, so that an order matches as it is placed."""
PRICE = 2_000
CEILING = 4_300  # FY2026's published reference ceiling price, yen per t-CO2
KINDS = [
    "allocate",
    "transfer",
    "report",
    "verify",
    "return",
    "surrender_allowances",
    "surrender_credits",
    "retire_for_gx",
    "pay_ceiling",
    "cancel",
    "move_surrendered",
    "trade",
]
op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 2),  # the entity that acts
    st.integers(0, 3),  # the other party: another entity, or (3) the trader
    st.integers(1, 40),
)
ops = st.lists(op, min_size=4, max_size=25)
# where each entity's FY2026 emissions stand when the acts begin, and how many tonnes
start = st.tuples(st.sampled_from(["none", "reported", "verified"]), st.integers(10, 120))
starts = st.tuples(start, start, start)

_examples = itertools.count(1)


class Days:
    """A business clock in FY2027 (after FY2026, before its surrender deadline), each call a
    microsecond later: every example's acts are in time."""

    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> str:
        self.ticks += 1
        minutes, seconds = divmod(self.ticks // 1_000_000, 60)
        return f"2027-06-01T01:{minutes % 60:02d}:{seconds:02d}.{self.ticks % 1_000_000:06d}Z"


# ---------------------------------------------------------------- reading the state


def blocks(db: Database) -> list[tuple[Any, ...]]:
    b = t.blocks.c
    q = select(b.issuance_id, b.serial_start, b.serial_end, b.account_id, b.status)
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(q.order_by(b.issuance_id, b.serial_start))]


def journal_length(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal)).scalar_one())


def surrendered_serials(bs: list[tuple[Any, ...]]) -> dict[tuple[str, int], tuple[str, str]]:
    """Every serial in a compliance account (``-GXC``), with its account and status."""
    out = {}
    for iss, s, e, account, status in bs:
        if account.endswith("-GXC"):
            for serial in range(s, e + 1):
                out[(iss, serial)] = (account, status)
    return out


# ---------------------------------------------------------------- the journal, folded


def folded(db: Database, pid: str) -> dict[str, Any]:
    """The entity's FY2026 position recomputed from the journal alone."""
    allocated = allowances = credits = ceiling_q = ceiling_paid = 0
    reported: int | None = None
    verification = "not_reported"
    with db.read() as conn:
        entries = list(repo.journal_entries(conn))
    for e in entries:
        if not (e.kind.startswith("gx.") or e.kind == "credits.retired"):
            continue
        p = json.loads(e.payload)
        if p.get("participant_id") != pid:
            continue
        if e.kind == "credits.retired":
            if registry.GX_SURRENDER in p["purposes"] and p["reporting_year"] == FY:
                credits += p["quantity"]
            continue
        if p.get("fiscal_year") != FY:
            continue
        if e.kind == "gx.allocated":
            allocated += p["quantity"]
        elif e.kind == "gx.emissions_reported":
            reported, verification = p["direct_co2"], "reported"
        elif e.kind in ("gx.emissions_verified", "gx.emissions_returned"):
            reported, verification = p["direct_co2"], p["verification"]
        elif e.kind == "gx.surrendered" and p["kind"] == "allowances":
            allowances += p["quantity"]
        elif e.kind == "gx.ceiling_paid":
            ceiling_q += p["quantity"]
            ceiling_paid += p["amount"]
    verified = reported if verification == "verified" else None
    shortfall = None if verified is None else max(0, verified - allowances - credits - ceiling_q)
    cap = None if verified is None else verified * 10 // 100
    return {
        "allocated": allocated,
        "reported_emissions": reported,
        "verified_emissions": verified,
        "verification": verification,
        "surrendered_allowances": allowances,
        "surrendered_credits": credits,
        "ceiling_quantity": ceiling_q,
        "ceiling_paid": ceiling_paid,
        "shortfall": shortfall,
        "status": "compliant" if shortfall == 0 else "open",  # the deadline is far off
        "credit_cap": cap,
        "credits_headroom": None if cap is None else max(0, cap - credits),
        "ceiling_price": CEILING,
        "shortfall_cost_at_ceiling": None if shortfall is None else shortfall * CEILING,
        "non_compliance_charge": None if shortfall is None else shortfall * CEILING * 110 // 100,
    }


# ---------------------------------------------------------------- the run


class Run:
    """The three entities of one example, a trader, and what they did."""

    def __init__(
        self, db: Database, verifier: Actor, starts: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.db, self.verifier = db, verifier
        n = next(_examples)
        self.pids = [f"GXP{n:03d}{c}" for c in "ABC"]
        self.trader = f"GXP{n:03d}T"
        self.actors = {pid: add_participant(db, pid) for pid in [*self.pids, self.trader]}
        fund(db, self.trader, 1_000_000)
        self.exchange = Exchange(db, japan_calendar())
        with db.read() as conn:
            listed = repo.get_by_id(conn, t.instruments, INSTRUMENT.id) is not None
        if not listed:  # one database serves every example
            open_market(self.exchange, INSTRUMENT)
        for i, pid in enumerate(self.pids):
            gx.cover(db, SYSTEM, pid, FY, ["steel"])
            add_issuance(db, f"{pid}-MAIN", 40, vintage=2024)
            fund(db, pid, CEILING * 60)
            gx.allocate(db, SYSTEM, pid, FY, "quantity", {"quantity": 30 + i, "reason": "start"})
        for pid, (state, tonnes) in zip(self.pids, starts, strict=False):
            if state != "none":
                gx.report_emissions(db, self.actors[pid], pid, FY, tonnes)
            if state == "verified":
                gx.verify_emissions(db, verifier, pid, FY, "verified")
        self.ok: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def step(self, kind: str, a: int, b: int, n: int) -> None:
        db, pid = self.db, self.pids[a]
        actor = self.actors[pid]
        other = self.trader if b == 3 or self.pids[b] == pid else self.pids[b]
        to_account = f"{other}-MAIN" if other == self.trader else f"{other}-GX"
        method = ("grandfathering", "benchmark", "quantity")[n % 3]
        by_method: dict[str, dict[str, Any]] = {
            "grandfathering": {"base_emissions": 20 + n},  # (20 + n) × 0.983, rounded down
            "benchmark": {"sector": "steel", "production": n},  # n × 1.92, rounded down
            "quantity": {"quantity": n, "reason": "new furnace"},
        }
        inputs = by_method[method]
        trader = self.actors[self.trader]
        calls: dict[str, Callable[[], Any]] = {
            "allocate": lambda: gx.allocate(db, SYSTEM, pid, FY, method, inputs),
            # the trader sends back what it holds when it is the sender's counterpart
            "transfer": lambda: (
                registry.transfer(db, trader, f"{self.trader}-MAIN", f"{pid}-GX", Selection(n))
                if b == 3 and n % 2
                else registry.transfer(db, actor, f"{pid}-GX", to_account, Selection(n))
            ),
            "report": lambda: gx.report_emissions(db, actor, pid, FY, 10 * n),
            "verify": lambda: gx.verify_emissions(db, self.verifier, pid, FY, "verified"),
            "return": lambda: gx.verify_emissions(
                db, self.verifier, pid, FY, "returned", "Boiler 3 missing."
            ),
            "surrender_allowances": lambda: gc.surrender(
                db, actor, pid, FY, "allowances", f"{pid}-GX", Selection(n)
            ),
            "surrender_credits": lambda: gc.surrender(
                db, actor, pid, FY, "credits", f"{pid}-MAIN", Selection(n % 20 + 1)
            ),
            "retire_for_gx": lambda: registry.retire(
                db,
                actor,
                registry.RetirementRequest(
                    f"{pid}-MAIN",
                    Selection(n % 20 + 1),
                    [registry.GX_SURRENDER],
                    reporting_year=FY,
                    emissions_scope="1",
                ),
            ),
            "pay_ceiling": lambda: gc.pay_ceiling(db, actor, pid, FY, n % 30 + 1),
            "cancel": lambda: registry.cancel(
                db, actor, f"{pid}-GX", Selection(n % 10 + 1), "allowances given up"
            ),
            "move_surrendered": lambda: (
                registry.transfer(db, actor, f"{pid}-GXC", to_account, Selection(1))
                if n % 3 == 0
                else registry.cancel(db, actor, f"{pid}-GXC", Selection(1), "take back")
                if n % 3 == 1
                else gc.surrender(db, actor, pid, FY, "allowances", f"{pid}-GXC", Selection(1))
            ),
        }
        calls["trade"] = lambda: self.trade(actor, other, to_account, n)
        before = (journal_length(db), blocks(db))
        try:
            calls[kind]()
        except TansoError as e:
            self.refused[e.code] += 1
            after = (journal_length(db), blocks(db))
            assert after == before, f"{kind} refused with {e.code} but changed something"
            return
        assert kind != "move_surrendered", "a surrendered allowance moved again"
        self.ok[kind] += 1
        after = (journal_length(db), blocks(db))
        assert after[0] > before[0], f"{kind} succeeded without a journal entry"
        kept, now = surrendered_serials(before[1]), surrendered_serials(after[1])
        for serial, (account, status) in kept.items():
            assert now.get(serial) == (account, status), f"{kind} moved surrendered {serial}"
        assert all(status == "retired" for _, status in now.values()), kind

    def trade(self, seller: Actor, buyer_id: str, buyer_account: str, n: int) -> None:
        """The seller offers ``n`` allowances, the buyer takes them at once (a continuous
        market), and the trade settles by delivery versus payment."""
        x, pid = self.exchange, seller.participant_id
        x.place(seller, NewOrder(INSTRUMENT.id, "sell", n, PRICE, account_id=f"{pid}-GX"))
        buyer = self.actors[buyer_id]
        placed = x.place(buyer, NewOrder(INSTRUMENT.id, "buy", n, PRICE, account_id=buyer_account))
        assert placed.status == "filled", placed
        due = max(o.due_date for o in settlement.obligations(self.db, SYSTEM, "pending"))
        done = settlement.run(self.db, SYSTEM, dt.date.fromisoformat(due), early=True)
        assert done.failed == 0


def check_conservation(db: Database) -> None:
    """Every issuance's blocks partition its serials 1..quantity: none lost, none twice."""
    with db.read() as conn:
        issued = {r.id: r.quantity for r in conn.execute(select(t.issuances))}
    by_issuance: dict[str, list[tuple[int, int]]] = {i: [] for i in issued}
    for iss, s, e, _, _ in blocks(db):
        by_issuance[iss].append((s, e))
    for iss, rs in by_issuance.items():
        cursor = 1
        for s, e in sorted(rs):
            assert s == cursor, f"{iss}: serials {min(s, cursor)}.. lost or in two blocks: {rs}"
            cursor = e + 1
        assert cursor == issued[iss] + 1, f"{iss}: blocks end at {cursor - 1}, not {issued[iss]}"


def check_positions(db: Database, run: Run) -> None:
    for pid in run.pids:
        pos = gc.compliance(db, run.actors[pid], pid, FY)
        got = {k: v for k, v in vars_of(pos).items() if k in folded(db, pid)}
        assert got == folded(db, pid), pid
        if pos.verified_emissions is None:
            assert pos.surrendered_credits == 0, pid
        else:
            assert pos.surrendered_credits * 100 <= pos.verified_emissions * 10, pid
        held = sum(
            e - s + 1
            for iss, s, e, account, status in blocks(db)
            if account == f"{pid}-GX" and status == "held" and iss.startswith("GXA-")
        )
        assert pos.held_allowances == held, pid


def vars_of(pos: gc.Compliance) -> dict[str, Any]:
    return {f: getattr(pos, f) for f in pos.__dataclass_fields__}


# ---------------------------------------------------------------- the property


def verifier_of(db: Database) -> Actor:
    """The test's verification body, registered once in its database."""
    with db.read() as conn:
        if repo.get_participant(conn, "GXVERIFY") is None:
            return add_participant(db, "GXVERIFY", ["verification_body"])
    return Actor("GXVERIFY", frozenset({Role.VERIFICATION_BODY}))


def run_sequence(
    db: Database, steps: list[tuple[Any, ...]], starts: tuple[tuple[str, int], ...] = ()
) -> Run:
    if not isinstance(db.clock, Days):
        db.clock = Days()
    run = Run(db, verifier_of(db), starts)
    for s in steps:
        run.step(*s)
    check_conservation(db)
    check_positions(db, run)
    report = audit.verify(db)
    assert report.ok, report.problems
    return run


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(starts=starts, steps=ops)
def test_random_gx_acts_conserve_allowances_and_keep_compliance_equal_to_the_journal(
    db: Database, starts: tuple[tuple[str, int], ...], steps: list[tuple[Any, ...]]
) -> None:
    run_sequence(db, steps, starts)


def test_a_fixed_cycle_succeeds_and_refuses_where_it_should(db: Database) -> None:
    """A guard that the random runs exercise both outcomes, not only refusals."""
    steps = [
        ("surrender_allowances", 0, 0, 5),  # not verified yet: refused
        ("report", 0, 0, 10),  # 100 t
        ("surrender_credits", 0, 0, 0),  # reported, not verified: refused
        ("verify", 0, 0, 1),
        ("report", 0, 0, 12),  # verified: refused
        ("transfer", 1, 0, 10),  # B sends 10 allowances to A
        ("surrender_allowances", 0, 0, 35),  # A holds 30 + 10
        ("surrender_credits", 0, 0, 10),  # 11 t: over the 10 t cap, refused
        ("surrender_credits", 0, 0, 5),  # 6 t
        ("retire_for_gx", 0, 0, 3),  # 4 t more: the cap, reached
        ("retire_for_gx", 0, 0, 20),  # 1 t more: refused
        ("move_surrendered", 0, 1, 3),  # transfer out of the compliance account: refused
        ("move_surrendered", 0, 1, 4),  # cancel from it: refused
        ("pay_ceiling", 0, 0, 24),  # 25 t of the 55 t outstanding
        ("pay_ceiling", 0, 0, 29),  # the other 30 t
        ("pay_ceiling", 0, 0, 0),  # 1 t more, compliant already: refused
        ("cancel", 0, 0, 4),  # A gives up 5 of the 5 allowances left
        ("transfer", 2, 3, 4),  # C sends 4 to the trader (a corporation may hold them)
        ("transfer", 2, 3, 3),  # the trader sends 3 back
        ("trade", 1, 3, 6),  # B sells 6 to the trader on the exchange; settled
        ("trade", 1, 2, 40),  # B holds 15: refused, nothing rests
    ]
    run = run_sequence(db, [(k, a, b, n) for k, a, b, n in steps])
    pos = gc.compliance(db, run.actors[run.pids[0]], run.pids[0], FY)
    assert (pos.verified_emissions, pos.surrendered_allowances) == (100, 35)
    assert (pos.surrendered_credits, pos.ceiling_quantity, pos.status) == (10, 55, "compliant")
    assert run.ok == Counter(
        {
            "report": 1,
            "verify": 1,
            "transfer": 3,
            "surrender_allowances": 1,
            "surrender_credits": 1,
            "retire_for_gx": 1,
            "pay_ceiling": 2,
            "cancel": 1,
            "trade": 1,
        }
    )
    assert run.refused == Counter(
        {
            "emissions_not_verified": 2,
            "emissions_verified": 1,
            "usage_not_allowed": 2,
            "not_a_holding_account": 2,
            "exceeds_obligation": 1,
            "insufficient_credits": 1,
        }
    )
