"""Request plumbing shared by every route: the database, the caller, the Idempotency-Key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from tanso.domain.errors import Forbidden, InvalidInput
from tanso.domain.participants import Scope
from tanso.services.common import Actor, Idem
from tanso.services.ledger import participants
from tanso.store.db import Database


async def content(request: Request) -> bytes:
    """What a request sent, for its fingerprint and the NUL check: its body, or for a multipart
    form (whose stream FastAPI's parser may have spent) each field's name and value and each
    file's name and bytes, in order, as netstrings. The same file sent twice gives the same
    bytes, whatever boundary the client chose."""
    try:
        body = await request.body()  # kept by the request for the route and its form parser
    except RuntimeError:
        body = b""  # FastAPI has parsed the form of a file upload: its stream is spent
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        parts: list[bytes] = []
        for name, value in (await request.form()).multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                await value.seek(0)
                parts += [name.encode(), (value.filename or "").encode(), data]
            else:
                parts += [name.encode(), value.encode()]
        return b"".join(b"%d:%s," % (len(p), p) for p in parts)  # netstrings
    return body


async def get_db(request: Request) -> Database:
    """The database; for a public read on a gateway with a read replica, the replica
    (cluster/read_cache.py)."""
    db: Database = getattr(request.state, "read_db", None) or request.app.state.db
    return db


DB = Annotated[Database, Depends(get_db)]


def _token(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


CREDENTIALS: ContextVar[tuple[str, str | None] | None] = ContextVar("credentials", default=None)
"""The API key (and the client a broker names) the request authenticated with: a gateway
sends it with an order command, so that the engine authenticates the caller itself
(cluster/commands.py)."""


async def get_actor(
    db: DB,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    x_on_behalf_of: Annotated[str | None, Header()] = None,
) -> Actor:
    """The authenticated caller; 401 without a valid API key. A key verified before is
    answered from memory on the event loop; only a key not yet known takes a worker thread to
    read the database."""
    token = _token(authorization, x_api_key)
    actor = participants.remembered_actor(db, token, x_on_behalf_of)
    if token:
        CREDENTIALS.set((token, x_on_behalf_of))
    if actor is None:
        actor = await run_in_threadpool(participants.authenticate, db, token, x_on_behalf_of)
    return actor


Caller = Annotated[Actor, Depends(get_actor)]


async def maybe_actor(
    db: DB,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    x_on_behalf_of: Annotated[str | None, Header()] = None,
) -> Actor | None:
    """The caller of a public route that shows a party more (a plan's draft, a report's
    evidence before it is public): None without a key, 401 with a wrong one."""
    if _token(authorization, x_api_key) is None:
        return None
    return await get_actor(db, authorization, x_api_key, x_on_behalf_of)


MaybeCaller = Annotated[Actor | None, Depends(maybe_actor)]


class needs:
    """A dependency: the authenticated caller, if it holds one of ``scopes`` (else 403
    ``scope_missing``). Every route that takes a key names its scope through one of these; the
    route table in docs/security.md is generated from them."""

    def __init__(self, *scopes: Scope) -> None:
        self.scopes = scopes

    async def __call__(self, actor: Caller) -> Actor:
        if not any(actor.may(s) for s in self.scopes):
            names = " or ".join(s.value for s in self.scopes)
            raise Forbidden(
                "scope_missing",
                f"This route needs the {names} scope, which this API key does not hold here.",
            )
        return actor


CanRead = Annotated[Actor, Depends(needs(Scope.READ))]
CanTrade = Annotated[Actor, Depends(needs(Scope.TRADE))]
CanTransfer = Annotated[Actor, Depends(needs(Scope.TRANSFER))]
CanRetire = Annotated[Actor, Depends(needs(Scope.RETIRE))]
CanManage = Annotated[Actor, Depends(needs(Scope.MANAGE))]
CanOperate = Annotated[Actor, Depends(needs(Scope.OPERATE))]
CanVerify = Annotated[Actor, Depends(needs(Scope.VERIFY))]
TradeOrOperate = Annotated[Actor, Depends(needs(Scope.TRADE, Scope.OPERATE))]
"""The seller or trader, or the operator (cancelling an order, clearing an auction)."""


def route_scopes(route: APIRoute) -> tuple[Scope, ...] | None:
    """The scopes a route names (any one of them lets a caller in); None for a route that takes
    no key at all (public) or takes one only to show more (``needs`` nowhere)."""

    def find(dependant: Any) -> tuple[Scope, ...] | None:
        for sub in dependant.dependencies:
            if isinstance(sub.call, needs):
                return sub.call.scopes
            found = find(sub)
            if found is not None:
                return found
        return None

    return find(route.dependant)


async def get_idem(
    request: Request, idempotency_key: Annotated[str | None, Header()] = None
) -> Idem | None:
    """The Idempotency-Key with a fingerprint of the request it came with."""
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= 128 or not idempotency_key.isprintable():
        raise InvalidInput(
            "invalid_idempotency_key", "An Idempotency-Key is 1 to 128 printable characters."
        )
    body = await content(request)
    h = hashlib.sha256()
    h.update(request.method.encode())
    h.update(b" ")
    h.update(request.url.path.encode())
    h.update(b"\n")
    h.update(body)
    return Idem(idempotency_key, h.hexdigest())


IdemKey = Annotated[Idem | None, Depends(get_idem)]


async def reject_nul(request: Request) -> None:
    """Refuse NUL characters anywhere in the path, query or body: no database stores them."""
    raw = request.url.path + "?" + str(request.url.query)
    if "\x00" in raw or "%00" in raw.lower():
        raise InvalidInput("invalid_characters", "The request contains a NUL character.")
    body = await content(request)
    if _evidence_form(request):  # a dispute's evidence file is bytes, stored as bytes
        form = await request.form()
        body = b"".join(v.encode() for _, v in form.multi_items() if isinstance(v, str))
    if b"\x00" in body or b"\\u0000" in body:
        raise InvalidInput("invalid_characters", "The request contains a NUL character.")


def _evidence_form(request: Request) -> bool:
    """A portal form that uploads an evidence file (multipart) of a dispute, a project plan, a
    monitoring report or a declaration: its file part may hold any bytes; its text fields are
    checked as every request's are."""
    path = request.url.path
    multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
    if not (multipart and request.method == "POST" and path.endswith("/evidence")):
        return False
    dispute = path.startswith("/portal/disputes/") and path.count("/") == 4
    cycle = path.startswith("/portal/projects/") and path.count("/") in (4, 6)
    declaration = path.startswith("/portal/declarations/") and path.count("/") == 4
    return dispute or cycle or declaration


class AnswerRoute(APIRoute):
    """A route whose answer is what its use case returned, checked against and renamed by its
    response model: optional fields the use case left out stay out (no added nulls)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(path, endpoint, **kwargs)
