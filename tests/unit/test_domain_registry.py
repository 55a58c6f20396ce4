"""Credit blocks in the pure domain: planning moves by quantity and by range, and the partition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.registry import (
    MAX_QUANTITY,
    Block,
    BlockStatus,
    Piece,
    check_partition,
    check_quantity,
    oldest_first_key,
    take_quantity,
    take_range,
)

ISS = "JC-ER-P0001-1"


def block(start: int, end: int, *, id_: int = 1, issuance: str = ISS, vintage: int = 2022) -> Block:
    return Block(id_, issuance, start, end, "A-MAIN", BlockStatus.HELD, vintage)


def blocks_from_cuts(n: int, cuts: set[int], issuance: str = ISS) -> list[Block]:
    """Blocks partitioning 1..n, cut after each serial in ``cuts``."""
    bounds = sorted(c for c in cuts if 1 <= c < n)
    out, lo = [], 1
    for i, c in enumerate([*bounds, n]):
        out.append(block(lo, c, id_=i + 1, issuance=issuance))
        lo = c + 1
    return out


@st.composite
def partitions(draw: st.DrawFn, max_n: int = 200) -> tuple[int, list[Block]]:
    n = draw(st.integers(1, max_n))
    cuts = draw(st.sets(st.integers(1, max(1, n - 1)), max_size=12))
    return n, blocks_from_cuts(n, cuts)


# ---------------------------------------------------------------- Piece


def test_a_piece_covering_the_whole_block_leaves_nothing_behind() -> None:
    p = Piece(block(1, 10), 1, 10)
    assert p.whole
    assert p.quantity == 10
    assert p.remainders() == []


def test_a_piece_from_the_start_leaves_the_tail() -> None:
    p = Piece(block(1, 10), 1, 4)
    assert not p.whole
    assert p.remainders() == [(5, 10)]


def test_a_piece_at_the_end_leaves_the_head() -> None:
    assert Piece(block(1, 10), 7, 10).remainders() == [(1, 6)]


def test_a_piece_from_the_middle_leaves_both_sides() -> None:
    p = Piece(block(101, 200), 150, 160)
    assert p.quantity == 11
    assert p.remainders() == [(101, 149), (161, 200)]


@given(st.integers(1, 1000), st.data())
def test_a_piece_and_its_remainders_partition_the_block(size: int, data: st.DataObject) -> None:
    b = block(1, size)
    start = data.draw(st.integers(1, size))
    end = data.draw(st.integers(start, size))
    p = Piece(b, start, end)
    assert check_partition((b.start, b.end), [(p.start, p.end), *p.remainders()]) is None
    assert p.quantity + sum(hi - lo + 1 for lo, hi in p.remainders()) == b.quantity


# ---------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (0, "invalid_quantity"),
        (-5, "invalid_quantity"),
        (True, "invalid_quantity"),
        (1.0, "invalid_quantity"),
        ("10", "invalid_quantity"),
        (MAX_QUANTITY + 1, "quantity_too_large"),
    ],
)
def test_check_quantity_refuses_bad_quantities(quantity: object, code: str) -> None:
    with pytest.raises(InvalidInput) as e:
        check_quantity(quantity)  # type: ignore[arg-type]
    assert e.value.code == code


def test_check_quantity_accepts_one_and_the_maximum() -> None:
    assert check_quantity(1) == 1
    assert check_quantity(MAX_QUANTITY) == MAX_QUANTITY


def test_oldest_first_key_orders_by_vintage_then_issuance_then_serial() -> None:
    a = Block(1, "JC-ER-P0002-1", 1, 5, "A", BlockStatus.HELD, 2023)
    b = Block(2, "JC-ER-P0001-1", 50, 60, "A", BlockStatus.HELD, 2021)
    c = Block(3, "JC-ER-P0001-1", 1, 10, "A", BlockStatus.HELD, 2021)
    d = Block(4, "JC-ER-P0003-1", 1, 10, "A", BlockStatus.HELD, 2021)
    assert sorted([a, b, c, d], key=oldest_first_key) == [c, b, d, a]


# ---------------------------------------------------------------- take_quantity


def test_take_quantity_takes_whole_blocks_in_order_and_splits_the_last() -> None:
    blocks = [block(1, 10, id_=1), block(21, 30, id_=2), block(41, 50, id_=3)]
    pieces = take_quantity(blocks, 15)
    assert [(p.block.id, p.start, p.end) for p in pieces] == [(1, 1, 10), (2, 21, 25)]
    assert pieces[0].whole and not pieces[1].whole
    assert pieces[1].remainders() == [(26, 30)]


def test_take_quantity_of_exactly_what_is_held_takes_every_block_whole() -> None:
    blocks = [block(1, 10, id_=1), block(21, 30, id_=2)]
    pieces = take_quantity(blocks, 20)
    assert all(p.whole for p in pieces)
    assert len(pieces) == 2


def test_take_quantity_refuses_more_than_is_held_and_says_how_much_is() -> None:
    with pytest.raises(Conflict) as e:
        take_quantity([block(1, 10)], 11)
    assert e.value.code == "insufficient_credits"
    assert "10 eligible" in e.value.message


def test_take_quantity_from_no_blocks_is_insufficient() -> None:
    with pytest.raises(Conflict) as e:
        take_quantity([], 1)
    assert e.value.code == "insufficient_credits"


def test_take_quantity_refuses_a_zero_quantity_before_looking_at_blocks() -> None:
    with pytest.raises(InvalidInput) as e:
        take_quantity([block(1, 10)], 0)
    assert e.value.code == "invalid_quantity"


@given(partitions(), st.data())
def test_take_quantity_takes_prefixes_of_the_blocks_summing_to_the_quantity(
    nb: tuple[int, list[Block]], data: st.DataObject
) -> None:
    n, blocks = nb
    quantity = data.draw(st.integers(1, n))
    pieces = take_quantity(blocks, quantity)
    assert sum(p.quantity for p in pieces) == quantity
    # pieces follow the given order; all but the last are whole; each starts at its block's start
    assert [p.block for p in pieces] == blocks[: len(pieces)]
    assert all(p.whole for p in pieces[:-1])
    assert all(p.start == p.block.start and p.end <= p.block.end for p in pieces)


@given(partitions(), st.integers(1, 50))
def test_take_quantity_beyond_the_total_is_always_refused(
    nb: tuple[int, list[Block]], extra: int
) -> None:
    n, blocks = nb
    with pytest.raises(Conflict) as e:
        take_quantity(blocks, n + extra)
    assert e.value.code == "insufficient_credits"


# ---------------------------------------------------------------- take_range


def test_take_range_inside_one_block() -> None:
    pieces = take_range([block(1, 1000)], ISS, 101, 150)
    assert [(p.start, p.end) for p in pieces] == [(101, 150)]
    assert pieces[0].remainders() == [(1, 100), (151, 1000)]


def test_take_range_across_adjacent_blocks_takes_a_piece_of_each() -> None:
    blocks = [block(51, 100, id_=2), block(1, 50, id_=1), block(101, 200, id_=3)]
    pieces = take_range(blocks, ISS, 40, 120)
    assert [(p.block.id, p.start, p.end) for p in pieces] == [
        (1, 40, 50),
        (2, 51, 100),
        (3, 101, 120),
    ]


def test_take_range_refuses_a_range_with_a_gap() -> None:
    blocks = [block(1, 50, id_=1), block(61, 100, id_=2)]
    with pytest.raises(Conflict) as e:
        take_range(blocks, ISS, 40, 70)
    assert e.value.code == "serials_not_available"


def test_take_range_refuses_a_range_running_past_the_last_block() -> None:
    with pytest.raises(Conflict) as e:
        take_range([block(1, 100)], ISS, 90, 101)
    assert e.value.code == "serials_not_available"


def test_take_range_refuses_a_range_starting_before_the_first_block() -> None:
    with pytest.raises(Conflict) as e:
        take_range([block(10, 100)], ISS, 9, 20)
    assert e.value.code == "serials_not_available"


def test_take_range_ignores_blocks_of_other_issuances() -> None:
    other = block(1, 100, issuance="JC-ER-P0002-1")
    with pytest.raises(Conflict) as e:
        take_range([other], ISS, 1, 10)
    assert e.value.code == "serials_not_available"


def test_take_range_from_no_blocks_is_not_available() -> None:
    with pytest.raises(Conflict) as e:
        take_range([], ISS, 1, 1)
    assert e.value.code == "serials_not_available"


def test_take_range_refuses_a_reversed_range() -> None:
    with pytest.raises((InvalidInput, Conflict)):
        take_range([block(1, 10)], ISS, 5, 3)


@given(partitions(), st.data())
def test_take_range_succeeds_exactly_when_every_serial_is_in_a_candidate_block(
    nb: tuple[int, list[Block]], data: st.DataObject
) -> None:
    n, blocks = nb
    candidates = data.draw(st.lists(st.sampled_from(blocks), unique=True)) if blocks else []
    start = data.draw(st.integers(1, n))
    end = data.draw(st.integers(start, n))
    covered = {s for b in candidates for s in range(b.start, b.end + 1)}
    wanted = set(range(start, end + 1))
    if wanted <= covered:
        pieces = take_range(candidates, ISS, start, end)
        assert pieces[0].start == start
        assert check_partition((start, end), [(p.start, p.end) for p in pieces]) is None
        assert all(p.block.start <= p.start <= p.end <= p.block.end for p in pieces)
    else:
        with pytest.raises(Conflict) as e:
            take_range(candidates, ISS, start, end)
        assert e.value.code == "serials_not_available"


# ---------------------------------------------------------------- check_partition


def test_check_partition_accepts_an_exact_partition_in_any_order() -> None:
    assert check_partition((1, 100), [(51, 100), (1, 10), (11, 50)]) is None


def test_check_partition_accepts_a_single_range() -> None:
    assert check_partition((1, 1), [(1, 1)]) is None


def test_check_partition_reports_a_gap() -> None:
    assert check_partition((1, 100), [(1, 10), (21, 100)]) == "gap at serials 11-20"


def test_check_partition_reports_a_missing_tail() -> None:
    assert check_partition((1, 100), [(1, 90)]) == "gap at serials 91-100"


def test_check_partition_reports_a_missing_head() -> None:
    assert check_partition((1, 100), [(5, 100)]) == "gap at serials 1-4"


def test_check_partition_reports_an_overlap() -> None:
    assert check_partition((1, 100), [(1, 60), (50, 100)]) == "overlap at serial 50"


def test_check_partition_reports_a_reversed_range() -> None:
    assert check_partition((1, 100), [(1, 10), (11, 5), (11, 100)]) == "reversed range 11-5"


def test_check_partition_refuses_nothing_at_all() -> None:
    assert check_partition((1, 10), []) == "gap at serials 1-10"


def test_check_partition_refuses_ranges_beyond_the_issued_range() -> None:
    assert check_partition((1, 10), [(1, 10), (11, 20)]) is not None


@given(partitions())
def test_check_partition_accepts_every_partition(nb: tuple[int, list[Block]]) -> None:
    n, blocks = nb
    ranges = [(b.start, b.end) for b in blocks]
    assert check_partition((1, n), ranges) is None
    assert check_partition((1, n), list(reversed(ranges))) is None


@given(partitions(), st.data())
def test_check_partition_catches_a_dropped_or_duplicated_range(
    nb: tuple[int, list[Block]], data: st.DataObject
) -> None:
    n, blocks = nb
    ranges = [(b.start, b.end) for b in blocks]
    i = data.draw(st.integers(0, len(ranges) - 1))
    dropped = ranges[:i] + ranges[i + 1 :]
    duplicated = [*ranges, ranges[i]]
    assert check_partition((1, n), dropped) is not None
    assert check_partition((1, n), duplicated) is not None


@given(partitions(), st.data())
def test_check_partition_catches_a_range_stretched_by_one(
    nb: tuple[int, list[Block]], data: st.DataObject
) -> None:
    n, blocks = nb
    ranges = [(b.start, b.end) for b in blocks]
    i = data.draw(st.integers(0, len(ranges) - 1))
    lo, hi = ranges[i]
    ranges[i] = (lo, hi + 1)
    assert check_partition((1, n), ranges) is not None
