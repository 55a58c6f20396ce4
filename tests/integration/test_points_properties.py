"""Property: any sequence of points acts keeps members' balances equal to the events accepted.

Each example runs a programme of its own in the test's database (both backends, through the
``db`` fixture): random batches of events (with resends, event ids reused with other content,
out-of-order dates, dates before any methodology, raw member ids that must be refused),
methodology changes (refused when they would re-rate an accepted event), pledges (refused
beyond a member's available points) and pooled retirements (refused below a tonne). A model
written here, independently of the service, predicts every refusal and every credited gram.
After each act, a refused one changed nothing. At the end: each member's balance equals the
sum of its accepted events as the model credits them, daily caps included; no pool retired
more than its pledges and the carry it took in, and the fractions carried add up exactly; no
member pledged or spent more than it earned; the audit rebuilds every balance from the journal.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain import points
from tanso.domain.errors import TansoError
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit
from tanso.services.points import ingest, pools, programmes
from tanso.store import schema_points as p
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant

KEY = b"property-test key"
MEMBERS = [points.member_hash(KEY, f"m{n}@example.jp") for n in range(6)]
START = dt.date(2026, 11, 1)
TODAY = "2026-11-30"
CAP = 1_000
_examples = itertools.count(1)


def method(effective: dt.date, km_grams: int) -> dict[str, Any]:
    return {
        "effective_from": effective.isoformat(),
        "source": "property test",
        "actions": [
            {
                "code": "km",
                "name_en": "km",
                "name_ja": "km",
                "unit": "km",
                "grams_per_unit": km_grams,
            },
            {
                "code": "ride",
                "name_en": "ride",
                "name_ja": "乗車",
                "unit": "ride",
                "grams_per_unit": 400,
                "daily_cap_grams": CAP,
            },
        ],
        "double_counting": {"overlaps": [], "settled": False, "treatment": "funds credits"},
    }


class Model:
    """What the programme's books must say, computed without the service."""

    def __init__(self) -> None:
        self.versions: list[tuple[dt.date, int]] = []
        self.stored: dict[str, tuple[str, str, int, str]] = {}
        self.earned: dict[str, int] = {}
        self.used: dict[tuple[str, str, str], int] = {}
        self.pledged: dict[str, int] = {}
        self.pool_pledged = 0
        self.carry = 0
        self.retired_tonnes = 0
        self.retired_pledges = 0

    def rate(self, action: str, on: str) -> int | None:
        day = dt.date.fromisoformat(on)
        live = [v for v in self.versions if v[0] <= day]
        if not live:
            return None
        km = max(live)[1]
        return km if action == "km" else 400

    def batch(self, events: list[tuple[str, str, str, int, str]], raw: bool) -> bool:
        """Apply a batch; False if it must be refused."""
        if raw:
            return False
        seen: dict[str, tuple[str, str, int, str]] = {}
        fresh = []
        for eid, member, action, qty, on in events:
            if self.rate(action, on) is None:
                return False
            content = (member, action, qty, on)
            if eid in seen:
                if seen[eid] != content:
                    return False
                continue
            seen[eid] = content
            fresh.append((eid, content))
        new = []
        for eid, content in fresh:
            if eid in self.stored:
                if self.stored[eid] != content:
                    return False
            else:
                new.append((eid, content))
        for eid, (member, action, qty, on) in new:
            grams = qty * (self.rate(action, on) or 0)
            if action == "ride":
                key = (member, on, action)
                grams = max(0, min(grams, CAP - self.used.get(key, 0)))
                self.used[key] = self.used.get(key, 0) + grams
            self.stored[eid] = (member, action, qty, on)
            self.earned[member] = self.earned.get(member, 0) + grams
        return True

    def available(self, member: str) -> int:
        return self.earned.get(member, 0) - self.pledged.get(member, 0)


event = st.tuples(
    st.integers(0, 40),  # event id: a small range, so that ids repeat
    st.integers(0, len(MEMBERS) - 1),
    st.sampled_from(["km", "ride"]),
    st.integers(1, 40),
    st.integers(0, 28),  # day of November
)
acts = st.lists(
    st.one_of(
        st.tuples(st.just("batch"), st.lists(event, min_size=1, max_size=12), st.booleans()),
        st.tuples(st.just("method"), st.integers(0, 28), st.sampled_from([10_000, 30_000])),
        st.tuples(st.just("pledge"), st.integers(0, len(MEMBERS) - 1), st.integers(1, 900_000)),
        st.tuples(st.just("retire")),
    ),
    max_size=25,
)


def _snapshot(db: Database, pid: str) -> Any:
    with db.read() as conn:
        prog = conn.execute(
            select(p.points_programmes).where(p.points_programmes.c.id == pid)
        ).one()
        bal = conn.execute(
            select(p.points_balances).where(p.points_balances.c.programme_id == pid)
        ).all()
        n = conn.execute(
            select(func.count())
            .select_from(p.points_events)
            .where(p.points_events.c.programme_id == pid)
        ).scalar_one()
    return (tuple(prog), sorted(tuple(b) for b in bal), n)


def run(db: Database, steps: list[Any], version_events: bool = True) -> None:
    n = next(_examples)
    pid, owner = f"PP-PROP{n}", f"PROP{n}"
    add_participant(db, owner)
    add_issuance(db, f"{owner}-MAIN", 200, vintage=2024, category="FOREST")
    programmes.register(db, SYSTEM, programmes.NewProgramme(pid, owner, "Prop", "プロップ"))
    actor = Actor(owner, frozenset({Role.TRADER, Role.POINTS_PROGRAMME}))
    model = Model()
    programmes.publish_methodology(db, actor, pid, method(START + dt.timedelta(days=2), 10_000))
    model.versions.append((START + dt.timedelta(days=2), 10_000))
    pool = pools.open_pool(db, actor, pid, "pool").id
    for step in steps:
        before = _snapshot(db, pid)
        refused = False
        try:
            if step[0] == "batch":
                evs = [
                    (f"E{i}", MEMBERS[m], a, q, (START + dt.timedelta(days=d)).isoformat())
                    for i, m, a, q, d in step[1]
                ]
                lines = [
                    {
                        "event_id": e,
                        "member": "m0@example.jp" if step[2] and k == 0 else m,
                        "action": a,
                        "quantity": q,
                        "occurred_on": on,
                    }
                    for k, (e, m, a, q, on) in enumerate(evs)
                ]
                body = "\n".join(json.dumps(x) for x in lines).encode()
                expect = model.batch(evs, step[2]) if not step[2] else False
                try:
                    ingest.ingest(db, actor, pid, body)
                except TansoError:
                    refused = True
                assert refused == (not expect), (step, refused)
            elif step[0] == "method":
                effective = START + dt.timedelta(days=step[1])
                expect = all(dt.date.fromisoformat(s[3]) < effective for s in model.stored.values())
                try:
                    programmes.publish_methodology(db, actor, pid, method(effective, step[2]))
                    model.versions.append((effective, step[2]))
                except TansoError:
                    refused = True
                assert refused == (not expect), (step, refused)
            elif step[0] == "pledge":
                member = MEMBERS[step[1]]
                expect = model.available(member) >= step[2]
                try:
                    pools.pledge(db, actor, pid, pool, [pools.Pledge(member, step[2])])
                    model.pledged[member] = model.pledged.get(member, 0) + step[2]
                    model.pool_pledged += step[2]
                except TansoError:
                    refused = True
                assert refused == (not expect), (step, refused)
            else:
                total = model.pool_pledged + model.carry
                try:
                    done = pools.retire_pool(db, actor, pid, pool)
                except TansoError:
                    refused = True
                assert refused == (total < points.GRAMS_PER_TONNE), (step, total)
                if not refused:
                    tonnes, model.carry = divmod(total, points.GRAMS_PER_TONNE)
                    assert done.pool.tonnes == tonnes and done.retirement.quantity == tonnes
                    assert done.pool.carry_out_grams == model.carry
                    model.retired_tonnes += tonnes
                    model.retired_pledges += model.pool_pledged
                    model.pool_pledged = 0
                    pool = pools.open_pool(db, actor, pid, "pool").id
        finally:
            pass
        if refused:
            assert _snapshot(db, pid) == before, step
    _check(db, pid, model)


def _check(db: Database, pid: str, model: Model) -> None:
    with db.read() as conn:
        e = p.points_events.c
        sums = dict(
            conn.execute(
                select(e.member, func.sum(e.grams)).where(e.programme_id == pid).group_by(e.member)
            ).all()
        )
        bal = {
            r.member: r
            for r in conn.execute(
                select(p.points_balances).where(p.points_balances.c.programme_id == pid)
            ).all()
        }
        prog = conn.execute(
            select(p.points_programmes).where(p.points_programmes.c.id == pid)
        ).one()
        retired = conn.execute(
            select(p.points_pools).where(
                p.points_pools.c.programme_id == pid, p.points_pools.c.status == "retired"
            )
        ).all()
    for member, grams in model.earned.items():
        assert int(bal[member].earned_grams) == grams == int(sums[member])
    assert set(bal) == set(model.earned)
    for b in bal.values():
        assert b.pledged_grams + b.spent_grams <= b.earned_grams
        assert int(b.pledged_grams) == model.pledged.get(b.member, 0)
    assert int(prog.earned_grams) == sum(model.earned.values())
    carry = 0
    for pool in sorted(retired, key=lambda r: r.journal_seq):
        assert pool.carry_in_grams == carry
        assert pool.tonnes * points.GRAMS_PER_TONNE + pool.carry_out_grams == (
            pool.pledged_grams + pool.carry_in_grams
        )
        carry = pool.carry_out_grams
    assert carry == prog.carry_grams == model.carry
    assert sum(r.tonnes for r in retired) == model.retired_tonnes
    assert model.retired_tonnes * points.GRAMS_PER_TONNE + model.carry == model.retired_pledges
    report = audit.verify(db)
    assert report.ok, report.problems


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=acts)
def test_random_points_acts_keep_balances_equal_to_the_accepted_events(
    db: Database, steps: list[Any]
) -> None:
    db.clock = lambda: f"{TODAY}T03:00:00.000000Z"
    run(db, steps)


def test_a_fixed_sequence_with_resends_caps_and_two_pools(db: Database) -> None:
    db.clock = lambda: f"{TODAY}T03:00:00.000000Z"
    steps: list[Any] = [
        ("batch", [(1, 0, "km", 40, 5), (2, 0, "ride", 3, 5), (3, 1, "km", 30, 6)], False),
        ("batch", [(1, 0, "km", 40, 5), (4, 0, "ride", 2, 5), (5, 0, "km", 1, 0)], False),
        ("batch", [(6, 2, "km", 10, 7)], True),
        ("method", 6, 30_000),
        ("method", 10, 30_000),
        ("batch", [(7, 1, "km", 40, 12), (8, 1, "km", 1, 9)], False),
        ("batch", [(9, 2, "ride", 2, 8), (10, 2, "ride", 2, 8)], False),
        ("batch", [(11, 2, "ride", 1, 8), (12, 2, "ride", 1, 9)], False),
        ("pledge", 0, 400_000),
        ("pledge", 1, 900_000),
        ("pledge", 1, 900_000),
        ("retire",),
        ("pledge", 1, 100_000),
        ("retire",),
        ("pledge", 1, 500_000),
        ("retire",),
    ]
    run(db, steps)
