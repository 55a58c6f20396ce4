"""The table of routes and the scope each needs, generated from the app's own routes: what
docs/security.md shows (`tanso docs scopes` prints it; a test checks the committed copy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from tanso.api.deps import route_scopes

HEADER = "| method | path | scope |\n|---|---|---|"


def _takes_a_key(route: APIRoute) -> bool:
    def walk(dependant: object) -> bool:
        return any(
            getattr(sub.call, "__name__", "") == "optional_actor" or walk(sub)
            for sub in getattr(dependant, "dependencies", [])
        )

    return walk(route.dependant)


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
