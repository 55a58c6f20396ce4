"""What every PDF document shares: A4 with Tanso's margins, built in memory, and ``paragraph``,
the one way text becomes a reportlab ``Paragraph``.

A ``Paragraph`` reads its text as reportlab's mini-markup (``<b>``, ``<font>``, ``&amp;``): an
instrument, project or beneficiary named ``<b>A&B</b>`` would be markup, or fail to parse and
turn the download into a 500. ``paragraph`` escapes every value, so names, notes and catalog labels
print as the characters they are. No document builds a ``Paragraph`` any other way.

Every PDF, English or Japanese, draws all its text in one TrueType font embedded in the file
(``fonts``): IPAex Gothic from Debian's ``fonts-ipaexfont-gothic``. It has Latin and Japanese
glyphs, so a Japanese name in an English certificate prints as itself (never as a box), and the
look does not depend on the reader's fonts. reportlab embeds TrueType outlines only (not CFF),
hence the ``.ttf``. IPAex has no bold face: headings are set apart by size."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tanso.domain.errors import Unavailable

FONT = "IPAexGothic"
FONT_PACKAGE = "fonts-ipaexfont-gothic"
# Where Debian's package puts the font (opentype/ in Debian 12; truetype/ in case it moves).
FONT_FILES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
)


class FontMissing(Unavailable):
    """The PDF font file is not installed: a deployment fault, refused as 503 with its fix."""


def font_file() -> Path:
    """The TrueType file every PDF embeds: Debian's IPAex Gothic, wherever it was installed."""
    for candidate in FONT_FILES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        "pdf_font_missing",
        f"PDF documents need the Japanese TrueType font IPAex Gothic, which is not at "
        f"{' or '.join(FONT_FILES)}: install the Debian package {FONT_PACKAGE} "
        f"(apt-get install {FONT_PACKAGE}).",
    )


def fonts() -> tuple[str, str]:
    """(regular, bold) font names for reportlab styles, registering the embedded font once.
    Both are IPAex Gothic (it has no bold face)."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(font_file())))
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FONT, bold, italic, FONT)
    return FONT, FONT


def paragraph(value: object, style: Any) -> Any:
    """A reportlab ``Paragraph`` showing ``value`` literally (``<``, ``>``, ``&`` escaped)."""
    from xml.sax.saxutils import escape

    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(value)), style)


def a4_pdf(story: list[Any], title: str, *, landscape: bool = False) -> bytes:
    """Lay ``story`` (reportlab flowables) out on A4 and answer the PDF's bytes: portrait with
    15 mm sides and 14 mm top and bottom, or landscape (wide tables) with 12 mm all round.
    The page's initial font is the embedded one, so the PDF names no other font."""
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
        initialFontName=fonts()[0],  # else reportlab names Helvetica, not embedded, on every page
    )
    doc.build(story)
    return buf.getvalue()
