"""A pool's Merkle tree (domain/points.py): every member's proof verifies for its exact share,
and fails for any altered share, salt, member, sibling or root; leaves of one member in two
pools cannot be linked without the salts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tanso.domain import points

members = st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=40, unique=True)


def _pool(
    ids: list[bytes], grams: list[int], secret: str
) -> tuple[list[str], list[str], list[list[str]]]:
    ms = sorted(points.member_hash(b"k", i.hex()) for i in ids)
    salts = [points.leaf_salt(secret, m) for m in ms]
    leaves = [points.leaf(s, m, g) for s, m, g in zip(salts, ms, grams, strict=False)]
    return ms, salts, points.merkle_levels(leaves)


@given(ids=members, data=st.data())
def test_each_share_verifies_and_any_change_fails(ids: list[bytes], data: st.DataObject) -> None:
    grams = data.draw(st.lists(st.integers(1, 10**9), min_size=len(ids), max_size=len(ids)))
    secret = "ab" * 32
    ms, salts, levels = _pool(ids, grams, secret)
    root = levels[-1][0]
    i = data.draw(st.integers(0, len(ms) - 1))
    path = points.proof(levels, i)
    assert points.verify(root, salts[i], ms[i], grams[i], path)
    assert not points.verify(root, salts[i], ms[i], grams[i] + 1, path)
    assert not points.verify(root, salts[i], ms[i], grams[i] - 1, path)
    assert not points.verify(root, "0" * 64, ms[i], grams[i], path)
    assert not points.verify("f" * 64, salts[i], ms[i], grams[i], path)
    other = points.member_hash(b"k", "someone else")
    assert not points.verify(root, salts[i], other, grams[i], path)
    if path:
        j = data.draw(st.integers(0, len(path) - 1))
        flipped = "0" if path[j].hash[0] != "0" else "1"
        bad = list(path)
        bad[j] = points.Step(path[j].side, flipped + path[j].hash[1:])
        assert not points.verify(root, salts[i], ms[i], grams[i], bad)
        swapped = list(path)
        swapped[j] = points.Step("left" if path[j].side == "right" else "right", path[j].hash)
        assert not points.verify(root, salts[i], ms[i], grams[i], swapped)


def test_the_same_member_and_share_in_two_pools_gives_unlinkable_leaves() -> None:
    m = points.member_hash(b"k", "hanako")
    a = points.leaf(points.leaf_salt("11" * 32, m), m, 500_000)
    b = points.leaf(points.leaf_salt("22" * 32, m), m, 500_000)
    assert a != b


def test_tonnes_and_carry_keep_every_gram() -> None:
    assert points.tonnes_and_carry(2_350_000) == (2, 350_000)
    assert points.tonnes_and_carry(999_999) == (0, 999_999)
