"""The API documentation works offline (issue 18): /docs (Swagger UI) and /redoc (ReDoc) are
pages of this site whose every script, style sheet and image is a file this server answers,
from the npm packages `make web-assets` installs (swagger-ui-dist, redoc), never a CDN; under
the site's CSP, ReDoc's own <style> elements allowed by a nonce new with every answer. The
browser journey (no request leaving the machine) is in test_browser_security.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.store.db import Database
from tanso.web import security
from tests.e2e.test_browser_security import INLINE_SCRIPT, assert_protected

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ASSET = re.compile(r'(?:src|href)="([^"]+)"')
NONCE = re.compile(r"'nonce-([^']+)'")


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client


def installed() -> bool:
    return (security.swagger_ui_dir() / "swagger-ui-bundle.js").is_file() and (
        security.redoc_dir() / security.REDOC_BUNDLE
    ).is_file()


needs_packages = pytest.mark.skipif(not installed(), reason="make web-assets installs them")


def directives(csp: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


@needs_packages
@pytest.mark.parametrize(
    ("path", "bundle"),
    [
        ("/docs", "/vendor/swagger-ui/swagger-ui-bundle.js"),
        ("/redoc", security.REDOC_URL),
    ],
)
def test_each_documentation_page_names_only_this_sites_files_and_each_answers(
    http: TestClient, path: str, bundle: str
) -> None:
    page = http.get(path)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert_protected(page)
    assert not INLINE_SCRIPT.search(page.text)
    assets = ASSET.findall(page.text)
    assert bundle in assets, assets
    outside = [a for a in assets if not a.startswith(("/", "data:")) or a.startswith("//")]
    assert outside == [], outside
    for asset in (a for a in assets if a.startswith("/")):
        got = http.get(asset)
        assert got.status_code == 200, asset
        assert_protected(got)
        if asset.endswith(".js"):
            assert "javascript" in got.headers["content-type"], asset
            assert got.headers["x-content-type-options"] == "nosniff"


def test_each_documentation_page_links_to_the_other_and_to_the_openapi_document(
    http: TestClient,
) -> None:
    docs, redoc = http.get("/docs").text, http.get("/redoc").text
    assert 'href="/redoc"' in docs and 'href="/docs"' in redoc
    assert 'href="/openapi.json"' in docs and 'href="/openapi.json"' in redoc
    assert http.get("/openapi.json").status_code == 200


def test_redocs_styles_are_allowed_by_a_nonce_new_with_every_answer_and_scripts_stay_self(
    http: TestClient,
) -> None:
    first, second = http.get("/redoc"), http.get("/redoc")
    nonces = []
    for page in (first, second):
        policy = directives(page.headers["content-security-policy"])
        assert policy["script-src"] == "'self'"
        (nonce,) = NONCE.findall(policy["style-src"])
        assert len(nonce) >= 22  # 18 random bytes, URL-safe base64
        if installed():  # the bundle reads it from its own tag, ReDoc's option from the root
            assert f'data-style-nonce="{nonce}"' in page.text
        assert page.headers["cache-control"] == "no-store"  # a nonce is never served twice
        nonces.append(nonce)
        # everything else is the site's policy, unchanged
        assert {k: v for k, v in policy.items() if k != "style-src"} == {
            k: v for k, v in directives(security.CSP).items() if k != "style-src"
        }
        assert (
            policy["style-src"].replace(f" 'nonce-{nonce}'", "")
            == directives(security.CSP)["style-src"]
        )
    assert nonces[0] != nonces[1]
    # every other page keeps the policy without a nonce
    assert "nonce-" not in http.get("/docs").headers["content-security-policy"]


@needs_packages
def test_the_served_redoc_bundle_names_no_outside_address_and_reads_the_pages_nonce(
    http: TestClient,
) -> None:
    original = (security.redoc_dir() / security.REDOC_BUNDLE).read_text(encoding="utf-8")
    served = http.get(security.REDOC_URL).text
    for before, after in security.REDOC_PATCHES.items():
        # each patch still finds its text in the pinned version: a new version fails here
        assert original.count(before) == 1, before
        assert before not in served and after in served, before
    assert "cdn.redoc.ly" not in served
    # the only other difference is the patches' own text
    assert len(served) - len(original) == sum(
        len(after) - len(before) for before, after in security.REDOC_PATCHES.items()
    )


def test_without_the_packages_the_pages_say_where_the_openapi_document_is(
    http: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(security, "redoc_dir", lambda: tmp_path)
    monkeypatch.setattr(security, "swagger_ui_dir", lambda: tmp_path)
    for path in ("/docs", "/redoc"):
        page = http.get(path)
        assert page.status_code == 200
        assert "make web-assets" in page.text and 'href="/openapi.json"' in page.text
        assert "<script" not in page.text
    missing = http.get(security.REDOC_URL)
    assert missing.status_code == 404 and "make web-assets" in missing.text
