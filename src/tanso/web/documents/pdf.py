"""What every PDF document shares: A4 with Tanso's margins, built in memory, and ``paragraph``,
the one way text becomes a reportlab ``Paragraph``.

A ``Paragraph`` reads its text as reportlab's mini-markup (``<b>``, ``<font>``, ``&amp;``): an
instrument, project or beneficiary named ``<b>A&B</b>`` would be markup, or fail to parse and
turn the download into a 500. ``paragraph`` escapes every value, so names, notes and catalog labels
print as the characters they are. No document builds a ``Paragraph`` any other way."""

from __future__ import annotations

import io
from typing import Any


def paragraph(value: object, style: Any) -> Any:
    """A reportlab ``Paragraph`` showing ``value`` literally (``<``, ``>``, ``&`` escaped)."""
    from xml.sax.saxutils import escape

    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(value)), style)


def a4_pdf(story: list[Any], title: str, *, landscape: bool = False) -> bytes:
    """Lay ``story`` (reportlab flowables) out on A4 and answer the PDF's bytes: portrait with
    15 mm sides and 14 mm top and bottom, or landscape (wide tables) with 12 mm all round."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pagesizes import landscape as turned
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    side, top = (12 * mm, 12 * mm) if landscape else (15 * mm, 14 * mm)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=turned(A4) if landscape else A4,
        leftMargin=side,
        rightMargin=side,
        topMargin=top,
        bottomMargin=top,
        title=title,
        author="Tanso",
    )
    doc.build(story)
    return buf.getvalue()
