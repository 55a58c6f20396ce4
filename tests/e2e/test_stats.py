"""The public statistics (issue 22) through the API and the page: every figure on /stats is the
same as its JSON and CSV twins; bad input answers a clear 4xx; in Chromium the charts draw with
no console error and no request leaving the machine, in English and Japanese."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import registry, taxonomy
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import add_participant, bootstrap, counter_clock
from tests.e2e.test_public_page import CHROMIUM_ARGS, chromium

pytestmark = [
    pytest.mark.fast_backends("sqlite"),  # PostgreSQL: the integration tests, and make test-all
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def small_registry(db: Database) -> None:
    """Two holders, credits of two schemes in a prefecture and abroad, a transfer and a
    retirement."""
    seller = add_participant(db, "STSELL")
    add_participant(db, "STBUY")
    for pid, scheme, category, country, region in (
        ("SP1", "JC", "FOREST", "JP", "長野県"),
        ("SP2", "JM", "JCM", "TH", "Rayong"),
    ):
        taxonomy.register_project(
            db,
            SYSTEM,
            taxonomy.NewProject(pid, scheme, f"Project {pid}", category, country, region=region),
        )
        registry.issue(db, SYSTEM, registry.NewIssuance(pid, "ER", "1", 2023, 500, "STSELL-MAIN"))
    registry.transfer(db, seller, "STSELL-MAIN", "STBUY-MAIN", registry.Selection(120))
    registry.retire(
        db,
        seller,
        registry.RetirementRequest("STSELL-MAIN", registry.Selection(40), ["offset_scope1"]),
    )


def test_every_figure_is_the_same_as_html_json_and_csv(db: Database) -> None:
    small_registry(db)
    with TestClient(create_app(db)) as http:
        answer = http.get("/v1/stats/registry?by=region").json()
        rows = {r["key"]: r for r in answer["rows"]}
        assert rows["長野県"]["issued"] == 500 and rows["TH"]["issued"] == 500
        assert sum(r["transferred"] for r in rows.values()) == 120
        assert sum(r["retired"] for r in rows.values()) == 40
        assert answer["period"]["as_of_seq"] == db.journal_seq()

        table = http.get("/v1/stats/registry?by=region&format=csv")
        assert table.headers["content-type"].startswith("text/csv")
        from_csv = {r["key"]: r for r in csv.DictReader(io.StringIO(table.text))}
        assert {k: int(v["issued"]) for k, v in from_csv.items()} == {
            k: v["issued"] for k, v in rows.items()
        }

        page = http.get("/stats?by=region")
        assert page.status_code == 200
        for key, row in rows.items():
            assert f'data-key="{key}"' in page.text
            assert f"{row['issued']:,}" in page.text
        assert 'href="/v1/stats/registry?by=region"' in page.text
        assert "format=csv" in page.text
        ja = http.get("/ja/stats?by=region")
        assert "登録簿と市場の統計" in ja.text and "長野県" in ja.text

        purposes = http.get("/v1/stats/retirements").json()["rows"]
        assert purposes == [{"purpose": "offset_scope1", "quantity": 40, "retirements": 1}]
        people = http.get("/v1/stats/participants").json()["rows"]
        assert sum(r["registered"] for r in people) == 2
        assert "STSELL" not in http.get("/v1/stats/participants?format=csv").text


def test_bad_input_answers_a_clear_4xx_never_a_500(db: Database) -> None:
    with TestClient(create_app(db)) as http:
        r = http.get("/v1/stats/registry?by=colour")
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_grouping"
        assert "scheme, category" in r.json()["error"]["message"]
        r = http.get("/v1/stats/market?from=2026-12-05&to=2026-12-01")
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_period"
        assert "2026-12-05" in r.json()["error"]["message"]
        assert http.get("/v1/stats/market?from=yesterday").status_code == 422
        page = http.get("/ja/stats?from=2026-13-40")
        assert page.status_code == 400
        assert "2026-12-01 のような日付ではありません" in page.text
        assert http.get("/stats?by=colour").status_code == 400


@pytest.fixture
def stats_server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    bootstrap(db)
    small_registry(db)
    db.dispose()
    server = Server(url, tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.browser
def test_in_chromium_the_charts_draw_with_no_error_and_nothing_from_another_host(
    stats_server: Server,
) -> None:
    from playwright.sync_api import sync_playwright

    host = urlparse(stats_server.url).netloc
    errors: list[str] = []
    elsewhere: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on(
                "request",
                lambda r: (
                    elsewhere.append(r.url)
                    if not r.url.startswith("data:") and urlparse(r.url).netloc != host
                    else None
                ),
            )
            for path, heading in (("/stats", "Statistics"), ("/ja/stats", "統計")):
                page.goto(stats_server.url + path)
                assert heading in page.locator("h1").inner_text()
                bars = page.locator("#chart-issued svg g.bar")
                assert bars.count() == 2
                widths = [
                    float(bars.nth(i).locator("rect").get_attribute("width") or 0) for i in range(2)
                ]
                assert all(w > 0 for w in widths)
                assert page.locator("#chart-purposes svg g.bar").count() == 1
                box = page.locator("#chart-issued svg").bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 20
        finally:
            browser.close()
    assert errors == []
    assert elsewhere == []


def test_the_check_command_finds_a_tampered_figure_and_rebuild_mends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update
    from typer.testing import CliRunner

    from tanso.cli import app
    from tanso.store.schema_stats import stats_registry

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    bootstrap(db)
    small_registry(db)
    monkeypatch.setenv("TANSO_DATABASE_URL", url)
    runner = CliRunner()
    ok = runner.invoke(app, ["stats", "check"])
    assert ok.exit_code == 0, ok.output
    assert "match the journal" in ok.output
    with db.engine.begin() as conn:
        conn.execute(
            update(stats_registry)
            .where(stats_registry.c.measure == "retired")
            .values(quantity=stats_registry.c.quantity + 1)
        )
    bad = runner.invoke(app, ["stats", "check"])
    assert bad.exit_code == 1
    assert "stored" in bad.output + (bad.stderr if bad.stderr_bytes else "")
    assert runner.invoke(app, ["stats", "rebuild"]).exit_code == 0
    assert runner.invoke(app, ["stats", "check"]).exit_code == 0
    db.dispose()
