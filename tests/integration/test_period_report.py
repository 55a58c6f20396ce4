"""The weekly (週報) and monthly (月報) market reports on SQLite and PostgreSQL: figures folded from
the daily reports, registry activity and sealed-bid results of the period, the three forms in
both languages, and HTTP.

The scenario is test_indices' two trading days (Monday 2026-01-05 and Tuesday 2026-01-06, ISO
week 2026-W02), then a sealed-bid auction cleared on Wednesday 2026-01-07 and a retirement.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.errors import InvalidInput, NotFound
from tanso.services.common import SYSTEM
from tanso.services.ledger import registry
from tanso.services.marketdata import daily_report, period_report
from tanso.services.venues import sealed_auctions as sa
from tanso.store.db import Database
from tanso.web.documents import daily_report as daily_document
from tanso.web.documents import period_report as document
from tests.integration.test_indices import (
    DAY1,
    DAY2,
    ES,
    FOREST,
    IX_ES,
    IX_FOREST,
    Market,
    open_market,
    two_days,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.fast_backends("sqlite", "postgres"),
]

WEEK, MONTH = period_report.week("2026-W02"), period_report.month("2026-01")
WEDNESDAY = dt.date(2026, 1, 7)


@pytest.fixture
def market(db: Database) -> Market:
    m = open_market(db)
    two_days(m)
    # a sealed-bid auction on Wednesday (Tokyo), cleared the same day, settled at once (T+0)
    m.clock.at(WEDNESDAY, 8, 0)
    auction = sa.create(
        db,
        m.seller,
        sa.NewSealedAuction(
            account_id="SELLER-MAIN",
            opens_at="2026-01-07T00:00:00Z",
            closes_at="2026-01-07T01:00:00Z",
            reserve=1_500,
            quantity=30,
            lot=10,
            title="Energy saving lot",
        ),
    )
    m.clock.at(WEDNESDAY, 9, 30)
    sa.place_bid(db, m.buyer, auction.id, "BUYER-MAIN", 1_600, 20)
    m.clock.at(WEDNESDAY, 10, 30)
    sa.clear_auction(db, SYSTEM, auction.id)
    m.clock.at(WEDNESDAY, 11, 0)
    registry.retire(
        db,
        m.buyer,
        registry.RetirementRequest("BUYER-MAIN", registry.Selection(5), ["offset_scope1"]),
    )
    return m


def by_id(rep: period_report.PeriodReport) -> dict[str, period_report.InstrumentPeriod]:
    return {r.id: r for r in rep.instruments}


def test_the_week_folds_its_daily_reports(market: Market) -> None:
    rep = period_report.build(market.db, market.x, WEEK)
    assert (rep.kind, rep.period, rep.start, rep.end) == (
        "weekly",
        "2026-W02",
        "2026-01-05",
        "2026-01-11",
    )
    assert rep.days == ["2026-01-05", "2026-01-06"]
    es, forest = by_id(rep)[ES], by_id(rep)[FOREST]
    # 省エネ traded on Monday only (two auctions of 100 t); Tuesday's auction found no price
    assert es.bar == daily_report.DayBar(2_000, 2_001, 2_000, 2_001, 200, 400_100, 2_001, 2)
    assert (es.days_traded, es.auctions, es.auctions_traded, es.auction_volume) == (1, 3, 2, 200)
    # 森林: no trade on Monday, 50 t at ¥10,000 on Tuesday
    assert forest.bar == daily_report.DayBar(10_000, 10_000, 10_000, 10_000, 50, 500_000, 10_000, 1)
    assert (forest.days_traded, forest.auctions, forest.auctions_traded) == (1, 2, 1)
    assert forest.reference_price == 10_000  # after the period: Tuesday's report's
    totals = rep.totals
    assert (totals.volume, totals.value, totals.trades, totals.days_traded) == (
        250,
        900_100,
        3,
        2,
    )
    index = {i.id: i for i in rep.indices}
    assert dataclasses.astuple(index[IX_ES])[3:] == (2, 2_001, 2_001, 2_001, 2_001, 0, False)
    assert (index[IX_FOREST].first, index[IX_FOREST].last) == (9_801, 10_000)
    assert index[IX_FOREST].change == 199


def test_the_month_equals_the_week_when_they_hold_the_same_days(market: Market) -> None:
    week = period_report.build(market.db, market.x, WEEK)
    month = period_report.build(market.db, market.x, MONTH)
    assert (month.kind, month.start, month.end) == ("monthly", "2026-01-01", "2026-01-31")
    assert month.instruments == week.instruments and month.indices == week.indices
    assert month.totals == week.totals and month.registry == week.registry


def test_sealed_results_and_registry_activity_of_the_period(market: Market) -> None:
    rep = period_report.build(market.db, market.x, WEEK)
    [sealed] = rep.sealed_auctions
    assert (sealed.title, sealed.clearing_price, sealed.sold, sealed.unsold, sealed.bidders) == (
        "Energy saving lot",
        1_600,
        20,
        10,
        1,
    )
    [jc] = rep.registry
    # issued at the set-up (Monday 08:00 Tokyo); 20 t delivered on the award; 5 t retired
    assert (jc.scheme, jc.issued, jc.retired, jc.transferred) == ("JC", 15_000, 5, 20)
    assert (rep.totals.issued, rep.totals.retired, rep.totals.transferred) == (15_000, 5, 20)
    # the week before has neither market data nor a report
    with pytest.raises(NotFound) as e:
        period_report.build(market.db, market.x, period_report.week("2026-W01"))
    assert e.value.code == "no_market_data" and "2025-12-29 to 2026-01-04" in str(e.value)


def test_iso_weeks_and_months_are_checked(market: Market) -> None:
    with pytest.raises(InvalidInput) as e:
        period_report.week("2025-W53")
    assert e.value.code == "invalid_week" and "weeks 01 to 52" in str(e.value)
    assert period_report.week("2026-W53").start == dt.date(2026, 12, 28)
    for bad in ("2026-13", "2026-00", "26-01"):
        with pytest.raises(InvalidInput):
            period_report.month(bad)
    assert [p.name for p in period_report.periods(market.db, "weekly")] == ["2026-W02"]
    assert [p.name for p in period_report.periods(market.db, "monthly")] == ["2026-01"]


def test_labels_in_japanese_and_english(market: Market) -> None:
    rep = period_report.build(market.db, market.x, WEEK)
    ja, en = document.to_html(rep, "ja"), document.to_html(rep, "en")
    for word in (
        "週報",
        "始値",
        "高値",
        "安値",
        "終値",
        "省エネルギー",
        "約定日数",
        "無効化",
        "入札",
    ):
        assert word in ja, word
    for word in ("Weekly Report", "Open", "Close", "Days traded", "Registry activity", "Issued"):
        assert word in en, word
    assert 'lang="ja"' in ja and "400,100" in ja and "+199" in ja
    assert "/v1/market/reports/2026-01-06?format=html&amp;lang=en" in en
    month = document.to_html(period_report.build(market.db, market.x, MONTH), "ja")
    assert "月報" in month
    # the daily report links to its week and its month
    day = daily_document.to_html(daily_report.build(market.db, market.x, DAY1), "ja")
    assert "/v1/market/reports/weekly/2026-W02?format=html&amp;lang=ja" in day
    assert "/v1/market/reports/monthly/2026-01?format=html&amp;lang=ja" in day


def test_the_csv_parses_and_carries_every_figure(market: Market) -> None:
    rep = period_report.build(market.db, market.x, WEEK)
    rows = list(csv.DictReader(io.StringIO(document.to_csv(rep, "ja"))))
    bar = next(r for r in rows if r["record"] == "bar" and r["id"] == ES)
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["vwap"]) == (
        "2000",
        "2001",
        "2000",
        "2001",
        "2001",
    )
    assert (bar["volume"], bar["days_traded"], bar["auctions"], bar["name"]) == (
        "200",
        "1",
        "3",
        "省エネルギー",
    )
    index = next(r for r in rows if r["record"] == "index" and r["id"] == IX_FOREST)
    assert (index["first"], index["last"], index["change"]) == ("9801", "10000", "199")
    assert next(r for r in rows if r["record"] == "sealed_auction")["clearing_price"] == "1600"
    reg = next(r for r in rows if r["record"] == "registry")
    assert (reg["id"], reg["issued"], reg["retired"], reg["transferred"]) == (
        "JC",
        "15000",
        "5",
        "20",
    )
    total = next(r for r in rows if r["record"] == "total")
    assert (total["volume"], total["value"], total["trades"]) == ("250", "900100", "3")


def test_the_pdf_has_pages_in_both_languages(market: Market) -> None:
    for period in (WEEK, MONTH):
        rep = period_report.build(market.db, market.x, period)
        for lang in ("en", "ja"):
            doc = document.to_pdf(rep, lang)
            assert doc.startswith(b"%PDF-") and doc.rstrip().endswith(b"%%EOF")
            assert re.search(rb"/Type\s*/Pages", doc) and re.search(rb"/Count\s+[1-9]", doc)
            assert b"/FontFile2" in doc  # the TrueType font is embedded


def test_period_reports_over_http(market: Market) -> None:
    with TestClient(create_app(market.db)) as client:
        weeks = client.get("/v1/market/reports/weekly")
        assert weeks.status_code == 200
        [w] = weeks.json()
        assert (w["period"], w["start"], w["end"]) == ("2026-W02", "2026-01-05", "2026-01-11")
        assert w["links"]["pdf_ja"] == "/v1/market/reports/weekly/2026-W02?format=pdf&lang=ja"
        months = client.get("/v1/market/reports/monthly").json()
        assert [m["period"] for m in months] == ["2026-01"]
        for base in ("/v1/market/reports/weekly/2026-W02", "/v1/market/reports/monthly/2026-01"):
            js = client.get(base)
            assert js.status_code == 200 and js.json()["totals"]["volume"] == 250
            html = client.get(base, params={"format": "html", "lang": "ja"})
            assert html.status_code == 200 and "text/html" in html.headers["content-type"]
            text = client.get(base, params={"format": "csv", "lang": "en"})
            assert text.headers["content-type"].startswith("text/csv")
            assert next(csv.reader(io.StringIO(text.text)))[0] == "record"
            doc = client.get(base, params={"format": "pdf", "lang": "en"})
            assert doc.headers["content-type"] == "application/pdf"
            assert doc.content.startswith(b"%PDF")
            for body in (js.text, html.text, text.text):
                for secret in ("SELLER", "BUYER", "OPERATOR"):
                    assert secret not in body
        missing = client.get("/v1/market/reports/weekly/2026-W05")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_market_data"
        no_week = client.get("/v1/market/reports/weekly/2025-W53")
        assert no_week.status_code == 422
        assert no_week.json()["error"]["code"] == "invalid_week"
        assert client.get("/v1/market/reports/weekly/2026-W53").status_code == 404
        for bad in ("/weekly/2026-49", "/weekly/2026-W1", "/monthly/2026-13", "/monthly/2026-1"):
            assert client.get(f"/v1/market/reports{bad}").status_code == 422, bad
        assert client.get("/v1/market/reports/monthly/2026-02").status_code == 404
        # the daily listing and report still answer beside the period routes
        assert [d["date"] for d in client.get("/v1/market/reports").json()] == [
            DAY2.isoformat(),
            DAY1.isoformat(),
        ]
