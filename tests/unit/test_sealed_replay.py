"""`tanso replay` with sealed-bid auction scenarios: awards and the result, errors as lines."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tanso.replay import run


def lines(rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in rows]


def auction(**kw: Any) -> dict[str, Any]:
    return {
        "op": "sealed_auction",
        "id": "A1",
        "supply": 60,
        "reserve": 10,
        "pricing": "uniform_lowest_accepted",
        "marginal": "time",
        "undersubscribed": "partial",
    } | kw


BIDS = [
    {"op": "bid", "auction": "A1", "id": "b1", "participant": "P", "price": 15, "quantity": 10},
    {"op": "bid", "auction": "A1", "id": "b2", "participant": "Q", "price": 20, "quantity": 30},
    {"op": "bid", "auction": "A1", "id": "b3", "participant": "R", "price": 12, "quantity": 30},
    {"op": "bid", "auction": "A1", "id": "b4", "participant": "S", "price": 12, "quantity": 20},
    {"op": "bid", "auction": "A1", "id": "b5", "participant": "T", "price": 8, "quantity": 50},
]
CLEAR = {"op": "clear", "auction": "A1"}


def test_the_issue_scenario_prints_awards_then_the_result() -> None:
    out = list(run(lines([auction(), *BIDS, CLEAR])))
    assert out == [
        {"event": "award", "auction": "A1", "bid": "b2", "quantity": 30, "price": 12},
        {"event": "award", "auction": "A1", "bid": "b1", "quantity": 10, "price": 12},
        {"event": "award", "auction": "A1", "bid": "b3", "quantity": 20, "price": 12},
        {"event": "auction_result", "auction": "A1", "clearing_price": 12, "sold": 60,
         "unsold": 0},
    ]  # fmt: skip


def test_pay_as_bid_result_has_a_null_clearing_price() -> None:
    out = list(run(lines([auction(pricing="pay_as_bid"), *BIDS, CLEAR])))
    assert [e["price"] for e in out if e["event"] == "award"] == [20, 15, 12]
    assert out[-1]["clearing_price"] is None


def test_pro_rata_with_lot_and_seed_is_reproducible() -> None:
    # these lines use `qty`, the old spelling that replay still reads
    rows = [auction(marginal="pro_rata", lot=10, supply=100, seed="seed-1"),
            {"op": "bid", "auction": "A1", "id": "a", "participant": "P", "price": 20, "qty": 40},
            {"op": "bid", "auction": "A1", "id": "b", "participant": "Q", "price": 15, "qty": 30},
            {"op": "bid", "auction": "A1", "id": "c", "participant": "R", "price": 15, "qty": 30},
            {"op": "bid", "auction": "A1", "id": "d", "participant": "S", "price": 15, "qty": 10},
            CLEAR]  # fmt: skip
    out = list(run(lines(rows)))
    assert [(e["bid"], e["quantity"]) for e in out[:-1]] == [
        ("a", 40),
        ("b", 30),
        ("c", 20),
        ("d", 10),
    ]
    assert out == list(run(lines(rows)))


def test_undersubscribed_cancel_prints_only_an_empty_result() -> None:
    out = list(run(lines([auction(undersubscribed="cancel", supply=1000), *BIDS, CLEAR])))
    assert out == [
        {"event": "auction_result", "auction": "A1", "clearing_price": None, "sold": 0,
         "unsold": 1000}
    ]  # fmt: skip


def test_bad_sealed_lines_give_errors_and_the_run_goes_on() -> None:
    rows = [
        auction(pricing="vickrey"),  # 1
        auction(),  # 2
        auction(),  # 3 duplicate
        {
            "op": "bid",
            "auction": "ZZ",
            "id": "x",
            "participant": "P",
            "price": 1,
            "quantity": 1,
        },  # 4
        {
            "op": "bid",
            "auction": "A1",
            "id": "x",
            "participant": "P",
            "price": 0,
            "quantity": 1,
        },  # 5
        {
            "op": "bid",
            "auction": "A1",
            "id": "x",
            "participant": "P",
            "price": 11,
            "quantity": True,
        },
        {"op": "balance", "participant": "P", "cash": 100},
        {
            "op": "bid",
            "auction": "A1",
            "id": "big",
            "participant": "P",
            "price": 11,
            "quantity": 10,
        },
        {"op": "bid", "auction": "A1", "id": "ok", "participant": "P", "price": 10, "quantity": 10},
        {"op": "bid", "auction": "A1", "id": "ok", "participant": "Q", "price": 10, "quantity": 10},
        CLEAR,
        CLEAR,  # 12: already cleared
        {
            "op": "bid",
            "auction": "A1",
            "id": "late",
            "participant": "Q",
            "price": 10,
            "quantity": 5,
        },
    ]
    out = list(run(lines(rows)))
    errors = [e["line"] for e in out if e["event"] == "error"]
    assert errors == [1, 3, 4, 5, 6, 8, 10, 12, 13]
    assert {"event": "award", "auction": "A1", "bid": "ok", "quantity": 10, "price": 10} in out


def test_sealed_auctions_and_the_books_replay_side_by_side_on_the_cli() -> None:
    rows = [
        {"op": "instrument", "id": "X", "mode": "call", "reference_price": 500},
        auction(),
        *BIDS,
        CLEAR,
    ]
    done = subprocess.run(
        [sys.executable, "-m", "tanso.cli", "replay", "-"],
        input="\n".join(lines(rows)),
        capture_output=True,
        text=True,
        check=True,
    )
    events = [json.loads(x)["event"] for x in done.stdout.splitlines()]
    assert events == ["instrument", "award", "award", "award", "auction_result"]
