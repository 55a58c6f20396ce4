"""The page set-up every PDF document shares: A4, Tanso's margins, built in memory."""

from __future__ import annotations

import io
from typing import Any


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
