"""The shared A4 page set-up of the PDF documents."""

from __future__ import annotations

import re

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph

from tanso.web.documents.pdf import a4_pdf


def _media_box(pdf: bytes) -> tuple[float, float]:
    found = re.search(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)
    assert found is not None
    return float(found.group(1)), float(found.group(2))


def test_a_document_is_a4_portrait_with_its_title() -> None:
    pdf = a4_pdf([Paragraph("x", getSampleStyleSheet()["Normal"])], "Certificate CERT-RT-1")
    assert pdf.startswith(b"%PDF-")
    width, height = _media_box(pdf)
    assert round(width) == 595 and round(height) == 842
    assert b"Certificate CERT-RT-1" in pdf


def test_a_wide_document_is_a4_landscape() -> None:
    pdf = a4_pdf([Paragraph("x", getSampleStyleSheet()["Normal"])], "Daily", landscape=True)
    width, height = _media_box(pdf)
    assert round(width) == 842 and round(height) == 595
