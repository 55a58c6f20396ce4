"""A buyer buying a listing while its seller withdraws it, at the same moment, on PostgreSQL:
exactly one of the two wins each time and nothing is left half-done."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from tanso.domain import marketplace as mp
from tanso.domain.errors import TansoError
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, cash
from tanso.services.venues import marketplace as market
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.postgres

ROUNDS = 25
LOT = 40
PRICE = 1_500


def _reserved(db: Database, reservation: str) -> int:
    b = t.blocks.c
    q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
        b.reservation == reservation
    )
    with db.read() as conn:
        return int(conn.execute(q).scalar_one())


def _race(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(fn: Any) -> Any:
        barrier.wait()
        try:
            return fn()
        except TansoError as e:
            return e

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_buy_and_withdraw_at_once_one_wins_and_nothing_is_half_done(pg_db: Database) -> None:
    seller = add_participant(pg_db, "SELLER")
    buyer = add_participant(pg_db, "BUYER")
    issuance = add_issuance(pg_db, "SELLER-MAIN", ROUNDS * LOT)
    fund(pg_db, "BUYER", ROUNDS * LOT * PRICE)
    wins = {"buy": 0, "withdraw": 0}
    for i in range(ROUNDS):
        lst = market.create_listing(
            pg_db,
            seller,
            market.NewListing(
                "SELLER-MAIN",
                mp.ListingTerms(PRICE, LOT, settlement_days=i % 2),
                issuance_id=issuance,
            ),
        )
        # alternate which call is submitted first, so neither always starts ahead
        lid = lst.id
        calls = [
            lambda lid=lid: ("buy", market.buy(pg_db, buyer, lid, LOT, "BUYER-MAIN")),
            lambda lid=lid: ("withdraw", market.withdraw_listing(pg_db, seller, lid)),
        ]
        results = _race(calls if i % 2 else calls[::-1])
        ok = [r for r in results if isinstance(r, tuple)]
        failed = [r for r in results if isinstance(r, TansoError)]
        assert len(ok) == 1 and len(failed) == 1, results
        assert failed[0].code == "listing_not_open", failed[0]
        winner, out = ok[0]
        wins[winner] += 1
        mine = market.get_listing(pg_db, seller, lst.id)
        assert mine.available == 0
        assert _reserved(pg_db, lst.id) == 0
        if winner == "buy":
            assert mine.status == "sold_out"
            deal = out.id
            held = _reserved(pg_db, deal)
            assert held == (0 if out.status == "settled" else LOT)
            assert len(market.deals(pg_db, buyer)) == wins["buy"]
        else:
            assert mine.status == "withdrawn"
            assert len(market.deals(pg_db, buyer)) == wins["buy"]
    assert market.check_reservations(pg_db) == []
    balances = {r.participant_id: r for r in cash.balances(pg_db, SYSTEM)}
    spent = ROUNDS * LOT * PRICE - balances["BUYER"].balance
    assert spent + balances["BUYER"].reserved == wins["buy"] * LOT * PRICE
    report = audit.verify(pg_db)
    assert report.ok, report.problems
    assert sum(wins.values()) == ROUNDS


def test_ten_buyers_racing_for_one_listing_buy_exactly_what_it_holds(pg_db: Database) -> None:
    seller = add_participant(pg_db, "SELLER")
    buyers = [add_participant(pg_db, f"BUYER{i}") for i in range(10)]
    issuance = add_issuance(pg_db, "SELLER-MAIN", 1_000)
    for b in buyers:
        fund(pg_db, b.participant_id, 100 * PRICE)
    lst = market.create_listing(
        pg_db,
        seller,
        market.NewListing("SELLER-MAIN", mp.ListingTerms(PRICE, 200), issuance_id=issuance),
    )
    calls = [
        lambda b=b: market.buy(pg_db, b, lst.id, 40, f"{b.participant_id}-MAIN") for b in buyers
    ]
    results = _race(calls)
    ok = [r for r in results if isinstance(r, market.Purchase)]
    failed = [r for r in results if isinstance(r, TansoError)]
    # 200 t cover five purchases of 40; the sixth and later find the listing sold out
    assert len(ok) == 5 and len(failed) == 5, results
    assert {e.code for e in failed} == {"listing_not_open"}
    assert market.get_listing(pg_db, seller, lst.id).status == "sold_out"
    assert sum(_reserved(pg_db, r.id) for r in ok) == 200
    assert market.check_reservations(pg_db) == []
    report = audit.verify(pg_db)
    assert report.ok, report.problems
