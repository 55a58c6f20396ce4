"""JCM instruments and the JCM index on SQLite and PostgreSQL (docs/market-rules.md, "JCM
instruments"; docs/indices.md, section 4).

The scenario, on a clock the test moves (Tokyo time):

day 1, Monday 2026-01-05
  JCM-VN (reference ¥2,500): 11:30 auction 100 t at ¥2,500; 15:00 auction 100 t at ¥2,501.
      VWAP = 500,100 / 200 = 2,500.5 -> ¥2,501 (half up).
  JCM-ID: bid 10 t at ¥2,400, offer 10 t at ¥2,601, no trade -> mid ¥2,501 (2,500.5 half up).
  JCM-TH: nothing -> none.
  TANSO-JCM: only Viet Nam traded in the window -> ¥2,501 (weighted).
day 2, Tuesday 2026-01-06
  JCM-VN: nothing -> previous ¥2,501.   JCM-ID: 15:00 auction 50 t at ¥3,000 -> vwap.
  TANSO-JCM: (2,501 x 200 + 3,000 x 50) / 250 = 2,600.8 -> ¥2,601.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tanso.domain.instruments import Eligibility
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor, plain
from tanso.services.ledger import registry, taxonomy
from tanso.services.marketdata import daily_report, indices
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, OrderRejected
from tanso.services.trading.instruments import (
    ensure_standard_instruments,
    jcm_countries,
    standard_instruments,
)
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant, fund

pytestmark = [
    pytest.mark.fast_backends("sqlite", "postgres"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

JST = ZoneInfo("Asia/Tokyo")
DAY1, DAY2 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)
VN, ID, TH = "JCM-VN", "JCM-ID", "JCM-TH"
JCM = (VN, ID, TH)


class Clock:
    """Tokyo wall-clock time that the test sets; each reading a millisecond later."""

    def __init__(self) -> None:
        self.t = dt.datetime(2026, 1, 5, 8, 0, tzinfo=JST)

    def at(self, day: dt.date, hh: int, mm: int) -> None:
        self.t = max(self.t, dt.datetime.combine(day, dt.time(hh, mm), JST))

    def __call__(self) -> str:
        self.t += dt.timedelta(milliseconds=1)
        return self.t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def jcm_issuance(
    db: Database, account: str, country: str, quantity: int, vintage: int, status: str
) -> str:
    """A JCM project in ``country`` (registered once) and an issuance of its credits."""
    project = f"{country}001"
    try:
        taxonomy.get_project(db, project)
    except Exception:
        taxonomy.register_project(
            db, SYSTEM, taxonomy.NewProject(project, "JM", f"JCM {country}", "JCM", country)
        )
        rounds = 0
    else:
        rounds = len(registry.list_issuances(db, project))
    out = registry.issue(
        db,
        SYSTEM,
        registry.NewIssuance(
            project, "ER", str(rounds + 1), vintage, quantity, account, "", "committed", status
        ),
    )
    return out.issuance_id


class Market:
    def __init__(self, db: Database) -> None:
        self.clock = Clock()
        db.clock = self.clock
        self.db = db
        self.x = Exchange(db, japan_calendar())
        self.seller: Actor = add_participant(db, "SELLER")
        self.buyer: Actor = add_participant(db, "BUYER")
        # the seller's oldest JCM credits are Indonesian: oldest-first must not take them for VN
        self.id_issuance = jcm_issuance(db, "SELLER-MAIN", "ID", 1_000, 2021, "completed")
        self.vn_issuance = jcm_issuance(db, "SELLER-MAIN", "VN", 1_000, 2023, "pending")
        jcm_issuance(db, "SELLER-MAIN", "TH", 500, 2022, "not_started")
        fund(db, "BUYER", 100_000_000)
        self.listed = ensure_standard_instruments(db, self.x)

    def sessions(self, action: str) -> None:
        for i in JCM:
            self.x.session(SYSTEM, i, action)


@pytest.fixture
def market(db: Database) -> Market:
    return Market(db)


def by_id(rows: list[indices.IndexValue]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in map(plain, rows)}


def trade_two_days(m: Market) -> tuple[list[indices.IndexValue], list[indices.IndexValue]]:
    x, c = m.x, m.clock
    c.at(DAY1, 9, 0)
    m.sessions("open")
    x.place(m.buyer, NewOrder(VN, "buy", 100, 2_500))
    x.place(m.seller, NewOrder(VN, "sell", 100, 2_500))
    c.at(DAY1, 11, 30)
    x.session(SYSTEM, VN, "auction")
    c.at(DAY1, 13, 0)
    x.place(m.buyer, NewOrder(VN, "buy", 100, 2_501))
    x.place(m.seller, NewOrder(VN, "sell", 100, 2_501))
    x.place(m.buyer, NewOrder(ID, "buy", 10, 2_400))
    x.place(m.seller, NewOrder(ID, "sell", 10, 2_601))
    c.at(DAY1, 15, 0)
    m.sessions("auction")
    first = indices.compute(m.db, m.x, DAY1)
    c.at(DAY1, 15, 30)
    m.sessions("close")
    c.at(DAY2, 9, 0)
    m.sessions("open")
    x.place(m.buyer, NewOrder(ID, "buy", 50, 3_000))
    x.place(m.seller, NewOrder(ID, "sell", 50, 3_000))
    c.at(DAY2, 15, 0)
    m.sessions("auction")
    second = indices.compute(m.db, m.x, DAY2)
    c.at(DAY2, 15, 30)
    m.sessions("close")
    return first, second


def held_countries(db: Database, account: str) -> dict[str, int]:
    """Credits held in an account by the host country of their project."""
    b, i, p = t.blocks.c, t.issuances.c, t.projects.c
    q = (
        select(p.country, b.serial_start, b.serial_end)
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id).join(t.projects, i.project_id == p.id)
        )
        .where(b.account_id == account, b.status == "held")
    )
    out: dict[str, int] = {}
    with db.read() as conn:
        for r in conn.execute(q):
            out[r.country] = out.get(r.country, 0) + r.serial_end - r.serial_start + 1
    return out


# ---------------------------------------------------------------- listing


def test_one_jcm_instrument_is_listed_per_partner_country_with_credits(market: Market) -> None:
    assert [i for i in market.listed if i.startswith("JCM-")] == [ID, TH, VN]
    with market.db.read() as conn:
        row = repo.get_by_id(conn, t.instruments, VN)
    assert row is not None and (row.name_ja, row.reference_price) == (
        "二国間クレジット ベトナム",
        2_500,
    )
    assert ensure_standard_instruments(market.db, market.x) == []  # listed once


def test_no_jcm_instrument_before_a_jcm_project_has_credits(db: Database) -> None:
    taxonomy.register_project(db, SYSTEM, taxonomy.NewProject("KH001", "JM", "JCM KH", "JCM", "KH"))
    assert jcm_countries(db) == []  # registered, nothing issued yet
    assert not [s for s in standard_instruments(db) if s.id.startswith("JCM-")]


def test_a_new_partner_country_with_credits_gets_its_instrument_on_the_next_listing(
    market: Market,
) -> None:
    jcm_issuance(market.db, "SELLER-MAIN", "MN", 200, 2024, "not_started")
    assert ensure_standard_instruments(market.db, market.x) == ["JCM-MN"]


# ---------------------------------------------------------------- delivery


def test_a_jcm_trade_delivers_only_credits_of_the_instruments_country(market: Market) -> None:
    x, c = market.x, market.clock
    c.at(DAY1, 9, 0)
    market.sessions("open")
    x.place(market.seller, NewOrder(VN, "sell", 300, 2_500))
    x.place(market.buyer, NewOrder(VN, "buy", 300, 2_500))
    c.at(DAY1, 11, 30)
    x.session(SYSTEM, VN, "auction")
    with market.db.read() as conn:
        trade = conn.execute(select(t.trades).where(t.trades.c.instrument_id == VN)).one()
    settled = settlement.run(
        market.db, SYSTEM, dt.date.fromisoformat(trade.settlement_date), early=True
    )
    assert settled.settled == 1
    assert held_countries(market.db, "BUYER-MAIN") == {"VN": 300}
    assert held_countries(market.db, "SELLER-MAIN") == {"ID": 1_000, "VN": 700, "TH": 500}


def test_a_seller_without_the_countrys_credits_cannot_sell_them(market: Market) -> None:
    other = add_participant(market.db, "OTHER")
    jcm_issuance(market.db, "OTHER-MAIN", "ID", 100, 2023, "completed")
    market.clock.at(DAY1, 9, 0)
    market.sessions("open")
    with pytest.raises(OrderRejected) as refused:
        market.x.place(other, NewOrder(VN, "sell", 10, 2_500))
    assert "0 eligible credits" in refused.value.message
    assert held_countries(market.db, "OTHER-MAIN") == {"ID": 100}


def test_designated_serials_of_another_country_are_refused(market: Market) -> None:
    market.clock.at(DAY1, 9, 0)
    market.sessions("open")
    serials = f"{market.id_issuance}-1-10"
    with pytest.raises(OrderRejected) as refused:
        market.x.place(market.seller, NewOrder(VN, "sell", 10, 2_500, serials=serials))
    assert refused.value.code == "credits_not_eligible"


def test_the_registry_selects_a_countrys_credits_by_sql_too(market: Market) -> None:
    vn_only = Eligibility(schemes=("JM",), categories=("JCM",), countries=("VN",))
    with market.db.read() as conn:
        blocks = list(repo.blocks_in_account(conn, "SELLER-MAIN", eligibility=vn_only))
    assert {b.issuance for b in blocks} == {market.vn_issuance}


# ---------------------------------------------------------------- the JCM index


def test_the_jcm_index_follows_the_rules_and_weights_countries_by_volume(market: Market) -> None:
    first, second = trade_two_days(market)
    d1, d2 = by_id(first), by_id(second)
    vn, id_, th, jcm = "TANSO-JCM-VN", "TANSO-JCM-ID", "TANSO-JCM-TH", indices.JCM_COMPOSITE_ID
    assert (d1[vn]["value"], d1[vn]["rule"], d1[vn]["volume"]) == (2_501, "vwap", 200)
    assert (d1[id_]["value"], d1[id_]["rule"]) == (2_501, "mid")
    assert (d1[th]["value"], d1[th]["rule"]) == (None, "none")
    assert (d1[jcm]["value"], d1[jcm]["rule"], d1[jcm]["volume"]) == (2_501, "weighted", 200)
    assert (d2[vn]["value"], d2[vn]["rule"], d2[vn]["detail"]["from"]) == (
        2_501,
        "previous",
        "2026-01-05",
    )
    assert (d2[id_]["value"], d2[id_]["rule"]) == (3_000, "vwap")
    assert (d2[jcm]["value"], d2[jcm]["rule"], d2[jcm]["volume"]) == (2_601, "weighted", 50)
    weights = {p["index"]: p["weight"] for p in d2[jcm]["detail"]["components"]}
    assert weights == {id_: 50, th: 0, vn: 200}
    assert d2[vn]["name_ja"] == "Tanso 二国間クレジット ベトナム指数"
    assert d2[jcm]["name_en"] == "Tanso JCM composite index"


def test_jcm_trades_stay_out_of_the_j_credit_composite(market: Market) -> None:
    first, _ = trade_two_days(market)
    jc = by_id(first)[indices.COMPOSITE_ID]
    assert (jc["value"], jc["rule"], jc["volume"]) == (None, "none", 0)
    assert not [p for p in jc["detail"].get("components", []) if "JCM" in p["index"]]


def test_the_jcm_index_is_published_in_order_and_restates_like_the_others(
    market: Market,
) -> None:
    trade_two_days(market)
    latest = [v.id for v in indices.latest(market.db)]
    jcm_at = latest.index(indices.JCM_COMPOSITE_ID)
    assert latest[0] == indices.COMPOSITE_ID
    assert latest[jcm_at + 1 :] == ["TANSO-JCM-ID", "TANSO-JCM-TH", "TANSO-JCM-VN"]
    history = indices.history(market.db, indices.JCM_COMPOSITE_ID)
    assert [(v.date, v.value) for v in history] == [("2026-01-05", 2_501), ("2026-01-06", 2_601)]
    # nothing busted: a restatement recomputes the same values and changes nothing
    assert indices.restate(market.db, SYSTEM, DAY1, "check", japan_calendar()) == []


def test_the_daily_report_lists_the_jcm_instruments_and_indices(market: Market) -> None:
    trade_two_days(market)
    report = daily_report.build(market.db, None, DAY1)
    ids = [r.id for r in report.instruments]
    jcm = [i for i in ids if i.startswith("JCM-")]
    assert jcm == [ID, TH, VN]
    assert ids.index(ID) > max(i for i, x in enumerate(ids) if x.startswith("JPX-"))
    vn = next(r for r in report.instruments if r.id == VN)
    assert vn.bar is not None and vn.bar.volume == 200
    assert indices.JCM_COMPOSITE_ID in [v.id for v in report.indices]
