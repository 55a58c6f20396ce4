"""A claim report as documents: CSV, what the HTML page needs, an A4 PDF, and the
JSON answer's wording, in English and Japanese.

The use case (`tanso.services.compliance.claims.report`) builds the report and weighs its
claims as codes and figures; this module words them and renders the report, with the texts of
the ``claims`` group of the gettext catalogs (`tanso.web.i18n`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tanso.domain import csv_cells
from tanso.services.compliance.claims import Claim, ClaimedCredits, ClaimReport
from tanso.web.documents.pdf import a4_pdf, fonts, paragraph
from tanso.web.i18n import texts

# ---------------------------------------------------------------- wording


def report_texts(lang: str) -> Mapping[str, str]:
    """The report's texts in ``lang``: headings, claims, their titles and reasons."""
    return texts(lang, "claims")


def fmt(value: Any) -> str:
    """A figure as the wording shows it: thousands separators, lists joined, "" for None."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) or "-"
    return "" if value is None else str(value)


def wording(rep: ClaimReport, claim: Claim, lang: str) -> tuple[str, str]:
    """(the claim's wording, or its title when it may not be made; the reason or "")."""
    t = report_texts(lang)
    p = rep.participant
    params = {k: fmt(v) for k, v in claim.params.items()}
    params |= {"name": p.name_ja if lang == "ja" else p.name_en, "year": str(rep.reporting_year)}
    if claim.params.get("percent") == 0 and claim.params.get("tonnes"):
        params["percent"] = "<1"
    params["credits"] = _credits(rep, claim.params.get("retirements", []), lang)
    if not claim.allowed:
        reason = t[f"reason_{claim.reason}"].format_map(_Default(params))
        return t[f"title_{claim.code}"], reason
    return t[f"claim_{claim.code}"].format_map(_Default(params)), ""


def _credits(rep: ClaimReport, retirement_ids: list[str], lang: str) -> str:
    """Which credits back a claim: scheme and category with quantities, and the retirements."""
    t = report_texts(lang)
    kinds: dict[str, ClaimedCredits] = {}
    tonnes: dict[str, int] = {}
    for r in rep.retirements:
        if r.id in retirement_ids:
            for k in r.credits:
                kinds.setdefault(k.code, k)
                tonnes[k.code] = tonnes.get(k.code, 0) + k.quantity
    text = t["credits_separator"].join(
        t["credits_kind"].format(
            quantity=fmt(tonnes[code]),
            scheme=name(kinds[code].scheme, lang),
            category=name(kinds[code].category, lang),
        )
        for code in sorted(kinds, key=lambda code: (-tonnes[code], code))
    )
    return text + (f" ({', '.join(retirement_ids)})" if retirement_ids else "")


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


def scope_name(scope: str, lang: str) -> str:
    return report_texts(lang).get(f"scope_{scope}", scope)


def ca_name(code: str, lang: str) -> str:
    return report_texts(lang).get(f"ca_{code}", code)


def band_name(code: str, lang: str) -> str:
    return report_texts(lang).get(f"band_{code}", code)


def removal_share_text(rep: ClaimReport, lang: str) -> str:
    """The share of removals among the year's retired carbon credits, as a sentence."""
    x = rep.removals
    return report_texts(lang)["removal_share"].format(
        removals=fmt(x.removals), credits=fmt(x.credits), percent=x.percent
    )


def name(item: Any, lang: str) -> str:
    """An item's name in ``lang`` (a term, a tally, the participant); its code if it has none."""
    named = getattr(item, "name_ja" if lang == "ja" else "name_en", None)
    return str(getattr(item, "code", "")) if named is None else str(named)


@dataclass(frozen=True, slots=True)
class WordedClaim(Claim):
    """A claim with its wording (or its title and the reason it may not be made) in English and
    Japanese, as the JSON answer carries it."""

    text_en: str
    reason_en: str
    text_ja: str
    reason_ja: str


def worded(rep: ClaimReport) -> ClaimReport:
    """The report with each claim worded in English and Japanese (the REST API's answer)."""

    def word(c: Claim) -> WordedClaim:
        text_en, reason_en = wording(rep, c, "en")
        text_ja, reason_ja = wording(rep, c, "ja")
        return WordedClaim(
            c.code, c.allowed, c.reason, c.params, text_en, reason_en, text_ja, reason_ja
        )

    return replace(rep, claims=[word(c) for c in rep.claims])


# ---------------------------------------------------------------- CSV, HTML, PDF

CSV_COLUMNS = [
    "section",
    "key",
    "name",
    "emissions",
    "own_reductions",
    "residual",
    "covered",
    "remaining",
    "quantity",
    "allowed",
    "text",
    "reason",
]


def to_csv(rep: ClaimReport, lang: str = "en") -> str:
    """One table: a row per scope, per total of retired credits, per retirement, per claim."""
    buf = io.StringIO()
    w = csv_cells.dict_writer(buf, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for s in rep.scopes:
        w.writerow(
            {
                "section": "scope",
                "key": s.scope,
                "name": scope_name(s.scope, lang),
                **{
                    k: "" if getattr(s, k) is None else getattr(s, k)
                    for k in ("emissions", "own_reductions", "residual", "covered", "remaining")
                },
            }
        )
    tot = rep.totals
    w.writerow(
        {
            "section": "scope",
            "key": "total",
            "name": report_texts(lang)["total"],
            **{
                k: "" if getattr(tot, k) is None else getattr(tot, k)
                for k in ("emissions", "own_reductions", "residual", "covered", "remaining")
            },
        }
    )
    for group in ("by_scheme", "by_category", "by_property", "by_vintage", "by_ca_status"):
        for x in getattr(rep.retired, group):
            label = ca_name(x.code, lang) if group == "by_ca_status" else name(x, lang)
            w.writerow({"section": group, "key": x.code, "name": label, "quantity": x.quantity})
    for r in rep.retirements:
        w.writerow(
            {
                "section": "retirement",
                "key": r.id,
                "name": r.beneficiary,
                "quantity": r.quantity,
                "text": ", ".join(p.code for p in r.purposes),
            }
        )
    for v in rep.voluntary:
        w.writerow(
            {
                "section": "voluntary",
                "key": v.project_id,
                "name": v.project_name_ja if lang == "ja" and v.project_name_ja else v.project_name,
                "quantity": v.quantity,
                "text": ", ".join(name(a, lang) for a in v.evaluation_axes),
            }
        )
    labels = report_texts(lang)
    n = rep.neutralisation
    for key, label, value in (
        ("tonnes", labels["neutralised"], n.tonnes),
        ("durable", labels["neutralised_durable"], n.durable),
        ("total_emissions", labels["total_emissions"], n.emissions),
    ):
        w.writerow(
            {
                "section": "neutralisation",
                "key": key,
                "name": label,
                "quantity": "" if value is None else value,
            }
        )
    for x in rep.contributions:
        w.writerow(
            {
                "section": "contribution",
                "key": x.code,
                "name": name(x, lang),
                "quantity": x.quantity,
            }
        )
    w.writerow(
        {
            "section": "removals",
            "key": "share",
            "name": f"{rep.removals.percent}%",
            "quantity": rep.removals.removals,
            "text": removal_share_text(rep, lang),
        }
    )
    for x in rep.removals.by_band:
        w.writerow(
            {
                "section": "removal_band",
                "key": x.code,
                "name": band_name(x.code, lang),
                "quantity": x.quantity,
            }
        )
    for c in rep.claims:
        text, reason = wording(rep, c, lang)
        w.writerow(
            {
                "section": "claim",
                "key": c.code,
                "allowed": "yes" if c.allowed else "no",
                "text": text,
                "reason": reason,
            }
        )
    return buf.getvalue()


def render_context(rep: ClaimReport, lang: str) -> dict[str, Any]:
    """What the HTML templates need besides the report."""
    return {
        "r": rep,
        "L": report_texts(lang),
        "wording": lambda c: wording(rep, c, lang),
        "scope_name": lambda s: scope_name(s, lang),
        "ca_name": lambda c: ca_name(c, lang),
        "iname": lambda x: name(x, lang),
        "band_name": lambda c: band_name(c, lang),
        "removal_share": removal_share_text(rep, lang),
    }


def to_pdf(rep: ClaimReport, lang: str = "en") -> bytes:
    """A4 portrait, all text in the embedded font (``pdf.fonts``)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer, Table, TableStyle

    labels = report_texts(lang)
    font, bold = fonts()
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=21)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=15, spaceBefore=8)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)

    def p(value: Any, style: ParagraphStyle = cell) -> Any:
        return paragraph(fmt(value), style)

    def table(rows: list[list[Any]], widths: list[float]) -> Table:
        tb = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
        tb.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#b8c0c8")),
                ]
            )
        )
        return tb

    part = rep.participant
    story: list[Any] = [
        paragraph(
            f"{labels['title']} — {part.name_ja if lang == 'ja' else part.name_en} "
            f"({part.id}) {rep.reporting_year}",
            title,
        ),
        p(f"{labels['rulesets']}: {', '.join(rep.rulesets) or '-'}", text),
        paragraph(labels["emissions"], h2),
    ]
    if rep.inventory is None:
        story.append(p(labels["no_inventory"], text))
    cols = ("emissions", "own_reductions", "residual", "covered", "remaining")
    head = [
        labels["scope"],
        labels["emitted"],
        labels["own_reductions"],
        labels["residual"],
        labels["covered"],
        labels["remaining"],
    ]
    rows: list[list[Any]] = [[p(h) for h in head]]
    for s in rep.scopes:
        rows.append([p(scope_name(s.scope, lang))] + [p(getattr(s, c)) for c in cols])
    rows.append([p(labels["total"])] + [p(getattr(rep.totals, c)) for c in cols])
    story.append(table(rows, [50, 26, 26, 26, 26, 26]))
    story += [
        paragraph(labels["retired"], h2),
        p(
            labels["retired_total"].format(
                quantity=fmt(rep.retired.total), count=rep.retired.count
            ),
            text,
        ),
    ]
    for group in ("by_scheme", "by_category", "by_property", "by_vintage", "by_ca_status"):
        items = getattr(rep.retired, group)
        if not items:
            continue
        rows = [[p(labels[group]), p(labels["quantity"])]]
        for x in items:
            label = ca_name(x.code, lang) if group == "by_ca_status" else name(x, lang)
            rows.append([p(label), p(x.quantity)])
        story += [Spacer(1, 2 * mm), table(rows, [120, 40])]
    story.append(paragraph(labels["retirements"], h2))
    if rep.retirements:
        rows = [
            [
                p(labels["retirement"]),
                p(labels["purposes"]),
                p(labels["beneficiary"]),
                p(labels["quantity"]),
            ]
        ]
        for r in rep.retirements:
            rows.append(
                [
                    p(r.id),
                    p(", ".join(name(x, lang) for x in r.purposes)),
                    p(r.beneficiary),
                    p(r.quantity),
                ]
            )
        story.append(table(rows, [30, 70, 50, 26]))
    else:
        story.append(p(labels["nothing"], text))
    story.append(paragraph(labels["voluntary"], h2))
    if rep.voluntary:
        rows = [[p(labels["project"]), p(labels["quantity"]), p(labels["axes"])]]
        for v in rep.voluntary:
            pname = v.project_name_ja if lang == "ja" and v.project_name_ja else v.project_name
            rows.append(
                [
                    p(f"{v.project_id} {pname}"),
                    p(v.quantity),
                    p(", ".join(name(a, lang) for a in v.evaluation_axes) or "-"),
                ]
            )
        story.append(table(rows, [80, 26, 70]))
    else:
        story.append(p(labels["voluntary_none"], text))
    story.append(paragraph(labels["beyond"], h2))
    n = rep.neutralisation
    rows = [[p(labels["beyond"]), p(labels["quantity"])]]
    rows += [
        [p(labels["neutralised"]), p(n.tonnes)],
        [p(labels["neutralised_durable"]), p(n.durable)],
        [p(labels["total_emissions"]), p("-" if n.emissions is None else n.emissions)],
    ]
    story.append(table(rows, [120, 40]))
    story += [Spacer(1, 2 * mm), p(labels["contributions"], text)]
    if rep.contributions:
        rows = [[p(labels["purposes"]), p(labels["quantity"])]]
        rows += [[p(name(x, lang)), p(x.quantity)] for x in rep.contributions]
        story.append(table(rows, [120, 40]))
    else:
        story.append(p(labels["contributions_none"], text))
    story += [Spacer(1, 2 * mm), p(removal_share_text(rep, lang), text)]
    rows = [[p(labels["by_band"]), p(labels["quantity"])]]
    rows += [[p(band_name(x.code, lang)), p(x.quantity)] for x in rep.removals.by_band]
    story.append(table(rows, [120, 40]))
    story.append(paragraph(labels["claims"], h2))
    rows = [[p(labels["may"] + " / " + labels["may_not"]), p(labels["claim"]), p(labels["why"])]]
    for c in rep.claims:
        wtext, reason = wording(rep, c, lang)
        rows.append([p(labels["may"] if c.allowed else labels["may_not"]), p(wtext), p(reason)])
    story += [table(rows, [26, 80, 70]), Spacer(1, 4 * mm), p(labels["footer"], text)]
    return a4_pdf(story, f"{labels['title']} {part.id} {rep.reporting_year}")
