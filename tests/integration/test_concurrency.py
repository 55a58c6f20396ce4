"""Concurrent requests against one balance: exactly those the balance covers succeed."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.services.common import Actor
from tanso.services.ledger import audit, registry
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.fast_backends("sqlite", "postgres"),
]  # most tests here use pg_db


def _race(db: Database, calls: list[object]) -> tuple[list[dict[str, object]], list[TansoError]]:
    def run(fn: object) -> object:
        try:
            return fn()  # type: ignore[operator]
        except TansoError as e:
            return e

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(run, calls))
    ok = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, TansoError)]
    assert len(ok) + len(failed) == len(calls), results
    return ok, failed


def _held(db: Database, account: str) -> int:
    b = t.blocks.c
    q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
        b.account_id == account, b.status == "held"
    )
    with db.read() as conn:
        return int(conn.execute(q).scalar_one())


def test_twenty_concurrent_transfers_exceeding_the_balance_never_double_spend(
    pg_db: Database,
) -> None:
    seller = add_participant(pg_db, "SELLER")
    add_participant(pg_db, "BUYER")
    add_issuance(pg_db, "SELLER-MAIN", 1_000)
    calls = [
        (
            lambda: registry.transfer(
                pg_db, seller, "SELLER-MAIN", "BUYER-MAIN", registry.Selection(70)
            )
        )
        for _ in range(20)
    ]
    ok, failed = _race(pg_db, calls)
    # 1,000 credits cover 14 transfers of 70; the 15th and later find 20 or fewer left
    assert len(ok) == 14
    assert {e.code for e in failed} == {"insufficient_credits"}
    assert _held(pg_db, "BUYER-MAIN") == 980
    assert _held(pg_db, "SELLER-MAIN") == 20
    assert audit.verify(pg_db).ok


def test_twenty_concurrent_retirements_exceeding_the_balance_retire_each_serial_once(
    pg_db: Database,
) -> None:
    holder = add_participant(pg_db, "HOLDER")
    add_issuance(pg_db, "HOLDER-MAIN", 500)
    calls = [
        (
            lambda: registry.retire(
                pg_db,
                holder,
                registry.RetirementRequest(
                    "HOLDER-MAIN", registry.Selection(60), ["offset_scope3"]
                ),
            )
        )
        for _ in range(20)
    ]
    ok, failed = _race(pg_db, calls)
    assert len(ok) == 8
    assert {e.code for e in failed} == {"insufficient_credits"}
    retired = sorted((r["start"], r["end"]) for o in ok for r in _ranges(o))
    for (_, end), (start, _) in itertools.pairwise(retired):
        assert end < start, "a serial was retired twice"
    assert sum(e - s + 1 for s, e in retired) == 480
    assert _held(pg_db, "HOLDER-MAIN") == 20
    assert audit.verify(pg_db).ok


def test_the_same_serial_range_sent_twenty_times_at_once_moves_once(pg_db: Database) -> None:
    a = add_participant(pg_db, "RANGEA")
    add_participant(pg_db, "RANGEB")
    issuance = add_issuance(pg_db, "RANGEA-MAIN", 100)
    sel = registry.Selection(serials=f"{issuance}-11-40")
    calls = [
        (lambda: registry.transfer(pg_db, a, "RANGEA-MAIN", "RANGEB-MAIN", sel)) for _ in range(20)
    ]
    ok, failed = _race(pg_db, calls)
    assert len(ok) == 1
    assert {e.code for e in failed} == {"serials_not_available"}
    assert _held(pg_db, "RANGEB-MAIN") == 30
    assert audit.verify(pg_db).ok


def _ranges(result: registry.RetirementReceipt) -> list[dict[str, int]]:
    return [{"start": r.serial_start, "end": r.serial_end} for r in result.ranges]


def test_actor_type_is_a_plain_value() -> None:
    assert Actor("X").label == "X"
    assert Actor("C", agent_id="B").label == "B for C"


def test_onboard_registers_approves_and_gives_a_working_key(db: Database) -> None:
    from tanso.services.common import SYSTEM
    from tanso.services.ledger import participants
    from tests.conftest import corporate_number

    new = participants.NewParticipant(
        "新会社", "New Co.", "corporation", ["trader"], corporate_number(), False, "NEWCO"
    )
    key = participants.onboard(db, SYSTEM, new, "first key")
    actor = participants.authenticate(db, key)
    assert actor.participant_id == "NEWCO"
    assert participants.get_participant(db, SYSTEM, "NEWCO").status == "active"
