"""Logging in and out, the second factor (TOTP) and turning it on."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access import users
from tanso.services.access.users import PortalUser
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


@router.get("/portal/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    if kit.session_user(request) is not None:
        return RedirectResponse("/portal", status_code=303)
    return _login_page(request, {}, {}, 200)


def _login_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int
) -> HTMLResponse:
    token = request.cookies.get(kit.LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = kit.page(
        request, "portal_login.html", None, status, values=values, errors=errors, csrf=token
    )
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
    key = "locked" if result.outcome == "locked" else "bad_login"
    return _login_page(request, {"email": email}, {"_form": t[key]}, 401)


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
    key = "locked" if result.outcome == "locked" else "bad_login"
    return _login_page(request, {}, {"_form": t[key]}, 401)


@router.post("/portal/logout")
def logout(request: Request, user: CurrentUser) -> Response:
    users.logout(kit.db(request), request.cookies.get(kit.SESSION_COOKIE, ""))
    response = RedirectResponse("/portal/login", status_code=303)
    response.delete_cookie(kit.SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- security (TOTP)


def _security_page(
    request: Request,
    user: PortalUser,
    secret: str,
    errors: dict[str, str],
    status: int = 200,
    done: bool = False,
) -> HTMLResponse:
    return kit.page(
        request,
        "portal_security.html",
        user,
        status,
        secret=secret,
        uri=users.totp_uri(secret, user.email),
        errors=errors,
        done=done,
    )


@router.get("/portal/security", response_class=HTMLResponse)
def security(request: Request, user: CurrentUser) -> Response:
    return _security_page(request, user, users.new_totp_secret(), {})


@router.post("/portal/security/totp")
def enrol_totp(request: Request, user: CurrentUser, form: Form) -> Response:
    secret = form.get("secret", "")
    try:
        users.enrol_totp(kit.db(request), user, secret, form.get("code", ""))
    except TansoError as e:
        return _security_page(request, user, secret, {"code": e.message}, status_of(e))
    return _security_page(request, user, secret, {}, done=True)
