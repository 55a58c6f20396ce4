"""The daily market report as documents: CSV, HTML and PDF, in English and Japanese.

The use case (`tanso.services.marketdata.daily_report.build`) gives the report's figures; this
module only renders them.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from tanso.domain import csv_cells
from tanso.services.common import plain
from tanso.services.marketdata import period_report
from tanso.services.marketdata.daily_report import AuctionPrint, DailyReport
from tanso.web import render
from tanso.web.documents.pdf import a4_pdf, fonts, paragraph
from tanso.web.i18n import texts

LANGS = ("en", "ja")


CSV_COLUMNS = [
    "record",
    "date",
    "id",
    "name",
    "time",
    "price",
    "volume",
    "open",
    "high",
    "low",
    "close",
    "value",
    "vwap",
    "trades",
    "reference_price",
    "lower_limit",
    "upper_limit",
    "valid_for",
    "rule",
    "note",
]


# ---------------------------------------------------------------- the three forms


def name(item: Any, lang: str) -> str:
    """An instrument's or index's name in ``lang``."""
    return str(item.name_ja if lang == "ja" else item.name_en)


def rule_label(rule: str, lang: str) -> str:
    return texts(lang, "daily_report").get(f"rule_{rule}", rule)


def to_csv(rep: DailyReport, lang: str = "en") -> str:
    """One table: a row per auction, per bar, per next-day reference price and per index."""
    labels = texts(lang, "daily_report")
    buf = io.StringIO()
    w = csv_cells.dict_writer(buf, CSV_COLUMNS, extrasaction="raise")
    w.writeheader()
    day = rep.date
    for r in rep.instruments:
        base = {"date": day, "id": r.id, "name": name(r, lang)}
        for x in r.auctions:
            traded = x.volume > 0
            w.writerow(
                base
                | {
                    "record": "auction",
                    "time": x.time,
                    "price": x.price if traded else "",
                    "volume": x.volume,
                    "note": "" if traded else labels["no_trade"],
                }
            )
        bar = r.bar
        if bar:
            figures = plain(bar)
            restated = figures.pop("restated", False)
            note = labels["restated"] if restated else ""
            w.writerow(base | {"record": "bar", **figures, "note": note})
        else:
            w.writerow(base | {"record": "bar", "volume": 0, "note": labels["no_trade"]})
        w.writerow(
            base
            | {
                "record": "reference",
                "reference_price": r.reference_price,
                "lower_limit": r.lower_limit,
                "upper_limit": r.upper_limit,
                "valid_for": rep.next_business_day or "",
            }
        )
    for i in rep.indices:
        w.writerow(
            {
                "record": "index",
                "date": day,
                "id": i.id,
                "name": name(i, lang),
                "price": "" if i.value is None else i.value,
                "volume": i.volume,
                "rule": i.rule,
                "note": rule_label(i.rule, lang)
                + (f" ({labels['index_restated']})" if i.restated_at else ""),
            }
        )
    return buf.getvalue()


def to_html(rep: DailyReport, lang: str = "en") -> str:
    return render(
        "daily_report.html",
        r=rep,
        lang=lang,
        L=texts(lang, "daily_report", "period_report"),
        periods=period_report.day_links(dt.date.fromisoformat(rep.date)),
        other="ja" if lang == "en" else "en",
        name=lambda item: name(item, lang),
        rule_label=lambda rule: rule_label(rule, lang),
    )


@dataclass(frozen=True, slots=True)
class PdfStyles:
    """The paragraph styles every market report's PDF shares, in the embedded font."""

    font: str
    title: Any
    h2: Any
    text: Any
    cell: Any
    head: Any


def pdf_styles() -> PdfStyles:
    from reportlab.lib.styles import ParagraphStyle

    font, bold = fonts()
    return PdfStyles(
        font=font,
        title=ParagraphStyle("title", fontName=bold, fontSize=15, leading=20),
        h2=ParagraphStyle("h2", fontName=bold, fontSize=11, leading=15),
        text=ParagraphStyle("text", fontName=font, fontSize=9, leading=12),
        cell=ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9),
        head=ParagraphStyle("head", fontName=bold, fontSize=7.5, leading=9),
    )


def n(v: int | None) -> str:
    """A figure with thousands separators; empty for none."""
    return "" if v is None else f"{v:,}"


def grid_style(font: str, numbers: tuple[int, int], ruled: bool = True) -> list[Any]:
    """A report table's look: a shaded header row, figures in columns ``numbers`` (first, last)
    to the right, and (``ruled``) a thin line under every row."""
    from reportlab.lib import colors

    style: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 7.5),
        ("ALIGN", (numbers[0], 1), (numbers[1], -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
    ]
    if ruled:
        style.append(("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor("#b8c0c8")))
    return style


def grid(
    rows: list[list[Any]], widths: list[float], numbers: tuple[int, int], ruled: bool = True
) -> Any:
    """A reportlab table of a header row and ``rows``, ``widths`` in millimetres."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(grid_style(pdf_styles().font, numbers, ruled)))
    return table


def to_pdf(rep: DailyReport, lang: str = "en") -> bytes:
    """A4 landscape, all text in the embedded font (``pdf.fonts``)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer, TableStyle

    labels = texts(lang, "daily_report")
    st = pdf_styles()
    title, text, cell, head = st.title, st.text, st.cell, st.head

    header = [
        labels["instrument"],
        labels["auction"],
        labels["price"],
        labels["volume"],
        labels["open"],
        labels["high"],
        labels["low"],
        labels["close"],
        labels["day_volume"],
        labels["vwap"],
        labels["reference"],
        labels["limits"],
    ]
    data: list[list[Any]] = [[paragraph(h, head) for h in header]]
    firsts: list[int] = []
    for r in rep.instruments:
        bar = r.bar
        day_cols = [
            n(bar.open if bar else None),
            n(bar.high if bar else None),
            n(bar.low if bar else None),
            n(bar.close if bar else None),
            n(bar.volume) if bar else "0",
            n(bar.vwap if bar else None),
            n(r.reference_price),
            f"{r.lower_limit:,} – {r.upper_limit:,}",
        ]
        auctions: list[AuctionPrint | None] = [*r.auctions] or [None]
        firsts.append(len(data))
        for k, x in enumerate(auctions):
            if x is None:
                session = [labels["no_auction"], "", ""]
            elif x.volume > 0:
                session = [x.time, n(x.price), n(x.volume)]
            else:
                session = [x.time, labels["no_trade"], "0"]
            restated = f" ({labels['restated']})" if bar and bar.restated else ""
            first = paragraph(name(r, lang) + restated, cell) if k == 0 else ""
            data.append([first, *session, *(day_cols if k == 0 else [""] * len(day_cols))])
    table = grid(data, [58, 17, 18, 17, 16, 16, 16, 16, 18, 18, 21, 30], (2, -1), ruled=False)
    style = grid_style(st.font, (2, -1), ruled=False)
    for row in firsts[1:]:
        style.append(("LINEABOVE", (0, row), (-1, row), 0.3, colors.HexColor("#b8c0c8")))
    table.setStyle(TableStyle(style))

    story: list[Any] = [
        paragraph(labels["title"], title),
        paragraph(
            f"{labels['date']}: {rep.date}　{labels['next_day']}: "
            f"{rep.next_business_day or '-'}　{labels['totals']}: {rep.totals.volume:,} t"
            f"　{labels['trade_value']}: {rep.totals.value:,} JPY",
            text,
        ),
        paragraph(labels["unit"], text),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 6 * mm),
        paragraph(labels["indices"], st.h2),
    ]
    if rep.indices:
        rows: list[list[Any]] = [
            [
                paragraph(h, head)
                for h in (labels["index"], labels["value"], labels["volume"], labels["rule"])
            ]
        ]
        for i in rep.indices:
            rows.append(
                [
                    paragraph(
                        name(i, lang) + (f" ({labels['index_restated']})" if i.restated_at else ""),
                        cell,
                    ),
                    "-" if i.value is None else f"{i.value:,}",
                    n(i.volume),
                    paragraph(rule_label(i.rule, lang), cell),
                ]
            )
        story.append(grid(rows, [90, 25, 25, 60], (1, 2)))
    else:
        story.append(paragraph(labels["not_published"], text))
    story += [Spacer(1, 6 * mm), paragraph(labels["footer"], text)]

    return a4_pdf(story, f"{labels['title']} {rep.date}", landscape=True)
