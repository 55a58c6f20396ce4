"""The weekly and monthly market reports over HTTP, on both backends, against the public page's
market (eight weekdays of history, a week boundary crossed): the listings, every form of every
period, the figures against the daily reports fetched over HTTP, the links from the public page
and the daily report, and the refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.store.db import Database
from tests.e2e.test_public_page import HISTORY_DAYS, DayClock, past_weekdays, prepare_market

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.fast_backends("sqlite"),  # PostgreSQL: the integration tests, and make test-all
]


def iso_week(day: str) -> str:
    iso = dt.date.fromisoformat(day).isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def test_weekly_and_monthly_reports_add_up_the_daily_reports_over_http(db: Database) -> None:
    clock = DayClock()
    clock.day = past_weekdays(HISTORY_DAYS)[0] - dt.timedelta(days=1)  # listed before the history
    db.clock = clock

    def set_day(day: dt.date) -> None:
        clock.day = day

    prepare_market(db, set_day)
    with TestClient(create_app(db)) as http:
        days = [d["date"] for d in http.get("/v1/market/reports").json()]
        daily = {d: http.get(f"/v1/market/reports/{d}").json() for d in days}
        for kind, period_of in (("weekly", iso_week), ("monthly", lambda d: d[:7])):
            listing = http.get(f"/v1/market/reports/{kind}")
            assert listing.status_code == 200
            names = [p["period"] for p in listing.json()]
            assert names == sorted({period_of(d) for d in days}, reverse=True)
            for p in listing.json():
                rep = http.get(p["links"]["json"])
                assert rep.status_code == 200, rep.text
                body = rep.json()
                mine = sorted(d for d in days if period_of(d) == p["period"])
                assert body["days"] == mine and (body["start"], body["end"]) == (
                    p["start"],
                    p["end"],
                )
                assert body["totals"]["volume"] == sum(daily[d]["totals"]["volume"] for d in mine)
                assert body["totals"]["value"] == sum(daily[d]["totals"]["value"] for d in mine)
                es = next(r for r in body["instruments"] if r["id"] == "ES")
                bars = [
                    b
                    for d in mine
                    for r in daily[d]["instruments"]
                    if r["id"] == "ES" and (b := r["bar"])
                ]
                assert (es["bar"]["open"], es["bar"]["close"]) == (
                    bars[0]["open"],
                    bars[-1]["close"],
                )
                assert es["bar"]["high"] == max(b["high"] for b in bars)
                assert es["days_traded"] == len(bars)
                for form in ("html_en", "html_ja", "csv_en", "csv_ja", "pdf_en", "pdf_ja"):
                    r = http.get(p["links"][form])
                    assert r.status_code == 200, (form, r.text[:200])
                for secret in ("BUYER1", "SELLER1"):
                    assert secret not in rep.text
        assert len(http.get("/v1/market/reports/weekly").json()) >= 2  # a week boundary crossed
        assert sum(daily[d]["totals"]["volume"] for d in days) > 0

        # the public page and the daily report link to the weeks and months
        week, month = iso_week(days[0]), days[0][:7]
        page = http.get("/").text
        assert f"/v1/market/reports/weekly/{week}?format=html&amp;lang=en" in page
        assert f"/v1/market/reports/monthly/{month}?format=pdf&amp;lang=en" in page
        ja = http.get("/ja").text
        assert "週報" in ja and "月報" in ja
        html = http.get(f"/v1/market/reports/{days[0]}", params={"format": "html"}).text
        assert f"/v1/market/reports/weekly/{week}?format=html&amp;lang=en" in html

        # refusals: a week its year does not have, malformed periods, periods without data
        refused = http.get("/v1/market/reports/weekly/2025-W53")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_week"
        assert "2025" in refused.json()["error"]["message"]
        assert http.get("/v1/market/reports/weekly/2026-W54").status_code == 422
        assert http.get("/v1/market/reports/monthly/2026-00").status_code == 422
        assert http.get("/v1/market/reports/weekly/2000-W01").status_code == 404
        assert http.get("/v1/market/reports/monthly/2000-01").status_code == 404
        assert (
            http.get(f"/v1/market/reports/weekly/{week}", params={"lang": "fr"}).status_code == 422
        )
