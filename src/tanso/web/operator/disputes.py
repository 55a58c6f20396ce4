"""The operator's dispute screens (紛争処理): every dispute, one with its history and evidence,
and the forms that take it under review, decide it with remedies, and close it.

Only an operator's user gets here (the kit's ``OperatorUser``); the service checks the operator
role again, and the remedies' own roles (a cash remedy the exchange operator's, a credit remedy
the registry operator's).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import NotFound, TansoError
from tanso.http_status import status_of
from tanso.services import disputes
from tanso.services.access.users import PortalUser
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.portal.disputes import dispute_texts

router = APIRouter(
    prefix="/portal/operator/disputes", route_class=kit.ScreenRoute, include_in_schema=False
)

REMEDY_ROWS = 3
"""How many remedies the decision form offers (the API takes up to 20)."""


@router.get("", response_class=HTMLResponse)
def list_screen(request: Request, user: OperatorUser) -> Response:
    state = request.query_params.get("state") or None
    if state not in (None, *disputes.STATES):
        state = None
    return operator_page(
        request,
        "operator_disputes.html",
        user,
        d=dispute_texts(request),
        disputes=disputes.list_disputes(kit.db(request), user.actor, state, 500),
        states=disputes.STATES,
        state=state,
    )


def _detail(
    request: Request, user: PortalUser, dispute_id: str, status: int = 200, **context: Any
) -> Response:
    try:
        found = disputes.get(kit.db(request), user.actor, dispute_id)
    except NotFound:
        return kit.not_found(request, user)
    return operator_page(
        request,
        "operator_dispute.html",
        user,
        status,
        d=dispute_texts(request),
        x=found,
        outcomes=disputes.OUTCOMES,
        remedies=disputes.REMEDIES,
        rows=range(REMEDY_ROWS),
        **context,
    )


@router.get("/{dispute_id}", response_class=HTMLResponse)
def detail_screen(request: Request, user: OperatorUser, dispute_id: str) -> Response:
    return _detail(request, user, dispute_id)


def _act(request: Request, user: PortalUser, dispute_id: str, done: str, call: Any) -> Response:
    try:
        call()
    except NotFound:
        return kit.not_found(request, user)
    except TansoError as e:
        return _detail(
            request, user, dispute_id, status_of(e), errors={"_form": e.message}, values={}
        )
    return _detail(request, user, dispute_id, notice=dispute_texts(request)[done])


@router.post("/{dispute_id}/review")
def review(request: Request, user: OperatorUser, dispute_id: str, form: Form) -> Response:
    note, db = form.get("note", ""), kit.db(request)
    return _act(
        request,
        user,
        dispute_id,
        "reviewed",
        lambda: disputes.review(db, user.actor, dispute_id, note),
    )


@router.post("/{dispute_id}/close")
def close(request: Request, user: OperatorUser, dispute_id: str, form: Form) -> Response:
    note, db = form.get("note", ""), kit.db(request)
    return _act(
        request,
        user,
        dispute_id,
        "closed",
        lambda: disputes.close(db, user.actor, dispute_id, note),
    )


def remedy_orders(
    form: dict[str, str], d: Any
) -> tuple[list[disputes.RemedyOrder], dict[str, str]]:
    """The decision form's remedy rows (``r0_kind``, ``r0_payer``, ``r0_amount`` ...); a row
    without a kind is left out."""
    orders: list[disputes.RemedyOrder] = []
    errors: dict[str, str] = {}
    for i in range(REMEDY_ROWS):
        kind = form.get(f"r{i}_kind", "")
        if not kind:
            continue
        try:
            amount = kit.parse_int(form.get(f"r{i}_amount"))
        except ValueError:
            errors[f"r{i}_amount"] = d["whole_number"]
            continue
        orders.append(
            disputes.RemedyOrder(
                kind,
                payer=form.get(f"r{i}_payer") or None,
                amount=amount,
                currency=form.get(f"r{i}_currency") or "JPY",
                serials=form.get(f"r{i}_serials", "").strip() or None,
                from_account=form.get(f"r{i}_from", "").strip() or None,
                to_account=form.get(f"r{i}_to", "").strip() or None,
            )
        )
    return orders, errors


@router.post("/{dispute_id}/decide")
def decide(request: Request, user: OperatorUser, dispute_id: str, form: Form) -> Response:
    d = dispute_texts(request)
    orders, errors = remedy_orders(form, d)
    if errors:
        return _detail(
            request, user, dispute_id, 422, values=form, errors=errors | {"_form": d["form_error"]}
        )
    db, x = kit.db(request), kit.exchange(request)
    try:
        disputes.decide(
            db,
            user.actor,
            dispute_id,
            form.get("outcome", ""),
            form.get("decision", ""),
            orders,
            x,
        )
    except NotFound:
        return kit.not_found(request, user)
    except TansoError as e:
        return _detail(
            request, user, dispute_id, status_of(e), values=form, errors={"_form": e.message}
        )
    return _detail(request, user, dispute_id, notice=d["decided"])
