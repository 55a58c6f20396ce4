"""Every error leaves as `{"error": {"code": ..., "message": ...}}` with a 4xx status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tanso import http_status
from tanso.domain.errors import TansoError

log = logging.getLogger("tanso.api")

STATUS = http_status.STATUS
"""Kept for the API's callers: the table lives in `tanso.http_status`, shared with the portal."""


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "A stable, machine-readable reason."},
                "message": {"type": "string", "description": "A sentence for people."},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
                        "additionalProperties": True,
                    },
                },
            },
            "additionalProperties": True,
        }
    },
}

# What any route may answer besides its own success: the refusals every route shares (the
# handlers below and the middleware before the routes), each with the one error body.
ERROR_RESPONSES: dict[str, str] = {
    "400": "Bad request.",
    "401": "No valid API key (WWW-Authenticate: Bearer).",
    "403": "The caller may not do this (role, broker authorisation, participant status).",
    "404": "Not found, or not the caller's: another participant's ids answer like missing ones.",
    "405": "Method not allowed.",
    "409": "Valid, but the current state does not allow it; nothing was changed.",
    "413": "The request body is too large.",
    "422": "The request is invalid (body, query, path or headers); nothing was changed.",
    "429": "Too many requests: retry after the Retry-After header's seconds.",
    "503": "Busy or overloaded: retry after the Retry-After header's seconds.",
    "504": "A gateway did not get the engine's answer in time: the change may or may not have "
    "been made; retry with the same Idempotency-Key.",
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error responses to every operation of an OpenAPI document (in place),
    replacing FastAPI's default 422 body, which is not what the API sends."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    retry_after = {"Retry-After": {"schema": {"type": "string"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in ERROR_RESPONSES.items():
                answer: dict[str, Any] = {
                    "description": description,
                    "content": {"application/json": {"schema": ref}},
                }
                if status in ("429", "503"):
                    answer["headers"] = retry_after
                responses[status] = answer
    return schema


def wants_a_page(request: Request) -> bool:
    """A browser asking for a page (not the API, not a file): it gets HTML, not JSON."""
    path = request.url.path
    api = path.startswith(("/v1/", "/openapi", "/static/", "/vendor/", "/metrics"))
    return not api and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(TansoError)
    async def _tanso(_req: Request, exc: TansoError) -> JSONResponse:
        status = http_status.status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
        extra = {"details": exc.details} if exc.details else {}
        return JSONResponse(
            error_body(exc.code, exc.message, **extra), status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            details.append({"field": loc, "problem": e.get("msg", "")})
        first = details[0] if details else {"field": "", "problem": "invalid request"}
        message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
        return JSONResponse(
            error_body("invalid_request", message, details=details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_a_page(req):
            from tanso.web import kit  # the browser's pages: a page, in the reader's language

            return kit.not_found(req, None)
        code = getattr(exc, "code", None) or {404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", exc.orig)
        return JSONResponse(
            error_body(
                "conflict", "The request conflicts with the current state; nothing was changed."
            ),
            status_code=409,
        )

    @app.exception_handler(OperationalError)
    async def _busy(_req: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database busy: %s", exc.orig)
        return JSONResponse(
            error_body("busy", "The database is busy; nothing was changed. Please retry."),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side; nothing was changed."),
            status_code=500,
        )
