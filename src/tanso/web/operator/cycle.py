"""The scheme administrator's screen of the project cycle (issue 23, docs/project-cycle.md),
``/portal/operator/cycle``: plans awaiting registration, registered projects (set
one inactive with the reason), (register a positively validated one,
or reject one with the reason), pending issuance requests (発行申請) with the verified tonnes,
the buffer share and the quantity issued (approve, or reject with the reason), the
accreditations (認定) of validation and verification bodies (grant, revoke with the reason)
and the stored methodologies.

The same dependency as every operator screen (``OperatorUser``: live session, origin and CSRF
on a POST, operator role) guards each route; the services check the registry operator's role
again, and a refusal is shown next to its form in the service's words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.project_cycle import PlanState, RequestState
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.cycle import accreditation, issuance_requests, plans
from tanso.services.cycle import methodologies as meth
from tanso.services.cycle.footprint import kinds as footprint_kinds
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.operator.markets import confirm_page, confirmed

router = APIRouter(
    prefix="/portal/operator/cycle", route_class=kit.ScreenRoute, include_in_schema=False
)

GRANT_FIELDS = ("participant_id", "scheme", "sector", "valid_from", "valid_to")
AWAITING = (PlanState.SUBMITTED, PlanState.UNDER_VALIDATION)
FINISHED = (PlanState.REGISTERED, PlanState.INACTIVE)


def _page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    return operator_page(
        request,
        "operator_cycle.html",
        user,
        status,
        c=texts(kit.lang_of(request), "cycle"),
        plans=[p for p in plans.list_plans(db) if p.state in AWAITING],
        requests=issuance_requests.list_requests(db, user.actor, state=RequestState.PENDING),
        registered=[p for p in plans.list_plans(db) if p.state in FINISHED],
        accreditations=accreditation.list_accreditations(db),
        methodologies=meth.list_methodologies(db),
        footprint_kinds=list(footprint_kinds()),
        today=db.clock()[:10],
        **context,
    )


def _confirm_first(
    request: Request,
    user: PortalUser,
    form: Mapping[str, str],
    action: str,
    kind: str,
    subject: str,
) -> Response | None:
    """The confirmation step of an irreversible decision (a rejection, a deactivation, a
    revocation) with its reason, before anything changes; None once confirmed, or when the
    reason is missing (the service refuses that with its own words)."""
    reason = form.get("reason", "").strip()
    if confirmed(dict(form)) or not reason:
        return None
    c = texts(kit.lang_of(request), "cycle")
    return confirm_page(
        request,
        user,
        title=c[f"confirm_{kind}_title"].format(id=subject),
        consequence=c[f"confirm_{kind}_text"].format(id=subject, reason=reason),
        action=f"/portal/operator/cycle{action}",
        back="/portal/operator/cycle",
        fields={"reason": reason},
    )


def _decide(
    request: Request,
    user: PortalUser,
    form: Mapping[str, str],
    action: str,
    kind: str,
    subject: str,
    which: str,
    call: Callable[[str], Any],
    done: str,
) -> Response:
    """An irreversible decision with its reason: confirmed first, then ``call(reason)``, then
    the screen with the notice ``done`` (a text of the cycle group, formatted with the id)."""
    ask = _confirm_first(request, user, form, action, kind, subject)
    if ask is not None:
        return ask
    c = texts(kit.lang_of(request), "cycle")
    reason = form.get("reason", "")
    return _act(request, user, which, lambda: call(reason), lambda out: c[done].format(id=out.id))


@router.get("", response_class=HTMLResponse)
def cycle_screen(request: Request, user: OperatorUser) -> Response:
    return _page(request, user)


def _act(
    request: Request,
    user: PortalUser,
    which: str,
    call: Callable[[], Any],
    done: Callable[[Any], str],
    values: Mapping[str, str] | None = None,
) -> Response:
    """Take one step and show the screen again: with the notice, or with the service's refusal
    next to the form ``which``."""
    try:
        out = call()
    except TansoError as e:
        errors = {which: e.message}
        return _page(request, user, status_of(e), errors=errors, values=values or {})
    return _page(request, user, notice=done(out))


@router.post("/plans/{plan_id}/register")
def register(request: Request, user: OperatorUser, plan_id: str, form: Form) -> Response:
    db, c = kit.db(request), texts(kit.lang_of(request), "cycle")
    return _act(
        request,
        user,
        f"plan-{plan_id}",
        lambda: plans.register(db, user.actor, plan_id),
        lambda out: c["registered"].format(id=out.id),
    )


@router.post("/plans/{plan_id}/reject")
def reject_plan(request: Request, user: OperatorUser, plan_id: str, form: Form) -> Response:
    db = kit.db(request)
    return _decide(
        request,
        user,
        form,
        f"/plans/{plan_id}/reject",
        "reject_plan",
        plan_id,
        f"plan-{plan_id}",
        lambda reason: plans.reject(db, user.actor, plan_id, reason),
        "rejected",
    )


@router.post("/projects/{project_id}/deactivate")
def deactivate(request: Request, user: OperatorUser, project_id: str, form: Form) -> Response:
    """Set a project registered through the cycle inactive, with the reason."""
    db = kit.db(request)
    return _decide(
        request,
        user,
        form,
        f"/projects/{project_id}/deactivate",
        "deactivate",
        project_id,
        f"deactivate-{project_id}",
        lambda reason: plans.deactivate(db, user.actor, project_id, reason),
        "deactivated",
    )


@router.post("/requests/{request_id}/approve")
def approve(request: Request, user: OperatorUser, request_id: str, form: Form) -> Response:
    db, c = kit.db(request), texts(kit.lang_of(request), "cycle")
    return _act(
        request,
        user,
        f"request-{request_id}",
        lambda: issuance_requests.approve(db, user.actor, request_id),
        lambda out: c["approved"].format(
            id=out.id, quantity=f"{out.verified_tonnes:,}", issuance=out.issuance_id
        ),
    )


@router.post("/requests/{request_id}/reject")
def reject_request(request: Request, user: OperatorUser, request_id: str, form: Form) -> Response:
    db = kit.db(request)
    return _decide(
        request,
        user,
        form,
        f"/requests/{request_id}/reject",
        "reject_request",
        request_id,
        f"request-{request_id}",
        lambda reason: issuance_requests.reject(db, user.actor, request_id, reason),
        "request_declined",
    )


@router.post("/accreditations")
def grant(request: Request, user: OperatorUser, form: Form) -> Response:
    """Accredit a verification body for a scheme and sector, from a date (to one, if given)."""
    t = kit.labels(request, "operator")
    c = texts(kit.lang_of(request), "cycle")
    values = {k: form.get(k, "").strip()[:40] for k in GRANT_FIELDS}
    errors = {k: t["required"] for k in GRANT_FIELDS[:-1] if not values[k]}
    if errors:
        return _page(request, user, 422, values=values, errors=errors | {"grant": t["error"]})
    db = kit.db(request)
    return _act(
        request,
        user,
        "grant",
        lambda: accreditation.grant(
            db,
            user.actor,
            values["participant_id"],
            values["scheme"],
            values["sector"],
            values["valid_from"],
            values["valid_to"] or None,
        ),
        lambda out: c["accredited"].format(
            participant=out.participant_id, scheme=out.scheme, sector=out.sector
        ),
        values=values,
    )


@router.post("/accreditations/{accreditation_id}/revoke")
def revoke(request: Request, user: OperatorUser, accreditation_id: str, form: Form) -> Response:
    db = kit.db(request)
    return _decide(
        request,
        user,
        form,
        f"/accreditations/{accreditation_id}/revoke",
        "revoke",
        accreditation_id,
        f"accreditation-{accreditation_id}",
        lambda reason: accreditation.revoke(db, user.actor, accreditation_id, reason),
        "revoked",
    )
