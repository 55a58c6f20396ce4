"""Every PDF Tanso generates (certificate, claim report, daily report) embeds its one font, in
English and in Japanese, so Japanese names and notes print as themselves in both languages and
the look does not depend on the reader's fonts (issue 18, defect 3). Checked with poppler's
``pdffonts`` (every font row says ``emb yes``) and ``pdftotext`` (the Japanese text is there)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.services.compliance import certificates, claims
from tanso.services.ledger import participants
from tanso.services.marketdata import daily_report, period_report
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web import documents
from tanso.web.documents import certificate as certificate_document
from tanso.web.documents import claims as claims_document
from tanso.web.documents import daily_report as daily_document
from tanso.web.documents import pdf
from tanso.web.documents import period_report as period_document
from tests.integration.test_daily_report import market as market
from tests.integration.test_indices import DAY1, ES, Market
from tests.integration.test_output_encoding import rename, retire_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LANGS = ("en", "ja")
BENEFICIARY = "山田太郎商店"
NOTE = "東京本社の二〇二五年度排出分"
INSTRUMENT = "省エネ試験銘柄"
PARTICIPANT = "北斗製鉄株式会社"
MISSING = ("/nonexistent/ipaexg.ttf",)


def fonts_of(document: bytes) -> list[tuple[str, str]]:
    """(name, emb) of every font row ``pdffonts`` lists for the PDF."""
    out = subprocess.run(
        ["pdffonts", "-"], input=document, capture_output=True, check=True
    ).stdout.decode()
    rows = out.splitlines()[2:]  # after the header and its rule
    # name type encoding emb sub uni object-number generation: a name has no spaces
    return [(row.split()[0], row.split()[-5]) for row in rows if row.strip()]


def text_of(document: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=document, capture_output=True, check=True
    ).stdout.decode()


def assert_embedded(document: bytes, *japanese: str) -> None:
    assert document.startswith(b"%PDF-")
    found = fonts_of(document)
    assert found, "pdffonts lists no font"
    not_embedded = [name for name, emb in found if emb != "yes"]
    assert not not_embedded, f"fonts not embedded: {not_embedded}"
    # the one font, subset by reportlab (AAAAAA+IPAexGothic): no Helvetica, Courier or CID font
    assert all(name.endswith("+" + pdf.FONT) for name, _ in found), found
    text = text_of(document)
    for expected in japanese:
        assert expected in text, expected


def retired(db: Database) -> str:
    done = retire_for(db, BENEFICIARY, note=NOTE)
    return done.id


def test_the_certificate_embeds_its_font_and_prints_japanese_in_both_languages(
    db: Database,
) -> None:
    cert = certificates.certificate(db, retired(db))
    for lang in LANGS:
        document = certificate_document.to_pdf(cert, lang, "https://registry.example")
        assert_embedded(document, BENEFICIARY, NOTE)


def test_the_claim_report_embeds_its_font_and_prints_japanese_in_both_languages(
    db: Database,
) -> None:
    retired(db)
    rep = claims.report(db, SYSTEM, "ENCA", 2025)
    for lang in LANGS:
        assert_embedded(claims_document.to_pdf(rep, lang), BENEFICIARY)
    # the Japanese report also names the participant in Japanese ("ENCA 株式会社")
    assert "株式会社" in text_of(claims_document.to_pdf(rep, "ja"))


def test_the_daily_report_embeds_its_font_and_prints_japanese_in_both_languages(
    market: Market,
) -> None:
    rename(market.db, ES, INSTRUMENT)
    rep = daily_report.build(market.db, market.x, DAY1)
    for lang in LANGS:
        assert_embedded(daily_document.to_pdf(rep, lang), INSTRUMENT)


def test_the_weekly_and_monthly_reports_embed_their_font_in_both_languages(
    market: Market,
) -> None:
    rename(market.db, ES, INSTRUMENT)
    for kind in ("weekly", "monthly"):
        rep = period_report.build(market.db, market.x, period_report.period_of(kind, DAY1))
        for lang in LANGS:
            assert_embedded(period_document.to_pdf(rep, lang), INSTRUMENT)


def test_a_missing_font_file_is_refused_naming_the_debian_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf, "FONT_FILES", MISSING)
    with pytest.raises(pdf.FontMissing) as refused:
        pdf.font_file()
    assert refused.value.code == "pdf_font_missing"
    assert "fonts-ipaexfont-gothic" in refused.value.message
    assert MISSING[0] in refused.value.message


def test_a_download_without_the_font_is_a_503_naming_the_package_never_a_500(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = retired(db)
    monkeypatch.setattr(pdf, "FONT", "TansoTestUnregisteredFont")  # as on a fresh process
    monkeypatch.setattr(pdf, "FONT_FILES", MISSING)
    with TestClient(create_app(db)) as http:
        got = http.get(f"/v1/certificates/{rid}.pdf")
    assert got.status_code == 503, got.text
    assert "fonts-ipaexfont-gothic" in got.text


def test_the_font_file_is_debians_ipaex_gothic() -> None:
    assert pdf.font_file().name == "ipaexg.ttf"


def test_a_participants_japanese_name_prints_in_the_english_claim_report(db: Database) -> None:
    retired(db)
    with db.engine.begin() as conn:
        conn.execute(
            update(t.participants).where(t.participants.c.id == "ENCA").values(name_en=PARTICIPANT)
        )
    rep = claims.report(db, SYSTEM, "ENCA", 2025)
    assert_embedded(claims_document.to_pdf(rep, "en"), PARTICIPANT)


# every kind of PDF and the tests above that hold it to its font
CHECKED_KINDS = {"certificate", "claims", "daily_report", "period_report"}
# every API route whose OpenAPI answer is a PDF, and an address of it in the market below
PDF_ROUTES = {
    "/v1/certificates/{retirement_id}.pdf": "/v1/certificates/{rid}.pdf?",
    "/v1/claims/{participant_id}/{reporting_year}.pdf": "/v1/claims/ENCA/2025.pdf?",
    "/v1/market/reports/{date}": f"/v1/market/reports/{DAY1}?format=pdf&",
    "/v1/market/reports/weekly/{week}": (
        f"/v1/market/reports/weekly/{period_report.period_of('weekly', DAY1).name}?format=pdf&"
    ),
    "/v1/market/reports/monthly/{month}": (f"/v1/market/reports/monthly/{DAY1:%Y-%m}?format=pdf&"),
}


def test_every_kind_of_pdf_is_one_of_those_checked_above() -> None:
    """A new document module with a ``to_pdf`` must join the tests above before it ships."""
    kinds = {
        info.name
        for info in pkgutil.iter_modules(documents.__path__)
        if hasattr(importlib.import_module(f"{documents.__name__}.{info.name}"), "to_pdf")
    }
    assert kinds == CHECKED_KINDS


def test_every_route_that_answers_a_pdf_embeds_its_font_in_both_languages(
    market: Market,
) -> None:
    """The PDFs as the API serves them, every route the OpenAPI document says answers one: a
    route that claims a PDF it cannot give, or a new PDF route, fails here."""
    rid = retired(market.db)
    key = participants.create_api_key(market.db, SYSTEM, "ENCA", "pdf fonts").key
    with TestClient(create_app(market.db)) as http:
        advertised = {
            path
            for path, operations in http.app.openapi()["paths"].items()  # type: ignore[attr-defined]
            for operation in operations.values()
            for answer in operation.get("responses", {}).values()
            if "application/pdf" in answer.get("content", {})
        }
        assert advertised == set(PDF_ROUTES)
        for address in PDF_ROUTES.values():
            for lang in LANGS:
                got = http.get(
                    address.format(rid=rid) + f"lang={lang}",
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert got.status_code == 200, (address, lang, got.text)
                assert got.headers["content-type"] == "application/pdf"
                assert_embedded(got.content)
