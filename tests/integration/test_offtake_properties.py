"""Property: any sequence of issuances of a removal project (buffer share included), vintages
closed, explicit deliveries, and buyers' cash coming and going, under two forward contracts
(escrow and milestones, refund and carry-forward), some refused: a refusal changes nothing; no
vintage is ever delivered more than it is due, no issuance more than it left in the developer's
account; each buyer holds exactly what its contracts delivered; each escrow holds exactly the
prepayment not yet released or refunded; and serials, cash and the audit fold hold."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain import offtake as ot
from tanso.domain.errors import TansoError
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.removals import offtake, profiles
from tanso.store import schema as t
from tanso.store.schema_offtake import offtake_contracts, offtake_schedule
from tests.conftest import add_participant, fresh_database, fund
from tests.integration.test_registry_properties import check_invariants, state

BIOCHAR = Profile("biochar", "product", 100, "medium", 100, 1_000, "Illustrative: 10% buffer")
VINTAGES = (2027, 2028, 2029)
BUYERS = ("B1", "B2")
KINDS = ["issue", "issue", "issue", "close", "deliver", "fund", "withdraw"]
op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 1),
    st.integers(0, len(VINTAGES) - 1),
    st.integers(1, 120),
)
ops = st.lists(op, min_size=3, max_size=20)
wants = st.lists(st.integers(1, 100), min_size=3, max_size=3)
_dirs = itertools.count()


class Run:
    def __init__(self, db: Any, want1: list[int], want2: list[int]) -> None:
        self.db = db
        self.rounds = itertools.count(1)
        self.dev = add_participant(db, "DEV")
        self.buyers = {pid: add_participant(db, pid) for pid in BUYERS}
        taxonomy.register_project(
            db,
            SYSTEM,
            taxonomy.NewProject("BC", "JC", "Biochar", "AGRI_BIOCHAR", "JP", mechanism="removal"),
        )
        profiles.set_profile(db, SYSTEM, "BC", BIOCHAR)
        # a pilot round into DEV-MAIN (what makes DEV the developer), of a vintage no contract has
        registry.issue(db, SYSTEM, registry.NewIssuance("BC", "RM", "90", 2020, 10, "DEV-MAIN"))
        fund(db, "B1", 3_000_000)
        fund(db, "B2", 3_000_000)
        fund(db, "DEV", 10_000)
        rule = ot.PriceRule("fixed", price=5_000)
        listing = offtake.create_listing(
            db, self.dev, offtake.NewListing("BC", "DEV-MAIN", dict.fromkeys(VINTAGES, 500), rule)
        )
        self.contracts = []
        for pid, want, terms in (
            ("B1", want1, offtake.Terms(rule, "refund", 1_000, "escrow", 5)),
            ("B2", want2, offtake.Terms(rule, "carry_forward", 500, "milestones", 5)),
        ):
            vintages = dict(zip(VINTAGES, want, strict=True))
            q = offtake.request_quote(db, self.buyers[pid], listing.id, f"{pid}-MAIN", vintages)
            version = offtake.propose_terms(db, self.dev, q.id, terms).terms_version or ""
            self.contracts.append(offtake.sign(db, self.buyers[pid], q.id, version).id)
        self.ok: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def step(self, kind: str, who: int, v: int, n: int) -> None:
        db, vintage, contract = self.db, VINTAGES[v], self.contracts[who]
        buyer = BUYERS[who]
        calls = {
            "issue": lambda: registry.issue(
                db,
                SYSTEM,
                registry.NewIssuance("BC", "RM", str(next(self.rounds)), vintage, n, "DEV-MAIN"),
            ),
            "close": lambda: offtake.close_vintage(db, self.dev, contract, vintage),
            "deliver": lambda: offtake.deliver(db, self.dev, contract, vintage, n),
            "fund": lambda: fund(db, buyer, n * 10_000),
            "withdraw": lambda: cash.withdraw(db, SYSTEM, buyer, "JPY", n * 20_000, "out"),
        }
        before = state(db)
        try:
            calls[kind]()
        except TansoError as e:
            self.refused[f"{kind}:{e.code}"] += 1
            assert state(db) == before, f"{kind} refused with {e.code} but changed something"
            return
        self.ok[kind] += 1
        self.check()

    def check(self) -> None:
        b = t.blocks.c
        with self.db.read() as conn:
            rows = conn.execute(select(offtake_schedule)).all()
            contracts = {r.id: r for r in conn.execute(select(offtake_contracts)).all()}
            issued = dict(
                conn.execute(
                    select(t.issuances.c.vintage, func.sum(t.issuances.c.quantity)).group_by(
                        t.issuances.c.vintage
                    )
                ).all()
            )
            buffered = conn.execute(
                select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
                    b.account_id == "SYS-BUFFER-JC"
                )
            ).scalar_one()
            held = dict(
                conn.execute(
                    select(b.account_id, func.sum(b.serial_end - b.serial_start + 1)).group_by(
                        b.account_id
                    )
                ).all()
            )
            holds = dict(
                conn.execute(select(t.cash_reservations.c.id, t.cash_reservations.c.amount)).all()
            )
        delivered_by_vintage: Counter[int] = Counter()
        received: Counter[str] = Counter()
        for r in rows:
            assert 0 <= r.delivered <= r.contracted + r.carried_in, r
            assert 0 <= r.replaced <= r.replacement == 0, r  # no replacement rule here
            delivered_by_vintage[r.vintage] += r.delivered
            received[contracts[r.contract_id].buyer_account] += r.delivered
        for vintage, tonnes in delivered_by_vintage.items():
            assert tonnes <= issued.get(vintage, 0), (vintage, tonnes, issued)
        assert sum(delivered_by_vintage.values()) + buffered <= sum(issued.values())
        for account, tonnes in received.items():
            assert held.get(account, 0) == tonnes, (account, held, received)
        for c in contracts.values():
            mine = [r for r in rows if r.contract_id == c.id]
            released = sum(r.prepaid_released for r in mine)
            refunded = sum(r.refunded for r in mine)
            assert released + refunded <= c.prepayment
            if c.prepayment_mode == "escrow":
                assert holds.get(c.id, 0) == c.prepayment - released - refunded, c.id
            if c.status == "completed":
                assert holds.get(c.id, 0) == 0, c.id  # no escrow dangles past the contract


def run_sequence(
    backend: str,
    request: pytest.FixtureRequest,
    tmp: Path,
    want1: list[int],
    want2: list[int],
    steps: list[tuple[Any, ...]],
) -> Run:
    db = fresh_database(backend, request, tmp)
    try:
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        run = Run(db, want1, want2)
        for s in steps:
            run.step(*s)
        check_invariants(db)
        return run
    finally:
        db.dispose()


COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=25, **COMMON)
@given(want1=wants, want2=wants, steps=ops)
def test_random_offtake_sequences_deliver_within_contract_and_issuance_on_sqlite(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    want1: list[int],
    want2: list[int],
    steps: list,
) -> None:
    run_sequence(
        "sqlite", request, tmp_path_factory.mktemp(f"ot{next(_dirs)}"), want1, want2, steps
    )


@pytest.mark.full  # the PostgreSQL form; its SQLite form runs in both tiers
@settings(max_examples=8, **COMMON)
@given(want1=wants, want2=wants, steps=ops)
def test_random_offtake_sequences_deliver_within_contract_and_issuance_on_postgres(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    want1: list[int],
    want2: list[int],
    steps: list,
) -> None:
    run_sequence(
        "postgres", request, tmp_path_factory.mktemp(f"ot{next(_dirs)}"), want1, want2, steps
    )


def test_a_fixed_sequence_reaches_every_kind_of_success(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs can succeed at each operation, not only be refused."""
    steps = [
        ("withdraw", 0, 0, 140),  # B1 keeps 200,000 yen: short for what 2027 brings
        ("issue", 0, 0, 100),  # 10 t to the buffer, 90 t shared: B1 fails to pay, B2 takes 40
        ("fund", 0, 0, 100),
        ("deliver", 0, 0, 30),  # the developer delivers B1's tonnes again
        ("close", 0, 0, 1),  # B1's 2027: 20 t short, refunded from escrow
        ("close", 1, 1, 1),  # B2's 2028: all short, carried to 2029
        ("issue", 0, 2, 120),
    ]
    run = run_sequence(
        "sqlite", request, tmp_path_factory.mktemp("otfixed"), [50, 10, 10], [40, 20, 30], steps
    )
    assert set(run.ok) == {"withdraw", "issue", "fund", "deliver", "close"}, (run.ok, run.refused)
