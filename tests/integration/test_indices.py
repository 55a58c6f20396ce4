"""Benchmark indices against hand-worked examples, on SQLite and PostgreSQL (docs/indices.md).

The scenario runs on the standard TSE instruments through the Exchange service, on a clock that
the test moves from day to day (Tokyo time):

day 1, Monday 2026-01-05
  省エネ (reference ¥2,000): 11:30 auction 100 t at ¥2,000; 15:00 auction 100 t at ¥2,001.
      VWAP = 400,100 / 200 = 2,000.5 -> ¥2,001 (half up).
  森林 (reference ¥9,800): bid 10 t at ¥9,700, offer 10 t at ¥9,901, no trade.
      mid = (9,700 + 9,901) / 2 = 9,800.5 -> ¥9,801 (half up).
  再エネ(電力): a bid only and nothing before -> none. Every other category: none.
  composite: only 省エネ traded in the window -> ¥2,001 (weighted).
day 2, Tuesday 2026-01-06
  省エネ: a bid only -> previous (¥2,001 from day 1).
  森林: 15:00 auction 50 t at ¥10,000 -> vwap ¥10,000.
  composite over the 20-day window: (2,001 x 200 + 10,000 x 50) / 250 = 3,600.8 -> ¥3,601.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.services.common import SYSTEM, Actor, plain
from tanso.services.ledger import audit, participants
from tanso.services.marketdata import indices
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import ensure_standard_instruments
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

JST = ZoneInfo("Asia/Tokyo")
DAY1, DAY2 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)
ES, FOREST, RE = "JPX-ENERGY-SAVING", "JPX-FOREST", "JPX-RE-POWER"
IX_ES, IX_FOREST, IX_RE = "TANSO-ENERGY-SAVING", "TANSO-FOREST", "TANSO-RE-POWER"


class Clock:
    """Tokyo wall-clock time that the test sets; each reading a millisecond later."""

    def __init__(self) -> None:
        self.t = dt.datetime(2026, 1, 5, 8, 0, tzinfo=JST)

    def at(self, day: dt.date, hh: int, mm: int) -> None:
        self.t = max(self.t, dt.datetime.combine(day, dt.time(hh, mm), JST))

    def __call__(self) -> str:
        self.t += dt.timedelta(milliseconds=1)
        return self.t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Market:
    db: Database
    x: Exchange
    clock: Clock
    seller: Actor
    buyer: Actor


def open_market(db: Database) -> Market:
    """The standard instruments, a seller of 省エネ and 森林 credits and a funded buyer."""
    clock = Clock()
    db.clock = clock
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SELLER"), add_participant(db, "BUYER")
    add_issuance(db, "SELLER-MAIN", 10_000, category="ENERGY_SAVING")
    add_issuance(db, "SELLER-MAIN", 5_000, category="FOREST")
    fund(db, "BUYER", 100_000_000)
    ensure_standard_instruments(db, x)
    return Market(db, x, clock, seller, buyer)


def trade_day_1(m: Market) -> None:
    x, c = m.x, m.clock
    c.at(DAY1, 9, 0)
    for i in (ES, FOREST, RE):
        x.session(SYSTEM, i, "open")
    x.place(m.buyer, NewOrder(ES, "buy", 100, 2_000))
    x.place(m.seller, NewOrder(ES, "sell", 100, 2_000))
    x.place(m.buyer, NewOrder(RE, "buy", 10, 4_000))
    c.at(DAY1, 11, 30)
    x.session(SYSTEM, ES, "auction")
    c.at(DAY1, 13, 0)
    x.place(m.buyer, NewOrder(ES, "buy", 100, 2_001))
    x.place(m.seller, NewOrder(ES, "sell", 100, 2_001))
    x.place(m.buyer, NewOrder(FOREST, "buy", 10, 9_700))
    x.place(m.seller, NewOrder(FOREST, "sell", 10, 9_901))
    c.at(DAY1, 15, 0)
    for i in (ES, FOREST, RE):
        x.session(SYSTEM, i, "auction")


def close_day(m: Market, day: dt.date) -> None:
    m.clock.at(day, 15, 30)
    for i in (ES, FOREST, RE):
        m.x.session(SYSTEM, i, "close")


def trade_day_2(m: Market) -> None:
    x, c = m.x, m.clock
    c.at(DAY2, 9, 0)
    for i in (ES, FOREST, RE):
        x.session(SYSTEM, i, "open")
    x.place(m.buyer, NewOrder(ES, "buy", 10, 1_990))
    x.place(m.buyer, NewOrder(FOREST, "buy", 50, 10_000))
    x.place(m.seller, NewOrder(FOREST, "sell", 50, 10_000))
    c.at(DAY2, 15, 0)
    for i in (ES, FOREST, RE):
        x.session(SYSTEM, i, "auction")


def two_days(m: Market) -> tuple[list[indices.IndexValue], list[indices.IndexValue]]:
    """Both days traded and published after the 15:00 auction, before the close."""
    trade_day_1(m)
    first = indices.compute(m.db, m.x, DAY1)
    close_day(m, DAY1)
    trade_day_2(m)
    second = indices.compute(m.db, m.x, DAY2)
    close_day(m, DAY2)
    return first, second


def by_id(rows: Sequence[indices.IndexValue] | list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Index values by id, in their JSON form: the service's answers and the API's alike."""
    return {r["id"]: r for r in map(plain, rows)}


@pytest.fixture
def market(db: Database) -> Market:
    return open_market(db)


# ---------------------------------------------------------------- the pure rules


def test_half_up_rounds_halves_away_from_zero_and_nothing_else() -> None:
    assert indices.half_up(400_100, 200) == 2_001  # 2,000.5
    assert indices.half_up(400_099, 200) == 2_000  # 2,000.495
    assert indices.half_up(900_200, 250) == 3_601  # 3,600.8
    assert indices.half_up(19_601, 2) == 9_801  # 9,800.5


def test_a_category_value_falls_back_from_vwap_to_mid_to_previous_to_none() -> None:
    assert indices.category_value(400_100, 200, 2, 1, 9, None).rule == "vwap"
    mid = indices.category_value(0, 0, 0, 9_700, 9_901, (5, "2026-01-02"))
    assert (mid.value, mid.rule) == (9_801, "mid")
    prev = indices.category_value(0, 0, 0, 9_700, None, (5, "2026-01-02"))
    assert (prev.value, prev.rule, prev.detail) == (5, "previous", {"from": "2026-01-02"})
    none = indices.category_value(0, 0, 0, None, 9_901, None)
    assert (none.value, none.rule) == (None, "none")


def test_the_composite_ignores_categories_without_volume_in_the_window() -> None:
    es = indices.Value(2_001, "previous", 0, {})
    forest = indices.Value(10_000, "vwap", 50, {})
    idle = indices.Value(9_801, "mid", 0, {})
    window = ("2025-12-08", "2026-01-06")
    v = indices.composite_value([("a", es, 200), ("b", forest, 50), ("c", idle, 0)], None, window)
    assert (v.value, v.rule, v.volume) == (3_601, "weighted", 50)
    assert indices.composite_value([("c", idle, 0)], (7, "d"), window).rule == "previous"
    assert indices.composite_value([("c", idle, 0)], None, window).value is None


# ---------------------------------------------------------------- against the exchange


def test_each_rule_against_the_hand_worked_scenario(market: Market) -> None:
    first, second = two_days(market)
    d1, d2 = by_id(first), by_id(second)
    assert (d1[IX_ES]["value"], d1[IX_ES]["rule"], d1[IX_ES]["volume"]) == (2_001, "vwap", 200)
    assert d1[IX_ES]["detail"]["trades"] == 2
    assert (d1[IX_FOREST]["value"], d1[IX_FOREST]["rule"]) == (9_801, "mid")
    assert d1[IX_FOREST]["detail"]["bid"] == 9_700 and d1[IX_FOREST]["detail"]["ask"] == 9_901
    assert (d1[IX_RE]["value"], d1[IX_RE]["rule"]) == (None, "none")
    assert d1["TANSO-OTHER"]["rule"] == "none"
    assert (d1[indices.COMPOSITE_ID]["value"], d1[indices.COMPOSITE_ID]["rule"]) == (
        2_001,
        "weighted",
    )
    # day 2: a bid only in 省エネ -> previous; 森林 traded -> vwap
    assert (d2[IX_ES]["value"], d2[IX_ES]["rule"]) == (2_001, "previous")
    assert d2[IX_ES]["detail"]["from"] == "2026-01-05"
    assert (d2[IX_FOREST]["value"], d2[IX_FOREST]["rule"]) == (10_000, "vwap")
    composite = d2[indices.COMPOSITE_ID]
    assert (composite["value"], composite["rule"], composite["volume"]) == (3_601, "weighted", 50)
    weights = {c["index"]: c["weight"] for c in composite["detail"]["components"]}
    assert weights[IX_ES] == 200 and weights[IX_FOREST] == 50 and weights[IX_RE] == 0
    # one index per TSE category instrument, and the composite first; values are integers
    ids = [r.id for r in second]
    assert ids[0] == indices.COMPOSITE_ID and len(ids) == 13
    assert "TANSO-GX-EXCESS" in ids and "TANSO-JVER" in ids
    assert all(r.value is None or type(r.value) is int for r in second)


def test_publishing_a_date_again_changes_nothing_and_journals_nothing(market: Market) -> None:
    trade_day_1(market)
    first = indices.compute(market.db, market.x, DAY1)
    # a later trade on the same day does not restate a published value
    market.x.place(market.buyer, NewOrder(ES, "buy", 10, 2_500))
    market.x.place(market.seller, NewOrder(ES, "sell", 10, 2_500))
    market.x.session(SYSTEM, ES, "auction")
    with market.db.read() as conn:
        head = conn.execute(select(t.journal_head.c.seq)).scalar()
    again = indices.compute(market.db, market.x, DAY1)
    assert again == first
    with market.db.read() as conn:
        assert conn.execute(select(t.journal_head.c.seq)).scalar() == head
        assert len(conn.execute(select(t.index_values)).all()) == len(first)


def test_one_journal_entry_states_every_published_value(market: Market) -> None:
    trade_day_1(market)
    rows = indices.compute(market.db, market.x, DAY1)
    with market.db.read() as conn:
        entries = conn.execute(select(t.journal).where(t.journal.c.kind == "index.published")).all()
    assert len(entries) == 1
    payload = json.loads(entries[0].payload)
    assert payload["date"] == "2026-01-05"
    assert {v["index"]: (v["value"], v["rule"]) for v in payload["values"]} == {
        r.id: (r.value, r.rule) for r in rows
    }
    assert all(r.journal_seq == entries[0].seq for r in rows)
    assert audit.verify(market.db).ok


def test_publication_is_in_date_order_on_business_days_and_never_ahead(market: Market) -> None:
    two_days(market)
    with pytest.raises(Conflict):
        indices.compute(market.db, market.x, dt.date(2025, 12, 30))
    with pytest.raises(InvalidInput):
        indices.compute(market.db, market.x, dt.date(2026, 1, 10))  # a Saturday
    with pytest.raises(InvalidInput):
        indices.compute(market.db, market.x, dt.date(2026, 1, 7))  # tomorrow
    with pytest.raises(Forbidden):
        indices.compute(market.db, market.x, DAY2, market.buyer)


def test_a_past_day_published_late_has_no_mid(market: Market) -> None:
    trade_day_1(market)
    close_day(market, DAY1)
    market.clock.at(DAY2, 9, 0)
    market.x.session(SYSTEM, FOREST, "open")
    market.x.place(market.buyer, NewOrder(FOREST, "buy", 10, 9_700))
    market.x.place(market.seller, NewOrder(FOREST, "sell", 10, 9_901))
    # today's book is not yesterday's: yesterday's 森林 gets no mid from it
    rows = by_id(indices.compute(market.db, market.x, DAY1))
    assert rows[IX_FOREST]["rule"] == "none"
    assert rows[IX_ES]["rule"] == "vwap"


def test_history_and_latest(market: Market) -> None:
    two_days(market)
    hist = indices.history(market.db, IX_ES)
    assert [(h.date, h.value, h.rule) for h in hist] == [
        ("2026-01-05", 2_001, "vwap"),
        ("2026-01-06", 2_001, "previous"),
    ]
    assert indices.history(market.db, IX_ES, DAY2, DAY2)[0].date == "2026-01-06"
    latest = by_id(indices.latest(market.db))
    assert latest[IX_FOREST]["date"] == "2026-01-06" and latest[IX_FOREST]["value"] == 10_000
    with pytest.raises(NotFound):
        indices.history(market.db, "TANSO-NOPE")


# ---------------------------------------------------------------- over HTTP


def test_public_index_endpoints_show_no_participant_ids(market: Market) -> None:
    trade_day_1(market)
    op_key = participants.create_api_key(market.db, SYSTEM, "OPERATOR", "test").key
    buyer_key = participants.create_api_key(market.db, SYSTEM, "BUYER", "test").key
    with TestClient(create_app(market.db)) as client:
        assert client.get("/v1/market/indices").json() == []
        r = client.post("/v1/market/indices/compute", json={"date": "2026-01-05"})
        assert r.status_code == 401
        r = client.post(
            "/v1/market/indices/compute",
            json={"date": "2026-01-05"},
            headers={"Authorization": f"Bearer {buyer_key}"},
        )
        assert r.status_code == 403
        r = client.post(
            "/v1/market/indices/compute",
            json={"date": "2026-01-05"},
            headers={"Authorization": f"Bearer {op_key}"},
        )
        assert r.status_code == 201, r.text
        assert by_id(r.json())[IX_ES]["value"] == 2_001
        bad = client.post(
            "/v1/market/indices/compute",
            json={"date": "2026-02-30"},
            headers={"Authorization": f"Bearer {op_key}"},
        )
        assert bad.status_code == 422
        latest = client.get("/v1/market/indices")
        hist = client.get(f"/v1/market/indices/{IX_ES}", params={"from": "2026-01-01"})
        assert latest.status_code == 200 and hist.status_code == 200
        assert by_id(latest.json())[IX_FOREST]["rule"] == "mid"
        assert hist.json()[0]["value"] == 2_001
        assert client.get("/v1/market/indices/TANSO-NOPE").status_code == 404
        for body in (latest.text, hist.text, r.text):
            for secret in ("SELLER", "BUYER", "OPERATOR", "participant"):
                assert secret not in body


# ---------------------------------------------------------------- restatement


def test_a_restatement_recomputes_the_date_and_every_later_one_without_a_busted_trade(
    market: Market,
) -> None:
    two_days(market)
    db = market.db
    with db.read() as conn:
        tr = t.trades.c
        busted = conn.execute(
            select(tr.id).where(tr.instrument_id == ES, tr.price == 2_001)
        ).scalar_one()
    market.x.bust(SYSTEM, busted, "erroneous_order", "a fat finger at 15:00")
    with pytest.raises(Forbidden):
        indices.restate(db, market.buyer, DAY1, "bust")
    with pytest.raises(InvalidInput):
        indices.restate(db, SYSTEM, DAY1, " ")
    with pytest.raises(NotFound):
        indices.restate(db, SYSTEM, dt.date(2026, 1, 7), "bust")
    changed = indices.restate(db, SYSTEM, DAY1, f"trade {busted} busted")
    assert {(c.date, c.id, c.old_value, c.new_value) for c in changed} == {
        ("2026-01-05", IX_ES, 2_001, 2_000),  # only the 11:30 trade stands
        ("2026-01-05", indices.COMPOSITE_ID, 2_001, 2_000),
        ("2026-01-06", IX_ES, 2_001, 2_000),  # carried forward from the restated day
        ("2026-01-06", indices.COMPOSITE_ID, 3_601, 4_667),  # (2,000x100 + 10,000x50) / 150
    }
    with db.read() as conn:
        d1, d2 = by_id(indices.values_in(conn, DAY1)), by_id(indices.values_in(conn, DAY2))
    assert d1[IX_ES]["restated_at"] and d1[IX_ES]["detail"]["trades"] == 1
    assert (d1[IX_FOREST]["value"], d1[IX_FOREST]["rule"]) == (9_801, "mid")  # its quotes kept
    assert d1[IX_FOREST]["restated_at"] is None
    assert (d2[IX_ES]["value"], d2[IX_ES]["rule"]) == (2_000, "previous")
    # the daily report shows the restated values, marked, in both languages
    from tanso.services.marketdata import daily_report
    from tanso.web.documents import daily_report as documents

    rep = daily_report.build(db, None, DAY1)
    [es_row] = [r for r in documents.to_csv(rep, "en").splitlines() if IX_ES in r]
    assert "2000" in es_row and "(restated by the operator after a bust)" in es_row

    [es_ja] = [r for r in documents.to_csv(rep, "ja").splitlines() if IX_ES in r]
    assert "訂正" in es_ja
    assert "restated" in documents.to_html(rep, "en").split(IX_ES)[1][:400]

    # the stored values now equal a recomputation from the trades that stand: nothing to do

    with db.read() as conn:
        before = conn.execute(select(t.journal.c.kind).order_by(t.journal.c.seq.desc())).first()
    assert before is not None and before.kind == "index.restated"
    assert indices.restate(db, SYSTEM, DAY1, "again") == []
    with db.read() as conn:
        last = conn.execute(select(t.journal.c.kind).order_by(t.journal.c.seq.desc())).first()
    assert last == before and audit.verify(db).ok
