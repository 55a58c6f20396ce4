"""The emissions screen in Chromium: record a year, see the residual, have a retirement beyond
it refused by the hierarchy rule, and see the claim counted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_portal import PASSWORD, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_in_chromium_an_inventory_bounds_what_a_retirement_may_claim(
    server: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "/portal")
            page.get_by_label("Email").fill("administrator@alpha.example.jp")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            expect(page).to_have_url(re.compile(r"/portal$"))
            page.goto(server.url + "/portal/emissions")
            expect(page.locator("#no-inventory")).to_be_visible()
            page.get_by_label("Year").fill("2025")
            page.get_by_label("Scope 1", exact=True).fill("500")
            page.get_by_label("Own reductions, Scope 1").fill("100")
            page.get_by_label("6. Business travel").fill("40")
            page.get_by_role("button", name="Save the year").click()
            expect(page.locator("#notice")).to_contain_text("2025")
            expect(page.locator('#position tr[data-scope="1"] .residual')).to_have_text("400")
            # a Scope 1 offset beyond the residual is refused, naming the rule
            page.goto(server.url + "/portal/retire")
            page.get_by_label("Quantity (t)").fill("401")
            page.get_by_label("Purpose").select_option("offset_scope1")
            page.get_by_label("Reporting year").fill("2025")
            page.get_by_role("button", name="Check", exact=True).click()
            expect(page.locator("#check-outcome")).to_have_attribute("data-allowed", "false")
            expect(page.locator("#check-uses")).to_contain_text("HIERARCHY")
            expect(page.locator("#confirm-retire")).to_have_count(0)
            page.get_by_label("Quantity (t)").fill("400")
            page.get_by_role("button", name="Check", exact=True).click()
            expect(page.locator("#check-claims")).to_contain_text("400")
            page.get_by_role("button", name="Retire these credits — cannot be undone").click()
            expect(page.locator("#notice")).to_contain_text("Retired 400 t")
            page.goto(server.url + "/portal/emissions?year=2025")
            expect(page.locator('#position tr[data-scope="1"] .residual')).to_have_text("0")
            expect(page.locator("#claims")).to_contain_text("offset_scope1")
            page.goto(server.url + "/portal/emissions?year=2025&lang=ja")
            expect(page.locator("h1")).to_have_text("排出量インベントリ")
            page.screenshot(path=str(tmp_path / "emissions-ja.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
