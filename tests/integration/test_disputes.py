"""Disputes (issue 17, 紛争処理): the state machine and its refusals, the evidence and who may
read it, the deadlines and reminders, the public summary, and the remedies: each moves cash or
credits as it says, conserves both, and leaves `tanso audit verify` passing (both databases)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TansoError
from tanso.domain.fees import FeeSchedule
from tanso.services import disputes
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.disputes import NewDispute, RemedyOrder
from tanso.services.ledger import audit
from tanso.services.operations import backup
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.sessions import Scheduler
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

PRICE = 2_000


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    x = Exchange(db, japan_calendar())
    seller = add_participant(db, "SELLER")
    buyer = add_participant(db, "BUYER")
    third = add_participant(db, "THIRD")
    add_issuance(db, "SELLER-MAIN", 1_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 10_000_000)
    fund(db, "SELLER", 1_000_000)
    settlement.set_fees(db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=5))
    open_market(x, energy_saving("continuous"))
    return {"x": x, "db": db, "seller": seller, "buyer": buyer, "third": third}


def _trade(m: dict[str, Any], quantity: int = 10) -> Any:
    x: Exchange = m["x"]
    x.place(m["seller"], NewOrder("JC-ES", "sell", quantity, PRICE))
    return x.place(m["buyer"], NewOrder("JC-ES", "buy", quantity, PRICE)).trades[0]


def _settled_trade(m: dict[str, Any], quantity: int = 10) -> Any:
    trade = _trade(m, quantity)
    due = _one(m["db"], t.trades, id=trade.id).settlement_date
    out = settlement.run(m["db"], SYSTEM, dt.date.fromisoformat(due), early=True)
    assert out.settled >= 1
    return trade


def _one(db: Database, table: Any, **where: Any) -> Any:
    with db.read() as conn:
        q = select(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return conn.execute(q).one()


def _balance(db: Database, account: str) -> int:
    return int(_one(db, t.cash_accounts, id=account).balance)


def _credits(db: Database, account: str, status: str = "held") -> int:
    with db.read() as conn:
        rows = conn.execute(
            select(t.blocks).where(t.blocks.c.account_id == account, t.blocks.c.status == status)
        ).all()
    return sum(r.serial_end - r.serial_start + 1 for r in rows)


def _serials(db: Database, account: str) -> str:
    """The first held block of an account, as a serial range."""
    with db.read() as conn:
        b = conn.execute(
            select(t.blocks)
            .where(t.blocks.c.account_id == account, t.blocks.c.status == "held")
            .order_by(t.blocks.c.serial_start)
        ).first()
    assert b is not None
    return f"{b.issuance_id}-{b.serial_start}-{b.serial_end}"


def _totals(db: Database) -> tuple[int, int, int]:
    """All cash (sums to 0 with the bank), all credits, and the participants' cash."""
    with db.read() as conn:
        cash = conn.execute(select(func.sum(t.cash_accounts.c.balance))).scalar_one()
        kinds = t.cash_accounts.c.kind
        own = conn.execute(
            select(func.sum(t.cash_accounts.c.balance)).where(kinds != "external")
        ).scalar_one()
        blocks = conn.execute(
            select(func.sum(t.blocks.c.serial_end - t.blocks.c.serial_start + 1))
        ).scalar_one()
    return int(cash), int(blocks), int(own)


def _under_review(m: dict[str, Any], trade_id: str, kind: str = "trade") -> str:
    db = m["db"]
    d = disputes.open_dispute(db, m["buyer"], NewDispute(kind, trade_id, "Wrong price"))
    disputes.review(db, SYSTEM, d.id)
    return d.id


# ---------------------------------------------------------------- the state machine


def test_a_dispute_goes_from_open_to_closed_and_each_party_sees_its_side(
    market: dict[str, Any],
) -> None:
    db: Database = market["db"]
    trade = _trade(market)
    d = disputes.open_dispute(
        db, market["buyer"], NewDispute("trade", trade.id, "Price 10x the market", 5_000)
    )
    assert (d.state, d.role, d.opener_id, d.counterparty_id) == ("open", "opener", "BUYER", None)
    assert d.respond_by > d.opened_at
    seen = disputes.get(db, market["seller"], d.id)
    assert (seen.role, seen.opener_id, seen.counterparty_id) == ("counterparty", None, "SELLER")
    answered = disputes.respond(db, market["seller"], d.id, "The price was as entered.")
    assert answered.state == "responded" and answered.responded_at
    reviewed = disputes.review(db, SYSTEM, d.id, "taking it")
    assert reviewed.state == "under_review" and reviewed.decide_by
    decided = disputes.decide(db, SYSTEM, d.id, "rejected", "The order was valid.")
    assert (decided.state, decided.outcome, decided.remedies) == ("decided", "rejected", [])
    closed = disputes.close(db, SYSTEM, d.id)
    assert closed.state == "closed"
    history = [e.kind for e in disputes.get(db, market["buyer"], d.id).events or []]
    assert history == ["opened", "responded", "under_review", "decided", "closed"]
    by = {e.kind: e.by for e in disputes.get(db, market["buyer"], d.id).events or []}
    assert by["responded"] == "counterparty" and by["opened"] == "opener"
    assert {e.by for e in disputes.get(db, SYSTEM, d.id).events or []} >= {"BUYER", "SELLER"}
    assert audit.verify(db).ok


def test_the_state_machine_refuses_steps_out_of_turn(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    buyer, seller = market["buyer"], market["seller"]
    trade = _trade(market)
    d = disputes.open_dispute(db, buyer, NewDispute("trade", trade.id, "x"))
    cases: list[tuple[Any, type[TansoError], str]] = [
        (lambda: disputes.respond(db, buyer, d.id, "me"), Forbidden, "counterparty_only"),
        (lambda: disputes.withdraw(db, seller, d.id), Forbidden, "opener_only"),
        (
            lambda: disputes.decide(db, SYSTEM, d.id, "rejected", "no"),
            Conflict,
            "dispute_not_under_review",
        ),
        (lambda: disputes.close(db, SYSTEM, d.id), Conflict, "dispute_not_decided"),
        (lambda: disputes.review(db, buyer, d.id), Forbidden, "operator_only"),
        (
            lambda: disputes.open_dispute(db, buyer, NewDispute("trade", trade.id, "again")),
            Conflict,
            "dispute_exists",
        ),
        (
            lambda: disputes.open_dispute(db, SYSTEM, NewDispute("trade", trade.id, "op")),
            Forbidden,
            "operator_only_decides",
        ),
        (
            lambda: disputes.open_dispute(db, buyer, NewDispute("award", trade.id, "not one")),
            NotFound,
            "subject_not_found",
        ),
        (
            lambda: disputes.open_dispute(db, buyer, NewDispute("delivery", trade.id, "early")),
            Conflict,
            "not_delivered",
        ),
        (
            lambda: disputes.open_dispute(db, buyer, NewDispute("gossip", trade.id, "x")),
            InvalidInput,
            "invalid_kind",
        ),
    ]
    for call, kind, code in cases:
        with pytest.raises(kind) as err:
            call()
        assert err.value.code == code
    disputes.respond(db, seller, d.id, "no")
    with pytest.raises(Conflict) as twice:
        disputes.respond(db, seller, d.id, "again")
    assert twice.value.code == "dispute_not_open"
    disputes.review(db, SYSTEM, d.id)
    with pytest.raises(InvalidInput) as rejected:
        disputes.decide(db, SYSTEM, d.id, "rejected", "no", [RemedyOrder("freeze", serials="x")])
    assert rejected.value.code == "remedies_without_ruling"
    disputes.decide(db, SYSTEM, d.id, "rejected", "no")
    with pytest.raises(Conflict):
        disputes.withdraw(db, buyer, d.id)
    with pytest.raises(Conflict):
        disputes.attach_evidence(db, buyer, d.id, "late.txt", "text/plain", b"late")


def test_a_withdrawn_dispute_ends_and_a_new_one_may_be_opened(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    trade = _trade(market)
    d = disputes.open_dispute(db, market["buyer"], NewDispute("trade", trade.id, "x"))
    out = disputes.withdraw(db, market["buyer"], d.id, "settled between us")
    assert out.state == "withdrawn" and out.withdrawn_at
    with pytest.raises(Conflict):
        disputes.review(db, SYSTEM, d.id)
    again = disputes.open_dispute(db, market["buyer"], NewDispute("trade", trade.id, "y"))
    assert again.id != d.id


def test_a_third_participant_sees_nothing_of_a_dispute(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    third: Actor = market["third"]
    trade = _trade(market)
    d = disputes.open_dispute(db, market["buyer"], NewDispute("trade", trade.id, "x"))
    e = disputes.attach_evidence(db, market["buyer"], d.id, "a.txt", "text/plain", b"evidence")
    assert disputes.list_disputes(db, third) == []
    for call in (
        lambda: disputes.get(db, third, d.id),
        lambda: disputes.respond(db, third, d.id, "me too"),
        lambda: disputes.withdraw(db, third, d.id),
        lambda: disputes.attach_evidence(db, third, d.id, "b.txt", "text/plain", b"b"),
        lambda: disputes.get_evidence(db, third, d.id, e.id),
        lambda: disputes.open_dispute(db, third, NewDispute("trade", trade.id, "not mine")),
    ):
        with pytest.raises(NotFound):
            call()
    assert [x.id for x in disputes.list_disputes(db, market["seller"])] == [d.id]
    assert [x.id for x in disputes.list_disputes(db, SYSTEM)] == [d.id]


# ---------------------------------------------------------------- evidence


def test_evidence_is_kept_with_its_hash_and_served_only_to_its_uploader_and_the_operator(
    market: dict[str, Any],
) -> None:
    db: Database = market["db"]
    buyer, seller = market["buyer"], market["seller"]
    trade = _trade(market)
    d = disputes.open_dispute(db, buyer, NewDispute("trade", trade.id, "x"))
    pdf = b"%PDF-1.4\x00\x01binary"
    e = disputes.attach_evidence(db, buyer, d.id, "contract.pdf", "application/pdf", pdf)
    assert (e.size, e.sha256) == (len(pdf), hashlib.sha256(pdf).hexdigest())
    assert disputes.get_evidence(db, buyer, d.id, e.id).content == pdf
    assert disputes.get_evidence(db, SYSTEM, d.id, e.id).content == pdf
    with pytest.raises(NotFound):
        disputes.get_evidence(db, seller, d.id, e.id)
    # the counterparty knows a file was attached, never its name or bytes
    (listed,) = disputes.get(db, seller, d.id).evidence or []
    assert (listed.uploaded_by, listed.file_name, listed.sha256) == ("opener", None, e.sha256)
    (own,) = disputes.get(db, buyer, d.id).evidence or []
    assert own.file_name == "contract.pdf"


def test_a_backup_keeps_the_evidence(market: dict[str, Any], tmp_path: Path) -> None:
    """`tanso backup` refuses binary columns: the bytes are kept as base64 text."""
    db: Database = market["db"]
    trade = _trade(market)
    d = disputes.open_dispute(db, market["buyer"], NewDispute("trade", trade.id, "x"))
    disputes.attach_evidence(db, market["buyer"], d.id, "a.png", "image/png", b"\x89PNG\x00")
    manifest = backup.backup(db, tmp_path / "tanso.tar")
    assert manifest.tables["dispute_evidence"] == 1


def test_evidence_limits_are_the_rulebook_s(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    buyer = market["buyer"]
    trade = _trade(market)
    d = disputes.open_dispute(db, buyer, NewDispute("trade", trade.id, "x"))
    rules = disputes.rules()
    too_big = b"x" * (rules.max_evidence_bytes + 1)
    for name, media, content, code in (
        ("big.txt", "text/plain", too_big, "file_too_large"),
        ("a.exe", "application/x-msdownload", b"MZ", "unsupported_media_type"),
        ("../a.txt", "text/plain", b"a", "invalid_file_name"),
        ("empty.txt", "text/plain", b"", "empty_file"),
    ):
        with pytest.raises(InvalidInput) as err:
            disputes.attach_evidence(db, buyer, d.id, name, media, content)
        assert err.value.code == code
    for i in range(rules.max_evidence_per_dispute):
        disputes.attach_evidence(db, buyer, d.id, f"{i}.txt", "text/plain", b"%d" % i)
    with pytest.raises(Conflict) as full:
        disputes.attach_evidence(db, market["seller"], d.id, "one.txt", "text/plain", b"1")
    assert full.value.code == "too_much_evidence"


# ---------------------------------------------------------------- remedies


def test_a_bust_remedy_busts_the_unsettled_trade_for_the_ruling(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    x: Exchange = market["x"]
    buyer_cash = _balance(db, "CASH-BUYER-JPY")
    trade = _trade(market)
    did = _under_review(market, trade.id)
    with pytest.raises(InvalidInput) as no_exchange:
        disputes.decide(db, SYSTEM, did, "upheld", "bust it", [RemedyOrder("bust")])
    assert no_exchange.value.code == "no_exchange"
    out = disputes.decide(db, SYSTEM, did, "upheld", "bust it", [RemedyOrder("bust")], x)
    assert out.remedies[0].kind == "bust" and out.remedies[0].trade_id == trade.id
    row = _one(db, t.trades, id=trade.id)
    assert row.busted and row.bust_reason == "dispute_ruling"
    assert _one(db, t.cash_accounts, id="CASH-BUYER-JPY").reserved == 0
    assert _balance(db, "CASH-BUYER-JPY") == buyer_cash
    assert audit.verify(db).ok


def test_cash_remedies_move_the_difference_between_the_parties(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    trade = _settled_trade(market)
    before = _totals(db)
    buyer, seller = _balance(db, "CASH-BUYER-JPY"), _balance(db, "CASH-SELLER-JPY")
    fees = _balance(db, "CASH-OPERATOR-JPY")
    did = _under_review(market, trade.id)
    out = disputes.decide(
        db,
        SYSTEM,
        did,
        "partly_upheld",
        "The seller refunds part of the price and the exchange its fee.",
        [
            RemedyOrder("price_adjustment", payer="counterparty", amount=3_000),
            RemedyOrder("compensation", payer="counterparty", amount=500),
            RemedyOrder("fee_waiver", payer="opener", amount=50),
        ],
    )
    assert [(r.kind, r.payer, r.payee, r.amount) for r in out.remedies] == [
        ("price_adjustment", "counterparty", "opener", 3_000),
        ("compensation", "counterparty", "opener", 500),
        ("fee_waiver", "exchange", "opener", 50),
    ]
    assert _balance(db, "CASH-BUYER-JPY") == buyer + 3_550
    assert _balance(db, "CASH-SELLER-JPY") == seller - 3_500
    assert _balance(db, "CASH-OPERATOR-JPY") == fees - 50
    assert _totals(db) == before
    assert audit.verify(db).ok


def test_a_payer_without_free_cash_is_refused_and_nothing_moves(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    trade = _settled_trade(market)
    did = _under_review(market, trade.id)
    seller = _balance(db, "CASH-SELLER-JPY")
    entries = audit.verify(db).entries
    orders = [
        RemedyOrder("compensation", payer="opener", amount=1),
        RemedyOrder("price_adjustment", payer="counterparty", amount=seller + 2),
    ]
    with pytest.raises(Conflict) as err:
        disputes.decide(db, SYSTEM, did, "upheld", "pay", orders)
    assert err.value.code == "insufficient_cash" and str(seller + 1) in err.value.message
    assert audit.verify(db).entries == entries
    assert disputes.get(db, SYSTEM, did).state == "under_review"
    with pytest.raises(Conflict) as fee:
        disputes.decide(db, SYSTEM, did, "upheld", "w", [RemedyOrder("fee_waiver", "opener", 51)])
    assert fee.value.code == "fee_waiver_too_large"


def test_credit_remedies_return_and_freeze_named_serials(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    trade = _settled_trade(market)
    before = _totals(db)
    serials = _serials(db, "BUYER-MAIN")
    assert _credits(db, "BUYER-MAIN") == 10
    did = _under_review(market, trade.id, "delivery")
    with pytest.raises(InvalidInput) as outsider:
        disputes.decide(
            db,
            SYSTEM,
            did,
            "upheld",
            "x",
            [
                RemedyOrder(
                    "credit_return",
                    serials=serials,
                    from_account="BUYER-MAIN",
                    to_account="THIRD-MAIN",
                )
            ],
        )
    assert outsider.value.code == "not_a_party_account"
    out = disputes.decide(
        db,
        SYSTEM,
        did,
        "upheld",
        "Invalid serials: returned to the seller, who redelivers; the rest frozen.",
        [
            RemedyOrder(
                "credit_return",
                serials=serials,
                from_account="BUYER-MAIN",
                to_account="SELLER-MAIN",
            ),
        ],
    )
    assert out.remedies[0].quantity == 10 and out.remedies[0].payer == "opener"
    assert _credits(db, "BUYER-MAIN") == 0
    # the seller redelivers others, then the operator freezes and unfreezes them
    d2 = disputes.open_dispute(db, market["seller"], NewDispute("delivery", trade.id, "redo"))
    disputes.review(db, SYSTEM, d2.id)
    other = _serials(db, "SELLER-MAIN")
    issuance, start, _end = other.rsplit("-", 2)
    five = f"{issuance}-{start}-{int(start) + 4}"
    disputes.decide(
        db,
        SYSTEM,
        d2.id,
        "upheld",
        "redelivery and freeze",
        [
            RemedyOrder(
                "redelivery", serials=five, from_account="SELLER-MAIN", to_account="BUYER-MAIN"
            ),
            RemedyOrder("freeze", serials=five),
        ],
    )
    assert _credits(db, "BUYER-MAIN", "frozen") == 5
    # the buyer's view never shows the seller's account
    (seen,) = disputes.get(db, market["buyer"], d2.id).remedies[:1]
    assert (seen.from_account, seen.to_account) == (None, "BUYER-MAIN")
    d3 = disputes.open_dispute(db, market["buyer"], NewDispute("delivery", trade.id, "unfreeze"))
    disputes.review(db, SYSTEM, d3.id)
    disputes.decide(db, SYSTEM, d3.id, "upheld", "free", [RemedyOrder("unfreeze", serials=five)])
    assert _credits(db, "BUYER-MAIN") == 5
    assert _totals(db) == before
    assert audit.verify(db).ok


def test_a_participant_may_dispute_a_registry_action_on_its_credits(
    market: dict[str, Any],
) -> None:
    db: Database = market["db"]
    with db.read() as conn:
        seq = conn.execute(
            select(func.max(t.credit_movements.c.journal_seq)).where(
                t.credit_movements.c.to_account == "SELLER-MAIN"
            )
        ).scalar_one()
    d = disputes.open_dispute(
        db, market["seller"], NewDispute("registry_action", str(seq), "Wrong vintage issued")
    )
    assert d.counterparty_id is None and d.kind == "registry_action"
    with pytest.raises(NotFound):
        disputes.open_dispute(db, market["buyer"], NewDispute("registry_action", str(seq), "x"))


# ---------------------------------------------------------------- deadlines and the summary


def test_reminders_come_before_the_deadlines_and_a_silent_counterparty_lapses(
    market: dict[str, Any],
) -> None:
    db: Database = market["db"]
    trade = _trade(market)
    d = disputes.open_dispute(db, market["buyer"], NewDispute("trade", trade.id, "x"))
    real = db.clock
    rules = disputes.rules()
    opened = dt.datetime.fromisoformat(d.opened_at.replace("Z", "+00:00"))

    def at(days: float) -> None:
        moment = opened + dt.timedelta(days=days)
        db.clock = lambda: moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

    try:
        at(1)
        assert disputes.remind_due(db) == disputes.Reminded(0, 0)
        at(rules.respond_days - rules.reminder_days_before[0] + 0.1)
        assert disputes.remind_due(db) == disputes.Reminded(1, 0)
        assert disputes.remind_due(db) == disputes.Reminded(0, 0)  # never twice
        (notice,) = disputes.reminders_for(db, market["seller"])
        assert notice[0] == d.id
        assert disputes.reminders_for(db, market["buyer"]) == []
        at(rules.respond_days + 0.1)
        assert disputes.remind_due(db) == disputes.Reminded(0, 1)
        lapsed = disputes.get(db, SYSTEM, d.id)
        assert lapsed.state == "under_review" and lapsed.decide_by
        at(rules.respond_days + rules.decide_days + 1)
        assert disputes.remind_due(db).reminders == 1
        assert len(disputes.reminders_for(db, SYSTEM)) == 1
        # the counterparty's reminder is not shown to the opener
        kinds = [e.kind for e in disputes.get(db, market["buyer"], d.id).events or []]
        assert kinds == ["opened", "response_lapsed"]
    finally:
        db.clock = real
    assert audit.verify(db).ok


def test_the_scheduler_sweeps_the_dispute_deadlines(market: dict[str, Any]) -> None:
    db: Database = market["db"]
    trade = _trade(market)
    d = disputes.open_dispute(db, market["buyer"], NewDispute("trade", trade.id, "x"))
    late = dt.datetime.fromisoformat(d.respond_by.replace("Z", "+00:00")) + dt.timedelta(hours=1)
    real = db.clock
    db.clock = lambda: late.isoformat(timespec="microseconds").replace("+00:00", "Z")
    try:
        sched = Scheduler(db, market["x"], japan_calendar(), lambda: late, sessions=False)
        assert ("disputes", "remind") in sched.tick()
    finally:
        db.clock = real
    assert disputes.get(db, SYSTEM, d.id).state == "under_review"


def test_the_yearly_summary_counts_by_kind_and_outcome_without_names(
    market: dict[str, Any],
) -> None:
    db: Database = market["db"]
    one, two = _trade(market), _trade(market)
    d1 = disputes.open_dispute(db, market["buyer"], NewDispute("trade", one.id, "x"))
    disputes.review(db, SYSTEM, d1.id)
    disputes.decide(db, SYSTEM, d1.id, "rejected", "no")
    d2 = disputes.open_dispute(db, market["seller"], NewDispute("trade", two.id, "y"))
    disputes.withdraw(db, market["seller"], d2.id)
    disputes.open_dispute(db, market["buyer"], NewDispute("trade", two.id, "z"))
    year = int(d1.opened_at[:4])
    s = disputes.summary(db, year)
    (trades,) = [r for r in s.kinds if r.kind == "trade"]
    assert (s.total, trades.opened, trades.rejected, trades.withdrawn, trades.pending) == (
        3,
        3,
        1,
        1,
        1,
    )
    assert "BUYER" not in repr(s) and "SELLER" not in repr(s)
    assert disputes.summary(db, year + 1).total == 0


# ---------------------------------------------------------------- the property


REMEDY = st.one_of(
    st.builds(
        lambda kind, payer, amount: RemedyOrder(kind, payer=payer, amount=amount),
        st.sampled_from(["price_adjustment", "compensation", "fee_waiver"]),
        st.sampled_from(["opener", "counterparty"]),
        st.integers(1, 2_000_000),
    ),
    st.builds(lambda back, n: ("credits", back, n), st.booleans(), st.integers(1, 4)),
    st.builds(lambda freeze, n: ("freeze", freeze, n), st.booleans(), st.integers(1, 4)),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rounds=st.lists(st.lists(REMEDY, min_size=1, max_size=3), min_size=1, max_size=3))
def test_any_sequence_of_remedies_conserves_cash_and_credits(
    market: dict[str, Any], rounds: list[list[Any]]
) -> None:
    db: Database = market["db"]
    if "trade" not in market:
        market["trade"] = _settled_trade(market)
    trade = market["trade"]
    before = _totals(db)
    for wanted in rounds:
        orders = [_order(db, w) for w in wanted]
        did = _under_review(market, trade.id, "delivery")
        try:
            disputes.decide(db, SYSTEM, did, "upheld", "ruling", [o for o in orders if o])
        except (Conflict, InvalidInput, NotFound):
            disputes.decide(db, SYSTEM, did, "rejected", "nothing to do")
        disputes.close(db, SYSTEM, did)
        assert _totals(db) == before
    assert audit.verify(db).ok


def _order(db: Database, wanted: Any) -> RemedyOrder | None:
    """A remedy of the property, on serials the parties hold now."""
    if isinstance(wanted, RemedyOrder):
        return wanted
    kind, flag, n = wanted
    if kind == "credits":
        src, dst = ("BUYER-MAIN", "SELLER-MAIN") if flag else ("SELLER-MAIN", "BUYER-MAIN")
        if _credits(db, src) == 0:
            return None
        issuance, start, end = _serials(db, src).rsplit("-", 2)
        serials = f"{issuance}-{start}-{min(int(end), int(start) + n - 1)}"
        return RemedyOrder("credit_return", serials=serials, from_account=src, to_account=dst)
    account, status = "BUYER-MAIN", "held" if flag else "frozen"
    with db.read() as conn:
        b = conn.execute(
            select(t.blocks).where(t.blocks.c.account_id == account, t.blocks.c.status == status)
        ).first()
    if b is None:
        return None
    serials = f"{b.issuance_id}-{b.serial_start}-{min(b.serial_end, b.serial_start + n - 1)}"
    return RemedyOrder("freeze" if flag else "unfreeze", serials=serials)


ACTION = st.one_of(
    st.tuples(st.just("trade"), st.integers(1, 20)),
    st.tuples(st.just("bust"), st.integers(0, 5)),
    st.tuples(st.just("settle"), st.just(0)),
    st.tuples(st.just("remedies"), st.lists(REMEDY, min_size=1, max_size=3)),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTION, min_size=3, max_size=8))
def test_orders_busts_settlement_runs_and_remedies_together_conserve_cash_and_credits(
    market: dict[str, Any], actions: list[Any]
) -> None:
    """The issue's invariant: any sequence of orders, busts by a dispute's ruling, settlement
    runs and remedies conserves cash and credits, and the audit proves every balance."""
    db: Database = market["db"]
    x: Exchange = market["x"]
    before = _totals(db)
    trades: list[Any] = market.setdefault("trades", [])
    for action, arg in actions:
        if action == "trade":
            trades.append(_trade(market, arg))
        elif action == "bust" and trades:
            trade = trades[-1 - arg % len(trades)]  # 0: the latest, likely unsettled
            did = _opened_for_review(market, trade.id, "trade")
            try:
                disputes.decide(db, SYSTEM, did, "upheld", "bust", [RemedyOrder("bust")], x)
            except Conflict:  # settled or busted already: nothing happened
                disputes.decide(db, SYSTEM, did, "rejected", "too late")
        elif action == "settle" and trades:
            last = max(_one(db, t.trades, id=tr.id).settlement_date for tr in trades)
            settlement.run(db, SYSTEM, dt.date.fromisoformat(last), early=True)
        elif action == "remedies":
            settled = [tr for tr in trades if _status(db, tr.id) == "settled"]
            if not settled:
                continue
            did = _opened_for_review(market, settled[-1].id, "delivery")
            orders = [o for o in (_order(db, w) for w in arg) if o]
            try:
                disputes.decide(db, SYSTEM, did, "upheld", "ruling", orders)
            except (Conflict, InvalidInput, NotFound):
                disputes.decide(db, SYSTEM, did, "rejected", "nothing to do")
        assert _totals(db) == before
    assert audit.verify(db).ok


def _status(db: Database, deal_id: str) -> str:
    return str(_one(db, t.settlement_obligations, deal_id=deal_id).status)


def _opened_for_review(m: dict[str, Any], subject: str, kind: str) -> str:
    """A dispute of the buyer about ``subject`` under review (an earlier one decided first)."""
    db: Database = m["db"]
    for d in disputes.list_disputes(db, SYSTEM, "under_review"):
        if d.subject_id == subject and d.kind == kind:
            disputes.decide(db, SYSTEM, d.id, "rejected", "superseded")
    d = disputes.open_dispute(db, m["buyer"], NewDispute(kind, subject, "property"))
    disputes.review(db, SYSTEM, d.id)
    return d.id
