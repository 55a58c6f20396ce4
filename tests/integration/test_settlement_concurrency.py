"""Settlement runs concurrent with trading, registry operations and each other (PostgreSQL).

A run settles chunk by chunk, each chunk one transaction; between chunks the exchange's
sequencer, retirements and transfers take the journal head in turn. Whatever the interleaving,
cash and credits stay whole, each obligation settles at most once, and the audit rebuilds every
balance. Two runs for one date started together settle each obligation exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from tanso.domain.errors import TansoError
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import registry
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund
from tests.integration.test_settlement_properties import (
    all_obligations,
    check_invariants,
    settled_entries,
)

pytestmark = pytest.mark.postgres

DUE = dt.date(2026, 1, 13)  # trades are on 2026-01-05 (the counter clock); T+5
PAIRS = 120  # buys of 3 against sells of 2: about 160 trades
CHUNK = 40  # so that a run takes several transactions, and others get in between them


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settlement, "CHUNK", CHUNK)


def _market(db: Database) -> tuple[Exchange, dict[str, Actor]]:
    x = Exchange(db, japan_calendar())
    x.start()
    actors = {pid: add_participant(db, pid) for pid in ("BUYA", "BUYB", "SELA", "SELB")}
    for pid in ("BUYA", "BUYB"):
        fund(db, pid, 10**10)
    for pid in ("SELA", "SELB"):
        add_issuance(db, f"{pid}-MAIN", 100_000, category="ENERGY_SAVING")
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ESC", "Energy saving", "省エネ", Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )  # fmt: skip
    x.session(SYSTEM, "ESC", "open")
    return x, actors


def _auction(x: Exchange, actors: dict[str, Actor], pairs: int) -> int:
    """Many small crossing orders, then one call auction; returns the number of trades."""

    def place(i: int) -> None:
        buyer, seller = actors[("BUYA", "BUYB")[i % 2]], actors[("SELA", "SELB")[i % 2]]
        x.place(buyer, NewOrder("ESC", "buy", 3, 2_000 + i % 7))
        x.place(seller, NewOrder("ESC", "sell", 2, 2_000 - i % 5))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(place, range(pairs)))
    return len(x.session(SYSTEM, "ESC", "auction").trades)


def _until(done: threading.Event, at_least: int, work: Callable[[int], None]) -> int:
    """Call work(n) until `done` is set, and at least `at_least` times; refusals count too."""
    n = 0
    while n < at_least or not done.is_set():
        with contextlib.suppress(TansoError):
            work(n)
        n += 1
    return n


def test_a_run_during_trading_retirements_and_transfers_keeps_everything_whole(
    pg_db: Database,
) -> None:
    db = pg_db
    x, actors = _market(db)
    try:
        before = _auction(x, actors, PAIRS)
        assert before > 3 * CHUNK
        holders = {pid: add_participant(db, pid) for pid in ("HOLDA", "HOLDB")}
        for pid in holders:
            add_issuance(db, f"{pid}-MAIN", 5_000, category="FOREST")
        start = threading.Barrier(5)
        done = threading.Event()
        results: dict[str, Any] = {}

        def run() -> None:
            start.wait()
            try:
                results["run"] = settlement.run(db, SYSTEM, DUE, early=True)
            finally:
                done.set()

        def trade(n: int) -> None:
            i = n % 7
            x.place(actors["BUYA"], NewOrder("ESC", "buy", 3, 2_000 + i))
            x.place(actors["SELB"], NewOrder("ESC", "sell", 2, 2_000 - i))
            if n % 5 == 4:
                x.session(SYSTEM, "ESC", "auction")

        def retire(n: int) -> None:
            req = registry.RetirementRequest(
                "HOLDA-MAIN", registry.Selection(1 + n % 3), ["offset_scope1"]
            )
            registry.retire(db, holders["HOLDA"], req)

        def transfer(n: int) -> None:
            a, b = ("HOLDA", "HOLDB") if n % 2 else ("HOLDB", "HOLDA")
            registry.transfer(db, holders[a], f"{a}-MAIN", f"{b}-MAIN", registry.Selection(5))

        def loop(name: str, work: Callable[[int], None]) -> None:
            start.wait()
            results[name] = _until(done, 10, work)

        threads = [threading.Thread(target=run)] + [
            threading.Thread(target=loop, args=(name, work))
            for name, work in (
                ("trade", trade),
                ("retire", retire),
                ("transfer_a", transfer),
                ("transfer_b", transfer),
            )
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert results["run"].settled >= before and results["run"].failed == 0
        x.session(SYSTEM, "ESC", "auction")  # trades made during the run settle below
    finally:
        x.stop()
    settlement.run(db, SYSTEM, DUE, early=True)
    statuses = check_invariants(x)
    assert statuses == {"settled": len(all_obligations(db))}, statuses
    # the run did not hold everyone off: other writers' entries fall between its settlements
    j = t.journal.c
    with db.read() as conn:
        kinds = [r.kind for r in conn.execute(select(j.kind).order_by(j.seq))]
    settled_at = [i for i, k in enumerate(kinds) if k == "settlement.settled"]
    between = kinds[settled_at[0] : settled_at[before - 1]]
    assert {"credits.retired", "credits.transferred"} & set(between), set(between)


def test_two_runs_for_one_date_started_together_settle_each_obligation_once(
    pg_db: Database,
) -> None:
    db = pg_db
    x, actors = _market(db)
    try:
        trades = _auction(x, actors, PAIRS)
    finally:
        x.stop()
    start = threading.Barrier(2)

    def run() -> settlement.Run:
        start.wait()
        return settlement.run(db, SYSTEM, DUE, early=True)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: run(), range(2))
    assert first.settled + second.settled == trades, (first, second)
    assert first.failed == second.failed == 0
    assert max(settled_entries(db).values()) == 1
    assert len(settled_entries(db)) == trades
    statuses = check_invariants(x)
    assert statuses == {"settled": trades}, statuses
