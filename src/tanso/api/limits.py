"""What one request may cost before a route sees it: the size of its body and how deep its JSON
nests. Shared by the API and the portal: it runs before routing, authentication and forms.

A pure ASGI middleware, so that it can refuse before anything reads the body: a Content-Length
over the route's limit is answered 413 at once, without reading a byte or checking a key; a body
sent without one (chunked) is counted as it is read and refused with 413 the moment it passes the
limit, so the server never holds more than the limit of it; a JSON body is measured as it is
read and refused with 422 (``json_too_deep``) when it nests deeper than the limit, before the
parser could recurse into it. Refusals leave in the one error shape (``api/errors.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tanso.api.errors import error_body
from tanso.domain.json_depth import DepthGauge
from tanso.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOADS = frozenset(
    {
        ("POST", "/v1/inventories/import"),
        ("POST", "/portal/emissions/import"),
        ("POST", "/portal/points/batches"),
    }
)
"""The bulk uploads, through the API and the portal: their bodies may be as large as
TANSO_MAX_UPLOAD_BYTES."""


def is_upload(method: str, path: str) -> bool:
    """A request whose body may be as large as TANSO_MAX_UPLOAD_BYTES: the bulk uploads, and
    evidence files (API or portal, POST .../{id}/evidence) of disputes, project plans,
    monitoring reports and declarations."""
    head, _, tail = path.rpartition("/")
    if (method, path) in UPLOADS:
        return True
    if method != "POST" or tail != "evidence":
        return False
    owners = (
        "/v1/disputes/",
        "/portal/disputes/",
        "/v1/project-plans/",
        "/v1/monitoring-reports/",
        "/v1/declarations/",
        "/portal/declarations/",
    )
    portal_report = head.startswith("/portal/projects/") and head.count("/") in (3, 5)
    return (head.count("/") == 3 and head.startswith(owners)) or portal_report


def is_batch(method: str, path: str) -> bool:
    """A points programme's batch: its events or its pledges to a pool, whose bodies may be
    as large as TANSO_MAX_BATCH_BYTES."""
    if method != "POST" or not path.startswith("/v1/points/"):
        return False
    parts = path.split("/")
    return (len(parts) == 5 and parts[4] == "events") or (
        len(parts) == 7 and parts[4] == "pools" and parts[6] == "pledges"
    )


class Refused(HTTPException):
    """A request refused for its body. An HTTPException so that it passes unchanged through
    FastAPI's body parsing (which turns anything else into a 400) to the error handlers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message, headers={"Connection": "close"})
        self.code = code

    def response(self) -> JSONResponse:
        return JSONResponse(
            error_body(self.code, self.detail), status_code=self.status_code, headers=self.headers
        )


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n:,} bytes ({n // (1024 * 1024)} MiB)"
    if n >= 1024 and n % 1024 == 0:
        return f"{n:,} bytes ({n // 1024} KiB)"
    return f"{n:,} bytes"


def too_large(limit: int, sent: int, *, streamed: bool) -> Refused:
    what = f"it passed that at {sent:,} bytes" if streamed else f"this one is {sent:,} bytes"
    return Refused(
        413,
        "body_too_large",
        f"A request body here may be at most {_size(limit)}; {what}. Nothing was done.",
    )


def too_deep(limit: int) -> Refused:
    return Refused(
        422,
        "json_too_deep",
        f"A JSON body may nest arrays and objects at most {limit} deep. Nothing was done.",
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return bytes(v)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # the server refuses such a request before it gets here


def _is_json(scope: Scope) -> bool:
    """What FastAPI parses as JSON: application/json or application/*+json."""
    value = _header(scope, b"content-type")
    if value is None:
        return False
    kind = value.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (
        kind.startswith(b"application/") and kind.endswith(b"+json")
    )


class BodyLimits:
    """The ASGI middleware: body size by route, JSON depth."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.default = settings.max_body_bytes
        self.upload = settings.max_upload_bytes
        self.batch = settings.max_batch_bytes
        self.depth = settings.max_json_depth

    def limit_of(self, method: str, path: str) -> int:
        if is_batch(method, path):
            return self.batch
        return self.upload if is_upload(method, path) else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["method"], scope["path"])
        length = _content_length(scope)
        if length is not None and length > limit:
            await self._answer(too_large(limit, length, streamed=False), scope, receive, send)
            return
        gauge = DepthGauge(self.depth) if _is_json(scope) else None
        received = 0
        started = False

        async def receive_() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise too_large(limit, received, streamed=True)
                if gauge is not None and gauge.feed(chunk):
                    raise too_deep(self.depth)
            return message

        async def send_(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_, send_)
        except Refused as refused:
            # what the error handlers did not answer (raised outside a route's body parsing)
            if started:
                raise
            await self._answer(refused, scope, receive, send)

    @staticmethod
    async def _answer(refused: Refused, scope: Scope, receive: Receive, send: Send) -> None:
        await refused.response()(scope, receive, send)
