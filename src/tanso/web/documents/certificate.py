"""A retirement certificate (無効化証明書) as documents: a stand-alone HTML page, an A4 PDF with
the QR code of its public verification page, and what the /verify page shows.

The use case (`tanso.services.compliance.certificates`) builds and verifies the certificate;
this module only renders it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from tanso.services.compliance.certificates import Certificate, CertifiedRange, name, verify_path
from tanso.web import render
from tanso.web.documents.pdf import a4_pdf, fonts, paragraph
from tanso.web.i18n import texts

JST = ZoneInfo("Asia/Tokyo")


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


def ca_name(code: str, lang: str) -> str:
    return texts(lang, "certificate_ca").get(code, code)


def to_html(cert: Certificate, lang: str = "en", base_url: str = "") -> str:
    """The certificate as a stand-alone HTML page (what the PDF shows)."""
    url = base_url.rstrip("/") + verify_path(cert.retirement_id, lang)
    return render(
        "certificate.html",
        c=cert,
        lang=lang,
        t=texts(lang, "certificate"),
        name=lambda item: name(item, lang),
        ca_name=lambda code: ca_name(code, lang),
        mechanism=lambda code: texts(lang, "certificate_mechanism").get(code, code),
        cause=lambda code: texts(lang, "removal_cause").get(code, code),
        verify_url=url,
        qr=qr_svg(url),
        jst=_jst,
    )


def to_pdf(cert: Certificate, lang: str = "en", base_url: str = "") -> bytes:
    """A4 portrait, all text in the embedded font (``pdf.fonts``); a QR code of the verify URL."""
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer, Table, TableStyle

    labels = texts(lang, "certificate")
    font, bold = fonts()
    title = ParagraphStyle("title", fontName=bold, fontSize=17, leading=22)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=15, spaceBefore=6)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    mono = ParagraphStyle("mono", fontName=font, fontSize=7.5, leading=9.5)
    url = base_url.rstrip("/") + verify_path(cert.retirement_id, lang)

    def p(value: Any, style: ParagraphStyle = cell) -> Any:
        return paragraph(value, style)

    facts = [
        (labels["certificate_id"], cert.certificate_id),
        (labels["retirement_id"], cert.retirement_id),
        (labels["beneficiary"], cert.beneficiary),
        (labels["retired_by"], name(cert.retired_by, lang)),
        (labels["purposes"], ", ".join(name(x, lang) for x in cert.purposes)),
        (labels["scope"], labels.get(f"scope_{cert.scope}", cert.scope)),
        (labels["year"], cert.reporting_year),
        (labels["quantity"], f"{cert.quantity:,} {_unit(cert)}"),
        (labels["retired_at"], _jst(cert.retired_at)),
    ]
    if cert.note:
        facts.append((labels["note"], cert.note))
    fact_table = Table(
        [[p(k), p(v, text)] for k, v in facts], colWidths=[38 * mm, 100 * mm], hAlign="LEFT"
    )
    fact_table.setStyle(_grid(font))
    qr = QrCodeWidget(url)
    qr.barWidth = qr.barHeight = 36 * mm
    drawing = Drawing(36 * mm, 36 * mm, initialFontName=font)  # else it names Helvetica
    drawing.add(qr)
    top = Table([[fact_table, drawing]], colWidths=[140 * mm, 40 * mm], hAlign="LEFT")
    top.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), font)])
    )

    story: list[Any] = [
        paragraph(f"{labels['title']} — {cert.certificate_id}", title),
        Spacer(1, 3 * mm),
        top,
        paragraph(labels["ranges"], h2),
    ]
    for r in cert.ranges:
        rows = [
            (labels["serials"], r.serials),
            (labels["quantity"], f"{r.quantity:,} {r.unit}"),
            (labels["scheme"], f"{name(r.scheme, lang)} ({r.scheme.code})"),
            (labels["category"], name(r.category, lang)),
            (
                labels["project"],
                f"{r.project_id} "
                + (r.project_name_ja if lang == "ja" and r.project_name_ja else r.project_name),
            ),
            (labels["country"], r.country),
            (
                labels["credit_type"],
                f"{name(r.credit_type, lang)} / "
                + texts(lang, "certificate_mechanism").get(r.mechanism, r.mechanism),
            ),
            (labels["vintage"], r.vintage),
            (labels["certified_on"], r.certified_on),
            (labels["properties"], ", ".join(name(x, lang) for x in r.properties) or "-"),
            (labels["axes"], ", ".join(name(x, lang) for x in r.evaluation_axes) or "-"),
            (
                labels["ca"],
                f"{labels['ca_declaration']}: {ca_name(r.ca_declaration, lang)}, "
                f"{labels['ca_status']}: {ca_name(r.ca_status, lang)}",
            ),
            (labels["origin"], _origin(r, labels)),
        ]
        table = Table([[p(k), p(v)] for k, v in rows], colWidths=[38 * mm, 142 * mm])
        table.setStyle(_grid(font))
        story += [table, Spacer(1, 3 * mm)]
    if cert.reversals:
        causes = texts(lang, "removal_cause")
        story += [paragraph(labels["reversals"], h2), paragraph(labels["reversals_note"], text)]
        grid: list[list[Any]] = [
            [
                p(v.id),
                p(v.project_id),
                p(v.occurred_on),
                p(causes.get(v.cause, v.cause)),
                p(f"{v.quantity:,} t"),
                p(
                    f"{v.from_project_buffer:,} t {labels['from_buffer']}, "
                    f"{v.from_holders:,} t {labels['from_holders']}, "
                    f"{v.from_pool:,} t {labels['from_pool']}"
                ),
                p(f"{v.uncompensated:,} t"),
            ]
            for v in cert.reversals
        ]
        head = [
            p(labels[k])
            for k in (
                "reversal_id",
                "project",
                "occurred_on",
                "cause",
                "reversed",
                "compensation",
                "uncompensated",
            )
        ]
        rt = Table(
            [head, *grid], colWidths=[36 * mm, 18 * mm, 22 * mm, 16 * mm, 18 * mm, 52 * mm, 18 * mm]
        )
        rt.setStyle(_grid(font))
        story += [rt, Spacer(1, 3 * mm)]
    j = cert.journal
    journal_rows = [
        (labels["seq"], p(j.seq)),
        (labels["kind"], p(j.kind)),
        (labels["at"], p(j.at)),
        (labels["hash"], p(j.hash, mono)),
        (labels["prev_hash"], p(j.prev_hash, mono)),
    ]
    jt = Table([[p(k), v] for k, v in journal_rows], colWidths=[38 * mm, 142 * mm])
    jt.setStyle(_grid(font))
    story += [
        paragraph(labels["journal"], h2),
        jt,
        Spacer(1, 4 * mm),
        paragraph(f"{labels['verify_url']}: {url}", text),
        Spacer(1, 2 * mm),
        paragraph(labels["footer"], text),
    ]
    return a4_pdf(story, f"{labels['title']} {cert.certificate_id}")


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


def _unit(cert: Certificate) -> str:
    units = {r.unit for r in cert.ranges}
    return units.pop() if len(units) == 1 else "t-CO2"


def _origin(r: CertifiedRange, labels: Mapping[str, str]) -> str:
    if r.origin == "deposited":
        return f"{labels['origin_deposited']} {r.external_registry} ({r.external_ref})"
    return labels["origin_issued"]


def _jst(at: str) -> str:
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(JST).strftime("%Y-%m-%d %H:%M")
