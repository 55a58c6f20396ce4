"""Administration (administrators of a participant): API keys and the participant's users.

``manage_user`` is the one user action (role, password reset, TOTP off, removal) that both
this screen and the operator's users screen call."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.participants import Scope, scope_names
from tanso.http_status import status_of
from tanso.services.access import users
from tanso.services.access.users import NewUser, PortalUser, UserRole
from tanso.services.common import Database
from tanso.services.ledger import participants
from tanso.web import kit
from tanso.web.kit import Administrator, Form

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)

USER_ACTIONS = ("role", "reset-password", "totp-off", "remove")


def manage_user(
    db: Database,
    by: PortalUser,
    action: str,
    user_id: str,
    form: dict[str, str],
    as_user: str | None,
) -> tuple[str, users.PasswordReset | None] | None:
    """One user action for both users screens: (notice key, the reset answer), or None for an
    unknown action. Raises the service's refusal."""
    if action == "role":
        users.set_role(db, by.actor, user_id, form.get("role", ""), as_user=as_user)
        return "role_changed", None
    if action == "reset-password":
        return "", users.reset_password(db, by.actor, user_id, as_user=as_user)
    if action == "totp-off":
        users.disable_totp(db, by.actor, user_id, as_user=as_user)
        return "totp_turned_off", None
    if action == "remove":
        users.remove(db, by.actor, user_id, as_user=as_user)
        return "user_removed", None
    return None


# ---------------------------------------------------------------- API keys


def _keys_page(
    request: Request,
    user: PortalUser,
    state: kit.FormState | None = None,
    created: participants.NewApiKey | None = None,
) -> HTMLResponse:
    keys = participants.list_api_keys(kit.db(request), kit.reader(user), user.participant_id)
    return kit.page(
        request,
        "portal_keys.html",
        user,
        state=state,
        keys=keys,
        held=sorted(r.value for r in user.actor.roles),
        scopes=scope_names(user.actor.granted),
        created=created,
    )


@router.get("/portal/keys", response_class=HTMLResponse)
def keys(request: Request, user: Administrator) -> Response:
    return _keys_page(request, user)


@router.post("/portal/keys")
def create_key(request: Request, user: Administrator, form: Form) -> Response:
    t = kit.labels(request)
    held = {r.value for r in user.actor.roles}
    wanted = sorted(name[5:] for name in form if name.startswith("role_"))
    scopes = [s for s in scope_names(Scope) if f"scope_{s}" in form]
    label = form.get("label", "").strip()
    if any(r not in held for r in wanted):
        return _keys_page(
            request, user, kit.FormState.invalid(form, {"roles": t["no_permission"]}, t)
        )
    try:
        created = participants.create_api_key(
            kit.db(request),
            user.actor,
            user.participant_id,
            label,
            wanted or None,
            scopes=scopes or None,
        )
    except TansoError as e:
        fields = ("label", "roles", "scopes")
        return _keys_page(request, user, kit.FormState.refused(e, form, fields))
    return _keys_page(request, user, created=created)


@router.post("/portal/keys/{key_id}/revoke")
def revoke_key(request: Request, user: Administrator, key_id: str) -> Response:
    db = kit.db(request)
    own = participants.list_api_keys(db, kit.reader(user), user.participant_id)
    if key_id not in {k.id for k in own}:
        return kit.not_found(request, user)
    participants.revoke_api_key(db, user.actor, user.participant_id, key_id)
    notice = kit.labels(request)["key_revoked"].format(id=key_id)
    return _keys_page(request, user, kit.FormState(notice=notice))


# ---------------------------------------------------------------- users


def _own_users(request: Request, user: PortalUser) -> list[users.User]:
    return [
        u
        for u in users.list_users(kit.db(request), kit.reader(user), user.participant_id)
        if u.participant_id == user.participant_id
    ]


def _users_page(
    request: Request,
    user: PortalUser,
    state: kit.FormState | None = None,
    reset: users.PasswordReset | None = None,
) -> HTMLResponse:
    return kit.page(
        request,
        "portal_users.html",
        user,
        state=state,
        people=_own_users(request, user),
        roles=[r.value for r in UserRole],
        reset=reset,
    )


@router.get("/portal/users", response_class=HTMLResponse)
def users_page(request: Request, user: Administrator) -> Response:
    return _users_page(request, user)


@router.post("/portal/users")
def create_user(request: Request, user: Administrator, form: Form) -> Response:
    t = kit.labels(request)
    fields = ("email", "display_name", "role", "password")
    errors = {name: t["required"] for name in fields if not form.get(name, "").strip()}
    if form.get("role") and form["role"] not in {r.value for r in UserRole}:
        errors["role"] = t["required"]
    values = {k: v for k, v in form.items() if k != "password"}
    if errors:
        return _users_page(request, user, kit.FormState.invalid(values, errors, t))
    new = NewUser(
        user.participant_id, form["email"], form["display_name"], form["role"], form["password"]
    )
    try:
        created = users.create(kit.db(request), user.actor, new, as_user=user.id)
    except TansoError as e:
        state = kit.FormState.refused(e, values, fields)
        if e.code == "email_unavailable":  # names no user and no participant: see users.create
            state = kit.FormState(values, {"email": t["email_unavailable"]}, status=state.status)
        return _users_page(request, user, state)
    notice = t["user_created"].format(email=created.email)
    return _users_page(request, user, kit.FormState(notice=notice))


@router.post("/portal/users/{user_id}/unlock")
def unlock_user(request: Request, user: Administrator, user_id: str) -> Response:
    target = next((u for u in _own_users(request, user) if u.id == user_id), None)
    if target is None:
        return kit.not_found(request, user)
    try:
        users.unlock(kit.db(request), user.actor, user_id, as_user=user.id)
    except TansoError as e:
        return _users_page(request, user, kit.FormState.refused(e))
    notice = kit.labels(request)["user_unlocked"].format(email=target.email)
    return _users_page(request, user, kit.FormState(notice=notice))


@router.post("/portal/users/{user_id}/{action}")
def user_action(
    request: Request, user: Administrator, form: Form, user_id: str, action: str
) -> Response:
    target = next((u for u in _own_users(request, user) if u.id == user_id), None)
    if target is None or action not in USER_ACTIONS:
        return kit.not_found(request, user)
    t = kit.labels(request)
    try:
        done = manage_user(kit.db(request), user, action, user_id, form, as_user=user.id)
    except TansoError as e:
        errors = {"_form": e.message, f"u-{user_id}": e.message}
        return _users_page(request, user, kit.FormState(errors=errors, status=status_of(e)))
    assert done is not None
    key, reset = done
    role = t.get(f"role_{form.get('role', '')}", "")
    notice = t[key].format(email=target.email, role=role) if key else ""
    return _users_page(request, user, kit.FormState(notice=notice), reset=reset)
