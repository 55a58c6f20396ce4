"""Transfers and retirements in the sequencer's batches (one writer, group commit).

While the exchange's sequencer runs, `registry.transfer` and `registry.retire` hand their unit of
work to it (`common.execute(..., sequenced=True)`): they commit in the same transactions as
orders, an Idempotency-Key still applies them once, a refused one changes nothing and does not
disturb the others of its batch, and every balance still rebuilds from the journal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.domain.participants import Role
from tanso.services.common import Actor, Idem
from tanso.services.ledger import audit, registry
from tanso.services.ledger.blocks import Selection
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market


@pytest.fixture
def running(db: Database) -> Iterator[Exchange]:
    x = Exchange(db, japan_calendar())
    for pid in ("ALPHA", "BETA"):
        add_participant(db, pid)
    add_issuance(db, "ALPHA-MAIN", 1_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BETA", 10_000_000)
    open_market(x, energy_saving("continuous"))
    x.start()
    try:
        yield x
    finally:
        x.stop()


def _actor(pid: str) -> Actor:
    return Actor(pid, frozenset({Role.TRADER}))


def _held(db: Database, account: str) -> int:
    b = t.blocks.c
    with db.read() as conn:
        total = conn.execute(
            select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
                b.account_id == account, b.status == "held"
            )
        ).scalar_one()
    return int(total)


def test_a_running_sequencer_writes_transfers_in_its_batches(
    db: Database, running: Exchange
) -> None:
    assert db.sequencer is not None
    alpha = _actor("ALPHA")
    moved = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Selection(quantity=5))
    assert moved.quantity == 5 and _held(db, "BETA-MAIN") == 5
    with db.read() as conn:
        kinds = [r.kind for r in conn.execute(select(t.journal.c.kind).order_by(t.journal.c.seq))]
    assert kinds[-1] == "credits.transferred"
    running.stop()
    assert db.sequencer is None  # without it, a transfer has a transaction of its own again
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Selection(quantity=1))
    assert _held(db, "BETA-MAIN") == 6 and audit.verify(db).ok


def test_an_idempotent_transfer_through_the_sequencer_applies_once(
    db: Database, running: Exchange
) -> None:
    alpha = _actor("ALPHA")
    idem = Idem("transfer-1", "fingerprint-1")
    first = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Selection(quantity=7), idem)
    again = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Selection(quantity=7), idem)
    assert again == first and _held(db, "BETA-MAIN") == 7
    with pytest.raises(TansoError) as e:
        registry.transfer(
            db, alpha, "ALPHA-MAIN", "BETA-MAIN", Selection(quantity=8), Idem("transfer-1", "x")
        )
    assert e.value.code == "idempotency_key_reused"
    assert _held(db, "BETA-MAIN") == 7 and audit.verify(db).ok


def test_refused_transfers_change_nothing_and_their_batch_mates_commit(
    db: Database, running: Exchange
) -> None:
    """Threads send transfers (some asking more than ALPHA holds), retirements and orders at
    once, so that they share batches; every answer is kept or refused whole."""
    alpha, beta = _actor("ALPHA"), _actor("BETA")
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def send(kind: str, n: int) -> None:
        try:
            if kind == "transfer":
                quantity = 10 if n % 3 else 5_000  # every third asks for more than there is
                result: object = registry.transfer(
                    db, alpha, "ALPHA-MAIN", "BETA-MAIN", Selection(quantity=quantity)
                )
            elif kind == "retire":
                request = registry.RetirementRequest(
                    "ALPHA-MAIN", Selection(quantity=3), ["offset_scope1"]
                )
                result = registry.retire(db, alpha, request)
            else:
                result = running.place(beta, NewOrder("JC-ES", "buy", 10, 1_990 + n % 5))
        except TansoError as err:
            result = err
        with lock:
            outcomes.append((kind, result))

    jobs = [(k, n) for n in range(12) for k in ("transfer", "retire", "order")]
    threads = [threading.Thread(target=send, args=job) for job in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    done = {
        k: [r for kind, r in outcomes if kind == k and not isinstance(r, TansoError)]
        for k in ("transfer", "retire", "order")
    }
    refused = [r for kind, r in outcomes if isinstance(r, TansoError)]
    assert len(done["transfer"]) == 8 and len(done["retire"]) == 12 and len(done["order"]) == 12
    assert {e.code for e in refused} == {"insufficient_credits"} and len(refused) == 4
    assert _held(db, "BETA-MAIN") == 80
    assert _held(db, "ALPHA-MAIN") == 1_000 - 80 - 36
    assert audit.verify(db).ok
