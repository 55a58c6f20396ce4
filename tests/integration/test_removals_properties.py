"""Property: any sequence of removal acts keeps the registry whole (issue 21, "Must hold").

Each example has removal projects of its own (biochar with reversal risk and a buffer rate,
DACCS without, forest with high risk), three holders, and a forward offtake contract for the
biochar project's 2026 vintage (holder A develops it, holder B buys, with an escrowed
prepayment), in the test's database (both backends). A random sequence of issuances (those into
A's account deliver under the contract by DvP), transfers between holders, marketplace listings
and purchases from them (trades settled by DvP), retirements and reversals runs, some refused.
After each act: every issuance's blocks still partition its serials exactly (conserved, buffer
included, no serial in two places); every credit retired before is still retired (a reversal
never touches one); a refused act changed nothing; the contract never has more delivered than it
was due, nor more than the issuances into A's account left after their buffer share. At the end:
the tonnes cancelled for reversals equal what their records say they took, the pool holds what
was contributed less what reversals took from it, and the audit rebuilds every balance (cash
included) from the journal.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain import marketplace as mp
from tanso.domain import offtake as ot
from tanso.domain.errors import TansoError
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, registry, taxonomy
from tanso.services.ledger.blocks import Selection
from tanso.services.ledger.registry import NewIssuance, RetirementRequest
from tanso.services.removals import offtake, profiles, reversals
from tanso.services.venues import marketplace
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.store.schema_offtake import offtake_schedule
from tanso.store.schema_removals import buffer_contributions
from tests.conftest import add_participant, fund

KINDS = ["issue", "transfer", "list", "buy", "retire", "reversal"]
op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 2),  # holder (or project for issue/reversal)
    st.integers(0, 2),  # the other holder
    st.integers(1, 400),
)
ops = st.lists(op, min_size=3, max_size=20)
_examples = itertools.count(1)


def blocks(db: Database) -> list[tuple[Any, ...]]:
    b = t.blocks.c
    with db.read() as conn:
        rows = conn.execute(
            select(b.issuance_id, b.serial_start, b.serial_end, b.account_id, b.status).order_by(
                b.issuance_id, b.serial_start
            )
        ).all()
    return [tuple(r) for r in rows]


def issued(db: Database) -> dict[str, int]:
    i = t.issuances.c
    with db.read() as conn:
        return {r.id: r.quantity for r in conn.execute(select(i.id, i.quantity)).all()}


def retired_serials(rows: list[tuple[Any, ...]]) -> set[tuple[str, int, int]]:
    return {(r[0], r[1], r[2]) for r in rows if r[4] == "retired"}


def covered(ranges: set[tuple[str, int, int]], issuance: str, serial: int) -> bool:
    return any(i == issuance and s <= serial <= e for i, s, e in ranges)


def check_partition(db: Database) -> list[tuple[Any, ...]]:
    rows = blocks(db)
    quantities = issued(db)
    by_issuance: dict[str, list[tuple[int, int]]] = {}
    for issuance, start, end, _account, _status in rows:
        by_issuance.setdefault(issuance, []).append((start, end))
    for issuance, q in quantities.items():
        runs = sorted(by_issuance.get(issuance, []))
        expect = 1
        for start, end in runs:
            assert start == expect, (issuance, runs)
            expect = end + 1
        assert expect == q + 1, (issuance, q, runs)
    return rows


class World:
    def __init__(self, db: Database) -> None:
        n = next(_examples)
        self.db = db
        self.holders = [f"RH{n}{c}" for c in "ABC"]
        self.actors = {pid: add_participant(db, pid, ["trader"]) for pid in self.holders}
        self.projects = [f"RB{n}", f"RD{n}", f"RF{n}"]
        risky = Profile("biochar", "product", 100, "medium", 100, 1_500)
        safe = Profile("daccs", "geological", 10_000, "none", 30, 0)
        forest = Profile("forest_management", "biological", 40, "high", 40, 2_000)
        for pid, prof, cat in zip(
            self.projects, (risky, safe, forest), ("AGRI_BIOCHAR", "OTHER", "FOREST"), strict=True
        ):
            taxonomy.register_project(
                db,
                SYSTEM,
                taxonomy.NewProject(pid, "JC", pid, cat, "JP", mechanism="removal"),
            )
            profiles.set_profile(db, SYSTEM, pid, prof)
        self.rounds = itertools.count(1)
        # A develops RB (named on its profile); B signs a forward contract for 2026
        dev, buyer = self.holders[0], self.holders[1]
        profiles.set_profile(db, SYSTEM, self.projects[0], risky, developer_id=dev)
        fund(db, buyer, 10**10)
        fund(db, self.holders[2], 10**10)
        rule = ot.PriceRule("fixed", price=20_000)
        listing = offtake.create_listing(
            db,
            self.actors[dev],
            offtake.NewListing(self.projects[0], self.account(0), {2026: 300}, rule, "prop"),
        )
        quote = offtake.request_quote(
            db, self.actors[buyer], listing.id, self.account(1), {2026: 300}, "prop"
        )
        proposed = offtake.propose_terms(
            db,
            self.actors[dev],
            quote.id,
            offtake.Terms(rule, "carry_forward", 5_000, "escrow", 10),
        )
        assert proposed.terms_version is not None
        self.contract = offtake.sign(db, self.actors[buyer], quote.id, proposed.terms_version).id
        self.into_dev = 0
        """Tonnes issuances of RB left in A's account after their buffer share."""
        self.listings: list[str] = []

    def account(self, i: int) -> str:
        return f"{self.holders[i]}-MAIN"

    def act(self, kind: str, a: int, b: int, q: int) -> None:
        db = self.db
        if kind == "issue":
            receipt = registry.issue(
                db,
                SYSTEM,
                NewIssuance(
                    self.projects[a], "RM", str(next(self.rounds)), 2026, q, self.account(b)
                ),
            )
            if a == 0 and b == 0:
                self.into_dev += q - (receipt.buffer_quantity or 0)
        elif kind == "transfer":
            registry.transfer(
                db, self.actors[self.holders[a]], self.account(a), self.account(b), Selection(q)
            )
        elif kind == "list":
            held = registry.holdings(db, self.actors[self.holders[a]], self.account(a))
            free = [h for h in held.blocks if h.status == "held"]
            if not free:
                raise TansoError("nothing_held", "nothing to list")
            listing = marketplace.create_listing(
                db,
                self.actors[self.holders[a]],
                marketplace.NewListing(
                    self.account(a),
                    mp.ListingTerms(price=10_000, quantity=min(q, free[0].quantity)),
                    free[0].issuance_id,
                ),
            )
            self.listings.append(listing.id)
        elif kind == "buy":
            if not self.listings:
                raise TansoError("no_listing", "nothing listed")
            listing_id = self.listings[q % len(self.listings)]
            marketplace.buy(
                db, self.actors[self.holders[b]], listing_id, 1 + q % 30, self.account(b)
            )
        elif kind == "retire":
            registry.retire(
                db,
                self.actors[self.holders[a]],
                RetirementRequest(self.account(a), Selection(q), ["offset_scope3"]),
            )
        elif kind == "reversal":
            reversals.report(
                db,
                SYSTEM,
                reversals.NewReversal(self.projects[a], q, "fire", "2026-08-14"),
            )


def run_sequence(db: Database, steps: list[tuple[Any, ...]]) -> list[str]:
    """Run the acts with the checks; the kinds of the refused ones."""
    w = World(db)
    refused = []
    before = check_partition(db)
    for kind, a, b, q in steps:
        try:
            w.act(kind, a, b, q)
        except TansoError as e:
            after = check_partition(db)
            assert after == before, f"a refused {kind} changed the blocks"
            refused.append(f"{kind}: {e.code}")
            continue
        after = check_partition(db)
        with db.read() as conn:
            rows = conn.execute(
                select(offtake_schedule).where(offtake_schedule.c.contract_id == w.contract)
            ).all()
        assert all(r.delivered <= r.contracted + r.carried_in for r in rows)
        delivered = sum(r.delivered for r in rows)
        assert delivered <= w.into_dev, (delivered, w.into_dev)
        gone = {
            r
            for r in retired_serials(before)
            if not all(covered(retired_serials(after), r[0], s) for s in (r[1], r[2]))
        }
        assert not gone, f"{kind} touched retired credits {gone}"
        before = after
    # what reversals took equals what they cancelled, and the pools add up
    with db.read() as conn:
        revs = conn.execute(select(t.metadata.tables["reversals"])).all()
        contributed = conn.execute(
            select(func.coalesce(func.sum(buffer_contributions.c.quantity), 0))
        ).scalar_one()
    for r in revs:
        took = r.from_project_buffer + r.from_holders + r.from_pool
        assert took + r.uncompensated == r.quantity
        assert (
            sum(
                int(x.rsplit("-", 2)[2]) - int(x.rsplit("-", 2)[1]) + 1
                for x in json.loads(r.cancelled)
            )
            == took
        )
    in_pool = sum(
        e - s + 1 for _i, s, e, acct, st_ in blocks(db) if acct == "SYS-BUFFER-JC" and st_ == "held"
    )
    from_pool = sum(r.from_project_buffer + r.from_pool for r in revs)
    assert in_pool == contributed - from_pool
    report = audit.verify(db)
    assert report.ok, report.problems
    return refused


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=ops)
def test_random_removal_acts_conserve_credits_and_never_touch_retired_ones(
    db: Database, steps: list[tuple[Any, ...]]
) -> None:
    run_sequence(db, steps)


def test_a_fixed_sequence_exercises_every_act(db: Database) -> None:
    """A guard that the random runs can succeed at each act, not only be refused."""
    refused = run_sequence(
        db,
        [
            ("issue", 0, 0, 400),
            ("issue", 2, 1, 300),
            ("transfer", 0, 1, 30),
            ("list", 0, 0, 100),
            ("buy", 0, 2, 5),
            ("retire", 1, 0, 60),
            ("reversal", 0, 0, 200),
            ("reversal", 2, 0, 250),
        ],
    )
    assert refused == []
