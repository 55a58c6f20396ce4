"""The public project pages (issue 22, docs/projects.md), in English and Japanese, no login; each
at its path, ``/en/...`` and ``/ja/...``:

- ``/projects``: every project with its credits issued, retired and outstanding, a search (id,
  name, developer, methodology) and filters (scheme, category, country, prefecture, credit type),
  paged; above it a map of Japan by prefecture and of the JCM partner countries, shaded by the
  credits issued, drawn on the server as inline SVG from shipped boundary data (web.project_map);
- ``/projects/{id}``: one project's attributes, removal profile, documents and links, issuances
  with their serial ranges, the retirements of its credits (as their public notices show them),
  and the daily closes of the instruments whose eligibility admits its credits, drawn as SVG;
  for a project registered through the project cycle, its cycle (web.project_cycle): the
  validation, the plan's documents, each verified monitoring report and what each issuance
  rests on. The id of a plan not registered yet goes (303) to its plan page.

The cycle's own pages (plans in the pipeline, a plan, the methodologies) are web.project_cycle's,
carried by this router ahead of ``/projects/{id}``.

Nothing here runs a script or loads anything from another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from tanso.domain.errors import InvalidInput, NotFound
from tanso.services.ledger import project_pages as pp
from tanso.services.ledger import project_updates, taxonomy
from tanso.web import kit, project_cycle, project_map, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)
router.include_router(project_cycle.router)  # /projects/plans before /projects/{project_id}

FILTERS = ("q", "scheme", "category", "country", "prefecture", "credit_type")
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 180, 8


def _answer(html: str, lang: Lang, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(html, status)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


def _prefix(lang: Lang) -> str:
    return "/ja" if lang == "ja" else ""


def _refused(lang: Lang, status: int, code: str, text: str, lang_query: str) -> HTMLResponse:
    html = render(
        "public_error.html",
        lang=lang,
        t=texts(lang, "public"),
        code=code,
        text=text,
        back=f"{_prefix(lang)}/projects",
        lang_query=lang_query,
    )
    return _answer(html, lang, status)


def _names(rows: list[dict[str, Any]], lang: Lang) -> dict[str, str]:
    key = "name_ja" if lang == "ja" else "name_en"
    return {r["code"]: r[key] for r in rows}


def _vocabulary(request: Request, lang: Lang) -> dict[str, dict[str, str]]:
    """The names in ``lang`` of the codes the pages show: schemes, categories, terms, places."""
    db = kit.db(request)
    prefectures = project_map.prefecture_names()
    return {
        "scheme": _names(taxonomy.list_schemes(db), lang),
        "category": _names(taxonomy.list_categories(db), lang),
        "credit_type": _names(taxonomy.list_terms(db, "credit_type"), lang),
        "property": _names(taxonomy.list_terms(db, "property"), lang),
        "evaluation_axis": _names(taxonomy.list_terms(db, "evaluation_axis"), lang),
        "purpose": _names(taxonomy.list_terms(db, "purpose"), lang),
        "country": project_map.partner_names(lang) | {"JP": texts(lang, "projects")["japan"]},
        "prefecture": {ja: ja if lang == "ja" else en for ja, en in prefectures.items()},
    }


def _filter(request: Request) -> pp.ProjectFilter:
    q = request.query_params
    page = q.get("page") or "1"
    if not page.isdigit() or len(page) > 6:
        raise InvalidInput("invalid_page", f"page is a whole number from 1, not {page[:20]!r}.")
    text = {name: (q.get(name) or "").strip() for name in FILTERS}
    return pp.ProjectFilter(
        q=text["q"],
        scheme=text["scheme"],
        category=text["category"],
        country=text["country"],
        prefecture=text["prefecture"],
        credit_type=text["credit_type"],
        page=int(page),
    )


def _query(f: pp.ProjectFilter, **changes: Any) -> str:
    values = {name: getattr(f, name) for name in FILTERS} | {"page": f.page} | changes
    kept = {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}
    return "?" + urlencode(kept) if kept else ""


def _map(request: Request, lang: Lang, g: Mapping[str, str]) -> dict[str, Any]:
    figures = pp.map_figures(kit.db(request))
    prefectures = {r.key: r.issued for r in figures.prefectures}
    countries = {r.key: r.issued for r in figures.countries}
    partners = project_map.partner_names(lang)
    scale = project_map.Scale.of([*prefectures.values(), *countries.values()])
    prefix = _prefix(lang)
    return {
        "japan_map": project_map.japan_svg(prefectures, scale, lang, prefix, g),
        "world_map": project_map.world_svg(countries, scale, lang, prefix, g),
        "legend": scale.legend(),
        "empty_shade": project_map.SHADES[0],
        "elsewhere": [r for r in figures.countries if r.key not in partners],
        "unplaced": figures.unplaced,
    }


def _list(request: Request, lang: Lang) -> HTMLResponse:
    g = texts(lang, "projects")
    try:
        f = _filter(request)
        page = pp.search(kit.db(request), f)
    except InvalidInput as e:
        return _refused(lang, 400, e.code, e.message, "/projects")
    db = kit.db(request)
    here = _query(f)
    html = render(
        "projects.html",
        lang=lang,
        t=texts(lang, "public"),
        g=g,
        cy=texts(lang, "project_cycle"),
        prefix=_prefix(lang),
        lang_query="/projects" + here,
        f=f,
        page=page,
        names=_vocabulary(request, lang),
        choices=pp.choices(db),
        filtered=any(getattr(f, name) for name in FILTERS),
        previous=_query(f, page=f.page - 1) if f.page > 1 else None,
        following=_query(f, page=f.page + 1) if f.page < page.pages else None,
        json_link="/v1/project-search" + here,
        **_map(request, lang, g),
    )
    return _answer(html, lang)


def close_chart(closes: list[pp.DailyClose], label: str) -> Markup:
    """The daily closes as a line on an SVG, lowest and highest marked; no script needed."""
    if not closes:
        return Markup("")
    low = min(c.close for c in closes)
    high = max(c.close for c in closes)
    span = max(high - low, 1)
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(closes) - 1, 1)
    points = " ".join(
        f"{CHART_PAD + i * step:.1f},{CHART_PAD + (high - c.close) * inner_h / span:.1f}"
        for i, c in enumerate(closes)
    )
    dots = "" if len(closes) > 1 else f'<circle cx="{CHART_PAD}" cy="{CHART_PAD}" r="3"/>'
    right, bottom = CHART_WIDTH - CHART_PAD, CHART_HEIGHT - CHART_PAD
    marks = (
        f'<text x="{CHART_PAD + 4}" y="{CHART_PAD + 12}">{high:,}</text>'
        f'<text x="{CHART_PAD + 4}" y="{bottom - 4}">{low:,}</text>'
        f'<text x="{right - 4}" y="{bottom - 4}" text-anchor="end">'
        f"{escape(closes[0].day)} – {escape(closes[-1].day)}</text>"
        if len(closes) > 1
        else ""
    )
    return Markup(
        f'<svg class="price-chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'data-points="{len(closes)}" aria-label="{escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="0" y="0" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" fill="#fbfcfd" '
        'stroke="#d5d9de"/>'
        f'<polyline points="{points}" fill="none" stroke="#0b5d3b" stroke-width="2"/>'
        f'<g fill="#0b5d3b">{dots}</g>'
        f'<g fill="#5b6470" font-size="11">{marks}</g></svg>'
    )


def _detail(request: Request, lang: Lang, project_id: str) -> Response:
    g = texts(lang, "projects")
    lang_query = f"/projects/{project_id}"
    try:
        s = pp.summary(kit.db(request), project_id[:16])
    except NotFound as e:
        if (to_plan := project_cycle.plan_redirect(request, lang, project_id[:16])) is not None:
            return to_plan
        return _refused(lang, 404, e.code, g["not_found"].format(id=project_id[:16]), lang_query)
    charts = [
        (
            ins,
            close_chart(ins.closes, ins.name_ja if lang == "ja" else ins.name_en),
            ins.closes[-1] if ins.closes else None,
            (min(c.close for c in ins.closes), max(c.close for c in ins.closes))
            if ins.closes
            else None,
        )
        for ins in s.instruments
    ]
    html = render(
        "project.html",
        lang=lang,
        t=texts(lang, "public"),
        g=g,
        r=texts(lang, "removals"),
        ca=texts(lang, "certificate_ca"),
        prefix=_prefix(lang),
        lang_query=lang_query,
        s=s,
        p=s.project,
        title=s.project.name_ja if lang == "ja" else s.project.name,
        names=_vocabulary(request, lang),
        charts=charts,
        mn=texts(lang, "market_notices"),
        updates=project_updates.list_updates(kit.db(request), s.project.id),
        **project_cycle.cycle_context(request, lang, s.project.id),
    )
    return _answer(html, lang)


def _publish_list(prefix: str, lang: Lang | None) -> None:
    def endpoint(request: Request) -> HTMLResponse:
        return _list(request, lang or kit.lang_of(request))

    endpoint.__doc__ = "Every project, searched and filtered, with the map (public)."
    router.add_api_route(
        f"{prefix}/projects",
        endpoint,
        methods=["GET"],
        response_class=HTMLResponse,
        name=f"projects{prefix.replace('/', '_')}",
    )


def _publish_detail(prefix: str, lang: Lang | None) -> None:
    def endpoint(request: Request, project_id: str) -> Response:
        return _detail(request, lang or kit.lang_of(request), project_id)

    endpoint.__doc__ = "One project's public record (public)."
    router.add_api_route(
        prefix + "/projects/{project_id}",
        endpoint,
        methods=["GET"],
        response_class=HTMLResponse,
        name=f"project{prefix.replace('/', '_')}",
    )


for _prefix_path, _lang in (("", None), ("/en", "en"), ("/ja", "ja")):
    _publish_list(_prefix_path, _lang)  # type: ignore[arg-type]
    _publish_detail(_prefix_path, _lang)  # type: ignore[arg-type]
