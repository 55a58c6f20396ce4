"""`tanso replay`: scenarios in, events out, the same every time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tanso.replay import run

SCENARIO = [
    {"op": "instrument", "id": "X", "mode": "call", "tick": 1, "lot": 1, "reference_price": 500,
     "price_limit_pct": 90, "market_orders": True},
    {"op": "open", "instrument": "X"},
    {"op": "order", "id": "ms", "instrument": "X", "participant": "A", "side": "sell",
     "type": "market", "quantity": 1000, "tif": "day"},
    {"op": "order", "id": "mb", "instrument": "X", "participant": "B", "side": "buy",
     "type": "market", "quantity": 2000, "tif": "day"},
    {"op": "order", "id": "s1", "instrument": "X", "participant": "C", "side": "sell",
     "type": "limit", "price": 500, "quantity": 5000, "tif": "day"},
    {"op": "order", "id": "s2", "instrument": "X", "participant": "D", "side": "sell",
     "type": "limit", "price": 499, "quantity": 2000, "tif": "day"},
    {"op": "order", "id": "b1", "instrument": "X", "participant": "E", "side": "buy",
     "type": "limit", "price": 499, "quantity": 1000, "tif": "day"},
    {"op": "order", "id": "b2", "instrument": "X", "participant": "F", "side": "buy",
     "type": "limit", "price": 498, "quantity": 5000, "tif": "gtc"},
    {"op": "amend", "id": "b2", "quantity": 4000},
    {"op": "auction", "instrument": "X"},
    {"op": "cancel", "id": "s1"},
    {"op": "close", "instrument": "X"},
]  # fmt: skip


def lines(rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in rows]


def test_replay_of_the_worked_example_clears_at_499() -> None:
    events = list(run(lines(SCENARIO)))
    auction = next(e for e in events if e["event"] == "auction")
    assert (auction["price"], auction["volume"]) == (499, 3000)
    for e in events:
        if e["event"] == "trade":
            assert {"instrument", "price", "quantity", "buy", "sell"} <= e.keys()
    assert {
        "event": "amended",
        "id": "b2",
        "price": 498,
        "quantity": 4000,
        "kept_priority": True,
    } in (events)
    assert {"event": "cancelled", "id": "s1", "quantity": 5000, "reason": "cancelled"} in events


def test_a_scenario_may_spell_quantities_the_old_way() -> None:
    """`qty`, the old spelling of older scenario files, and `quantity` give one replay."""
    renamed = [{("qty" if k == "quantity" else k): v for k, v in row.items()} for row in SCENARIO]
    assert renamed != SCENARIO
    assert list(run(lines(renamed))) == list(run(lines(SCENARIO)))


def test_same_scenario_replayed_twice_gives_identical_output() -> None:
    assert list(run(lines(SCENARIO))) == list(run(lines(SCENARIO)))


def test_malformed_lines_give_error_events_and_the_run_goes_on() -> None:
    bad = ["not json", "[1]", '{"op": "fly"}', '{"op": "order", "id": "x"}',
           '{"op": "order", "id": "q", "instrument": "X", "participant": "A", "side": "buy",'
           ' "price": 500, "quantity": true}', "", lines(SCENARIO)[0]]  # fmt: skip
    events = list(run(bad))
    assert [e["event"] for e in events] == ["error"] * 5 + ["instrument"]
    assert [e["line"] for e in events[:5]] == [1, 2, 3, 4, 5]


def test_balances_refuse_orders_beyond_cash_and_credits() -> None:
    rows = [*SCENARIO[:2],
        {"op": "balance", "participant": "A", "cash": 10_000, "credits": {"X": 5}},
        {"op": "order", "id": "b1", "instrument": "X", "participant": "A", "side": "buy",
         "price": 500, "quantity": 20},
        {"op": "order", "id": "b2", "instrument": "X", "participant": "A", "side": "buy",
         "price": 500, "quantity": 1},
        {"op": "order", "id": "s1", "instrument": "X", "participant": "A", "side": "sell",
         "price": 600, "quantity": 5},
        {"op": "order", "id": "s2", "instrument": "X", "participant": "A", "side": "sell",
         "price": 600, "quantity": 1},
        {"op": "cancel", "id": "b1"},
        {"op": "order", "id": "b3", "instrument": "X", "participant": "A", "side": "buy",
         "price": 500, "quantity": 20},
    ]  # fmt: skip
    out = [(e["event"], e.get("id"), e.get("reason")) for e in run(lines(rows))][2:]
    assert out == [
        ("accepted", "b1", None),
        ("rejected", "b2", "insufficient_cash"),
        ("accepted", "s1", None),
        ("rejected", "s2", "insufficient_credits"),
        ("cancelled", "b1", "cancelled"),
        ("accepted", "b3", None),
    ]


def test_market_buy_reserves_cash_at_the_upper_price_limit() -> None:
    rows = [*SCENARIO[:2],
        {"op": "balance", "participant": "A", "cash": 949},
        {"op": "order", "id": "m", "instrument": "X", "participant": "A", "side": "buy",
         "type": "market", "quantity": 1},
    ]  # fmt: skip
    assert list(run(lines(rows)))[-1]["reason"] == "insufficient_cash"


def test_cli_replay_prints_only_json_lines(tmp_path: Path) -> None:
    scenario = tmp_path / "s.jsonl"
    scenario.write_text("\n".join(lines(SCENARIO)) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tanso.cli", "replay", str(scenario)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout.splitlines()
    assert out and all(json.loads(line) for line in out)
    assert [json.loads(line) for line in out] == list(run(lines(SCENARIO)))
    compact = (",", ":")
    assert all(line == json.dumps(json.loads(line), separators=compact) for line in out)


@pytest.mark.full  # the command line's form; the replays above run in both tiers
def test_cli_replay_reads_standard_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tanso.cli", "replay", "-"],
        input="\n".join(lines(SCENARIO[:2])),
        capture_output=True,
        text=True,
        check=True,
    )
    assert [json.loads(x)["event"] for x in done.stdout.splitlines()] == ["instrument", "session"]
