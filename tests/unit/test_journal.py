"""The journal: canonical JSON, the hash chain and its verification, and the ledger fold."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.journal import (
    GENESIS_HASH,
    PAYLOAD_VERSION,
    Entry,
    FoldError,
    LedgerFold,
    canonical_entry_hash,
    canonical_json,
    entry_hash,
    first_broken_link,
    merge_runs,
    read_payload,
    upgrade_payload,
)

# ---------------------------------------------------------------- canonical JSON

json_scalars = st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    assert canonical_json({"b": 1, "a": [1, 2, {"d": None, "c": True}]}) == (
        '{"a":[1,2,{"c":true,"d":null}],"b":1}'
    )


def test_canonical_json_keeps_japanese_text_as_utf8() -> None:
    assert canonical_json({"name": "運営者"}) == '{"name":"運営者"}'


def test_canonical_json_keeps_huge_integers_exact() -> None:
    assert canonical_json([10**30 + 1]) == "[1000000000000000000000000000001]"


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.1,
        math.nan,
        math.inf,
        {"amount": 1.5},
        [1, [2, [3.0]]],
        (1, 2.5),
        {"a": {"b": [{"c": -0.0}]}},
    ],
)
def test_canonical_json_refuses_floats_anywhere(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_canonical_json_refuses_a_float_used_as_a_key() -> None:
    with pytest.raises(TypeError):
        canonical_json({1.5: 1})


@given(json_values)
def test_canonical_json_round_trips(value: Any) -> None:
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=8), st.randoms())
def test_canonical_json_does_not_depend_on_key_order(
    value: dict[str, Any], rnd: random.Random
) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(value)


# ---------------------------------------------------------------- the hash chain

FIELDS = ("seq", "at", "kind", "actor", "payload", "prev_hash", "hash")


def chain(specs: list[tuple[str, str, str, dict[str, Any]]]) -> list[Entry]:
    """Entries as Tx.record writes them."""
    out, prev = [], GENESIS_HASH
    for i, (at, kind, actor, payload) in enumerate(specs, start=1):
        body = canonical_json(payload)
        h = entry_hash(prev, i, at, kind, actor, body)
        out.append(Entry(i, at, kind, actor, body, prev, h))
        prev = h
    return out


SAMPLE = chain(
    [
        ("2026-01-05T00:00:00.000000Z", "system.bootstrapped", "SYSTEM", {"operator": "OPERATOR"}),
        ("2026-01-05T00:00:00.000001Z", "credits.issued", "SYSTEM", {"quantity": 100}),
        ("2026-01-05T00:00:00.000002Z", "credits.transferred", "BRK for CLI", {"quantity": 5}),
    ]
)


def test_entry_hash_is_sha256_hex_and_deterministic() -> None:
    h = entry_hash(GENESIS_HASH, 1, "t", "k", "a", '{"x":1}')
    assert len(h) == 64 and int(h, 16) >= 0
    assert h == entry_hash(GENESIS_HASH, 1, "t", "k", "a", '{"x":1}')


@pytest.mark.parametrize("field", ["prev_hash", "seq", "at", "kind", "actor", "payload"])
def test_entry_hash_depends_on_every_field(field: str) -> None:
    base = {"prev_hash": GENESIS_HASH, "seq": 1, "at": "t", "kind": "k", "actor": "a"}
    base["payload"] = '{"x":1}'
    changed = dict(base)
    changed[field] = {
        "prev_hash": "f" * 64,
        "seq": 2,
        "at": "u",
        "kind": "l",
        "actor": "b",
        "payload": '{"x":2}',
    }[field]
    assert entry_hash(**base) != entry_hash(**changed)  # type: ignore[arg-type]


def test_entry_hash_refuses_a_payload_with_a_float() -> None:
    with pytest.raises(TypeError):
        entry_hash(GENESIS_HASH, 1, "t", "k", "a", '{"amount":1.0}')


def test_an_intact_chain_verifies() -> None:
    assert first_broken_link(SAMPLE) is None


def test_an_empty_journal_verifies() -> None:
    assert first_broken_link([]) is None


def test_a_chain_not_starting_at_genesis_is_broken_at_its_first_entry() -> None:
    first = SAMPLE[0]
    moved = dataclasses.replace(first, prev_hash="1" * 64)
    moved = dataclasses.replace(moved, hash=entry_hash(moved.prev_hash, 1, *_content(moved)))
    assert first_broken_link([moved]) == (
        1,
        "prev_hash does not match the hash of the entry before it",
    )


def test_a_deleted_entry_is_named_as_missing() -> None:
    broken = first_broken_link([SAMPLE[0], SAMPLE[2]])
    assert broken is not None
    assert broken[0] == 2 and "entry 2 is missing" in broken[1]


def test_a_rehashed_altered_entry_still_breaks_the_next_link() -> None:
    # a forger who recomputes entry 2's hash is caught at entry 3
    e2 = dataclasses.replace(SAMPLE[1], payload='{"quantity":1000}')
    e2 = dataclasses.replace(e2, hash=entry_hash(e2.prev_hash, 2, *_content(e2)))
    assert first_broken_link([SAMPLE[0], e2, SAMPLE[2]]) == (
        3,
        "prev_hash does not match the hash of the entry before it",
    )


def test_a_payload_that_is_not_json_is_reported_as_such() -> None:
    bad = [SAMPLE[0], dataclasses.replace(SAMPLE[1], payload="{not json"), SAMPLE[2]]
    assert first_broken_link(bad) == (2, "payload is not valid canonical JSON")


def _content(e: Entry) -> tuple[str, str, str, str]:
    return e.at, e.kind, e.actor, e.payload


def _altered(e: Entry, field: str, salt: int) -> Entry:
    """The entry with one field changed to a different value (payload: a different meaning)."""
    value = getattr(e, field)
    if field == "seq":
        new: Any = value + 1 + salt
    elif field == "payload":
        doc = json.loads(value)
        doc["tampered"] = salt
        new = canonical_json(doc)
    elif field in ("hash", "prev_hash"):
        new = format((int(value, 16) + 1 + salt) % 16**64, "064x")
    else:
        new = f"{value}{salt}" if salt % 2 else f"x{value}"
    assert new != value
    return dataclasses.replace(e, **{field: new})


specs = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=10),
        st.sampled_from(["credits.issued", "credits.transferred", "cash.deposited"]),
        st.text(min_size=1, max_size=10),
        st.dictionaries(st.text(max_size=5), json_scalars, max_size=4),
    ),
    min_size=1,
    max_size=12,
)


@given(specs, st.data())
def test_altering_any_field_but_seq_of_any_entry_is_caught_at_that_entry(
    s: list[tuple[str, str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    entries = chain(s)
    k = data.draw(st.integers(0, len(entries) - 1))
    field = data.draw(st.sampled_from([f for f in FIELDS if f != "seq"]))
    entries[k] = _altered(entries[k], field, data.draw(st.integers(0, 5)))
    broken = first_broken_link(entries)
    assert broken is not None
    assert broken[0] == k + 1


@given(specs, st.data())
def test_altering_the_seq_of_any_entry_is_caught_where_that_seq_was_expected(
    s: list[tuple[str, str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    entries = chain(s)
    k = data.draw(st.integers(0, len(entries) - 1))
    entries[k] = _altered(entries[k], "seq", data.draw(st.integers(0, 5)))
    broken = first_broken_link(entries)
    assert broken is not None
    assert broken[0] == k + 1
    assert f"where {k + 1} was expected" in broken[1] or f"entry {k + 1} is missing" in broken[1]


def test_an_altered_seq_is_reported_at_the_position_of_the_altered_entry() -> None:
    entries = [SAMPLE[0], dataclasses.replace(SAMPLE[1], seq=99), SAMPLE[2]]
    broken = first_broken_link(entries)
    assert broken is not None
    assert broken[0] == 2


# ---------------------------------------------------------------- the fold

ISS = "JC-ER-P0001-1"


def issued(n: int = 100, account: str = "A") -> LedgerFold:
    f = LedgerFold()
    f.apply({"issue": [[ISS, 1, n, account, "held"]]})
    return f


def mv(start: int, end: int, src: str, src_status: str, dst: str, dst_status: str) -> dict:
    return {"moves": [[ISS, start, end, src, src_status, dst, dst_status, None]]}


def test_an_issue_appears_as_one_holding() -> None:
    assert list(issued().holdings()) == [(ISS, 1, 100, ("A", "held", None))]


def test_a_move_from_the_middle_splits_the_range_in_three() -> None:
    f = issued()
    f.apply(mv(40, 59, "A", "held", "B", "held"))
    assert list(f.holdings()) == [
        (ISS, 1, 39, ("A", "held", None)),
        (ISS, 40, 59, ("B", "held", None)),
        (ISS, 60, 100, ("A", "held", None)),
    ]


def test_moving_credits_back_merges_the_holding_again() -> None:
    f = issued()
    f.apply(mv(40, 59, "A", "held", "B", "held"))
    f.apply(mv(40, 59, "B", "held", "A", "held"))
    assert list(f.holdings()) == [(ISS, 1, 100, ("A", "held", None))]


def test_a_reservation_is_part_of_the_owner() -> None:
    f = issued()
    f.apply({"moves": [[ISS, 1, 10, "A", "held", "A", "reserved", "ORD-1"]]})
    assert list(f.holdings()) == [
        (ISS, 1, 10, ("A", "reserved", "ORD-1")),
        (ISS, 11, 100, ("A", "held", None)),
    ]


@pytest.mark.parametrize(
    ("move", "why"),
    [
        (
            mv(1, 10, "B", "held", "C", "held"),
            "from B/held but the journal puts serial 1 at A/held",
        ),
        (mv(1, 10, "A", "reserved", "C", "held"), "from A/reserved"),
        (mv(95, 105, "A", "held", "C", "held"), "ISS-95-105"),
        (mv(101, 110, "A", "held", "C", "held"), "ISS-101-110"),
        ({"moves": [["JC-ER-P0009-1", 1, 1, "A", "held", "C", "held", None]]}, "never issued"),
    ],
    ids=["wrong-account", "wrong-status", "past-the-end", "never-issued-serials", "no-issuance"],
)
def test_the_fold_refuses_an_impossible_move(move: dict, why: str) -> None:
    f = issued()
    with pytest.raises(FoldError) as e:
        f.apply(move)
    assert why.replace("ISS", ISS) in str(e.value)


def test_the_fold_refuses_moving_serials_below_the_first_range() -> None:
    f = LedgerFold()
    f.apply({"issue": [[ISS, 10, 20, "A", "held"]]})
    with pytest.raises(FoldError, match="never issued"):
        f.apply(mv(5, 12, "A", "held", "B", "held"))


def test_retired_credits_cannot_be_moved_as_if_held() -> None:
    f = issued()
    f.apply(mv(1, 10, "A", "held", "SYS-RETIREMENT", "retired"))
    with pytest.raises(FoldError):
        f.apply(mv(1, 10, "A", "held", "B", "held"))


@pytest.mark.parametrize(
    "second", [(1, 100), (50, 150), (100, 100), (0, 1)], ids=["same", "overlap", "edge", "before"]
)
def test_the_fold_refuses_issuing_serials_twice(second: tuple[int, int]) -> None:
    f = issued()
    with pytest.raises(FoldError, match="issued twice"):
        f.apply({"issue": [[ISS, *second, "B", "held"]]})


def test_issuing_adjacent_serials_is_allowed() -> None:
    f = issued()
    f.apply({"issue": [[ISS, 101, 200, "B", "held"]]})
    assert [h[1:3] for h in f.holdings()] == [(1, 100), (101, 200)]


def test_the_fold_refuses_a_reversed_move() -> None:
    f = issued(10)
    with pytest.raises(FoldError):
        f.apply(mv(5, 3, "A", "held", "B", "held"))


def test_the_fold_refuses_a_reversed_issue() -> None:
    with pytest.raises(FoldError):
        LedgerFold().apply({"issue": [[ISS, 10, 5, "A", "held"]]})


def test_the_fold_accepts_a_move_across_adjacent_ranges_of_one_owner() -> None:
    f = issued(10)
    f.apply(mv(1, 5, "A", "held", "B", "held"))
    f.apply(mv(1, 5, "B", "held", "A", "held"))
    f.apply(mv(1, 10, "A", "held", "C", "held"))
    assert list(f.holdings()) == [(ISS, 1, 10, ("C", "held", None))]


def test_cash_moves_are_double_entry() -> None:
    f = LedgerFold()
    f.apply({"cash": [["JPY", "SYS-BANK-JPY", "CASH-A-JPY", 1000]]})
    f.apply({"cash": [["JPY", "CASH-A-JPY", "CASH-B-JPY", 300]]})
    f.apply({"cash_reserve": [["CASH-B-JPY", 200], ["CASH-B-JPY", -50]]})
    assert dict(f.cash) == {"SYS-BANK-JPY": -1000, "CASH-A-JPY": 700, "CASH-B-JPY": 300}
    assert dict(f.cash_reserved) == {"CASH-B-JPY": 150}


def test_an_entry_with_no_effects_changes_nothing() -> None:
    f = issued()
    f.apply({"participant": "A", "roles": ["trader"]})
    assert list(f.holdings()) == [(ISS, 1, 100, ("A", "held", None))]
    assert not f.cash


def test_merge_runs_merges_only_adjacent_ranges_of_one_issuance_and_owner() -> None:
    o, p = ("A", "held", None), ("B", "held", None)
    rows = [
        ("I1", 1, 5, o),
        ("I1", 6, 9, o),
        ("I1", 11, 12, o),  # a gap: not merged
        ("I1", 13, 14, p),  # another owner
        ("I2", 15, 20, p),  # another issuance
    ]
    assert list(merge_runs(rows)) == [
        ("I1", 1, 9, o),
        ("I1", 11, 12, o),
        ("I1", 13, 14, p),
        ("I2", 15, 20, p),
    ]


OWNERS = [("A", "held"), ("B", "held"), ("A", "reserved"), ("SYS-RETIREMENT", "retired")]


@given(st.integers(1, 60), st.lists(st.tuples(st.integers(), st.integers(), st.integers(0, 3))))
def test_folding_block_moves_matches_a_serial_by_serial_model(
    n: int, steps: list[tuple[int, int, int]]
) -> None:
    """Moves planned like the services do (a sub-range of one block) fold to the same owners."""
    f = issued(n)
    blocks: list[tuple[int, int, tuple[str, str]]] = [(1, n, ("A", "held"))]
    model = {s: ("A", "held") for s in range(1, n + 1)}
    for a, b, dst in steps:
        lo, hi, owner = blocks[a % len(blocks)]
        start = lo + (b % (hi - lo + 1))
        end = start + (a // 7 % (hi - start + 1))
        new = OWNERS[dst]
        f.apply(mv(start, end, *owner, *new))
        blocks.remove((lo, hi, owner))
        blocks += [
            (x, y, o)
            for x, y, o in ((lo, start - 1, owner), (start, end, new), (end + 1, hi, owner))
            if x <= y
        ]
        for s in range(start, end + 1):
            model[s] = new
    got = {s: o[:2] for _, lo, hi, o in f.holdings() for s in range(lo, hi + 1)}
    assert got == model


@given(st.integers(2, 40), st.data())
def test_the_fold_refuses_any_move_of_serials_the_source_does_not_hold(
    n: int, data: st.DataObject
) -> None:
    f = issued(n)
    cut = data.draw(st.integers(1, n - 1))
    f.apply(mv(cut + 1, n, "A", "held", "B", "held"))  # A holds 1..cut, B holds cut+1..n
    start = data.draw(st.integers(1, n))
    end = data.draw(st.integers(max(start, cut + 1), n + 3))  # reaches beyond what A holds
    before = list(f.holdings())
    with pytest.raises(FoldError):
        f.apply(mv(start, end, "A", "held", "C", "held"))
    assert list(f.holdings()) == before


V1_EXCHANGE = {
    "command": {"command": "PlaceOrder", "id": "O7", "qty": 500, "price": 2000},
    "events": [
        {"event": "trade", "price": 2000, "qty": 300, "buy": "O7", "sell": "O3"},
        {"event": "amended", "id": "O3", "new_qty": 200, "kept_priority": True},
    ],
    "listing": {"min_qty": 100, "quantity": 1000},
    "cash_reserve": [["CASH-A-JPY", 1_000_000]],
}


def test_a_v1_payload_is_read_with_the_current_names() -> None:
    up = upgrade_payload(V1_EXCHANGE)
    assert up["v"] == PAYLOAD_VERSION == 2
    assert up["command"] == {"command": "PlaceOrder", "id": "O7", "quantity": 500, "price": 2000}
    assert up["events"][0]["quantity"] == 300 and "qty" not in up["events"][0]
    assert up["events"][1]["new_quantity"] == 200
    assert up["listing"] == {"min_quantity": 100, "quantity": 1000}
    assert up["cash_reserve"] == V1_EXCHANGE["cash_reserve"]
    assert "v" not in V1_EXCHANGE and V1_EXCHANGE["command"]["qty"] == 500  # not changed


def test_a_current_payload_is_read_as_it_is_and_an_unknown_version_is_refused() -> None:
    current = upgrade_payload(V1_EXCHANGE)
    assert upgrade_payload(current) is current
    assert read_payload(canonical_json(V1_EXCHANGE)) == current
    for version in (3, 0, "2"):
        with pytest.raises(ValueError, match="version"):
            upgrade_payload({"v": version})
    with pytest.raises(ValueError):
        read_payload("[1, 2]")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    seq=st.integers(1, 10**12),
    at=st.text(max_size=30),
    kind=st.text(max_size=30),
    actor=st.text(max_size=30),
    payload=st.dictionaries(st.text(max_size=10), _json, max_size=6),
)
def test_the_writers_hash_of_a_canonical_payload_is_the_verifiers(
    seq: int, at: str, kind: str, actor: str, payload: dict[str, object]
) -> None:
    text = canonical_json(payload)
    assert canonical_entry_hash("p" * 64, seq, at, kind, actor, text) == entry_hash(
        "p" * 64, seq, at, kind, actor, text
    )
