"""The escrow's pure decisions: cash is conserved, nothing is held beyond what is free, and a
release gives back exactly what was held."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain import escrow as es
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.registry import Block, BlockStatus

HOLDS = ("H1", "H2", "H3", "H4")

ops = st.lists(
    st.tuples(
        st.sampled_from(("reserve", "resize", "release", "release_part")),
        st.sampled_from(HOLDS),
        st.integers(min_value=1, max_value=5_000),
    ),
    max_size=40,
)


def _apply(
    account: es.CashAccount, holds: dict[str, es.CashHold], change: es.CashChange
) -> es.CashAccount:
    """What the store does with a decision, in memory."""
    if change.amount:
        holds[change.hold] = es.CashHold(change.hold, change.account, change.amount)
    else:
        holds.pop(change.hold, None)
    return change.after(account)


@given(balance=st.integers(min_value=0, max_value=20_000), steps=ops)
def test_cash_is_conserved_and_never_held_beyond_what_is_free(
    balance: int, steps: list[tuple[str, str, int]]
) -> None:
    account = es.CashAccount("CASH-A-JPY", "JPY", balance)
    holds: dict[str, es.CashHold] = {}
    for op, hold, amount in steps:
        before = account
        existing = holds.get(hold)
        if op == "reserve":
            d = es.reserve_cash(account, hold, existing, amount)
        elif op == "resize":
            d = es.resize_cash(account, hold, existing, amount)
        elif op == "release":
            d = es.release_cash(account, hold, existing)
        else:
            d = es.release_cash(account, hold, existing, amount)
        if isinstance(d, es.Refusal):
            # why not: the hold exists (reserve), there is not that much free, nothing is held
            assert d.code in (
                "reservation_exists",
                "insufficient_cash",
                "reservation_not_found",
                "release_too_large",
            )
            if d.code == "insufficient_cash":
                assert amount - (existing.amount if existing and op == "resize" else 0) > (
                    before.free
                )
            continue
        account = _apply(account, holds, d)
        assert d.delta <= before.free
        assert d.effects() == ([[account.id, d.delta]] if d.delta else [])
        # conservation: the balance never changes; reserved is what the holds hold
        assert account.balance == balance
        assert account.reserved + account.free == balance
        assert account.reserved == sum(h.amount for h in holds.values())
        assert 0 <= account.free <= balance


@given(
    balance=st.integers(min_value=1, max_value=20_000),
    amounts=st.lists(st.integers(min_value=1, max_value=5_000), min_size=1, max_size=4),
)
def test_releasing_every_hold_gives_back_exactly_what_was_held(
    balance: int, amounts: list[int]
) -> None:
    account = es.CashAccount("CASH-A-JPY", "JPY", balance)
    holds: dict[str, es.CashHold] = {}
    effects: list[list[object]] = []
    for hold, amount in zip(HOLDS, amounts, strict=False):
        d = es.reserve_cash(account, hold, None, amount)
        if isinstance(d, es.CashChange):
            account = _apply(account, holds, d)
            effects += d.effects()
    for hold in list(holds):
        held = holds[hold].amount
        d = es.release_cash(account, hold, holds[hold])
        assert isinstance(d, es.CashChange)
        assert d.delta == -held and d.amount == 0
        account = _apply(account, holds, d)
        effects += d.effects()
    assert account.reserved == 0 and account.free == balance
    assert sum(int(str(e[1])) for e in effects) == 0


def test_a_refusal_says_why_and_becomes_the_domain_error() -> None:
    account = es.CashAccount("CASH-A-JPY", "JPY", 100, 60)
    refused = es.reserve_cash(account, "O1", None, 41)
    assert isinstance(refused, es.Refusal) and refused.code == "insufficient_cash"
    assert isinstance(refused.error(), Conflict)
    missing = es.release_cash(account, "O9", None)
    assert isinstance(missing, es.Refusal) and isinstance(missing.error(), NotFound)
    with pytest.raises(InvalidInput):
        es.reserve_cash(account, "O1", None, 0)
    nothing = es.rehold_credits(_blocks([5], "O1"), "S-MAIN", "O1", 0, None)
    assert isinstance(nothing, es.Refusal) and isinstance(nothing.error(), InvalidInput)


def _blocks(sizes: list[int], hold: str) -> list[Block]:
    out, start = [], 1
    for i, n in enumerate(sizes):
        out.append(
            Block(i, "ISS", start, start + n - 1, "S-MAIN", BlockStatus.RESERVED, 2024, hold)
        )
        start += n + 1
    return out


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=6),
    quantity=st.integers(min_value=1, max_value=400),
    to_deal=st.booleans(),
)
def test_credits_moved_from_a_hold_are_exactly_the_quantity_asked(
    sizes: list[int], quantity: int, to_deal: bool
) -> None:
    held = _blocks(sizes, "ORDER")
    d = es.rehold_credits(held, "S-MAIN", "ORDER", quantity, "DEAL" if to_deal else None)
    if quantity > sum(sizes):
        assert isinstance(d, es.Refusal) and d.code == "insufficient_credits"
        return
    assert isinstance(d, es.CreditMove)
    assert d.quantity == quantity
    for p in d.pieces:
        assert p.block in held and p.block.start <= p.start <= p.end <= p.block.end
    for mv in d.effects():
        _iss, _lo, _hi, src, src_status, dst, dst_status, hold = mv
        assert (src, src_status, dst) == ("S-MAIN", "reserved", "S-MAIN")
        assert (dst_status, hold) == (("reserved", "DEAL") if to_deal else ("held", None))


def _deal(amount: int, fee: int, cash_hold: str = "T1") -> es.Deal:
    return es.Deal(
        deal_id="T1",
        venue="exchange",
        buyer_id="B",
        seller_id="S",
        buyer_account="B-MAIN",
        seller_account="S-MAIN",
        currency="JPY",
        amount=amount,
        quantity=10,
        due_date=dt.date(2026, 1, 7),
        credit_hold="T1",
        cash_hold=cash_hold,
        buyer_fee=fee,
    )


@given(
    balance=st.integers(min_value=0, max_value=50_000),
    order_hold=st.integers(min_value=1, max_value=20_000),
    left=st.integers(min_value=0, max_value=20_000),
    amount=st.integers(min_value=1, max_value=20_000),
    fee=st.integers(min_value=0, max_value=500),
)
def test_a_deal_takes_its_cash_from_the_order_hold_and_free_cash_and_nothing_more(
    balance: int, order_hold: int, left: int, amount: int, fee: int
) -> None:
    reserved = min(order_hold, balance)
    account = es.CashAccount("CASH-B-JPY", "JPY", balance, reserved)
    source = es.CashHold("O1", account.id, reserved) if reserved else None
    d = es.to_deal(_deal(amount, fee), account, source, left, None, _blocks([10], "S1"), "S1")
    released = max(reserved - left, 0) if source else 0
    if amount + fee > account.free + released:
        assert isinstance(d, es.Refusal) and d.code == "insufficient_cash"
        return
    assert isinstance(d, es.DealEscrow)
    deltas = [c.delta for c in d.cash]
    assert sum(deltas) == amount + fee - released
    assert d.cash[-1].hold == "T1" and d.cash[-1].amount == amount + fee
    assert d.credits.quantity == 10 and d.credits.hold == "T1"


def test_a_deal_that_keeps_the_bid_hold_only_gives_back_what_it_did_not_cost() -> None:
    account = es.CashAccount("CASH-B-JPY", "JPY", 10_000, 6_000)
    bid = es.CashHold("SB1", account.id, 6_000)
    d = es.to_deal(_deal(4_500, 0, "SB1"), account, bid, 4_500, bid, _blocks([10], "SA"), "SA")
    assert isinstance(d, es.DealEscrow)
    assert d.cash_effects() == [["CASH-B-JPY", -1_500]]
