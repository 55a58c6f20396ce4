"""The operator's issuance screen: issuing credits of a registered project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.ledger import participants, registry, taxonomy
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)


# ---------------------------------------------------------------- issuance


def _issuance_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = kit.db(request)
    accounts = [a for a in participants.list_accounts(db, user.actor) if a.kind == "holding"]
    return operator_page(
        request,
        "operator_issuance.html",
        user,
        status,
        projects=taxonomy.list_projects(db),
        credit_types=taxonomy.list_terms(db, "credit_type"),
        accounts=accounts,
        issuances=list(reversed(registry.list_issuances(db)))[:200],
        **context,
    )


@router.get("/issuance", response_class=HTMLResponse)
def issuance_screen(request: Request, user: OperatorUser) -> Response:
    return _issuance_page(request, user)


@router.post("/issuance")
def issue(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    errors: dict[str, str] = {}
    for name in ("project", "credit_type", "round", "account"):
        if not form.get(name, "").strip():
            errors[name] = t["required"]
    vintage = kit.required_int(form, "vintage", t, errors)
    quantity = kit.required_int(form, "quantity", t, errors)
    if errors:
        return _issuance_page(
            request, user, 422, values=form, errors=errors | {"_form": t["error"]}
        )
    new = registry.NewIssuance(
        project_id=form["project"],
        credit_type=form["credit_type"],
        round=form["round"].strip(),
        vintage=vintage,
        quantity=quantity,
        account_id=form["account"],
    )
    try:
        out = registry.issue(kit.db(request), user.actor, new)
    except TansoError as e:
        fields = ("project", "credit_type", "round", "vintage", "quantity", "account")
        where = kit.field_for(e.code, fields)
        if where == "_form":
            where = next((f for f in fields if f in e.code), "_form")
        if e.code == "issuance_exists":
            where = "round"
        return _issuance_page(request, user, status_of(e), values=form, errors={where: e.message})
    notice = t["issued"].format(
        quantity=f"{out.quantity:,}", id=out.issuance_id, account=out.account_id
    )
    return _issuance_page(request, user, notice=notice)
