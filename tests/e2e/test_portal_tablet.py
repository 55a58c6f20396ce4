"""The portal at tablet width in headless Chromium: 768 x 1024, every main screen in English and
Japanese, no page wider than the screen (wide tables scroll inside their own box), and the menu
usable: every link on screen and reachable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.store.db import Database
from tests.e2e.test_portal import PASSWORD, prepare

TABLET = {"width": 768, "height": 1024}

PARTICIPANT_SCREENS = [
    "/portal",
    "/portal/holdings/ALPHA-MAIN",
    "/portal/orders",
    "/portal/orders/history",
    "/portal/trades",
    "/portal/transfer",
    "/portal/retire",
    "/portal/retirements",
    "/portal/cash",
    "/portal/keys",
    "/portal/users",
    "/portal/security",
]
OPERATOR_SCREENS = [
    "/portal/operator",
    "/portal/operator/participants",
    "/portal/operator/users",
    "/portal/operator/instruments",
    "/portal/operator/settlement",
    "/portal/operator/projects",
    "/portal/operator/issuance",
    "/portal/operator/fees",
    "/portal/operator/journal",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate
    from tests.e2e.test_public_page import Server

    url = f"sqlite:///{tmp_path / 'tablet.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    prepare(db)
    users.create(
        db,
        SYSTEM,
        NewUser("OPERATOR", "ops@tanso.example.jp", "Market ops", "administrator", PASSWORD),
    )
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running
    finally:
        running.stop()


OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth)
  .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 4).join(' ')"""
OFF_SCREEN_LINKS = """() => [
  ...document.querySelectorAll('header nav a, header nav button, nav.op-nav a')]
  .filter(a => { const r = a.getBoundingClientRect();
                 return r.width === 0 || r.left < 0 || r.right > window.innerWidth; })
  .map(a => a.textContent.trim())"""


def log_in(page: Any, url: str, email: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/portal/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#main h1").first).to_be_visible()


@pytest.mark.browser
def test_every_screen_fits_a_tablet_and_its_menu_is_usable(server: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    too_wide: list[str] = []
    hidden_links: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for email, screens in (
                ("administrator@alpha.example.jp", PARTICIPANT_SCREENS),
                ("ops@tanso.example.jp", OPERATOR_SCREENS),
            ):
                context = browser.new_context(viewport=TABLET, locale="en-US", has_touch=True)
                page = context.new_page()
                page.set_default_timeout(WAIT_MS)
                log_in(page, server.url, email)
                for lang in ("en", "ja"):
                    for path in screens:
                        page.goto(f"{server.url}{path}?lang={lang}")
                        expect(page.locator("html")).to_have_attribute("lang", lang)
                        over = page.evaluate(OVERFLOW)
                        if over > 0:
                            culprit = page.evaluate(WIDEST)
                            too_wide.append(f"{path} {lang}: {over}px {culprit}")
                            page.screenshot(
                                path=str(tmp_path / f"wide{path.replace('/', '_')}-{lang}.png")
                            )
                        hidden_links += [
                            f"{path} {lang}: {name}" for name in page.evaluate(OFF_SCREEN_LINKS)
                        ]
                # the menu works by touch: tap through to another screen and back
                page.goto(f"{server.url}{screens[0]}?lang=en")
                menu = page.get_by_role("navigation", name="Portal menu")
                menu.get_by_role("link", name="Trades").tap()
                expect(page).to_have_url(re.compile(r"/portal/trades$"))
                expect(page.locator("#main h1")).to_have_text("Trades and settlement")
                page.get_by_role("navigation", name="Portal menu").get_by_role(
                    "link", name="Accounts"
                ).tap()
                expect(page).to_have_url(re.compile(r"/portal$"))
                context.close()
        finally:
            browser.close()
    assert too_wide == []
    assert hidden_links == []
