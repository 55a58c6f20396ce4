"""Retirement certificates (無効化証明書) and their public verification.

Every retirement has a certificate: it is derived from the retirement, the credits' movements,
their issuances and projects, and the retirement's journal entry, so nothing is stored twice and
a certificate can never disagree with the registry unless the registry itself was altered. The
verification recomputes the hash of the retirement's journal entry, checks its links to the
entries before and after it (and to the journal head), and compares the entry's payload with the
retirement as stored. It reads at most three journal entries, so it is cheap on any journal;
the full chain is verified by ``tanso audit verify``.

This module never writes: it only reads and renders (HTML, PDF, JSON).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from tanso.domain.errors import NotFound
from tanso.domain.journal import GENESIS_HASH, entry_hash
from tanso.services.common import Actor, execute, require_operator
from tanso.services.ledger import audit as audit_service
from tanso.services.ledger import registry
from tanso.store import repo, schema_claims
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads

JST = ZoneInfo("Asia/Tokyo")
RETIREMENT_ID = re.compile(r"RT-\d{8,}")
RETIRED_KIND = "credits.retired"
CHECKS = ("entry_hash", "previous_link", "next_link", "content")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Retirement certificate",
        "site": "Tanso",
        "tagline": "Carbon credit registry: certificate verification",
        "skip": "Skip to the certificate",
        "certificate_id": "Certificate",
        "retirement_id": "Retirement",
        "beneficiary": "Beneficiary",
        "retired_by": "Retired by",
        "purposes": "Purpose",
        "scope": "Kind of use",
        "scope_regulatory": "Regulatory reporting",
        "scope_voluntary": "Voluntary offset",
        "scope_disclosure": "Disclosure",
        "year": "Reporting year",
        "quantity": "Quantity",
        "retired_at": "Retired at (JST)",
        "note": "Note",
        "ranges": "Serial ranges and the credits' attributes",
        "serials": "Serial range",
        "scheme": "Scheme",
        "category": "Category",
        "project": "Project",
        "country": "Country",
        "credit_type": "Credit type",
        "mechanism": "Reduction or removal",
        "vintage": "Vintage",
        "certified_on": "Certified on",
        "properties": "Properties",
        "axes": "Evaluation axes",
        "ca": "Corresponding adjustment",
        "ca_declaration": "Declaration",
        "ca_status": "Status",
        "origin": "Origin",
        "origin_issued": "Issued in Tanso",
        "origin_deposited": "Deposited from",
        "journal": "Journal entry",
        "seq": "Sequence",
        "kind": "Kind",
        "at": "Timestamp (UTC)",
        "hash": "Hash (SHA-256)",
        "prev_hash": "Previous hash",
        "verify_url": "Verify this certificate at",
        "verification": "Verification",
        "verified": "Verified",
        "verified_text": "This retirement's journal entry is intact, linked to the entries "
        "before and after it, and matches the retirement recorded in the registry.",
        "not_verified": "NOT verified",
        "not_verified_text": "A check failed: this certificate cannot be relied upon. "
        "The registry operator has been given the journal sequence to investigate.",
        "check_entry_hash": "The entry's hash recomputed from its stored content",
        "check_previous_link": "The link to the previous journal entry",
        "check_next_link": "The link to the next journal entry (or the journal head)",
        "check_content": "The entry's content against the retirement as recorded",
        "ok": "OK",
        "failed": "FAILED",
        "head": "Journal head",
        "audit": "Last full audit of the journal",
        "audit_none": "No full audit has been recorded yet (the operator records one with "
        "POST /v1/journal/audits).",
        "audit_through": "entries 1 to {seq}",
        "pdf": "Certificate (PDF)",
        "json": "Certificate (JSON)",
        "lookup": "Verify a retirement",
        "lookup_label": "Retirement id (RT-…)",
        "lookup_go": "Verify",
        "not_found": "No such retirement",
        "not_found_text": "There is no retirement with this id. Check the id on the "
        "certificate (RT- followed by eight digits).",
        "footer": "Quantities in t-CO2 unless the scheme's unit says otherwise. The journal "
        "is a SHA-256 hash chain: hash = sha256(previous hash + canonical JSON of the entry).",
        "other_lang": "日本語",
        "yes": "yes",
        "no": "no",
        "none": "none",
    },
    "ja": {
        "title": "無効化証明書",
        "site": "Tanso",
        "tagline": "カーボンクレジット登録簿: 証明書の検証",
        "skip": "証明書へ移動",
        "certificate_id": "証明書番号",
        "retirement_id": "無効化番号",
        "beneficiary": "受益者",
        "retired_by": "無効化した者",
        "purposes": "用途",
        "scope": "用途の区分",
        "scope_regulatory": "制度報告",
        "scope_voluntary": "自主的なオフセット",
        "scope_disclosure": "情報開示",
        "year": "報告年度",
        "quantity": "数量",
        "retired_at": "無効化日時 (日本時間)",
        "note": "備考",
        "ranges": "シリアル番号の範囲とクレジットの属性",
        "serials": "シリアル番号",
        "scheme": "制度",
        "category": "区分",
        "project": "プロジェクト",
        "country": "国",
        "credit_type": "クレジット種別",
        "mechanism": "削減・除去",
        "vintage": "ヴィンテージ",
        "certified_on": "認証日",
        "properties": "性質",
        "axes": "評価軸",
        "ca": "相当調整",
        "ca_declaration": "宣言",
        "ca_status": "状況",
        "origin": "由来",
        "origin_issued": "Tanso で発行",
        "origin_deposited": "外部登録簿から移管:",
        "journal": "ジャーナル記録",
        "seq": "通番",
        "kind": "種類",
        "at": "時刻 (UTC)",
        "hash": "ハッシュ (SHA-256)",
        "prev_hash": "直前のハッシュ",
        "verify_url": "この証明書の検証ページ",
        "verification": "検証",
        "verified": "検証済み",
        "verified_text": "この無効化のジャーナル記録は改ざんされておらず、前後の記録と連結し、"
        "登録簿に記録された無効化と一致しています。",
        "not_verified": "検証できません",
        "not_verified_text": "検証に失敗した項目があります。この証明書を信頼しないでください。",
        "check_entry_hash": "保存された内容から再計算したハッシュ",
        "check_previous_link": "直前のジャーナル記録との連結",
        "check_next_link": "直後のジャーナル記録 (またはジャーナルの先頭) との連結",
        "check_content": "記録の内容と登録簿の無効化との一致",
        "ok": "一致",
        "failed": "不一致",
        "head": "ジャーナルの先頭",
        "audit": "ジャーナル全体の最新の監査",
        "audit_none": "全体監査の記録はまだありません (運営者が POST /v1/journal/audits で"
        "記録します)。",
        "audit_through": "エントリ 1〜{seq}",
        "pdf": "証明書 (PDF)",
        "json": "証明書 (JSON)",
        "lookup": "無効化を検証する",
        "lookup_label": "無効化番号 (RT-…)",
        "lookup_go": "検証",
        "not_found": "該当する無効化はありません",
        "not_found_text": "この番号の無効化はありません。証明書の番号 (RT- と 8 桁の数字) を"
        "確認してください。",
        "footer": "数量の単位は制度の単位が別に定めない限り t-CO2。ジャーナルは SHA-256 の"
        "ハッシュチェーン: hash = sha256(直前のハッシュ + 記録の正規化 JSON)。",
        "other_lang": "English",
        "yes": "あり",
        "no": "なし",
        "none": "なし",
    },
}

CA_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "committed": "committed",
        "not_required": "not required",
        "unknown": "unknown",
        "not_started": "not started",
        "pending": "pending",
        "completed": "completed",
    },
    "ja": {
        "committed": "実施を表明",
        "not_required": "不要",
        "unknown": "不明",
        "not_started": "未着手",
        "pending": "手続中",
        "completed": "完了",
    },
}

MECHANISM_NAMES = {
    "en": {"reduction": "reduction", "removal": "removal"},
    "ja": {"reduction": "削減", "removal": "除去・吸収"},
}


def certificate_id(retirement_id: str) -> str:
    """The certificate's number: the retirement's id with the CERT- prefix."""
    return f"CERT-{retirement_id}"


def verify_path(retirement_id: str, lang: str = "en") -> str:
    return f"/ja/verify/{retirement_id}" if lang == "ja" else f"/verify/{retirement_id}"


def _check_id(retirement_id: str) -> None:
    if not RETIREMENT_ID.fullmatch(retirement_id):
        raise NotFound("retirement_not_found", f"There is no retirement {retirement_id[:40]}.")


# ---------------------------------------------------------------- building a certificate


def reference_names(conn: Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """Reference names by kind and code: schemes, categories, purposes, properties, axes."""
    out: dict[str, dict[str, dict[str, Any]]] = {
        "scheme": {
            r.code: {"name_en": r.name_en, "name_ja": r.name_ja, "unit": r.unit}
            for r in repo.list_table(conn, t.schemes, t.schemes.c.code)
        },
        "category": {
            r.code: {"name_en": r.name_en, "name_ja": r.name_ja}
            for r in repo.list_table(conn, t.categories, t.categories.c.code)
        },
    }
    for r in repo.list_table(conn, t.terms, t.terms.c.kind, t.terms.c.code):
        out.setdefault(r.kind, {})[r.code] = {"name_en": r.name_en, "name_ja": r.name_ja} | (
            loads(r.extra) or {}
        )
    return out


def _term(names: dict[str, dict[str, dict[str, Any]]], kind: str, code: str) -> dict[str, Any]:
    found = names.get(kind, {}).get(code, {})
    return {
        "code": code,
        "name_en": found.get("name_en", code),
        "name_ja": found.get("name_ja", code),
    }


def certificate_in(
    conn: Connection, retirement_id: str, names: dict[str, dict[str, dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The certificate of a retirement, read inside an open connection (``names``: the
    reference names, when the caller reads many certificates)."""
    _check_id(retirement_id)
    view = registry.retirement_view(conn, retirement_id)
    row = repo.get_retirement(conn, retirement_id)
    assert row is not None  # retirement_view found it
    names = names if names is not None else reference_names(conn)
    projects: dict[str, Any] = {}
    ranges = []
    for r in view["ranges"]:
        issuance = repo.get_issuance(conn, r["id"]) if "id" in r else None
        project_id = r.get("project_id", "")
        if project_id and project_id not in projects:
            projects[project_id] = repo.get_project(conn, project_id)
        project = projects.get(project_id)
        scheme = r.get("scheme", "")
        start, end = (int(x) for x in r["serials"].rsplit("-", 2)[1:])
        ranges.append(
            {
                "serials": r["serials"],
                "issuance_id": r.get("id", r["serials"].rsplit("-", 2)[0]),
                "serial_start": start,
                "serial_end": end,
                "quantity": r["quantity"],
                "scheme": _term(names, "scheme", scheme),
                "unit": names["scheme"].get(scheme, {}).get("unit", "tCO2"),
                "category": _term(names, "category", r.get("category", "")),
                "project_id": project_id,
                "project_name": r.get("project_name", ""),
                "project_name_ja": project.name_ja if project is not None else "",
                "country": r.get("country", ""),
                "mechanism": r.get("mechanism", ""),
                "nature": r.get("nature", ""),
                "credit_type": _term(names, "credit_type", r.get("credit_type", "")),
                "round": r.get("round", ""),
                "vintage": r.get("vintage"),
                "certified_on": r.get("certified_on", ""),
                "properties": [_term(names, "property", p) for p in r.get("properties", [])],
                "evaluation_axes": [
                    _term(names, "evaluation_axis", a)
                    for a in (loads(project.evaluation_axes) if project is not None else [])
                ],
                "co_benefits": loads(project.co_benefits) if project is not None else [],
                "ca_declaration": r.get("ca_declaration", ""),
                "ca_status": r.get("ca_status", ""),
                "origin": issuance.origin if issuance is not None else "",
                "external_registry": issuance.external_registry if issuance is not None else None,
                "external_ref": issuance.external_ref if issuance is not None else None,
            }
        )
    entry = next(repo.journal_entries(conn, row.journal_seq - 1, 1), None)
    journal = {
        "seq": row.journal_seq,
        "kind": entry.kind if entry else None,
        "at": entry.at if entry else None,
        "hash": entry.hash if entry else None,
        "prev_hash": entry.prev_hash if entry else None,
    }
    return {
        "certificate_id": certificate_id(retirement_id),
        "retirement_id": retirement_id,
        "beneficiary": view["beneficiary"],
        "retired_by": {"name_en": view["retired_by"], "name_ja": view["retired_by_ja"]},
        "purposes": [_term(names, "purpose", p) for p in view["purposes"]],
        "scope": view["scope"],
        "reporting_year": view["reporting_year"],
        "quantity": view["quantity"],
        "retired_at": view["retired_at"],
        "note": view["note"],
        "ranges": ranges,
        "journal": journal,
        "verify_path": verify_path(retirement_id),
    }


def certificate(db: Database, retirement_id: str) -> dict[str, Any]:
    """A retirement's certificate (public: the retirement is public, its account is not)."""
    with db.read() as conn:
        return certificate_in(conn, retirement_id)


# ---------------------------------------------------------------- verification


def _recomputes(e: Any) -> bool:
    try:
        return bool(entry_hash(e.prev_hash, e.seq, e.at, e.kind, e.actor, e.payload) == e.hash)
    except (ValueError, TypeError):
        return False


def _content_matches(conn: Connection, row: Any, entry: Any) -> list[str]:
    """What in the entry's payload differs from the retirement and its movements as stored."""
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return ["payload is not JSON"]
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems = []
    if entry.kind != RETIRED_KIND:
        problems.append(f"entry kind is {entry.kind}, not {RETIRED_KIND}")
    expected = {
        "id": row.id,
        "participant_id": row.participant_id,
        "quantity": row.quantity,
        "purposes": row.purposes.split(","),
        "beneficiary": row.beneficiary,
        "reporting_year": row.reporting_year,
    }
    for key, value in expected.items():
        if payload.get(key) != value:
            problems.append(f"{key} differs")
    stored = sorted(
        (m.issuance_id, m.serial_start, m.serial_end)
        for m in repo.movements_for(conn, "retirement", row.id)
    )
    journaled = sorted(
        (r.get("issuance_id"), r.get("serial_start"), r.get("serial_end"))
        for r in payload.get("ranges", [])
        if isinstance(r, dict)
    )
    if stored != journaled:
        problems.append("serial ranges differ")
    if sum(m[2] - m[1] + 1 for m in stored) != row.quantity:
        problems.append("serial ranges do not add up to the quantity")
    return problems


def check_entry(conn: Connection, retirement_id: str) -> dict[str, Any]:
    """Verify one retirement's journal entry: its hash, its two links, its content."""
    _check_id(retirement_id)
    row = repo.get_retirement(conn, retirement_id)
    if row is None:
        raise NotFound("retirement_not_found", f"There is no retirement {retirement_id}.")
    seq = row.journal_seq
    around = {e.seq: e for e in repo.journal_entries(conn, max(seq - 2, 0), 3)}
    entry, before, after = around.get(seq), around.get(seq - 1), around.get(seq + 1)
    head = repo.journal_head(conn)
    problems: dict[str, list[str]] = {c: [] for c in CHECKS}
    if entry is None:
        for c in CHECKS:
            problems[c].append(f"journal entry {seq} is missing")
    else:
        if not _recomputes(entry):
            problems["entry_hash"].append(f"entry {seq} does not hash to its stored hash")
        if seq == 1:
            if entry.prev_hash != GENESIS_HASH:
                problems["previous_link"].append("the first entry must follow the genesis hash")
        elif before is None:
            problems["previous_link"].append(f"entry {seq - 1} is missing")
        elif before.hash != entry.prev_hash or not _recomputes(before):
            problems["previous_link"].append(f"entry {seq - 1} does not link to entry {seq}")
        if after is not None:
            if after.prev_hash != entry.hash or not _recomputes(after):
                problems["next_link"].append(f"entry {seq + 1} does not link to entry {seq}")
        elif head is None or head.seq != seq or head.hash != entry.hash:
            problems["next_link"].append(f"the journal head does not point at entry {seq}")
        problems["content"] = _content_matches(conn, row, entry)
    checks = [{"check": c, "ok": not problems[c], "problems": problems[c]} for c in CHECKS]
    return {
        "retirement_id": retirement_id,
        "journal_seq": seq,
        "verified": all(c["ok"] for c in checks),
        "checks": checks,
        "head": {"seq": head.seq, "hash": head.hash} if head is not None else None,
        "last_audit": last_audit(conn),
    }


def last_audit(conn: Connection) -> dict[str, Any] | None:
    """The latest recorded full audit of the journal, if any."""
    a = schema_claims.journal_audits
    row = conn.execute(select(a).order_by(a.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return {
        "at": row.at,
        "ok": bool(row.ok),
        "through_seq": int(row.through_seq),
        "head_hash": row.head_hash,
        "entries": int(row.entries),
        "first_bad_seq": row.first_bad_seq,
        "problems": loads(row.problems) or [],
    }


def audit(db: Database, actor: Actor) -> dict[str, Any]:
    """Verify the whole journal (``services.audit.verify``) and record the result, in a journal
    entry of its own, so that /verify pages can show the last full audit (operator)."""
    require_operator(actor, "record a full audit of the journal")
    report = audit_service.verify(db)
    result = report.as_dict() | {"through_seq": report.entries}

    def work(tx: Tx) -> dict[str, Any]:
        problems = report.problems[:20]
        repo.insert_row(
            tx.conn,
            schema_claims.journal_audits,
            at=tx.at,
            through_seq=report.entries,
            head_hash=report.head_hash,
            ok=report.ok,
            entries=report.entries,
            first_bad_seq=report.first_bad_seq,
            problems=dumps(problems),
            journal_seq=tx.next_seq(),
        )
        tx.record(
            "journal.audited",
            actor.label,
            {
                "ok": report.ok,
                "through_seq": report.entries,
                "head_hash": report.head_hash,
                "first_bad_seq": report.first_bad_seq,
                "problems": problems,
            },
        )
        return result

    return execute(db, actor, None, work, 201)


def verification(db: Database, retirement_id: str) -> dict[str, Any]:
    """The certificate and whether its journal entry verifies (the public /verify page)."""
    with db.read() as conn:
        cert = certificate_in(conn, retirement_id)
        return cert | {"verification": check_entry(conn, retirement_id)}


# ---------------------------------------------------------------- rendering


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code of ``text`` as rows of dark (True) modules, quiet zone not included."""
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    n = qr.getModuleCount()
    return [[bool(qr.isDark(r, c)) for c in range(n)] for r in range(n)]


def qr_svg(text: str, size: int = 132) -> str:
    """A compact SVG of the QR code of ``text`` (one path; a 4-module quiet zone)."""
    m = qr_matrix(text)
    n = len(m) + 8
    cells = "".join(
        f"M{c + 4} {r + 4}h1v1h-1z" for r, row in enumerate(m) for c, dark in enumerate(row) if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges" role="img" '
        f'aria-label="QR code: {_attr(text)}"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{cells}" fill="#000"/></svg>'
    )


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def name(item: dict[str, Any], lang: str) -> str:
    return str(item["name_ja"] if lang == "ja" else item["name_en"]) if item else ""


def ca_name(code: str, lang: str) -> str:
    return CA_NAMES[lang].get(code, code)


def to_html(cert: dict[str, Any], lang: str = "en", base_url: str = "") -> str:
    """The certificate as a stand-alone HTML page (what the PDF shows)."""
    from tanso.web import render

    url = base_url.rstrip("/") + verify_path(cert["retirement_id"], lang)
    return render(
        "certificate.html",
        c=cert,
        lang=lang,
        t=LABELS[lang],
        name=lambda item: name(item, lang),
        ca_name=lambda code: ca_name(code, lang),
        mechanism=lambda code: MECHANISM_NAMES[lang].get(code, code),
        verify_url=url,
        qr=qr_svg(url),
        jst=_jst,
    )


def to_pdf(cert: dict[str, Any], lang: str = "en", base_url: str = "") -> bytes:
    """A4 portrait; Japanese in reportlab's built-in CID font; a QR code of the verify URL."""
    from xml.sax.saxutils import escape

    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    labels = LABELS[lang]
    font, bold = pdf_fonts(lang)
    title = ParagraphStyle("title", fontName=bold, fontSize=17, leading=22)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=15, spaceBefore=6)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    mono = ParagraphStyle("mono", fontName="Courier", fontSize=7.5, leading=9.5)
    url = base_url.rstrip("/") + verify_path(cert["retirement_id"], lang)

    def p(value: Any, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    facts = [
        (labels["certificate_id"], cert["certificate_id"]),
        (labels["retirement_id"], cert["retirement_id"]),
        (labels["beneficiary"], cert["beneficiary"]),
        (labels["retired_by"], name(cert["retired_by"], lang)),
        (labels["purposes"], ", ".join(name(x, lang) for x in cert["purposes"])),
        (labels["scope"], labels.get(f"scope_{cert['scope']}", cert["scope"])),
        (labels["year"], cert["reporting_year"]),
        (labels["quantity"], f"{cert['quantity']:,} {_unit(cert)}"),
        (labels["retired_at"], _jst(cert["retired_at"])),
    ]
    if cert["note"]:
        facts.append((labels["note"], cert["note"]))
    fact_table = Table(
        [[p(k), p(v, text)] for k, v in facts], colWidths=[38 * mm, 100 * mm], hAlign="LEFT"
    )
    fact_table.setStyle(_grid(font))
    qr = QrCodeWidget(url)
    qr.barWidth = qr.barHeight = 36 * mm
    drawing = Drawing(36 * mm, 36 * mm)
    drawing.add(qr)
    top = Table([[fact_table, drawing]], colWidths=[140 * mm, 40 * mm], hAlign="LEFT")
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))

    story: list[Any] = [
        Paragraph(f"{escape(labels['title'])} — {escape(cert['certificate_id'])}", title),
        Spacer(1, 3 * mm),
        top,
        Paragraph(labels["ranges"], h2),
    ]
    for r in cert["ranges"]:
        rows = [
            (labels["serials"], r["serials"]),
            (labels["quantity"], f"{r['quantity']:,} {r['unit']}"),
            (labels["scheme"], f"{name(r['scheme'], lang)} ({r['scheme']['code']})"),
            (labels["category"], name(r["category"], lang)),
            (
                labels["project"],
                f"{r['project_id']} "
                + (
                    r["project_name_ja"]
                    if lang == "ja" and r["project_name_ja"]
                    else r["project_name"]
                ),
            ),
            (labels["country"], r["country"]),
            (
                labels["credit_type"],
                f"{name(r['credit_type'], lang)} / "
                + MECHANISM_NAMES[lang].get(r["mechanism"], r["mechanism"]),
            ),
            (labels["vintage"], r["vintage"]),
            (labels["certified_on"], r["certified_on"]),
            (labels["properties"], ", ".join(name(x, lang) for x in r["properties"]) or "-"),
            (labels["axes"], ", ".join(name(x, lang) for x in r["evaluation_axes"]) or "-"),
            (
                labels["ca"],
                f"{labels['ca_declaration']}: {ca_name(r['ca_declaration'], lang)}, "
                f"{labels['ca_status']}: {ca_name(r['ca_status'], lang)}",
            ),
            (labels["origin"], _origin(r, labels)),
        ]
        table = Table([[p(k), p(v)] for k, v in rows], colWidths=[38 * mm, 142 * mm])
        table.setStyle(_grid(font))
        story += [table, Spacer(1, 3 * mm)]
    j = cert["journal"]
    journal_rows = [
        (labels["seq"], p(j["seq"])),
        (labels["kind"], p(j["kind"])),
        (labels["at"], p(j["at"])),
        (labels["hash"], p(j["hash"], mono)),
        (labels["prev_hash"], p(j["prev_hash"], mono)),
    ]
    jt = Table([[p(k), v] for k, v in journal_rows], colWidths=[38 * mm, 142 * mm])
    jt.setStyle(_grid(font))
    story += [
        Paragraph(labels["journal"], h2),
        jt,
        Spacer(1, 4 * mm),
        Paragraph(f"{escape(labels['verify_url'])}: {escape(url)}", text),
        Spacer(1, 2 * mm),
        Paragraph(escape(labels["footer"]), text),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"{labels['title']} {cert['certificate_id']}",
        author="Tanso",
    )
    doc.build(story)
    return buf.getvalue()


def pdf_fonts(lang: str) -> tuple[str, str]:
    """(regular, bold) font names; Japanese in reportlab's built-in CID font."""
    if lang != "ja":
        return "Helvetica", "Helvetica-Bold"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    font = "HeiseiKakuGo-W5"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    return font, font


def _grid(font: str) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle

    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f6")),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#b8c0c8")),
        ]
    )


def _unit(cert: dict[str, Any]) -> str:
    units = {r["unit"] for r in cert["ranges"]}
    return units.pop() if len(units) == 1 else "t-CO2"


def _origin(r: dict[str, Any], labels: dict[str, str]) -> str:
    if r["origin"] == "deposited":
        return f"{labels['origin_deposited']} {r['external_registry']} ({r['external_ref']})"
    return labels["origin_issued"]


def _jst(at: str) -> str:
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(JST).strftime("%Y-%m-%d %H:%M")
