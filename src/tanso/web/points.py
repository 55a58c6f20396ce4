"""Public pages of behaviour-change points programmes (行動変容ポイント, docs/points.md), in English
and Japanese, no login:

- ``/points`` (``/en/points``, ``/ja/points``): every programme with who runs it and its totals;
- ``/points/{programme}`` (``/en/...``, ``/ja/...``; ``?lang=ja`` also works): a programme's
  methodology versions (actions, grams per unit, daily caps, source, how double counting is
  settled, certification), its totals and its pools, each retired pool with its tonnes, its
  Merkle root, its verification page and its retirement certificate (``/verify/RT-…``);
- ``/verify/pools/{pool}`` (``/en/...``, ``/ja/...``): a pool's public facts and a form where a
  member pastes the proof its programme gave it (``GET /v1/points/{programme}/pools/{pool}/
  proofs/{member}``); the POST answers verified or not, with the service's sentence.

The pages show what the API shows anyone (``GET /v1/points/{programme}``, ``/v1/points/pools/
{pool}``): names, methodology, totals, counts, roots. They never list a member, and a proof
pasted into the form is checked, never stored nor logged. The proof form changes nothing, yet is
guarded as the login form is: the same origin and a token kept in a cookie (double submit).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.domain.errors import NotFound
from tanso.services.points import pools, programmes
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import LANG_COOKIE, Form, Lang

router = APIRouter(include_in_schema=False)

PROOF_CSRF_COOKIE = "tanso_proof_csrf"
GRAMS_PER_KG = 1_000
GRAMS_PER_TONNE = 1_000_000


# ---------------------------------------------------------------- quantities (no floats)


def mass(grams: int | None) -> str:
    """Grams of CO2 in the unit a person reads at a glance: g below a kilogram, kg (to 0.1)
    below a tonne, t (to 0.01) from a tonne, without trailing zeros; pages put the exact grams
    beside it (``title``, ``data-grams``)."""
    if grams is None:
        return "—"
    size = abs(grams)
    if size < GRAMS_PER_KG:
        return f"{grams:,} g"
    if size < GRAMS_PER_TONNE:
        return f"{_decimal(grams, GRAMS_PER_KG, '0.1')} kg"
    return f"{_decimal(grams, GRAMS_PER_TONNE, '0.01')} t"


def _decimal(grams: int, unit: int, places: str) -> str:
    """``grams`` in ``unit`` rounded half up to ``places``, without trailing zeros."""
    value = (Decimal(grams) / unit).quantize(Decimal(places), ROUND_HALF_UP)
    text = f"{value:,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---------------------------------------------------------------- what the pages read


@dataclass(frozen=True, slots=True)
class Runner:
    name_en: str
    name_ja: str


def runner(prog: programmes.Programme) -> Runner:
    """Who runs a programme, as its public answer names it."""
    return Runner(prog.runner_en, prog.runner_ja)


def _answer(html: str, lang: Lang, status: int = 200, remember: bool = False) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Cookie, Accept-Language"
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


def _missing(lang: Lang, code: str, key: str, back: str, lang_query: str) -> HTMLResponse:
    """The 404 page in the page's language."""
    html = render(
        "public_error.html",
        lang=lang,
        t=texts(lang, "public"),
        code=code,
        text=texts(lang, "points")[key],
        back=back,
        lang_query=lang_query,
    )
    return _answer(html, lang, 404)


def _list(request: Request, lang: Lang, remember: bool = False) -> HTMLResponse:
    rows = programmes.list_programmes(kit.db(request))
    html = render(
        "points_list.html",
        lang=lang,
        t=texts(lang, "public"),
        g=texts(lang, "points"),
        programmes=rows,
        runners={p.participant_id: runner(p) for p in rows},
        mass=mass,
        prefix="/ja" if lang == "ja" else "",
        lang_query="/points",
    )
    return _answer(html, lang, remember=remember)


def _programme(
    request: Request, lang: Lang, programme_id: str, remember: bool = False
) -> HTMLResponse:
    db = kit.db(request)
    try:
        prog = programmes.get_programme(db, programme_id)
    except NotFound:
        return _missing(lang, "programme_not_found", "pt_not_found", f"/{lang}/points", "/points")
    pool_rows = pools.list_pools(db, prog.id, limit=100)
    html = render(
        "points_programme.html",
        lang=lang,
        t=texts(lang, "public"),
        g=texts(lang, "points"),
        p=prog,
        runner=runner(prog),
        versions=sorted(prog.methodologies, key=lambda m: -int(m["version"])),
        pools=pool_rows,
        retired_tonnes=sum(x.tonnes or 0 for x in pool_rows),
        mass=mass,
        prefix="/ja" if lang == "ja" else "",
        lang_query=f"/points/{prog.id}",
    )
    return _answer(html, lang, remember=remember)


# ---------------------------------------------------------------- a pool and a member's proof


def _pool_page(
    request: Request,
    lang: Lang,
    pool_id: str,
    *,
    remember: bool = False,
    pasted: str = "",
    check: pools.ProofCheck | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        pool = pools.get_pool(kit.db(request), pool_id)
    except NotFound:
        return _missing(lang, "pool_not_found", "pt_pool_not_found", f"/{lang}/points", "/points")
    token = request.cookies.get(PROOF_CSRF_COOKIE) or secrets.token_urlsafe(32)
    html = render(
        "points_pool.html",
        lang=lang,
        t=texts(lang, "public"),
        g=texts(lang, "points"),
        pool=pool,
        mass=mass,
        pasted=pasted,
        check=check,
        csrf=token,
        prefix="/ja" if lang == "ja" else "",
        lang_query=f"/verify/pools/{pool.id}",
    )
    response = _answer(html, lang, status, remember)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        PROOF_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def parse_proof(text: str) -> Any:
    """The pasted proof as JSON (None when it is not JSON: the check then says it is no proof)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _chosen(request: Request) -> tuple[Lang, bool]:
    return kit.lang_of(request), request.query_params.get("lang") in ("en", "ja")


@router.get("/points", response_class=HTMLResponse)
def programmes_page(request: Request) -> HTMLResponse:
    """Every points programme (``?lang=``, cookie or browser language)."""
    return _list(request, *_chosen(request))


@router.get("/en/points", response_class=HTMLResponse)
def programmes_page_en(request: Request) -> HTMLResponse:
    return _list(request, "en", True)


@router.get("/ja/points", response_class=HTMLResponse)
def programmes_page_ja(request: Request) -> HTMLResponse:
    return _list(request, "ja", True)


@router.get("/points/{programme_id}", response_class=HTMLResponse)
def programme_page(request: Request, programme_id: str) -> HTMLResponse:
    """A programme's methodology, totals and pools (``?lang=``, cookie or browser language)."""
    lang, remember = _chosen(request)
    return _programme(request, lang, programme_id[:40], remember)


@router.get("/en/points/{programme_id}", response_class=HTMLResponse)
def programme_page_en(request: Request, programme_id: str) -> HTMLResponse:
    return _programme(request, "en", programme_id[:40], True)


@router.get("/ja/points/{programme_id}", response_class=HTMLResponse)
def programme_page_ja(request: Request, programme_id: str) -> HTMLResponse:
    return _programme(request, "ja", programme_id[:40], True)


@router.get("/verify/pools/{pool_id}", response_class=HTMLResponse)
def pool_page(request: Request, pool_id: str) -> HTMLResponse:
    """A pool's public facts and the form that checks a member's proof."""
    lang, remember = _chosen(request)
    return _pool_page(request, lang, pool_id[:40], remember=remember)


@router.get("/en/verify/pools/{pool_id}", response_class=HTMLResponse)
def pool_page_en(request: Request, pool_id: str) -> HTMLResponse:
    return _pool_page(request, "en", pool_id[:40], remember=True)


@router.get("/ja/verify/pools/{pool_id}", response_class=HTMLResponse)
def pool_page_ja(request: Request, pool_id: str) -> HTMLResponse:
    return _pool_page(request, "ja", pool_id[:40], remember=True)


@router.post("/verify/pools/{pool_id}", response_class=HTMLResponse)
def check_proof(request: Request, pool_id: str, form: Form) -> HTMLResponse:
    """Check a pasted proof against the pool's published Merkle root: verified or not, with
    the service's sentence (the form's language in ``?lang=``)."""
    lang = kit.lang_of(request)
    cookie = request.cookies.get(PROOF_CSRF_COOKIE, "")
    sent = form.get("csrf", "")
    if (
        not cookie
        or not hmac.compare_digest(cookie.encode(), sent.encode())
        or not kit.same_origin(request)
    ):
        html = render(
            "public_error.html",
            lang=lang,
            t=texts(lang, "public"),
            code="csrf_failed",
            text=texts(lang, "points")["pt_csrf_failed"],
            back=f"/{lang}/verify/pools/{pool_id[:40]}",
            lang_query=f"/verify/pools/{pool_id[:40]}",
        )
        return _answer(html, lang, 403)
    pasted = form.get("proof", "")
    try:
        check = pools.check_proof(kit.db(request), pool_id[:40], parse_proof(pasted))
    except NotFound:
        return _missing(lang, "pool_not_found", "pt_pool_not_found", f"/{lang}/points", "/points")
    return _pool_page(request, lang, pool_id[:40], pasted=pasted, check=check)
