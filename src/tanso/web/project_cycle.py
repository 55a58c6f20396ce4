"""The public pages of the project cycle (issue 23, docs/project-cycle.md), in English and
Japanese, no login; each at its path, ``/en/...`` and ``/ja/...``:

- ``/projects/plans``: the plans in the pipeline (submitted, under validation, rejected,
  withdrawn), with state, scheme, methodology, developer, validation body and comment period;
- ``/projects/plans/{id}``: one public plan, its description, documents, public comments and
  validation (a registered one links to its project page);
- ``/methodologies`` and ``/methodologies/{id}``: each methodology's versions with their
  parameters, formula, buffer rate, validity and source, and the projects applying it;
- ``/projects/{project_id}/reports/{report_id}/{name}.csv``: a verified report's measurement
  series, so that anyone can recompute its figure.

The project page itself (``web.projects``) shows the cycle of a registered project with
``cycle_context``. These routes ride on ``web.projects``' router, ahead of
``/projects/{project_id}``. Reads only; a draft plan and an unverified report are not found.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import NotFound
from tanso.services.cycle import methodologies as meth
from tanso.services.cycle import public
from tanso.services.ledger import taxonomy
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)

MAX_ID = 40


def _answer(html: str, lang: Lang, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(html, status)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


def _prefix(lang: Lang) -> str:
    return "/ja" if lang == "ja" else ""


def _texts(lang: Lang) -> Any:
    return texts(lang, "projects", "project_cycle")


def _names(request: Request, lang: Lang) -> dict[str, dict[str, str]]:
    """The names in ``lang`` of the schemes, categories and credit types the pages show."""
    db = kit.db(request)
    key = "name_ja" if lang == "ja" else "name_en"

    def named(rows: list[dict[str, Any]]) -> dict[str, str]:
        return {r["code"]: r[key] for r in rows}

    return {
        "scheme": named(taxonomy.list_schemes(db)),
        "category": named(taxonomy.list_categories(db)),
        "credit_type": named(taxonomy.list_terms(db, "credit_type")),
    }


def _not_found(lang: Lang, code: str, text: str, back: str, lang_query: str) -> HTMLResponse:
    html = render(
        "public_error.html",
        lang=lang,
        t=texts(lang, "public"),
        code=code,
        text=text,
        back=_prefix(lang) + back,
        lang_query=lang_query,
    )
    return _answer(html, lang, 404)


def cycle_context(request: Request, lang: Lang, project_id: str) -> dict[str, Any]:
    """What the project page adds for a project registered through the cycle (else nothing)."""
    return {
        "cycle": public.project_cycle(kit.db(request), project_id),
        "cy": texts(lang, "project_cycle"),
    }


def plan_redirect(request: Request, lang: Lang, project_id: str) -> Response | None:
    """``/projects/{id}`` of a public plan not registered: its plan page (303); else None."""
    if public.public_plan_state(kit.db(request), project_id) is None:
        return None
    return Response(
        status_code=303, headers={"Location": f"{_prefix(lang)}/projects/plans/{project_id}"}
    )


def _pipeline(request: Request, lang: Lang) -> HTMLResponse:
    state = (request.query_params.get("state") or "").strip()
    states = [s.value for s in public.PIPELINE_STATES]
    chosen = state if state in states else ""
    html = render(
        "project_plans.html",
        lang=lang,
        names=_names(request, lang),
        t=texts(lang, "public"),
        g=_texts(lang),
        prefix=_prefix(lang),
        lang_query="/projects/plans" + (f"?state={chosen}" if chosen else ""),
        plans=public.pipeline(kit.db(request), chosen),
        states=states,
        chosen=chosen,
    )
    return _answer(html, lang)


def _plan(request: Request, lang: Lang, plan_id: str) -> HTMLResponse:
    g = _texts(lang)
    plan_id = plan_id[:MAX_ID]
    lang_query = f"/projects/plans/{plan_id}"
    try:
        p = public.plan_page(kit.db(request), plan_id)
    except NotFound as e:
        text = g["plan_not_found"].format(id=plan_id)
        return _not_found(lang, e.code, text, "/projects/plans", lang_query)
    html = render(
        "project_plan.html",
        lang=lang,
        names=_names(request, lang),
        t=texts(lang, "public"),
        g=g,
        prefix=_prefix(lang),
        lang_query=lang_query,
        p=p,
        title=p.line.name_ja if lang == "ja" else p.line.name,
    )
    return _answer(html, lang)


def _methodologies(request: Request, lang: Lang) -> HTMLResponse:
    html = render(
        "methodologies.html",
        lang=lang,
        names=_names(request, lang),
        t=texts(lang, "public"),
        g=_texts(lang),
        prefix=_prefix(lang),
        lang_query="/methodologies",
        lines=public.methodology_list(kit.db(request)),
    )
    return _answer(html, lang)


def _methodology(request: Request, lang: Lang, methodology_id: str) -> HTMLResponse:
    g = _texts(lang)
    mid = methodology_id[:MAX_ID]
    lang_query = f"/methodologies/{mid}"
    db = kit.db(request)
    try:
        versions = meth.versions(db, mid)
    except NotFound as e:
        text = g["methodology_not_found"].format(id=mid)
        return _not_found(lang, e.code, text, "/methodologies", lang_query)
    latest = versions[-1]
    html = render(
        "methodology.html",
        lang=lang,
        names=_names(request, lang),
        t=texts(lang, "public"),
        g=g,
        prefix=_prefix(lang),
        lang_query=lang_query,
        versions=list(reversed(versions)),
        latest=latest,
        title=latest.title_ja if lang == "ja" else latest.title_en,
        plans=public.methodology_projects(db, mid),
    )
    return _answer(html, lang)


@router.get("/projects/{project_id}/reports/{report_id}/{name}.csv")
def series_csv(project_id: str, report_id: str, name: str, request: Request) -> Response:
    """A verified monitoring report's measurement series as CSV: point, value, unit (public)."""
    try:
        p, values = public.series(
            kit.db(request), project_id[:MAX_ID], report_id[:MAX_ID], name[:100]
        )
    except NotFound as e:
        return Response(e.message, 404, media_type="text/plain; charset=utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["point", p.name, "unit"])
    for i, v in enumerate(values, 1):
        writer.writerow([i, v, p.unit])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{report_id[:MAX_ID]}-{p.name}.csv"'},
    )


def _publish(prefix: str, lang: Lang | None) -> None:
    name = prefix.replace("/", "_")

    def plans_page(request: Request) -> HTMLResponse:
        return _pipeline(request, lang or kit.lang_of(request))

    def plan_page(request: Request, plan_id: str) -> HTMLResponse:
        return _plan(request, lang or kit.lang_of(request), plan_id)

    def methodologies_page(request: Request) -> HTMLResponse:
        return _methodologies(request, lang or kit.lang_of(request))

    def methodology_page(request: Request, methodology_id: str) -> HTMLResponse:
        return _methodology(request, lang or kit.lang_of(request), methodology_id)

    plans_page.__doc__ = "The project plans in the pipeline (public)."
    plan_page.__doc__ = "One public project plan: documents, comments, validation (public)."
    methodologies_page.__doc__ = "Every methodology with its latest version (public)."
    methodology_page.__doc__ = "A methodology's versions: parameters, formula, buffer (public)."
    for path, endpoint in (
        ("/projects/plans", plans_page),
        ("/projects/plans/{plan_id}", plan_page),
        ("/methodologies", methodologies_page),
        ("/methodologies/{methodology_id}", methodology_page),
    ):
        router.add_api_route(
            prefix + path,
            endpoint,
            methods=["GET"],
            response_class=HTMLResponse,
            name=f"{endpoint.__name__}{name}",
        )


for _prefix_path, _lang in (("", None), ("/en", "en"), ("/ja", "ja")):
    _publish(_prefix_path, _lang)  # type: ignore[arg-type]
