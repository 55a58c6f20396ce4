"""The operator's users screen: every participant's users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access import users
from tanso.services.access.users import NewUser, PortalUser, UserRole, UserStatus
from tanso.services.ledger import participants
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.portal.administration import manage_user

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)


# ---------------------------------------------------------------- users


def _users_page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    people = participants.list_participants(db, user.actor)
    everyone = [u for p in people for u in users.list_users(db, user.actor, p.id)]
    return operator_page(
        request,
        "operator_users.html",
        user,
        status,
        people=people,
        everyone=everyone,
        roles=[r.value for r in UserRole],
        locked=UserStatus.LOCKED.value,
        **context,
    )


@router.get("/users", response_class=HTMLResponse)
def users_screen(request: Request, user: OperatorUser) -> Response:
    return _users_page(request, user)


@router.post("/users")
def create_user(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    fields = ("participant", "email", "display_name", "role", "password")
    errors = {f: t["required"] for f in fields if not form.get(f, "").strip()}
    values = {k: v for k, v in form.items() if k != "password"}
    if errors:
        return _users_page(request, user, 422, values=values, errors=errors | {"_form": t["error"]})
    new = NewUser(
        form["participant"], form["email"], form["display_name"], form["role"], form["password"]
    )
    try:
        out = users.create(kit.db(request), user.actor, new)
    except TansoError as e:
        where = {
            "invalid_email": "email",
            "email_taken": "email",
            "email_unavailable": "email",
            "invalid_name": "display_name",
            "unknown_user_role": "role",
            "weak_password": "password",
            "participant_not_found": "participant",
        }.get(e.code, "_form")
        return _users_page(request, user, status_of(e), values=values, errors={where: e.message})
    notice = t["user_created"].format(email=out.email, pid=out.participant_id)
    return _users_page(request, user, notice=notice)


@router.post("/users/{user_id}/unlock")
def unlock_user(request: Request, user: OperatorUser, user_id: str) -> Response:
    try:
        out = users.unlock(kit.db(request), user.actor, user_id)
    except TansoError as e:
        return _users_page(request, user, status_of(e), errors={"_form": e.message})
    notice = kit.labels(request, "operator")["user_unlocked"].format(email=out.email)
    return _users_page(request, user, notice=notice)


@router.post("/users/{user_id}/{action}")
def user_action(
    request: Request, user: OperatorUser, form: Form, user_id: str, action: str
) -> Response:
    """Change a role, reset a password, turn TOTP off or remove: any participant's user."""

    t = kit.labels(request, "operator")
    db = kit.db(request)
    try:
        target = users.get_user(db, user.actor, user_id)
        done = manage_user(db, user, action, user_id, form, as_user=None)
    except TansoError as e:
        errors = {"_form": e.message, f"u-{user_id}": e.message}
        return _users_page(request, user, status_of(e), errors=errors)
    if done is None:
        return _users_page(request, user, 404, errors={"_form": t["not_found_text"]})
    key, reset = done
    role = t.get(f"role_{form.get('role', '')}", "")
    notice = t[key].format(email=target.email, role=role) if key else ""
    return _users_page(request, user, notice=notice, reset=reset)
