"""What every answer tells the browser, and the site's own address (issue 14): a
Content-Security-Policy without inline script, nosniff, a referrer policy and no framing on
every HTML and API answer; the API documentation served from the installation under that
policy; certificate links from TANSO_PUBLIC_URL, never the Host header; portal forms refused
when Origin or Referer names another site. Styles without 'unsafe-inline': no template has a
style attribute, and only the stand-alone documents' <style> blocks are allowed, by hash. One
journey in headless Chromium checks that the public page, the portal's login, /docs, the
certificate, /verify, /auctions and portal and operator screens render with no CSP violation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tanso.api.app import create_app
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import registry
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web import security
from tests.conftest import add_issuance, add_participant

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client


def assert_protected(r: Any) -> None:
    csp = r.headers.get("content-security-policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'", csp
    assert directives["frame-ancestors"] == "'none'", csp
    assert "unsafe-inline" not in csp and "unsafe-hashes" not in csp, csp
    assert directives["style-src"].startswith("'self'"), csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin")


def test_every_html_api_file_and_error_answer_carries_the_security_headers(
    db: Database, http: TestClient
) -> None:
    answers = {
        "page": http.get("/"),
        "login": http.get("/portal/login"),
        "verify": http.get("/verify"),
        "api": http.get("/v1/market/instruments"),
        "health": http.get("/healthz"),
        "openapi": http.get("/openapi.json"),
        "docs": http.get("/docs"),
        "static": http.get("/static/public.js"),
        "not found": http.get("/v1/no-such-thing"),
        "unauthorised": http.post("/v1/transfers", json={}),
    }
    for name, r in answers.items():
        assert r.status_code in (200, 401, 404), (name, r.status_code)
        assert_protected(r)


def test_no_template_has_an_inline_script_or_event_handler(db: Database, http: TestClient) -> None:
    templates = Path(security.__file__).parent / "templates"
    for path in templates.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not INLINE_SCRIPT.search(text), path.name
        assert not INLINE_HANDLER.search(text), path.name
        assert "javascript:" not in text, path.name


STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)
STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def style_source(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


def test_no_template_has_a_style_attribute_and_only_stand_alone_documents_a_style_block(
    db: Database,
) -> None:
    templates = Path(security.__file__).parent / "templates"
    for path in templates.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not STYLE_ATTRIBUTE.search(text), path.name
        if path.name not in security.STANDALONE_STYLES:
            assert "<style" not in text, path.name
    for path in (Path(security.__file__).parent / "static").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "style=" not in text and "cssText" not in text, path.name


def test_the_stand_alone_documents_style_blocks_are_allowed_by_their_hashes_and_no_other(
    db: Database, http: TestClient
) -> None:
    from tanso.services.clearing import settlement
    from tanso.services.marketdata.daily_report import DailyReport, Totals
    from tanso.web import render
    from tanso.web.documents.daily_report import to_html as daily_html

    rid = retire(db)
    pages = {
        "certificate": http.get(f"/v1/certificates/{rid}.html").text,
        "verify": http.get(f"/verify/{rid}").text,
        "verify ja": http.get(f"/ja/verify/{rid}").text,
        "daily report": daily_html(
            DailyReport("2026-01-05", None, "JPY", [], [], Totals(0, 0)), "ja"
        ),
        "settlement report": render(
            "settlement_report.html", r=settlement.report(db, SYSTEM, dt.date(2026, 1, 5))
        ),
    }
    style_src = dict(d.split(" ", 1) for d in security.CSP.split("; "))["style-src"].split()
    assert style_src[0] == "'self'" and len(style_src) > 1
    allowed = set(style_src[1:])
    seen = set()
    for name, html in pages.items():
        blocks = STYLE_BLOCK.findall(html)
        assert blocks, name
        for block in blocks:
            assert style_source(block) in allowed, name
            seen.add(style_source(block))
    assert seen == allowed  # no hash allows a block that no document has


def test_a_style_block_with_a_template_tag_cannot_be_allowed_by_a_hash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "doc.html").write_text("<style>p { color: {{ colour }}; }</style>")
    monkeypatch.setattr(security, "TEMPLATES", tmp_path)
    with pytest.raises(ValueError, match="Jinja2"):
        security.style_hashes(("doc.html",))


def test_the_api_documentation_loads_swagger_ui_from_this_server_without_inline_script(
    http: TestClient,
) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not INLINE_SCRIPT.search(page.text)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") or s.startswith("data:") for s in sources), sources
    assert "/static/api_docs.js" in sources
    if "swagger-ui-bundle.js" in page.text:  # installed by `make web-assets`
        for s in sources:
            if not s.startswith("data:"):
                got = http.get(s)
                assert got.status_code == 200, s
                assert_protected(got)
    # /redoc (ReDoc) and both pages' files: tests/e2e/test_api_docs.py


def retire(db: Database) -> str:
    actor = add_participant(db, "HOSTA")
    issuance = add_issuance(db, "HOSTA-MAIN", 100, vintage=2022)
    done = registry.retire(
        db,
        actor,
        registry.RetirementRequest(
            "HOSTA-MAIN", registry.Selection(serials=f"{issuance}-1-10"), ["offset_scope2"]
        ),
    )
    return done.id


FORGED = {"Host": "evil.example"}


def test_a_forged_host_header_never_reaches_a_certificates_verify_url(
    db: Database, http: TestClient
) -> None:
    rid = retire(db)
    body = http.get(f"/v1/certificates/{rid}", headers=FORGED).json()
    assert body["verify_url"] == f"/verify/{rid}"  # no TANSO_PUBLIC_URL: a relative link
    for path in (f"/v1/certificates/{rid}.html", f"/verify/{rid}"):
        page = http.get(path, headers=FORGED)
        assert page.status_code == 200 and "evil.example" not in page.text, path
    pdf = http.get(f"/v1/certificates/{rid}.pdf", headers=FORGED)
    assert pdf.status_code == 200 and b"evil.example" not in pdf.content


def test_with_a_public_url_certificates_link_to_it_whatever_the_host(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = retire(db)
    monkeypatch.setenv("TANSO_PUBLIC_URL", "https://tanso.example.jp/")
    with TestClient(create_app(db)) as client:
        body = client.get(f"/v1/certificates/{rid}", headers=FORGED).json()
        page = client.get(f"/ja/verify/{rid}", headers=FORGED)
    assert body["verify_url"] == f"https://tanso.example.jp/verify/{rid}"
    assert f"https://tanso.example.jp/ja/verify/{rid}" in page.text
    assert "evil.example" not in page.text


def test_a_public_url_that_is_not_an_http_address_is_refused_at_start(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for bad in ("tanso.example.jp", "javascript:alert(1)", "https://x.example/?a=1"):
        monkeypatch.setenv("TANSO_PUBLIC_URL", bad)
        with pytest.raises(ValueError, match="http"):
            create_app(db)


# ---------------------------------------------------------------- Origin on portal forms


def portal_user(db: Database) -> None:
    add_participant(db, "ORIGA")
    users.create(
        db, SYSTEM, NewUser("ORIGA", "admin@origa.example.jp", "A", "administrator", PASSWORD)
    )


def login(http: TestClient, **headers: str) -> Any:
    token = CSRF_RE.search(http.get("/portal/login").text)
    assert token
    return http.post(
        "/portal/login",
        data={"csrf": token.group(1), "email": "admin@origa.example.jp", "password": PASSWORD},
        headers=headers,
    )


def sessions(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.portal_sessions)).scalar_one())


def test_a_form_posted_from_another_site_is_refused_by_origin_or_by_referer(
    db: Database, http: TestClient
) -> None:
    portal_user(db)
    before = sessions(db)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/attack.html"},  # a browser that sent no Origin
    ):
        r = login(http, **headers)
        assert r.status_code == 403, headers
        assert "Nothing was changed" in r.text
        assert_protected(r)
    assert sessions(db) == before
    assert login(http, Referer="http://testserver/portal/login").status_code == 303


def test_behind_a_proxy_the_public_url_is_this_sites_origin(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal_user(db)
    monkeypatch.setenv("TANSO_PUBLIC_URL", "https://tanso.example.jp")
    # the proxy passes Host: 127.0.0.1:8000; the browser names the public address
    with TestClient(create_app(db), follow_redirects=False, base_url="http://127.0.0.1:8000") as c:
        assert login(c, Origin="http://tanso.example.jp").status_code == 403
        assert login(c, Origin="https://tanso.example.jp.evil.example").status_code == 403
        assert login(c, Origin="https://tanso.example.jp").status_code == 303


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate

    url = f"sqlite:///{tmp_path / 'csp.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    # a certificate, a trader's administrator and an operator user: the pages that used to
    # carry style attributes or <style> blocks
    rid = retire(db)
    add_participant(db, "CSPA", ["trader"])
    for pid, email in (("CSPA", "admin@cspa.example.jp"), ("OPERATOR", "op@cspa.example.jp")):
        users.create(db, SYSTEM, NewUser(pid, email, "A", "administrator", PASSWORD))
    db.dispose()
    running = Server(url, tmp_path)
    running.retirement = rid  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        running.stop()


# every Content-Security-Policy violation the page sees, kept where the test can read it
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + " " + e.blockedURI);
});
"""


def console_error(message: Any, errors: list[str]) -> None:
    """Keep a console error, except the browser's own look for /favicon.ico on a document
    that names no icon (the stand-alone documents and the portal), which the site has not."""
    url = (message.location or {}).get("url", "")
    if message.type == "error" and not url.endswith("/favicon.ico"):
        errors.append(f"console: {message.text} {url}")


@dataclass
class Watched:
    """A Chromium page that records script errors, policy violations and every request for
    another host (aborted), and `visit`s this server's pages checking their policy header."""

    server: Server
    browser: Any
    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def visit(self, path: str) -> None:
        answer = self.page.goto(f"{self.server.url}{path}")
        assert answer is not None and answer.status == 200, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]


@contextmanager
def watched_chromium(server: Server) -> Iterator[Watched]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            w = Watched(server, browser, page)

            def only_this_server(route: Any) -> None:
                if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    w.outside.append(route.request.url)
                    route.abort()

            page.set_default_timeout(WAIT_MS)
            page.add_init_script(WATCH_CSP)
            page.route("**/*", only_this_server)
            page.on("pageerror", lambda e: w.errors.append(f"pageerror: {e}"))
            page.on("console", lambda m: console_error(m, w.errors))
            yield w
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_in_chromium_the_public_page_login_api_docs_documents_and_portal_render_under_the_csp(
    server: Server,
) -> None:
    from playwright.sync_api import expect

    from tests.e2e.test_public_page import WAIT_MS

    if not (security.swagger_ui_dir() / "swagger-ui-bundle.js").is_file():
        pytest.skip("swagger-ui-dist is not installed (make web-assets)")
    if not (security.redoc_dir() / security.REDOC_BUNDLE).is_file():
        pytest.skip("redoc is not installed (make web-assets)")
    with watched_chromium(server) as w:
        page, browser, visit, errors = w.page, w.browser, w.visit, w.errors
        seen: dict[str, list[str]] = {}

        visit("/")
        expect(page.locator("h1")).to_be_visible()
        page.wait_for_load_state("load")
        seen["/"] = page.evaluate("window.__csp || []")
        visit("/portal/login")
        expect(page.locator("input[name=email]")).to_be_visible()
        seen["/portal/login"] = page.evaluate("window.__csp || []")
        visit("/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tanso")
        expect(page.locator(".opblock").first).to_be_visible()
        page.locator(".opblock-summary").first.click()  # the UI answers, not just draws
        expect(page.locator(".opblock-body").first).to_be_visible()
        seen["/docs"] = page.evaluate("window.__csp || []")
        # ReDoc: test_in_chromium_redoc_renders_under_the_csp (full tier: it parses the whole
        # OpenAPI document, a minute and more on a busy machine)
        # the stand-alone documents (hashed <style>) and the public auctions page
        rid = server.retirement  # type: ignore[attr-defined]
        for path in (f"/v1/certificates/{rid}.html", f"/verify/{rid}", "/auctions"):
            visit(path)
            expect(page.locator("h1").first).to_be_visible()
            seen[path] = page.evaluate("window.__csp || []")
            if path != "/auctions":  # the certificate's own <style> applies
                display = "getComputedStyle(document.querySelector('.cert-head')).display"
                assert page.evaluate(display) == "flex", path
        layouts: list[str] = []
        for email, paths in (
            ("admin@cspa.example.jp", PORTAL_PAGES),
            ("op@cspa.example.jp", ("/portal/operator", "/portal/operator/journal")),
        ):
            context = browser.new_context(locale="en-US")
            context.add_init_script(WATCH_CSP)
            portal = context.new_page()
            portal.set_default_timeout(WAIT_MS)
            portal.on("console", lambda m: console_error(m, errors))
            portal.goto(f"{server.url}/portal/login")
            portal.fill("input[name=email]", email)
            portal.fill("input[name=password]", PASSWORD)
            portal.locator("form button[type=submit]").first.click()
            portal.wait_for_url(re.compile(r"/portal(/operator)?$"))
            for path in paths:
                answer = portal.goto(f"{server.url}{path}")
                assert answer is not None and answer.status == 200, path
                seen[path] = portal.evaluate("window.__csp || []")
                layouts += portal.evaluate(
                    "[...document.querySelectorAll('form.form-grid, .op-nav ul')]"
                    ".map(e => getComputedStyle(e).display)"
                )
            context.close()
    assert seen and all(v == [] for v in seen.values()), seen
    assert set(layouts) == {"grid", "flex"}, layouts  # the classes that replaced style=""
    assert errors == []
    assert w.outside == []  # every page, /docs included, works with no network


@pytest.mark.full
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_in_chromium_redoc_renders_under_the_csp(server: Server) -> None:
    """ReDoc (issue 18): the operations listed and drawn, its styles applied by nonce, no
    violation of the policy and nothing loaded from another host."""
    from playwright.sync_api import expect

    from tests.e2e.test_public_page import WAIT_MS

    if not (security.redoc_dir() / security.REDOC_BUNDLE).is_file():
        pytest.skip("redoc is not installed (make web-assets)")
    with watched_chromium(server) as w:
        page, visit = w.page, w.visit
        seen: dict[str, list[str]] = {}
        # ReDoc (issue 18): the operations listed and drawn, its styles applied by nonce
        visit("/redoc")
        title = page.locator("#redoc h1").first  # ReDoc draws once it has parsed
        # a guard, not a delay: ReDoc parses the whole document first (slow under load)
        expect(title).to_contain_text("Tanso", timeout=6 * WAIT_MS)
        operation = page.locator("[data-section-id^='operation/']").first
        expect(operation).to_be_visible()
        expect(operation.locator("h2").first).not_to_be_empty()
        expect(page.locator(".menu-content li[data-item-id^='tag/']").first).to_be_visible()
        menu = "getComputedStyle(document.querySelector('.menu-content')).position"
        assert page.evaluate(menu) == "sticky"  # ReDoc's own rules (styled-components) apply
        seen["/redoc"] = page.evaluate("window.__csp || []")
    assert seen["/redoc"] == []
    assert w.errors == []
    assert w.outside == []


PORTAL_PAGES = (
    "/portal",
    "/portal/marketplace",
    "/portal/marketplace/rfqs",
    "/portal/marketplace/mine",
    "/portal/auctions",
)
