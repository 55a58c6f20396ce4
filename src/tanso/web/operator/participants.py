"""The operator's overview, participants (registering, approving, suspending, roles) and
projects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.participants import ParticipantKind, Role
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.clearing import settlement
from tanso.services.ledger import participants, taxonomy
from tanso.services.trading import exchange as xs
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

STATUS_ACTIONS = {"approve": "active", "suspend": "suspended", "reinstate": "active"}


# ---------------------------------------------------------------- overview


@router.get("", response_class=HTMLResponse)
def overview(request: Request, user: OperatorUser) -> Response:
    db = kit.db(request)
    people = participants.list_participants(db, user.actor)
    pending = [p for p in people if p.status == "pending"]
    failed = settlement.obligations(db, user.actor, "failed", limit=500)
    return operator_page(
        request,
        "operator_home.html",
        user,
        participants_n=len(people),
        pending=pending,
        failed_n=len(failed),
        instruments=xs.list_instruments(db, kit.exchange(request)),
    )


# ---------------------------------------------------------------- participants


def _participants_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> HTMLResponse:
    people = participants.list_participants(kit.db(request), user.actor)
    return operator_page(
        request,
        "operator_participants.html",
        user,
        status,
        people=people,
        all_roles=[r.value for r in Role],
        kinds=[k.value for k in ParticipantKind],
        **context,
    )


@router.get("/participants", response_class=HTMLResponse)
def participants_screen(request: Request, user: OperatorUser) -> Response:
    return _participants_page(request, user)


@router.post("/participants/{pid}/{action}")
def participant_action(
    request: Request, user: OperatorUser, form: Form, pid: str, action: str
) -> Response:
    t = kit.labels(request, "operator")
    db = kit.db(request)
    try:
        if action in STATUS_ACTIONS:
            out = participants.set_status(
                db, user.actor, pid, STATUS_ACTIONS[action], form.get("reason", "")[:500]
            )
            if out.status == "suspended":  # orders: services/operations/suspension.py
                kit.exchange(request).cancel_all(user.actor, pid)
            notice = t["status_changed"].format(pid=pid, status=out.status)
        elif action == "roles":
            roles = [r.value for r in Role if form.get(f"role_{r.value}")]
            out = participants.set_roles(db, user.actor, pid, roles)
            notice = t["roles_changed"].format(pid=pid, roles=", ".join(out.roles) or "-")
        else:
            return _participants_page(request, user, 404, errors={"_form": t["not_found_text"]})
    except TansoError as e:
        return _participants_page(
            request, user, 422, errors={"_form": e.message, f"p-{pid}": e.message}
        )
    return _participants_page(request, user, notice=notice)


PARTICIPANT_FIELDS = (
    "id",
    "name_en",
    "name_ja",
    "name_local",
    "kind",
    "country",
    "corporate_number",
    "lei",
    "roles",
)


def _participant_field(e: TansoError) -> str:
    if "corporate_number" in e.code:
        return "corporate_number"
    if "lei" in e.code:
        return "lei"
    if e.code == "invalid_country":
        return "country"
    if e.code in ("invalid_id", "participant_exists"):
        return "id"
    if e.code == "invalid_name":
        return next((f for f in ("name_ja", "name_local") if f in e.message), "name_en")
    if "role" in e.code:
        return "roles"
    if "kind" in e.code:
        return "kind"
    return "_form"


@router.post("/participants")
def register_participant(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    errors = {
        f: t["required"] for f in ("name_en", "name_ja", "kind") if not form.get(f, "").strip()
    }
    if errors:
        errors["_form"] = t["error"]
        return _participants_page(request, user, 422, values=form, errors=errors)
    new = participants.NewParticipant(
        name_ja=form["name_ja"].strip(),
        name_en=form["name_en"].strip(),
        kind=form["kind"],
        roles=[r.value for r in Role if form.get(f"new_role_{r.value}")],
        corporate_number=form.get("corporate_number", "").strip() or None,
        gx_league=bool(form.get("gx_league")),
        id=form.get("id", "").strip().upper() or None,
        lei=form.get("lei", "").strip().upper() or None,
        country=form.get("country", "").strip().upper() or "JP",
        name_local=form.get("name_local", "").strip() or None,
    )
    try:
        out = participants.create_participant(kit.db(request), user.actor, new)
    except TansoError as e:
        errors = {_participant_field(e): e.message}
        return _participants_page(request, user, status_of(e), values=form, errors=errors)
    notice = t["participant_registered"].format(pid=out.id, account=out.accounts[0])
    return _participants_page(request, user, notice=notice)


# ---------------------------------------------------------------- projects


def _projects_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = kit.db(request)
    return operator_page(
        request,
        "operator_projects.html",
        user,
        status,
        projects=taxonomy.list_projects(db),
        schemes=taxonomy.list_schemes(db),
        categories=taxonomy.list_categories(db),
        mechanisms=taxonomy.MECHANISMS,
        natures=taxonomy.NATURES,
        **context,
    )


@router.get("/projects", response_class=HTMLResponse)
def projects_screen(request: Request, user: OperatorUser) -> Response:
    return _projects_page(request, user)


PROJECT_FIELD_OF_CODE = {
    "invalid_project_id": "id",
    "project_exists": "id",
    "invalid_mechanism": "mechanism",
    "invalid_nature": "nature",
    "invalid_country": "country",
    "invalid_name": "name",
    "scheme_not_found": "scheme",
    "category_not_found": "category",
}


@router.post("/projects")
def register_project(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    required = ("id", "scheme", "category", "name", "country")
    errors = {f: t["required"] for f in required if not form.get(f, "").strip()}
    if errors:
        errors["_form"] = t["error"]
        return _projects_page(request, user, 422, values=form, errors=errors)
    new = taxonomy.NewProject(
        id=form["id"].strip(),
        scheme=form["scheme"],
        name=form["name"].strip(),
        category=form["category"],
        country=form["country"].strip(),
        mechanism=form.get("mechanism", "reduction"),
        nature=form.get("nature", "technology"),
        name_ja=form.get("name_ja", "").strip(),
        region=form.get("region", "").strip()[:200],
        developer=form.get("developer", "").strip()[:200],
        methodology=form.get("methodology", "").strip()[:200],
    )
    try:
        out = taxonomy.register_project(kit.db(request), user.actor, new)
    except TansoError as e:
        errors = {PROJECT_FIELD_OF_CODE.get(e.code, "_form"): e.message}
        return _projects_page(request, user, status_of(e), values=form, errors=errors)
    return _projects_page(request, user, notice=t["project_registered"].format(id=out.id))
