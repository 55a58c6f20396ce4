"""Retirement certificates on both backends: the certificate says what the registry says, and the
verification of a retirement's journal entry catches an altered entry, a broken link and a
retirement changed behind the journal's back."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from typing import Any

import pytest
from sqlalchemy import select, update

from tanso.domain.errors import Forbidden, NotFound
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import certificates
from tanso.services.ledger import audit, registry, taxonomy
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web.documents import certificate as document
from tests.conftest import add_issuance, add_participant


def pdf_text(pdf: bytes) -> str:
    """The text drawn in a reportlab PDF (Latin fonts): every content stream, decoded
    (ASCII85, then Flate) without a PDF library."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = m.group(1).strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw[:-2])
        with contextlib.suppress(zlib.error):
            raw = zlib.decompress(raw)
        out.append(raw.decode("latin-1"))
    return "\n".join(out)


def jcm_issuance(db: Database, account: str, quantity: int, ca_status: str = "completed") -> str:
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(
            "CERTJCM1",
            "JM",
            "Solar JCM project",
            "JCM",
            "VN",
            evaluation_axes=["japanese_technology"],
        ),
    )
    out = registry.issue(
        db,
        SYSTEM,
        registry.NewIssuance(
            "CERTJCM1", "ER", "1", 2023, quantity, account, "", "committed", ca_status
        ),
    )
    return out.issuance_id


def retire_two_schemes(db: Database) -> tuple[Actor, registry.RetirementReceipt, str, str]:
    actor = add_participant(db, "CERTA")
    jc = add_issuance(db, "CERTA-MAIN", 1_000, vintage=2021)
    jm = jcm_issuance(db, "CERTA-MAIN", 500)
    # oldest vintage first: all of the 2021 J-Credits left, then part of the 2023 JCM credits
    registry.retire(
        db,
        actor,
        registry.RetirementRequest(
            "CERTA-MAIN", registry.Selection(serials=f"{jc}-1-100"), ["offset_scope1"]
        ),
    )
    done = registry.retire(
        db,
        actor,
        registry.RetirementRequest(
            "CERTA-MAIN",
            registry.Selection(quantity=1_000),
            ["offset_scope1"],
            "CERTA Tokyo plant",
            2025,
            "Scope 1 residual emissions",
        ),
    )
    return actor, done, jc, jm


def test_the_certificate_states_the_retirement_its_serials_and_every_attribute(
    db: Database,
) -> None:
    _, done, jc, jm = retire_two_schemes(db)
    cert = certificates.certificate(db, done.id)
    assert cert.certificate_id == f"CERT-{done.id}"
    assert cert.beneficiary == "CERTA Tokyo plant"
    assert cert.reporting_year == 2025
    assert cert.quantity == 1_000
    assert cert.note == "Scope 1 residual emissions"
    assert cert.scope == "voluntary"
    assert [p.code for p in cert.purposes] == ["offset_scope1"]
    assert cert.purposes[0].name_ja == "Scope1 排出のオフセット"
    assert cert.retired_by.name_en == "CERTA Corp."
    assert [(r.serials, r.quantity) for r in cert.ranges] == [
        (f"{jc}-101-1000", 900),
        (f"{jm}-1-100", 100),
    ]
    assert sum(r.quantity for r in cert.ranges) == cert.quantity
    assert {r.serials for r in cert.ranges} == {r.serials for r in done.ranges}
    j_credit, jcm = cert.ranges
    assert (j_credit.scheme.code, j_credit.scheme.name_en) == ("JC", "J-Credit")
    assert j_credit.category.code == "ENERGY_SAVING"
    assert j_credit.vintage == 2021
    assert [p.code for p in j_credit.properties] == ["domestic_additional"]
    assert (j_credit.ca_declaration, j_credit.ca_status) == ("not_required", "not_started")
    assert j_credit.origin == "issued"
    assert jcm.scheme.code == "JM"
    assert jcm.project_id == "CERTJCM1"
    assert jcm.project_name == "Solar JCM project"
    assert jcm.country == "VN"
    assert jcm.vintage == 2023
    assert (jcm.ca_declaration, jcm.ca_status) == ("committed", "completed")
    assert [a.code for a in jcm.evaluation_axes] == ["japanese_technology"]
    assert cert.journal.seq == done.journal_seq
    assert cert.journal.hash == done.journal_hash
    assert cert.journal.kind == "credits.retired"
    assert cert.journal.at == done.retired_at
    assert cert.verify_path == f"/verify/{done.id}"


def test_an_untouched_retirement_verifies_and_so_does_the_whole_journal(db: Database) -> None:
    _, done, _, _ = retire_two_schemes(db)
    first = registry.list_retirements(db, SYSTEM)[-1].id
    for rid in (first, done.id):  # one in the middle of the journal, one at its head
        v = certificates.verification(db, rid).verification
        assert v.verified, v
        assert [c.check for c in v.checks] == list(certificates.CHECKS)
    assert audit.verify(db).ok


def _alter(db: Database, table: Any, where: Any, **values: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(table).where(where).values(**values))


def _checks(db: Database, rid: str) -> dict[str, bool]:
    v = certificates.verification(db, rid).verification
    return {c.check: c.ok for c in v.checks} | {"verified": v.verified}


def test_an_altered_journal_entry_of_the_retirement_fails_verification(db: Database) -> None:
    _, done, _, _ = retire_two_schemes(db)
    seq = done.journal_seq
    with db.read() as conn:
        payload = conn.execute(
            select(t.journal.c.payload).where(t.journal.c.seq == seq)
        ).scalar_one()
    assert '"quantity":1000' in payload
    _alter(
        db,
        t.journal,
        t.journal.c.seq == seq,
        payload=payload.replace('"quantity":1000', '"quantity":900', 1),
    )
    checks = _checks(db, done.id)
    assert checks["entry_hash"] is False
    assert checks["verified"] is False
    assert not audit.verify(db).ok


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_link_to_the_next_entry(
    db: Database,
) -> None:
    _, _, _, _ = retire_two_schemes(db)
    first = registry.list_retirements(db, SYSTEM)[-1]
    seq = first.journal.seq
    with db.read() as conn:
        e = conn.execute(select(t.journal).where(t.journal.c.seq == seq)).one()
    from tanso.domain.journal import entry_hash

    forged = e.payload.replace('"beneficiary":"CERTA Corp."', '"beneficiary":"Someone else"')
    assert forged != e.payload
    new_hash = entry_hash(e.prev_hash, e.seq, e.at, e.kind, e.actor, forged)
    _alter(db, t.journal, t.journal.c.seq == seq, payload=forged, hash=new_hash)
    checks = _checks(db, first.id)
    assert checks["entry_hash"] is True  # the forger recomputed it ...
    assert checks["next_link"] is False  # ... but the next entry still names the old hash
    assert checks["content"] is False  # and the registry's beneficiary is not the journal's
    assert checks["verified"] is False


def test_an_altered_entry_just_before_the_retirement_breaks_its_previous_link(
    db: Database,
) -> None:
    _, done, _, _ = retire_two_schemes(db)
    before = done.journal_seq - 1
    with db.read() as conn:
        e = conn.execute(select(t.journal).where(t.journal.c.seq == before)).one()
    _alter(db, t.journal, t.journal.c.seq == before, actor=e.actor + "X")
    checks = _checks(db, done.id)
    assert checks["previous_link"] is False and checks["entry_hash"] is True
    assert checks["verified"] is False


def test_a_retirement_changed_behind_the_journals_back_fails_the_content_check(
    db: Database,
) -> None:
    _, done, _, _ = retire_two_schemes(db)
    _alter(db, t.retirements, t.retirements.c.id == done.id, beneficiary="Someone else")
    assert _checks(db, done.id) == {
        "entry_hash": True,
        "previous_link": True,
        "next_link": True,
        "content": False,
        "verified": False,
    }


def test_serials_changed_behind_the_journals_back_fail_the_content_check(db: Database) -> None:
    _, done, _, _ = retire_two_schemes(db)
    m = t.credit_movements.c
    _alter(
        db,
        t.credit_movements,
        (m.kind == "retirement") & (m.ref == done.id) & (m.serial_start == 101),
        serial_start=102,
    )
    assert _checks(db, done.id)["content"] is False


def test_unknown_and_malformed_retirement_ids_are_not_found(db: Database) -> None:
    retire_two_schemes(db)
    for rid in ("RT-99999999", "RT-1", "'; DROP TABLE journal; --", "", "CN-00000001"):
        with pytest.raises(NotFound):
            certificates.verification(db, rid)
        with pytest.raises(NotFound):
            certificates.certificate(db, rid)


def test_the_pdf_is_a_pdf_that_states_the_certificate(db: Database) -> None:
    _, done, jc, _ = retire_two_schemes(db)
    cert = certificates.certificate(db, done.id)
    pdf = document.to_pdf(cert, "en", "https://registry.example")
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    drawn = pdf_text(pdf)
    for expected in (
        cert.certificate_id,
        f"{jc}-101-1000",
        "CERTA Tokyo plant",
        cert.journal.hash,
        f"https://registry.example/verify/{done.id}",
        "committed",
    ):
        assert expected in drawn, expected
    ja = document.to_pdf(cert, "ja", "https://registry.example")
    assert ja.startswith(b"%PDF-") and b"+IPAexGothic" in ja  # embedded: test_pdf_fonts.py


def test_the_html_certificate_and_its_qr_code(db: Database) -> None:
    _, done, jc, _ = retire_two_schemes(db)
    cert = certificates.certificate(db, done.id)
    html = document.to_html(cert, "ja", "https://registry.example")
    assert "無効化証明書" in html and f"{jc}-101-1000" in html
    assert f"https://registry.example/ja/verify/{done.id}" in html
    assert "<svg" in html
    m = document.qr_matrix("https://registry.example/verify/RT-00000001")
    assert len(m) == len(m[0]) >= 21 and m[0][:7] == [True] * 7  # a finder pattern


def test_a_recorded_full_audit_shows_on_every_verification(db: Database) -> None:
    actor, done, _, _ = retire_two_schemes(db)
    assert certificates.verification(db, done.id).verification.last_audit is None
    with pytest.raises(Forbidden):
        certificates.audit(db, actor)
    recorded = certificates.audit(db, SYSTEM)
    assert recorded.ok is True
    last = certificates.verification(db, done.id).verification.last_audit
    assert last.ok is True and last.through_seq == recorded.entries
    assert last.through_seq >= done.journal_seq
    assert audit.verify(db).ok  # the audit's own journal entry keeps the chain whole
    seq = done.journal_seq
    with db.read() as conn:
        payload = conn.execute(
            select(t.journal.c.payload).where(t.journal.c.seq == seq)
        ).scalar_one()
    _alter(db, t.journal, t.journal.c.seq == seq, payload=payload.replace("1000", "1001", 1))
    failed = certificates.audit(db, SYSTEM)
    assert failed.ok is False and failed.first_bad_seq == seq
    last = certificates.verification(db, done.id).verification.last_audit
    assert last.ok is False and last.first_bad_seq == seq and last.problems
