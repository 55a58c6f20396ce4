"""Property: any sequence of marketplace operations (list, amend, withdraw, buy, RFQ, offer,
accept, decline, withdraw an offer, cancel an RFQ, settle, sweep), some refused, conserves credits
and cash: a refusal changes nothing, no serial is ever in two places, every open listing and
offer has exactly its credits reserved, and the audit rebuilds every balance from the journal."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanso.domain import marketplace as mp
from tanso.domain.errors import TansoError
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.services.venues import marketplace as market
from tests.conftest import add_issuance, add_participant, fresh_database, fund
from tests.integration.test_registry_properties import check_invariants, state

PIDS = ["PA", "PB", "PC"]
KINDS = [
    "list",
    "list",
    "buy",
    "buy",
    "amend",
    "withdraw",
    "rfq",
    "offer",
    "accept",
    "decline",
    "withdraw_offer",
    "cancel_rfq",
    "settle",
    "sweep",
]
op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, len(PIDS) - 1),
    st.integers(0, 7),
    st.integers(1, 60),
    st.integers(0, 3),
)
ops = st.lists(op, min_size=4, max_size=30)
_dirs = itertools.count()


class Run:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.actors = {pid: add_participant(db, pid) for pid in PIDS}
        self.issuance = {pid: add_issuance(db, f"{pid}-MAIN", 120, project="PM") for pid in PIDS}
        for pid in PIDS:
            fund(db, pid, 400_000)
        self.listings: list[str] = []
        self.rfqs: list[str] = []
        self.offers: list[str] = []
        self.ok: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def step(self, kind: str, a: int, i: int, n: int, k: int) -> None:
        db, pid = self.db, PIDS[a]
        actor, account = self.actors[pid], f"{pid}-MAIN"

        def nth(xs: list[str]) -> str:
            return xs[i % len(xs)] if xs else "NONE-1"

        # short expiries lapse a few transactions later on the counter clock
        expiry = "2030-01-01T00:00:00Z" if k else "2026-01-05T00:00:00.000150Z"
        calls: dict[str, Callable[[], dict[str, Any]]] = {
            "list": lambda: market.create_listing(
                db,
                actor,
                market.NewListing(
                    account,
                    mp.ListingTerms(1000 + 100 * k, n, lot=1 + k % 2 * 4, settlement_days=k % 3),
                    issuance_id=self.issuance[pid],
                    expires_at=None if k else expiry,
                ),
            ),
            "buy": lambda: market.buy(db, actor, nth(self.listings), n, account),
            "amend": lambda: market.amend_listing(
                db, actor, nth(self.listings), price=500 + n, available=n if k % 2 else None
            ),
            "withdraw": lambda: market.withdraw_listing(db, actor, nth(self.listings)),
            "rfq": lambda: market.create_rfq(
                db,
                actor,
                n,
                listing_id=nth(self.listings) if k % 2 else None,
                project_id=None if k % 2 else "PM",
            ),
            "offer": lambda: market.make_offer(
                db,
                actor,
                market.NewOffer(
                    nth(self.rfqs), account, self.issuance[pid], 900 + k, n, expiry, k % 3
                ),
            ),
            "accept": lambda: market.accept_offer(db, actor, nth(self.offers), account),
            "decline": lambda: market.decline_offer(db, actor, nth(self.offers)),
            "withdraw_offer": lambda: market.withdraw_offer(db, actor, nth(self.offers)),
            "cancel_rfq": lambda: market.cancel_rfq(db, actor, nth(self.rfqs)),
            "settle": lambda: settlement.run(db, SYSTEM, dt.date(2026, 1, 5 + k), early=True),
            "sweep": lambda: market.sweep(db),
        }
        before = state(db)
        try:
            out = calls[kind]()
        except TansoError as e:
            self.refused[f"{kind}:{e.code}"] += 1
            assert state(db) == before, f"{kind} refused with {e.code} but changed something"
            return
        self.ok[kind] += 1
        made = {"list": self.listings, "rfq": self.rfqs, "offer": self.offers}
        if kind in made:  # a listing, an RFQ or an offer
            made[kind].append(out.id)
        problems = market.check_reservations(db)
        assert problems == [], problems


def run_sequence(
    backend: str, request: pytest.FixtureRequest, tmp: Path, steps: list[tuple[Any, ...]]
) -> Run:
    db = fresh_database(backend, request, tmp)
    try:
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        run = Run(db)
        run.step("list", 0, 0, 50, 1)
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


@settings(max_examples=30, **COMMON)
@given(steps=ops)
def test_random_marketplace_operations_conserve_everything_on_sqlite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list
) -> None:
    run_sequence("sqlite", request, tmp_path_factory.mktemp(f"mp{next(_dirs)}"), steps)


@pytest.mark.full  # the PostgreSQL form; its SQLite form runs in both tiers
@settings(max_examples=10, **COMMON)
@given(steps=ops)
def test_random_marketplace_operations_conserve_everything_on_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list
) -> None:
    run_sequence("postgres", request, tmp_path_factory.mktemp(f"mp{next(_dirs)}"), steps)


def test_a_fixed_sequence_reaches_every_kind_of_success(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs can succeed at each operation, not only be refused."""
    steps = [
        ("buy", 1, 0, 10, 1),  # PB buys 10 of PA's listing (T+1)
        ("amend", 0, 0, 30, 1),
        ("rfq", 1, 0, 20, 0),  # PB asks for PM credits
        ("offer", 2, 0, 20, 1),  # PC offers
        ("offer", 0, 0, 15, 2),  # PA offers
        ("decline", 1, 1, 1, 1),  # PB declines PA's offer
        ("accept", 1, 0, 1, 1),  # and accepts PC's
        ("rfq", 2, 0, 5, 0),
        ("offer", 0, 1, 5, 3),
        ("withdraw_offer", 0, 2, 1, 1),
        ("cancel_rfq", 2, 1, 1, 1),
        ("list", 2, 0, 40, 0),  # expires almost at once
        ("sweep", 0, 0, 1, 1),
        ("settle", 0, 0, 1, 3),
        ("withdraw", 0, 0, 1, 1),
    ]
    run = run_sequence("sqlite", request, tmp_path_factory.mktemp("mpfixed"), steps)
    assert set(run.ok) == {
        "list",
        "buy",
        "amend",
        "rfq",
        "offer",
        "decline",
        "accept",
        "withdraw_offer",
        "cancel_rfq",
        "sweep",
        "settle",
        "withdraw",
    }, (run.ok, run.refused)
