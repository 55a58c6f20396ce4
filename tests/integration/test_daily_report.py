"""The daily market report (日報) against the auctions and bars of a scenario built through the
Exchange service, on SQLite and PostgreSQL: figures, labels in both languages, CSV, PDF, HTTP.

The scenario is the one of test_indices (two trading days on the standard instruments).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.domain.errors import NotFound
from tanso.services.marketdata import daily_report, indices
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web.documents import daily_report as document
from tests.integration.test_indices import (
    DAY1,
    DAY2,
    ES,
    FOREST,
    IX_ES,
    RE,
    Market,
    open_market,
    trade_day_1,
    two_days,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def market(db: Database) -> Market:
    m = open_market(db)
    two_days(m)
    return m


def by_id(rep: daily_report.DailyReport) -> dict[str, daily_report.InstrumentDay]:
    return {r.id: r for r in rep.instruments}


def test_figures_match_the_auctions_and_bars(market: Market) -> None:
    rep = daily_report.build(market.db, market.x, DAY1)
    rows = by_id(rep)
    es = rows[ES]
    assert [(a.time, a.price, a.volume) for a in es.auctions] == [
        ("11:30", 2_000, 100),
        ("15:00", 2_001, 100),
    ]
    assert es.bar == daily_report.DayBar(
        open=2_000,
        high=2_001,
        low=2_000,
        close=2_001,
        volume=200,
        value=400_100,
        vwap=2_001,
        trades=2,
    )
    # 基準値段 for day 2 is day 1's last auction price; limits ±90% on a ¥1 tick
    assert (es.reference_price, es.lower_limit, es.upper_limit) == (2_001, 201, 3_801)
    forest = rows[FOREST]
    assert forest.bar is None
    assert [(a.price, a.volume) for a in forest.auctions] == [(None, 0)]
    assert forest.reference_price == 9_800  # no trade: the previous reference price
    assert rows["JPX-OTHER"].auctions == []
    assert rep.totals == daily_report.Totals(volume=200, value=400_100)
    assert rep.next_business_day == "2026-01-06"
    assert {i.id: i.value for i in rep.indices}[IX_ES] == 2_001
    # the figures agree with the stored auctions and bars
    with market.db.read() as conn:
        stored = conn.execute(
            select(t.auctions).where(t.auctions.c.trade_date == "2026-01-05")
        ).all()
        bar = conn.execute(
            select(t.bars).where(
                t.bars.c.instrument_id == ES,
                t.bars.c.interval == "1d",
                t.bars.c.period_start == "2026-01-05",
            )
        ).one()
    reported = [(r.id, a.price, a.volume) for r in rep.instruments for a in r.auctions]
    assert sorted(reported, key=str) == sorted(
        [(s.instrument_id, s.price, s.volume) for s in stored], key=str
    )
    assert (bar.open, bar.close, bar.volume) == (2_000, 2_001, 200)


def test_the_latest_day_reads_reference_and_limits_from_the_engine(market: Market) -> None:
    rows = by_id(daily_report.build(market.db, market.x, DAY2))
    lower, upper = market.x.engine.limits(FOREST)
    assert (rows[FOREST].reference_price, rows[FOREST].lower_limit) == (10_000, lower)
    assert rows[FOREST].upper_limit == upper
    assert rows[ES].reference_price == 2_001 and rows[RE].reference_price == 4_257


def test_labels_in_japanese_and_english(market: Market) -> None:
    rep = daily_report.build(market.db, market.x, DAY1)
    ja, en = document.to_html(rep, "ja"), document.to_html(rep, "en")
    for word in (
        "日報",
        "始値",
        "高値",
        "安値",
        "終値",
        "翌日基準値段",
        "値幅制限",
        "売買不成立",
        "省エネルギー",
    ):
        assert word in ja
    for word in (
        "Daily Report",
        "Open",
        "High",
        "Low",
        "Close",
        "Next reference price",
        "no trade",
    ):
        assert word in en
    assert 'lang="ja"' in ja and "2,001" in ja and "9,801" in ja


def test_the_csv_parses_and_carries_every_figure(market: Market) -> None:
    rep = daily_report.build(market.db, market.x, DAY1)
    rows = list(csv.DictReader(io.StringIO(document.to_csv(rep, "ja"))))
    auctions = [
        (r["id"], r["time"], r["price"], r["volume"]) for r in rows if r["record"] == "auction"
    ]
    assert (ES, "11:30", "2000", "100") in auctions and (ES, "15:00", "2001", "100") in auctions
    forest = [r for r in rows if r["record"] == "auction" and r["id"] == FOREST]
    assert forest[0]["price"] == "" and forest[0]["note"] == "売買不成立"
    bar = next(r for r in rows if r["record"] == "bar" and r["id"] == ES)
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["vwap"]) == (
        "2000",
        "2001",
        "2000",
        "2001",
        "2001",
    )
    ref = next(r for r in rows if r["record"] == "reference" and r["id"] == ES)
    assert (ref["reference_price"], ref["lower_limit"], ref["upper_limit"]) == (
        "2001",
        "201",
        "3801",
    )
    assert ref["valid_for"] == "2026-01-06" and ref["name"] == "省エネルギー"
    index = next(r for r in rows if r["record"] == "index" and r["id"] == IX_ES)
    assert (index["price"], index["rule"]) == ("2001", "vwap")


def test_the_pdf_has_pages_in_both_languages(market: Market) -> None:
    rep = daily_report.build(market.db, market.x, DAY1)
    for lang in ("en", "ja"):
        pdf = document.to_pdf(rep, lang)
        assert pdf.startswith(b"%PDF-")
        assert re.search(rb"/Type\s*/Pages", pdf) and re.search(rb"/Count\s+[1-9]", pdf)
        assert pdf.rstrip().endswith(b"%%EOF")
    assert b"+IPAexGothic" in document.to_pdf(rep, "ja")  # embedded: test_pdf_fonts.py


def test_a_day_without_market_data_is_not_found(market: Market) -> None:
    with pytest.raises(NotFound):
        daily_report.build(market.db, market.x, dt.date(2026, 1, 7))
    assert daily_report.report_dates(market.db) == ["2026-01-06", "2026-01-05"]


def test_a_day_with_auctions_but_no_index_values_still_reports(db: Database) -> None:
    m = open_market(db)
    trade_day_1(m)
    rep = daily_report.build(db, m.x, DAY1)
    assert rep.indices == [] and by_id(rep)[ES].bar is not None
    assert "未公表" in document.to_html(rep, "ja")
    assert indices.latest(db) == []


def test_reports_over_http(market: Market) -> None:
    with TestClient(create_app(market.db)) as client:
        listing = client.get("/v1/market/reports")
        assert listing.status_code == 200
        assert [d["date"] for d in listing.json()] == ["2026-01-06", "2026-01-05"]
        base = "/v1/market/reports/2026-01-05"
        js = client.get(base)
        assert js.status_code == 200 and js.json()["date"] == "2026-01-05"
        html = client.get(base, params={"format": "html", "lang": "ja"})
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        assert "日報" in html.text
        text = client.get(base, params={"format": "csv", "lang": "en"})
        assert text.headers["content-type"].startswith("text/csv")
        assert next(csv.reader(io.StringIO(text.text)))[0] == "record"
        pdf = client.get(base, params={"format": "pdf", "lang": "ja"})
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        missing = client.get("/v1/market/reports/2026-01-07")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_market_data"
        assert client.get("/v1/market/reports/2026-13-01").status_code == 422
        assert client.get("/v1/market/reports/yesterday").status_code == 422
        assert client.get(base, params={"format": "doc"}).status_code == 422
        for body in (listing.text, js.text, html.text, text.text):
            for secret in ("SELLER", "BUYER", "OPERATOR"):
                assert secret not in body
    assert DAY2 > DAY1
