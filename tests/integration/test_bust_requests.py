"""A party's request to bust a trade (issue 17, 取引取消の申出) and the notices (お知らせ) of a
bust: the rulebook's window on a settable database clock, one open request per trade, the
operator's grant (a bust, its notices and the request's answer commit together) and refusal,
and nobody else's requests or notices seen (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.errors import TansoError
from tanso.services import notices
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Idem
from tanso.services.ledger import audit
from tanso.services.trading import bust_requests as br
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.store.schema_bust_requests import bust_requests
from tanso.store.schema_bust_requests import notices as notices_table
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

JST = ZoneInfo("Asia/Tokyo")
DAY = dt.date(2026, 1, 5)  # a Monday, a trading day


class SetClock:
    """The database's clock, set to a moment and a millisecond later at each reading."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def set(self, hh: int, mm_: int, day: dt.date = DAY) -> None:
        self.t = max(self.t, dt.datetime(day.year, day.month, day.day, hh, mm_, tzinfo=JST))

    def __call__(self) -> str:
        self.t += dt.timedelta(milliseconds=1)
        return self.t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    clock = SetClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=JST))
    db.clock = clock
    x = Exchange(db, japan_calendar())
    seller = add_participant(db, "SELLER")
    buyer = add_participant(db, "BUYER")
    other = add_participant(db, "OTHER")
    add_issuance(db, "SELLER-MAIN", 10_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 50_000_000)
    open_market(x, energy_saving("continuous"))
    return {"x": x, "db": db, "clock": clock, "seller": seller, "buyer": buyer, "other": other}


def _trade(m: dict[str, Any], quantity: int = 4, price: int = 2_000) -> Any:
    x: Exchange = m["x"]
    x.place(m["seller"], NewOrder("JC-ES", "sell", quantity, price))
    return x.place(m["buyer"], NewOrder("JC-ES", "buy", quantity, price)).trades[0]


def _code(call: Any) -> str:
    with pytest.raises(TansoError) as e:
        call()
    return e.value.code


def test_a_party_asks_within_the_window_and_never_after_it(market: dict[str, Any]) -> None:
    m, clock = market, market["clock"]
    clock.set(10, 0)
    first = _trade(m)
    clock.set(10, 29)  # a minute before the window closes
    asked = br.request_bust(m["db"], m["seller"], first.id, "erroneous_order", "wrong price")
    assert (asked.state, asked.reason_code, asked.requester_id) == (
        "pending",
        "erroneous_order",
        "SELLER",
    )
    assert asked.deadline.startswith("2026-01-05T01:30:00")  # 10:30 in Japan
    second = _trade(m, 2, 2_010)
    clock.set(11, 0)  # 31 minutes after the second trade
    with pytest.raises(TansoError) as closed:
        br.request_bust(m["db"], m["buyer"], second.id, "other", "too late")
    assert closed.value.code == "bust_window_closed"
    assert "2026-01-05 10:59 JST" in closed.value.message  # the deadline, in Japan time


def test_one_open_request_per_trade_and_a_stranger_sees_nothing(market: dict[str, Any]) -> None:
    m = market
    trade = _trade(m)
    key = Idem("ask-1", "a" * 64)
    first = br.request_bust(m["db"], m["buyer"], trade.id, "system_fault", "", key)
    assert br.request_bust(m["db"], m["buyer"], trade.id, "system_fault", "", key) == first
    assert _code(lambda: br.request_bust(m["db"], m["seller"], trade.id, "other")) == (
        "bust_request_pending"
    )
    assert _code(lambda: br.request_bust(m["db"], m["other"], trade.id, "other")) == (
        "trade_not_found"
    )
    assert _code(lambda: br.request_bust(m["db"], m["buyer"], trade.id, "dispute_ruling")) == (
        "invalid_reason_code"
    )
    assert [r.id for r in br.list_requests(m["db"], m["buyer"])] == [first.id]
    assert br.list_requests(m["db"], m["seller"]) == []  # the counterparty's view: its own only
    assert br.list_requests(m["db"], m["other"]) == []
    assert [r.id for r in br.list_requests(m["db"], SYSTEM, "pending")] == [first.id]


def test_a_grant_busts_the_trade_and_tells_both_parties(market: dict[str, Any]) -> None:
    m, db = market, market["db"]
    trade = _trade(m)
    br.request_bust(db, m["buyer"], trade.id, "erroneous_order", "fat finger")
    entries = audit.verify(db).entries
    key = Idem("grant-1", "b" * 64)
    granted = br.grant(db, m["x"], SYSTEM, trade.id, "confirmed by phone", key)
    assert (granted.state, granted.decision_note) == (
        "granted",
        f"bust request {granted.id}: confirmed by phone",
    )
    with db.read() as conn:
        stored = conn.execute(select(t.trades).where(t.trades.c.id == trade.id)).one()
    assert stored.busted and stored.bust_reason == "erroneous_order"
    # the bust, its two notices and the grant in one transaction, journal included
    after = audit.verify(db)
    assert after.ok and after.entries == entries + 2
    buyer = notices.list_notices(db, m["buyer"])
    assert sorted(n.kind for n in buyer) == ["bust_request_granted", "trade_busted"]
    assert {n.journal_seq for n in buyer} == {entries + 1, entries + 2}
    (seller,) = notices.list_notices(db, m["seller"])
    assert (seller.kind, seller.subject_id) == ("trade_busted", trade.id)
    assert seller.params["reason_code"] == "erroneous_order" and seller.params["quantity"] == 4
    assert notices.list_notices(db, m["other"]) == []
    # idempotent: the same grant again answers the same; another is refused, nothing changes
    assert br.grant(db, m["x"], SYSTEM, trade.id, "confirmed by phone", key) == granted
    assert _code(lambda: br.grant(db, m["x"], SYSTEM, trade.id)) == "bust_request_decided"
    assert _code(lambda: br.refuse(db, SYSTEM, trade.id, "no")) == "bust_request_decided"
    assert audit.verify(db).entries == entries + 2
    assert _code(lambda: br.request_bust(db, m["seller"], trade.id, "other")) == (
        "trade_already_busted"
    )
    assert _code(lambda: br.grant(db, m["x"], m["buyer"], trade.id)) == "role_required"


def test_an_operators_own_bust_tells_both_parties_too(market: dict[str, Any]) -> None:
    m, db = market, market["db"]
    trade = _trade(m)
    m["x"].bust(SYSTEM, trade.id, "system_fault", "matching fault")
    for who in ("buyer", "seller"):
        (n,) = notices.list_notices(db, m[who], unread=True)
        assert (n.kind, n.params["reason_code"]) == ("trade_busted", "system_fault")
        assert notices.unread_count(db, m[who].participant_id) == 1
        read = notices.mark_read(db, m[who], n.id)
        assert read.read_at is not None
        assert notices.mark_read(db, m[who], n.id) == read  # read once
        assert notices.list_notices(db, m[who], unread=True) == []
    (n,) = notices.list_notices(db, m["buyer"])
    assert _code(lambda: notices.mark_read(db, m["other"], n.id)) == "notice_not_found"


def test_a_refusal_tells_the_requester_and_the_trade_stands(market: dict[str, Any]) -> None:
    m, db = market, market["db"]
    trade = _trade(m)
    br.request_bust(db, m["seller"], trade.id, "other", "changed my mind")
    assert _code(lambda: br.refuse(db, SYSTEM, trade.id, "  ")) == "note_required"
    refused = br.refuse(db, SYSTEM, trade.id, "Not an error: the price was within limits.")
    assert (refused.state, refused.decision_note) == (
        "refused",
        "Not an error: the price was within limits.",
    )
    (n,) = notices.list_notices(db, m["seller"])
    assert (n.kind, n.params["note"]) == ("bust_request_refused", refused.decision_note)
    assert notices.list_notices(db, m["buyer"]) == []  # the counterparty never knew
    with db.read() as conn:
        assert not conn.execute(
            select(t.trades.c.busted).where(t.trades.c.id == trade.id)
        ).scalar_one()
    # refused: the party may ask again while the window is open
    again = br.request_bust(db, m["seller"], trade.id, "erroneous_order", "wrong quantity")
    assert again.state == "pending"
    assert _code(lambda: br.grant(db, m["x"], SYSTEM, "T404-1")) == "bust_request_not_found"
    assert audit.verify(db).ok


def test_a_settled_trade_is_never_asked_for(market: dict[str, Any]) -> None:
    m, db = market, market["db"]
    trade = _trade(m)
    with db.read() as conn:
        due = conn.execute(
            select(t.trades.c.settlement_date).where(t.trades.c.id == trade.id)
        ).scalar_one()
    settlement.run(db, SYSTEM, dt.date.fromisoformat(due), early=True)
    with pytest.raises(TansoError) as settled:
        br.request_bust(db, m["buyer"], trade.id, "erroneous_order")
    assert settled.value.code == "bust_window_closed" and settled.value.kind == "conflict"


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["ask_buyer", "ask_seller", "ask_other", "grant", "refuse", "bust"]),
        st.integers(0, 20),  # minutes later
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(STEPS)
def test_whatever_is_asked_and_answered_the_requests_notices_and_ledger_agree(
    market: dict[str, Any], steps: list[tuple[str, int]]
) -> None:
    """At most one request waits per trade; a trade is busted at most once, and then each
    party holds exactly one notice of it and no request waits; every answered request told its
    requester once; a request was never opened after the window; the journal proves every
    balance."""
    m, db, clock = market, market["db"], market["clock"]
    trade = _trade(m, 1, 2_000)
    with db.read() as conn:
        made = conn.execute(select(t.trades.c.at).where(t.trades.c.id == trade.id)).scalar_one()
    who = {"ask_buyer": m["buyer"], "ask_seller": m["seller"], "ask_other": m["other"]}
    for step, minutes in steps:
        clock.t += dt.timedelta(minutes=minutes)
        try:
            if step in who:
                br.request_bust(db, who[step], trade.id, "other")
            elif step == "grant":
                br.grant(db, m["x"], SYSTEM, trade.id)
            elif step == "refuse":
                br.refuse(db, SYSTEM, trade.id, "no")
            else:
                m["x"].bust(SYSTEM, trade.id, "system_fault")
        except TansoError:
            pass
    with db.read() as conn:
        rows = conn.execute(select(bust_requests).where(bust_requests.c.trade_id == trade.id)).all()
        busted = conn.execute(
            select(t.trades.c.busted).where(t.trades.c.id == trade.id)
        ).scalar_one()
        told = conn.execute(
            select(notices_table.c.participant_id, notices_table.c.kind).where(
                notices_table.c.subject_id == trade.id
            )
        ).all()
    assert sum(r.state == "pending" for r in rows) <= (0 if busted else 1)
    assert all(r.requester_id in ("BUYER", "SELLER") for r in rows)
    assert all(r.requested_at <= br.deadline_of(made) for r in rows)
    assert sorted(p for p, k in told if k == "trade_busted") == (
        ["BUYER", "SELLER"] if busted else []
    )
    answered = [r for r in rows if r.state != "pending"]
    assert sorted((r.requester_id, f"bust_request_{r.state}") for r in answered) == sorted(
        (p, k) for p, k in told if k != "trade_busted"
    )
    assert sum(r.state == "granted" for r in rows) <= 1
    assert audit.verify(db).ok
