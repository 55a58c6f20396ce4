"""The weekly (週報) and monthly (月報) market reports as documents: CSV, HTML and PDF, in English
and Japanese, with the daily report's look (its labels, styles and PDF tables).

The use case (`tanso.services.marketdata.period_report.build`) gives the figures; this module
only renders them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

from tanso.domain import csv_cells
from tanso.services.common import plain
from tanso.services.marketdata.daily_report import JST
from tanso.services.marketdata.period_report import PeriodReport
from tanso.web import render
from tanso.web.documents.daily_report import LANGS, grid, n, name, pdf_styles
from tanso.web.documents.pdf import a4_pdf, paragraph
from tanso.web.i18n import texts

__all__ = ["LANGS", "to_csv", "to_html", "to_pdf"]

CSV_COLUMNS = [
    "record",
    "period",
    "id",
    "name",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "value",
    "vwap",
    "trades",
    "days_traded",
    "auctions",
    "auctions_traded",
    "auction_volume",
    "reference_price",
    "lower_limit",
    "upper_limit",
    "first",
    "last",
    "change",
    "days",
    "cleared_at",
    "clearing_price",
    "sold",
    "unsold",
    "bidders",
    "issued",
    "retired",
    "transferred",
    "note",
]


def labels(lang: str) -> Mapping[str, str]:
    """The daily report's labels with the period report's own."""
    return texts(lang, "daily_report", "period_report")


def title(rep: PeriodReport, lang: str) -> str:
    return labels(lang)[f"title_{rep.kind}"]


def tokyo(at: str) -> str:
    """A stored UTC timestamp as Tokyo date and time (``YYYY-MM-DD HH:MM``)."""
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(JST)
    return f"{ts:%Y-%m-%d %H:%M}"


def to_csv(rep: PeriodReport, lang: str = "en") -> str:
    """One table: ``record`` says what a row is (bar, index, sealed_auction, registry, total)."""
    L = labels(lang)
    buf = io.StringIO()
    w = csv_cells.dict_writer(buf, CSV_COLUMNS, extrasaction="raise")
    w.writeheader()
    period = rep.period
    for r in rep.instruments:
        row: dict[str, Any] = {
            "record": "bar",
            "period": period,
            "id": r.id,
            "name": name(r, lang),
            "days_traded": r.days_traded,
            "auctions": r.auctions,
            "auctions_traded": r.auctions_traded,
            "auction_volume": r.auction_volume,
            "reference_price": r.reference_price,
            "lower_limit": r.lower_limit,
            "upper_limit": r.upper_limit,
        }
        if r.bar:
            figures = plain(r.bar)
            restated = figures.pop("restated", False)
            row |= figures | {"note": L["restated"] if restated else ""}
        else:
            row |= {"volume": 0, "value": 0, "trades": 0, "note": L["no_trade"]}
        w.writerow(row)
    for i in rep.indices:
        w.writerow(
            {
                "record": "index",
                "period": period,
                "id": i.id,
                "name": name(i, lang),
                "first": i.first,
                "high": i.high,
                "low": i.low,
                "last": i.last,
                "change": i.change,
                "days": i.days,
                "note": L["index_restated"] if i.restated else "",
            }
        )
    for a in rep.sealed_auctions:
        w.writerow(
            {
                "record": "sealed_auction",
                "period": period,
                "id": a.id,
                "name": a.title,
                "cleared_at": a.cleared_at,
                "clearing_price": a.clearing_price,
                "sold": a.sold,
                "unsold": a.unsold,
                "bidders": a.bidders,
            }
        )
    for g in rep.registry:
        w.writerow(
            {
                "record": "registry",
                "period": period,
                "id": g.scheme,
                "issued": g.issued,
                "retired": g.retired,
                "transferred": g.transferred,
            }
        )
    w.writerow({"record": "total", "period": period, "name": L["total"]} | plain(rep.totals))
    return buf.getvalue()


def to_html(rep: PeriodReport, lang: str = "en") -> str:
    return render(
        "period_report.html",
        r=rep,
        lang=lang,
        L=labels(lang),
        title=title(rep, lang),
        other="ja" if lang == "en" else "en",
        name=lambda item: name(item, lang),
        tokyo=tokyo,
    )


def to_pdf(rep: PeriodReport, lang: str = "en") -> bytes:
    """A4 landscape, all text in the embedded font (``pdf.fonts``), tables as the daily's."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    L = labels(lang)
    st = pdf_styles()
    t = rep.totals

    def head(*keys: str) -> list[Any]:
        return [paragraph(L[k], st.head) for k in keys]

    bars: list[list[Any]] = [
        head(
            "instrument",
            "open",
            "high",
            "low",
            "close",
            "day_volume",
            "vwap",
            "value_jpy",
            "trades",
            "days_traded",
            "auctions_held",
            "auction_volume",
            "reference_after",
        )
    ]
    for r in rep.instruments:
        b = r.bar
        restated = f" ({L['restated']})" if b and b.restated else ""
        bars.append(
            [
                paragraph(name(r, lang) + restated, st.cell),
                *(
                    [
                        n(b.open),
                        n(b.high),
                        n(b.low),
                        n(b.close),
                        n(b.volume),
                        n(b.vwap),
                        n(b.value),
                        n(b.trades),
                    ]
                    if b
                    else [L["no_trade"], "", "", "", "0", "", "0", "0"]
                ),
                str(r.days_traded),
                str(r.auctions),
                n(r.auction_volume),
                n(r.reference_price),
            ]
        )
    bars.append(
        [
            paragraph(L["total"], st.cell),
            "",
            "",
            "",
            "",
            n(t.volume),
            "",
            n(t.value),
            n(t.trades),
            str(t.days_traded),
            str(t.auctions),
            n(t.auction_volume),
            "",
        ]
    )
    story: list[Any] = [
        paragraph(title(rep, lang), st.title),
        paragraph(
            f"{L['period']}: {rep.period} ({rep.start} – {rep.end})　{L['totals']}: "
            f"{t.volume:,} t　{L['trade_value']}: {t.value:,} JPY　"
            f"{L['days']}: {', '.join(rep.days)}",
            st.text,
        ),
        paragraph(L["unit"], st.text),
        Spacer(1, 4 * mm),
        grid(bars, [62, 16, 16, 16, 16, 18, 16, 26, 14, 14, 16, 18, 20], (1, -1)),
        Spacer(1, 6 * mm),
        paragraph(L["indices"], st.h2),
    ]
    if rep.indices:
        rows = [head("index", "first", "high", "low", "last", "change", "published_days")]
        for i in rep.indices:
            change = "-" if i.change is None else f"{i.change:+,}"
            restated = f" ({L['index_restated']})" if i.restated else ""
            rows.append(
                [paragraph(name(i, lang) + restated, st.cell)]
                + [n(v) or "-" for v in (i.first, i.high, i.low, i.last)]
                + [change, str(i.days)]
            )
        story.append(grid(rows, [90, 22, 22, 22, 22, 22, 22], (1, -1)))
    else:
        story.append(paragraph(L["no_index"], st.text))
    story += [Spacer(1, 6 * mm), paragraph(L["sealed"], st.h2)]
    if rep.sealed_auctions:
        rows = [head("sealed_title", "cleared_at", "clearing_price", "sold", "unsold", "bidders")]
        for a in rep.sealed_auctions:
            rows.append(
                [
                    paragraph(a.title, st.cell),
                    tokyo(a.cleared_at),
                    n(a.clearing_price) or "-",
                    n(a.sold),
                    n(a.unsold),
                    n(a.bidders),
                ]
            )
        story.append(grid(rows, [90, 34, 26, 22, 22, 22], (2, -1)))
    else:
        story.append(paragraph(L["no_sealed"], st.text))
    story += [Spacer(1, 6 * mm), paragraph(L["registry"], st.h2)]
    if rep.registry:
        rows = [head("scheme", "issued", "retired", "transferred")]
        for g in rep.registry:
            rows.append([g.scheme, n(g.issued), n(g.retired), n(g.transferred)])
        rows.append([L["total"], n(t.issued), n(t.retired), n(t.transferred)])
        story += [grid(rows, [40, 30, 30, 30], (1, -1)), paragraph(L["transfer_note"], st.text)]
    else:
        story.append(paragraph(L["no_registry"], st.text))
    story += [Spacer(1, 6 * mm), paragraph(L["footer_period"], st.text)]
    return a4_pdf(story, f"{title(rep, lang)} {rep.period}", landscape=True)
