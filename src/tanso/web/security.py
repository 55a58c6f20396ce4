"""What every answer carries for the browser's protection, and the one address the site gives out.

- ``SecurityHeaders``: an ASGI middleware that adds to every HTTP answer (pages, the API, static
  files, refusals) a Content-Security-Policy (``CSP``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin`` and ``X-Frame-Options: DENY``, unless the answer set its own.
- The API documentation at ``/docs``: Swagger UI served from the installation (the npm package
  ``swagger-ui-dist``, ``make web-assets``), started by a script file, so it works offline and
  under the CSP. ``/redoc``: the same document in ReDoc, its standalone bundle from the
  installation (the npm package ``redoc``), served with its one outside address (a logo on
  cdn.redoc.ly) taken out, so that no request leaves the site; its styles, which it makes into
  ``<style>`` elements, are allowed on that page only by a nonce new with every answer.
- ``public_url``: ``TANSO_PUBLIC_URL``, the base of every absolute link the site prints
  (certificates' verify URL and QR code). It is never taken from the request's Host header,
  which any client can forge; unset, links are paths relative to the site (``/verify/RT-…``).

It must never weaken ``script-src``: every script is a file under ``/static`` or ``/vendor``.
Nor ``style-src``: pages take their styles from ``/static`` CSS files; only the ``<style>``
blocks of the stand-alone documents (``STANDALONE_STYLES``), which a saved copy needs, are
allowed, each by the SHA-256 of its text read from the template when this module is imported.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection

from tanso.settings import Settings
from tanso.web import render

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEMPLATES = Path(__file__).parent / "templates"
STANDALONE_STYLES = ("certificate_style.html", "daily_report.html", "settlement_report.html")
"""Templates whose ``<style>`` blocks the CSP allows: the stand-alone documents (certificate,
also shown by /verify; daily report; settlement report) carry their styles so that a saved copy
looks the same. Every other page links CSS files under /static; no template has ``style=``."""
STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)
JINJA_MARKS = ("{{", "{%", "{#")


def style_hashes(names: tuple[str, ...] = STANDALONE_STYLES) -> tuple[str, ...]:
    """The CSP sources (``'sha256-…'``) of the ``<style>`` blocks of the templates ``names``.

    Jinja2 copies text without tags verbatim, so the browser hashes the same characters as
    here; a block holding a tag would render differently and is refused."""
    sources: list[str] = []
    for name in names:
        for block in STYLE_BLOCK.findall((TEMPLATES / name).read_text(encoding="utf-8")):
            if any(mark in block for mark in JINJA_MARKS):
                raise ValueError(f"the <style> of {name} holds a Jinja2 tag: it has no one hash")
            digest = base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode()
            sources.append(f"'sha256-{digest}'")
    return tuple(dict.fromkeys(sources))


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # no 'unsafe-inline': CSS files, and the stand-alone documents' <style> by hash. Scripts
        # (Swagger UI, the chart) set styles through the DOM (element.style), which CSP allows.
        " ".join(["style-src 'self'", *style_hashes()]),
        "img-src 'self' data:",  # Swagger UI's icons are data: URLs
        "font-src 'self'",
        "connect-src 'self'",  # the API, /openapi.json and the WebSocket stream, same origin
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""The Content-Security-Policy of every answer (docs/operations.md, "Browser security")."""

HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)

SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
REDOC_BUNDLE = "redoc.standalone.js"
REDOC_URL = "/vendor/redoc/" + REDOC_BUNDLE
REDOC_PATCHES = {
    "https://cdn.redoc.ly/redoc/logo-mini.svg": "data:,",
    "r.nc=void 0": 'r.nc=document.currentScript.getAttribute("data-style-nonce")||void 0',
}
"""What the served copy of ReDoc's bundle has instead of the original's text: no address outside
the site (the logo of its "API docs by Redocly" link; an image that fails to load is not shown),
and the page's style nonce, read from the bundle's own <script> tag, from the start (webpack's
nonce, else the <style> elements the bundle makes while it loads carry none)."""


class SecurityHeaders:
    """Adds ``HEADERS`` to every HTTP answer that does not carry its own (ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------- the public address


def public_url(conn: HTTPConnection) -> str:
    """The configured public base URL of the site ("" when unset: links stay relative)."""
    return str(getattr(conn.app.state, "public_url", ""))


def from_this_site(url: str, conn: HTTPConnection) -> bool:
    """Whether ``url`` (an Origin or Referer header) names this site: the host the request
    was sent to (a browser never lets a page forge Host), or the origin of TANSO_PUBLIC_URL
    (behind a proxy that rewrites Host). ``null`` and anything unparsable are not."""
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    if not netloc:
        return False
    if netloc == (conn.headers.get("host") or "").lower():
        return True
    public = urlsplit(public_url(conn))
    return bool(public.netloc) and (parts.scheme, netloc) == (public.scheme, public.netloc.lower())


# ---------------------------------------------------------------- the API documentation


def swagger_ui_dir() -> Path:
    """Where `npm install` put swagger-ui-dist: the repository's node_modules (an editable
    install), else the working directory's."""
    candidates = [
        Path(__file__).resolve().parents[3] / "node_modules" / "swagger-ui-dist",
        Path.cwd() / "node_modules" / "swagger-ui-dist",
    ]
    for c in candidates:
        if all((c / f).is_file() for f in SWAGGER_UI_FILES):
            return c
    return candidates[0]


def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over /openapi.json; without the npm package, a page that says where the
    document is."""
    installed = all((swagger_ui_dir() / f).is_file() for f in SWAGGER_UI_FILES)
    html = render(
        "api_docs.html",
        title=request.app.title,
        openapi_url=request.app.openapi_url or "/openapi.json",
        installed=installed,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


def redoc_dir() -> Path:
    """Where `npm install` put the redoc package's bundles (as ``swagger_ui_dir``)."""
    candidates = [
        Path(__file__).resolve().parents[3] / "node_modules" / "redoc" / "bundles",
        Path.cwd() / "node_modules" / "redoc" / "bundles",
    ]
    for c in candidates:
        if (c / REDOC_BUNDLE).is_file():
            return c
    return candidates[0]


@functools.lru_cache(maxsize=2)
def redoc_bundle_text(path: Path, mtime_ns: int) -> bytes:
    """ReDoc's standalone bundle with ``REDOC_PATCHES`` made, read once per file version."""
    text = path.read_text(encoding="utf-8")
    for original, served in REDOC_PATCHES.items():
        text = text.replace(original, served)
    return text.encode("utf-8")


def redoc_bundle() -> Response:
    path = redoc_dir() / REDOC_BUNDLE
    if not path.is_file():
        raise HTTPException(404, "ReDoc is not installed on this server (make web-assets)")
    body = redoc_bundle_text(path, path.stat().st_mtime_ns)
    return Response(body, media_type="text/javascript; charset=utf-8")


def csp_with_style_nonce(nonce: str) -> str:
    """``CSP`` that also allows the ``<style>`` elements carrying ``nonce``: ReDoc's styles are
    made in the browser (styled-components) into ``<style>`` elements, which ``'self'`` and
    hashes cannot allow. Scripts stay ``'self'`` only."""
    return CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'", 1)


def api_redoc(request: Request) -> HTMLResponse:
    """ReDoc over /openapi.json, its styles allowed by a nonce new with every answer; without
    the npm package, a page that says where the document is."""
    nonce = secrets.token_urlsafe(18)
    html = render(
        "api_redoc.html",
        title=request.app.title,
        openapi_url=request.app.openapi_url or "/openapi.json",
        installed=(redoc_dir() / REDOC_BUNDLE).is_file(),
        bundle_url=REDOC_URL,
        style_nonce=nonce,
    )
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": csp_with_style_nonce(nonce)}
    return HTMLResponse(html, headers=headers)


def install(app: FastAPI) -> None:
    """The headers on every answer, the public URL from the settings, /docs and /redoc."""
    app.state.public_url = Settings().public_url
    app.mount(
        "/vendor/swagger-ui",
        StaticFiles(directory=swagger_ui_dir(), check_dir=False),
        name="vendor-swagger-ui",
    )
    app.add_api_route("/docs", api_docs, include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route(REDOC_URL, redoc_bundle, include_in_schema=False)
    app.add_api_route("/redoc", api_redoc, include_in_schema=False, response_class=HTMLResponse)
    app.add_middleware(SecurityHeaders)
