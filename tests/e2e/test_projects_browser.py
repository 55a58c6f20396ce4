"""The public project pages in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright) against a real `tanso serve`, in one browser: /projects and /ja/projects draw the map
(47 prefecture paths, the JCM partner countries) from the shipped boundary data, a project's page
draws its price history, a region of the map leads to the filtered list, the list leads to the
methodologies (issue 23) and a methodology's formula; no script error, no
console error, and no request to any host but the test server (no tiles, no fonts, no CDN)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import registry, taxonomy
from tests.e2e.test_public_page import (
    CHROMIUM_ARGS,
    HISTORY_DAYS,
    WAIT_MS,
    chromium,
    new_database,
    prepare_market,
)

PROJECT = "CHIBAES1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A market with a week of ES trades and a Chiba energy-saving project whose credits ES
    admits, plus a JCM project in Viet Nam."""
    url = f"sqlite:///{tmp_path / 'projects.db'}"
    db, clock = new_database(url)

    def set_day(day: dt.date) -> None:
        clock.day = day

    prepare_market(db, set_day)
    for pid, scheme, category, country, region in (
        (PROJECT, "JC", "ENERGY_SAVING", "JP", "千葉県"),
        ("VNJCM1", "JM", "JCM", "VN", "Ha Noi"),
    ):
        taxonomy.register_project(
            db,
            SYSTEM,
            taxonomy.NewProject(
                pid, scheme, f"Project {pid}", category, country, region=region, name_ja=pid
            ),
        )
        registry.issue(
            db, SYSTEM, registry.NewIssuance(pid, "ER", "1", 2024, 5_000, "SELLER1-MAIN")
        )
    db.dispose()
    s = Server(url, tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.browser
def test_in_chromium_the_map_and_the_price_history_draw_with_no_error_and_no_outside_request(
    server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US")
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
            )
            page.on("request", lambda r: requests.append(r.url))

            page.goto(server.url + "/projects")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("#japan-map")).to_be_visible(timeout=WAIT_MS)
            assert page.locator("#japan-map path").count() == 47
            box = page.locator("#japan-map").bounding_box()
            assert box is not None and box["width"] > 150 and box["height"] > 150
            chiba = page.locator('#japan-map a[data-prefecture="千葉県"]')
            assert chiba.get_attribute("data-issued") == "5000"
            assert (
                page.locator('#world-map a[data-country="VN"]').get_attribute("data-issued")
                == "5000"
            )
            page.screenshot(path=str(tmp_path / "projects-en.png"), full_page=True)

            chiba.click()  # a region leads to the list filtered to it
            expect(page.locator("#project-list tbody tr")).to_have_count(1, timeout=WAIT_MS)
            expect(page.locator(f'#project-list tr[data-project="{PROJECT}"]')).to_be_visible()

            page.goto(server.url + "/ja/projects")
            expect(page.locator("html")).to_have_attribute("lang", "ja")
            expect(page.locator("#list-heading")).to_have_text("プロジェクト一覧")
            assert page.locator("#japan-map path").count() == 47
            expect(page.locator('#world-map a[data-country="VN"] title')).to_contain_text(
                "ベトナム"
            )

            page.goto(server.url + f"/projects/{PROJECT}")
            chart = page.locator('#project-prices figure[data-instrument="ES"] svg.price-chart')
            expect(chart).to_be_visible(timeout=WAIT_MS)
            assert chart.get_attribute("data-points") == str(HISTORY_DAYS)
            points = chart.locator("polyline").get_attribute("points") or ""
            assert len(points.split()) == HISTORY_DAYS
            chart_box: Any = chart.bounding_box()
            assert chart_box["width"] > 200 and chart_box["height"] > 50
            page.screenshot(path=str(tmp_path / "project-en.png"), full_page=True)

            page.goto(server.url + "/projects")  # the project cycle's pages, from the list
            page.locator("#cycle-links a[href='/methodologies']").click()
            page.locator('#methodologies a[href="/methodologies/FO-001"]').click()
            expect(page.locator("code.formula").first).to_contain_text("sum(stem_volume_growth_m3)")
            expect(page.locator('tr[data-parameter="wood_density"]').first).to_be_visible()
            page.goto(server.url + "/ja/projects/plans")
            expect(page.locator("h1")).to_have_text("登録前のプロジェクト計画書")
            expect(page.locator("#no-plans")).to_be_visible()
        finally:
            browser.close()

    assert errors == []
    outside = [u for u in requests if not u.startswith(server.url) and not u.startswith("data:")]
    assert outside == []
    assert any(u.startswith(server.url + "/static/public.css") for u in requests)
