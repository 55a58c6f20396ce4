"""The table of routes and the scope each needs, generated from the app's own routes: what
docs/security.md shows (`tanso docs scopes` prints it; a test checks the committed copy)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import Scope

from tanso.api.deps import route_scopes

HEADER = "| method | path | scope |\n|---|---|---|"


def depends_on(route: APIRoute, name: str) -> bool:
    """Whether the route calls the dependency function ``name``, directly or through another."""

    def walk(dependant: object) -> bool:
        return any(
            getattr(sub.call, "__name__", "") == name or walk(sub)
            for sub in getattr(dependant, "dependencies", [])
        )

    return walk(route.dependant)


def _takes_a_key(route: APIRoute) -> bool:
    return depends_on(route, "optional_actor")


def route_matcher(
    app: FastAPI, keep: Callable[[str, str, APIRoute], bool]
) -> Callable[[Scope], bool]:
    """Whether a request's method and path are those of one of the app's routes that ``keep``
    picks (method, path template, route); the routes are read when first asked, when they are
    all in place."""
    patterns: list[tuple[str, Any]] = []

    def matches(scope: Scope) -> bool:
        if not patterns:
            patterns.extend((m, compile_path(p)[0]) for m, p, r in api_routes(app) if keep(m, p, r))
        method, path = scope["method"], scope["path"]
        return any(m == method and rx.match(path) for m, rx in patterns)

    return matches


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix + r.path, r
        elif hasattr(r, "original_router"):  # FastAPI's included router
            yield from _walk(r.original_router.routes, prefix + r.include_context.prefix)
        elif hasattr(r, "routes"):
            yield from _walk(r.routes, prefix + getattr(r, "path", ""))


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) of the app, through the routers it includes."""
    out = [
        (m, p, r)
        for p, r in _walk(list(app.routes))
        for m in sorted((r.methods or set()) - {"HEAD"})
    ]
    return sorted(out, key=lambda x: (x[1], x[0]))


def rows(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, scope) for every route of the API; the portal's screens use sessions
    (their mapping onto scopes is the table of portal roles)."""
    out = []
    for method, path, r in api_routes(app):
        if not path.startswith("/v1"):
            continue
        scopes = route_scopes(r)
        if scopes is not None:
            need = " or ".join(s.value for s in scopes)
        elif _takes_a_key(r):
            need = "public (a key shows more)"
        else:
            need = "public"
        out.append((method, path, need))
    return out


def markdown(app: FastAPI) -> str:
    """The route table as Markdown."""
    lines = [HEADER] + [f"| {m} | `{p}` | {s} |" for m, p, s in rows(app)]
    return "\n".join(lines) + "\n"
