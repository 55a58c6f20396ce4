"""Logging in and out, the second factor (TOTP) and turning it on.

A refused login answers the same for an unknown email, a wrong password and a locked address:
401, one wording, and while the address is locked the time to try again (and ``Retry-After``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Mapping

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access import users
from tanso.services.access.users import LoginResult, PortalUser
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


@router.get("/portal/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    if kit.session_user(request) is not None:
        return RedirectResponse("/portal", status_code=303)
    return _login_page(request, {}, {}, 200)


def _login_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status: int,
    retry_after: int | None = None,
) -> HTMLResponse:
    token = request.cookies.get(kit.LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = kit.page(
        request, "portal_login.html", None, status, values=values, errors=errors, csrf=token
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.set_cookie(
        kit.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/portal/login")
def login(request: Request, form: Form) -> Response:
    cookie = request.cookies.get(kit.LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf", "")
    if (
        not cookie
        or not hmac.compare_digest(cookie.encode(), sent.encode())
        or not kit.same_origin(request)
    ):
        return kit.forbidden(request, None, "csrf_failed")
    t = kit.labels(request)
    email, password = form.get("email", ""), form.get("password", "")
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = t["required"]
    if not password:
        errors["password"] = t["required"]
    if errors:
        return _login_page(request, {"email": email}, errors, 422)
    result = users.login(kit.db(request), email, password)
    if result.outcome in ("ok", "totp_required") and result.token:
        target = "/portal" if result.outcome == "ok" else "/portal/login/totp"
        response = RedirectResponse(target, status_code=303)
        kit.set_session(request, response, result.token)
        return response
    return _refused(request, t, result, {"email": email})


def _refused(
    request: Request, t: Mapping[str, str], result: LoginResult, values: dict[str, str]
) -> HTMLResponse:
    """The one answer to a refused login: the same for every reason."""
    if result.outcome == "locked" and result.retry_at:
        text = t["login_locked"].format(time=_jst_time(result.retry_at))
        return _login_page(request, values, {"_form": text}, 401, result.retry_after)
    return _login_page(request, values, {"_form": t["bad_login"]}, 401)


def _jst_time(at: str) -> str:
    """The time to try again, to the second, in Japan's time."""
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(kit.JST).strftime("%Y-%m-%d %H:%M:%S")


def _pending(request: Request) -> tuple[PortalUser | None, str | None]:
    token = request.cookies.get(kit.SESSION_COOKIE)
    return users.session_user(kit.db(request), token, pending=True), token


@router.get("/portal/login/totp", response_class=HTMLResponse)
def totp_form(request: Request) -> Response:
    pending, _token = _pending(request)
    if pending is None:
        return kit.to_login()
    return kit.page(request, "portal_totp.html", csrf=pending.csrf_token)


@router.post("/portal/login/totp")
def totp_verify(request: Request, form: Form) -> Response:
    pending, token = _pending(request)
    if pending is None or token is None:
        return kit.to_login()
    if not kit.same_origin(request) or not users.csrf_matches(pending, form.get("csrf")):
        return kit.forbidden(request, None, "csrf_failed")
    result = users.verify_totp(kit.db(request), token, form.get("code", ""))
    if result.outcome == "ok" and result.token:
        response = RedirectResponse("/portal", status_code=303)
        kit.set_session(request, response, result.token)
        return response
    t = kit.labels(request)
    if result.outcome == "invalid" and result.token:
        errors = {"code": t["bad_code"]}
        return kit.page(
            request, "portal_totp.html", None, 401, errors=errors, csrf=pending.csrf_token
        )
    return _refused(request, t, result, {})


@router.post("/portal/logout")
def logout(request: Request, user: CurrentUser) -> Response:
    users.logout(kit.db(request), request.cookies.get(kit.SESSION_COOKIE, ""))
    response = RedirectResponse("/portal/login", status_code=303)
    response.delete_cookie(kit.SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- security (TOTP)

TOTP_ERRORS = {
    "invalid_totp_code": "totp_bad_code",
    "totp_not_started": "totp_not_started",
    "totp_already_enabled": "totp_on",
}
"""The service's refusals of the set-up, as the screen words them."""


def qr_svg(text: str, title: str) -> Markup:
    """A QR code of ``text`` as inline SVG, drawn here: no request leaves the browser."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title=title, svgclass="qr"
    )
    return Markup(svg)  # segno escapes the title; the rest is path data it made


def _security_page(
    request: Request,
    user: PortalUser,
    status: int = 200,
    *,
    setup: users.TotpSetup | None = None,
    started: bool = False,
    errors: dict[str, str] | None = None,
    done: bool = False,
) -> HTMLResponse:
    t = kit.labels(request)
    return kit.page(
        request,
        "portal_security.html",
        user,
        status,
        setup=setup,
        qr=qr_svg(setup.uri, t["totp_qr"]) if setup is not None else None,
        started=started or setup is not None,
        errors=errors or {},
        done=done,
    )


@router.get("/portal/security", response_class=HTMLResponse)
def security(request: Request, user: CurrentUser) -> Response:
    return _security_page(request, user)


@router.post("/portal/security/totp/new")
def start_totp(request: Request, user: CurrentUser) -> Response:
    """A new key made here, shown once: on this answer and never again."""
    try:
        setup = users.start_totp(kit.db(request), user)
    except TansoError as e:
        text = kit.labels(request).get(TOTP_ERRORS.get(e.code, ""), e.message)
        return _security_page(request, user, status_of(e), errors={"_form": text})
    return _security_page(request, user, setup=setup)


@router.post("/portal/security/totp")
def enrol_totp(request: Request, user: CurrentUser, form: Form) -> Response:
    """Confirm the key made by ``start_totp`` with a code; the form never carries a key."""
    t = kit.labels(request)
    code = form.get("code", "").strip()
    if not users.TOTP_CODE.fullmatch(code):
        errors = {"code": t["totp_code_format"]}
        return _security_page(request, user, 422, started=True, errors=errors)
    try:
        users.enrol_totp(kit.db(request), user, code)
    except TansoError as e:
        text = t.get(TOTP_ERRORS.get(e.code, ""), e.message)
        where = "code" if e.code == "invalid_totp_code" else "_form"
        started = e.code == "invalid_totp_code"
        return _security_page(request, user, status_of(e), started=started, errors={where: text})
    return _security_page(request, user, done=True)
