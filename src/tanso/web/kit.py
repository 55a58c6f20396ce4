"""The web kit: what every portal screen shares, in one place.

- ``page``: the one page renderer (language, labels, security headers, the language cookie);
- ``signed_in`` and ``requires``: the one FastAPI dependency that yields the logged-in user, or
  sends the browser to the login page; on a POST it checks the Origin header (if sent it must be
  this site, its Host or TANSO_PUBLIC_URL; without it the Referer, if sent) and the session's
  CSRF token, then the role the screen needs. A screen handler starts with the user it is given
  (``CurrentUser``, ``Trader``, ``CreditMover``, ``Administrator``, ``OperatorUser``) and never
  checks these itself;
- ``FormState``: what a screen with a form shows again after a POST (the values typed, errors by
  field, a notice, the HTTP status), with a service's refusal placed next to its field and given
  the HTTP status of the one table the API uses (`tanso.http_status`);
- the small parsers and paging links the screens share.

It never calls the store: screens call use cases (``tanso.services``) only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, TypeVar
from urllib.parse import parse_qs, quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from tanso.domain.errors import TansoError
from tanso.domain.participants import Scope
from tanso.http_status import status_of
from tanso.services import notices
from tanso.services.access import access_log, users
from tanso.services.access.users import Capability, PortalUser
from tanso.services.common import Actor, Database
from tanso.services.ledger import participants
from tanso.services.trading.exchange import Exchange
from tanso.web import render, security
from tanso.web.i18n import texts

Lang = Literal["en", "ja"]
LANG_COOKIE = "tanso_lang"
SESSION_COOKIE = "tanso_session"
LOGIN_CSRF_COOKIE = "tanso_login_csrf"
MAX_FORM = 64 * 1024
JST = ZoneInfo("Asia/Tokyo")

T = TypeVar("T")


# ---------------------------------------------------------------- language


def choose_lang(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """?lang= first, then the remembered choice, then the browser's first language."""
    for choice in (query, cookie):
        if choice in ("en", "ja"):
            return "ja" if choice == "ja" else "en"
    first = (accept_language or "").split(",")[0].strip().lower()
    return "ja" if first.startswith("ja") else "en"


def lang_of(request: Request) -> Lang:
    return choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def labels(request: Request, group: str = "portal") -> Mapping[str, str]:
    """The UI texts of a screen group (over the portal's) in the request's language."""
    return texts(lang_of(request), "portal", group)


def jst(at: str | None) -> str:
    """An ISO timestamp as Japan's date and time to the minute."""
    if not at:
        return ""
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(JST).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- the app's parts


def db(request: Request) -> Database:
    """The database; for a public read on a gateway with a read replica, the replica."""
    database: Database = getattr(request.state, "read_db", None) or request.app.state.db
    return database


def exchange(request: Request) -> Exchange:
    x: Exchange = request.app.state.exchange
    return x


# ---------------------------------------------------------------- pages


def page(
    request: Request,
    template: str,
    user: PortalUser | None = None,
    status: int = 200,
    *,
    group: str = "portal",
    state: FormState | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a portal template: texts of ``group`` over the portal's, the user, the CSRF
    token, the form's ``state`` (its status, values, errors and notice unless given; else
    empty ones); no caching, no framing."""
    lang = lang_of(request)
    if state is not None:
        status = state.status
        for key, value in state.shown().items():
            context.setdefault(key, value)
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("notice", "")
    context.setdefault("csrf", user.csrf_token if user is not None else "")
    if user is not None and "unread_notices" not in context:  # the navigation's inbox count
        context["unread_notices"] = notices.unread_count(db(request), user.participant_id)
    html = render(
        template,
        lang=lang,
        t=texts(lang, "portal", group),
        user=user,
        path=request.url.path,
        jst=jst,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.query_params.get("lang") in ("en", "ja"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


def message(
    request: Request, user: PortalUser | None, status: int, title_key: str, text_key: str
) -> HTMLResponse:
    return page(
        request, "portal_message.html", user, status, title_key=title_key, text_key=text_key
    )


def not_found(request: Request, user: PortalUser | None) -> HTMLResponse:
    return message(request, user, 404, "not_found", "not_found_text")


def forbidden(request: Request, user: PortalUser | None, text_key: str) -> HTMLResponse:
    return message(request, user, 403, "forbidden", text_key)


def to_login() -> RedirectResponse:
    return RedirectResponse("/portal/login", status_code=303)


class Refused(Exception):
    """Raised by the kit's dependencies (or a screen) to answer with ``response`` instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ScreenRoute(APIRoute):
    """A portal route: a ``Refused`` raised while answering becomes its response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as refused:
                return refused.response

        return answer


# ---------------------------------------------------------------- forms


def _multipart(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "multipart/form-data"


async def _multipart_form(request: Request) -> FormData | None:
    """A multipart form (one file at most, text fields of at most MAX_FORM each), read once
    and kept by the request; None when it cannot be parsed. The body's size is bounded before
    (``api/limits.py``: the uploads' limit on upload routes, the default elsewhere)."""
    try:
        return await request.form(max_files=1, max_fields=100, max_part_size=MAX_FORM)
    except StarletteHTTPException as e:
        if e.status_code != 400:  # a body over its limit (413) answers as such
            raise
        return None


async def read_form(request: Request) -> dict[str, str]:
    """A form's text fields as single values (the first of repeats), size-limited: urlencoded,
    or multipart (its file is the screen's, ``read_upload``)."""
    if _multipart(request):
        form = await _multipart_form(request)
        values: dict[str, str] = {}
        for k, v in form.multi_items() if form is not None else ():
            if isinstance(v, str):
                values.setdefault(k, v)
        return values
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


Form = Annotated[dict[str, str], Depends(read_form)]


async def read_upload(request: Request) -> bytes | None:
    """The bytes of a multipart form's file part ``file`` (b"" when the form sent it without a
    file chosen), else None."""
    if not _multipart(request):
        return None
    form = await _multipart_form(request)
    part = form.get("file") if form is not None else None
    if part is None or isinstance(part, str):
        return None
    try:
        return await part.read()
    finally:
        await part.close()  # its spooled file goes now, not when it is collected


Upload = Annotated[bytes | None, Depends(read_upload)]


def same_origin(request: Request) -> bool:
    """The form was sent from this site: its Origin header (a browser sends one with every
    form POST) names this site; without Origin, its Referer does; with neither, the CSRF token
    alone decides. ``Origin: null`` (a sandboxed frame, a redirect from elsewhere) is refused."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    return sent is None or security.from_this_site(sent, request)


def session_user(request: Request) -> PortalUser | None:
    """The user of the request's session cookie; the request's log line then names it."""
    user = users.session_user(db(request), request.cookies.get(SESSION_COOKIE))
    info = access_log.current_request.get()
    if user is not None and info is not None:
        info.user_id, info.participant_id = user.id, user.participant_id
    return user


def _session(request: Request) -> PortalUser:
    """The session's user, else the login page (a plain function: FastAPI runs it in its
    thread pool, so the session's database read never blocks the event loop)."""
    user = session_user(request)
    if user is None:
        raise Refused(to_login())
    return user


async def signed_in(
    request: Request, user: Annotated[PortalUser, Depends(_session)], form: Form
) -> PortalUser:
    """The logged-in user; on a POST also the same origin and the session's CSRF token."""
    if request.method == "POST" and (
        not same_origin(request) or not users.csrf_matches(user, form.get("csrf"))
    ):
        raise Refused(forbidden(request, user, "csrf_failed"))
    return user


CurrentUser = Annotated[PortalUser, Depends(signed_in)]


def maybe_user(request: Request) -> PortalUser | None:
    """The logged-in user or None, for the screens anyone may see (the marketplace)."""
    return session_user(request)


OptionalUser = Annotated[PortalUser | None, Depends(maybe_user)]


def requires(capability: Capability) -> Callable[[Request, PortalUser], PortalUser]:
    """A dependency: the logged-in user, if its role may do ``capability`` (else 403)."""

    def check(request: Request, user: CurrentUser) -> PortalUser:
        if not user.can(capability):
            raise Refused(forbidden(request, user, "no_permission"))
        return user

    return check


def operator_user(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for the operator (else 403)."""
    if not user.is_operator:
        raise Refused(forbidden(request, user, "no_permission"))
    return user


Trader = Annotated[PortalUser, Depends(requires(Capability.TRADE))]
CreditMover = Annotated[PortalUser, Depends(requires(Capability.MOVE_CREDITS))]
Administrator = Annotated[PortalUser, Depends(requires(Capability.MANAGE_USERS))]
OperatorUser = Annotated[PortalUser, Depends(operator_user)]


def set_session(request: Request, response: Response, token: str) -> None:
    # Secure only over https, so the tests' plain-http servers work (docs/portal.md)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )


# ---------------------------------------------------------------- refusals next to their field

# which form field a service's refusal belongs next to, by words in its code
FIELD_OF_CODE = (
    ("same_account", "to_account"),
    ("nothing_to_amend", "quantity"),
    ("email", "email"),
    ("password", "password"),
    ("invalid_name", "display_name"),
    ("user_role", "role"),
    ("administrator", "role"),
    ("role_not_held", "roles"),
    ("label", "label"),
    ("serial", "serials"),
    ("purpose", "purpose"),
    ("beneficiary", "beneficiary"),
    ("scope", "scope"),
    ("reporting_year", "year"),
    ("price", "price"),
    ("tick", "price"),
    ("limit", "price"),
    ("insufficient", "quantity"),
    ("quantity", "quantity"),
    ("quantity", "quantity"),
    ("lot", "quantity"),
    ("account", "account"),
    ("instrument", "instrument"),
    ("side", "side"),
)


def field_for(code: str, fields: tuple[str, ...]) -> str:
    """The form field a refusal's code names, among ``fields``; else the whole form."""
    for word, name in FIELD_OF_CODE:
        if word in code and name in fields:
            return name
    return "_form"


def refusal(e: TansoError, fields: tuple[str, ...] = ()) -> tuple[dict[str, str], int]:
    """A service's refusal as (form errors, HTTP status from the one table)."""
    return {field_for(e.code, fields): e.message}, status_of(e)


@dataclass(frozen=True, slots=True)
class FormState:
    """What a screen with a form shows again: the values typed, the errors by field (``_form``:
    over the whole form), a notice, and the HTTP status of the answer."""

    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    notice: str = ""
    status: int = 200

    @classmethod
    def invalid(
        cls, values: Mapping[str, str], errors: Mapping[str, str], t: Mapping[str, str]
    ) -> FormState:
        """The form refused by the screen's own checks: its errors and the general one (422)."""
        return cls(values, {**errors, "_form": t["error"]}, status=422)

    @classmethod
    def refused(
        cls, e: TansoError, values: Mapping[str, str] | None = None, fields: tuple[str, ...] = ()
    ) -> FormState:
        """The form refused by a service: the refusal next to its field among ``fields`` (else
        over the whole form), with the status of the one table."""
        errors, status = refusal(e, fields)
        return cls(values or {}, errors, status=status)

    def shown(self) -> dict[str, Any]:
        """The template's ``values``, ``errors`` and ``notice``."""
        return {"values": self.values, "errors": self.errors, "notice": self.notice}


def required_int(
    form: Mapping[str, str], name: str, t: Mapping[str, str], errors: dict[str, str]
) -> int:
    """A required whole number of the form; a missing or malformed one goes into ``errors``
    (and 0 comes back)."""
    value = optional_int(form, name, t, errors)
    if value is None:
        errors.setdefault(name, t["required"])
        return 0
    return value


def optional_int(
    form: Mapping[str, str], name: str, t: Mapping[str, str], errors: dict[str, str]
) -> int | None:
    """A whole number of the form, None when blank; a malformed one goes into ``errors``."""
    try:
        return parse_int(form.get(name))
    except ValueError:
        errors[name] = t["whole_number"]
        return None


# ---------------------------------------------------------------- the user's own things


def reader(user: PortalUser) -> Actor:
    """The user's participant with no roles: reads scoped to it even for an operator's user
    (services answer an operator with everyone's rows)."""
    return Actor(user.participant_id, scopes=frozenset({Scope.READ}))


def own_accounts(database: Database, user: PortalUser) -> list[participants.Account]:
    """The user's participant's holding accounts (an operator's user too sees only its own)."""
    return [
        a
        for a in participants.list_accounts(database, user.actor, user.participant_id)
        if a.participant_id == user.participant_id and a.kind == "holding"
    ]


def parse_int(value: str | None) -> int | None:
    """A whole number typed in a form (thousands separators allowed); None when blank."""
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise ValueError(text)
    return int(text)


# ---------------------------------------------------------------- paging

PAGE = 50
"""Rows on one page of a long list (trades, notices, transfers, cash movements)."""
MAX_PAGE = 200


def query_int(request: Request, name: str) -> int | None:
    try:
        value = parse_int(request.query_params.get(name))
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def limit(request: Request) -> int:
    return max(1, min(query_int(request, "limit") or PAGE, MAX_PAGE))


def link(request: Request, **changes: int | None) -> str:
    """This page's URL with the paging parameters replaced (others, like the account, kept)."""
    params = {
        k: v
        for k, v in request.query_params.items()
        if k not in ("offset", "before", "after", "lang")
    }
    params |= {k: str(v) for k, v in changes.items() if v is not None}
    return request.url.path + ("?" + urlencode(params) if params else "")


def offset_page(
    request: Request, fetch: Callable[[int], list[T]]
) -> tuple[list[T], str | None, str | None]:
    """One page, newest first, of a list whose service returns the newest ``n`` rows: the rows
    and the links to the older and the newer page."""
    offset, size = query_int(request, "offset") or 0, limit(request)
    rows = fetch(offset + size + 1)
    older = link(request, offset=offset + size) if len(rows) > offset + size else None
    newer = link(request, offset=max(0, offset - size) or None) if offset > 0 else None
    return rows[offset : offset + size], older, newer


class Paged(Protocol):
    """A page of a paged list: the cursors of the older and the newer page (None: none)."""

    @property
    def older(self) -> int | None: ...

    @property
    def newer(self) -> int | None: ...


P = TypeVar("P", bound=Paged)


def cursor_page(request: Request, fetch: Callable[..., P]) -> tuple[P, str | None, str | None]:
    """One page of a list whose service pages by cursor (``fetch(limit, before=, after=)``
    answers the rows and the cursors ``older`` and ``newer``): that answer and the links to the
    older and the newer page."""
    found = fetch(
        limit(request),
        before=query_int(request, "before"),
        after=query_int(request, "after"),
    )
    older = link(request, before=found.older) if found.older is not None else None
    newer = link(request, after=found.newer) if found.newer is not None else None
    return found, older, newer


PageContext = Callable[[Request, Lang], dict[str, Any]]
"""What a public page's template needs beyond the site's texts, for a request and language."""


def publish_page(router: Any, path: str, template: str, context: PageContext, summary: str) -> None:
    """A public page at ``path`` (language from ``?lang=``, cookie or browser), ``/en{path}``
    and ``/ja{path}``: ``template`` rendered with the site's texts (``t``), the language prefix
    of its links, and ``context(request, lang)``."""

    def answer(request: Request, lang: Lang) -> HTMLResponse:
        html = render(
            template,
            lang=lang,
            t=texts(lang, "public"),
            prefix="/ja" if lang == "ja" else "",
            lang_query=path,
            **context(request, lang),
        )
        response = HTMLResponse(html)
        response.headers["Content-Language"] = lang
        return response

    def negotiated(request: Request) -> HTMLResponse:
        return answer(request, lang_of(request))

    def english(request: Request) -> HTMLResponse:
        return answer(request, "en")

    def japanese(request: Request) -> HTMLResponse:
        return answer(request, "ja")

    negotiated.__doc__ = summary
    for prefix, endpoint in (("", negotiated), ("/en", english), ("/ja", japanese)):
        router.add_api_route(
            prefix + path,
            endpoint,
            methods=["GET"],
            response_class=HTMLResponse,
            name=f"{template.removesuffix('.html')}{prefix.replace('/', '_')}",
        )


def evidence_file(
    file_id: str, file_name: str, media_type: str, sha256: str, content: bytes
) -> Response:
    """An evidence file as a download under its own name (RFC 6266: an ASCII fallback and the
    UTF-8 name), with its SHA-256 and media type in headers. Always an attachment of type
    application/octet-stream with nosniff: an uploaded file never renders in the site's
    origin."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in file_name)
    disposition = f'attachment; filename="{fallback or file_id}"'
    if file_name:
        disposition += f"; filename*=UTF-8''{quote(file_name, safe='')}"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "X-Evidence-Media-Type": media_type,
            "X-Evidence-SHA256": sha256,
            "Cache-Control": "no-store",
        },
    )
