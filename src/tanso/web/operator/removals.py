"""The operator's removals screen (issue 21 §1, docs/removals.md): every removal project with its
profile and what its issuances put in (and left in) the scheme's buffer pool; a form to record or
change a project's removal profile; a form to report a reversal.

A reversal cancels credits at once and cannot be taken back, so it takes two steps like the
market screens' irreversible actions: a POST without ``confirm=1`` checks the form and answers
with the confirmation step (what will be cancelled, in which order), changing nothing; the
confirmation's form sends the same fields again with ``confirm=1``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import removals as rm
from tanso.domain.errors import Conflict, TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.ledger import taxonomy
from tanso.services.removals import profiles, reversals
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.operator.markets import confirm_page, confirmed

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

SCREEN = "/portal/operator/removals"

PROFILE_FIELD_OF_CODE = {
    "project_not_found": "project",
    "not_a_removal_project": "project",
    "invalid_pathway": "pathway",
    "invalid_storage": "storage",
    "invalid_risk": "reversal_risk",
    "invalid_permanence": "permanence_years",
    "invalid_monitoring": "monitoring_years",
    "invalid_buffer_rate": "buffer_rate_bp",
    "text_too_long": "source",
    "participant_not_found": "developer_id",
}
REVERSAL_FIELD_OF_CODE = {
    "project_not_found": "rv_project",
    "removal_profile_not_found": "rv_project",
    "invalid_quantity": "quantity",
    "invalid_cause": "cause",
    "invalid_date": "occurred_on",
    "text_too_long": "description",
}
REVERSAL_FIELDS = ("rv_project", "quantity", "cause", "occurred_on", "description")


def _removal_projects(request: Request) -> list[taxonomy.Project]:
    return [p for p in taxonomy.list_projects(kit.db(request)) if p.mechanism == "removal"]


def _page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    lang = kit.lang_of(request)
    projects = _removal_projects(request)
    rows = []
    for p in projects:
        record = profiles.project_record(db, p.id)
        rows.append(
            {
                "project": p,
                "name": (p.name_ja or p.name) if lang == "ja" else p.name,
                "profile": record.profile,
                "buffered": record.buffered,
                "buffer_left": record.buffer_left,
                "reversals": len(record.reversals),
            }
        )
    return operator_page(
        request,
        "operator_removals.html",
        user,
        status,
        rows=rows,
        names={p.id: row["name"] for p, row in zip(projects, rows, strict=True)},
        projects=projects,
        pools=profiles.pools(db),
        reversals=profiles.list_reversals(db, 50),
        g=texts(lang, "removals"),
        cause=texts(lang, "removal_cause"),
        pathways=rm.PATHWAYS,
        storages=rm.STORAGES,
        risks=rm.RISKS,
        causes=rm.CAUSES,
        **context,
    )


@router.get("/removals", response_class=HTMLResponse)
def removals_screen(request: Request, user: OperatorUser) -> Response:
    return _page(request, user)


@router.post("/removals/profile")
def set_profile(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    errors: dict[str, str] = {}
    for name in ("project", "pathway", "storage", "reversal_risk"):
        if not form.get(name, "").strip():
            errors[name] = t["required"]
    permanence = kit.required_int(form, "permanence_years", t, errors)
    monitoring = kit.required_int(form, "monitoring_years", t, errors)
    rate = kit.required_int(form, "buffer_rate_bp", t, errors)
    if errors:
        return _page(
            request, user, 422, values=form, errors=errors | {"_form": t["error"]}, which="profile"
        )
    project_id = form["project"].strip()
    profile = rm.Profile(
        pathway=form["pathway"],
        storage=form["storage"],
        permanence_years=permanence,
        reversal_risk=form["reversal_risk"],
        monitoring_years=monitoring,
        buffer_rate_bp=rate,
        source=form.get("source", "").strip(),
    )
    try:
        out = profiles.set_profile(
            kit.db(request),
            user.actor,
            project_id,
            profile,
            developer_id=form.get("developer_id", "").strip()[:40] or None,
        )
    except TansoError as e:
        where = PROFILE_FIELD_OF_CODE.get(e.code, "_form")
        return _page(
            request, user, status_of(e), values=form, errors={where: e.message}, which="profile"
        )
    return _page(request, user, notice=t["rm_profile_set"].format(project=out.project_id))


def _new_reversal(form: dict[str, str], t: Any, errors: dict[str, str]) -> reversals.NewReversal:
    for name in ("rv_project", "cause", "occurred_on"):
        if not form.get(name, "").strip():
            errors[name] = t["required"]
    quantity = kit.required_int(form, "quantity", t, errors)
    return reversals.NewReversal(
        project_id=form.get("rv_project", "").strip(),
        quantity=quantity,
        cause=form.get("cause", ""),
        occurred_on=form.get("occurred_on", "").strip(),
        description=form.get("description", "").strip(),
    )


@router.post("/removals/reversal")
def report_reversal(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    errors: dict[str, str] = {}
    n = _new_reversal(form, t, errors)
    values = {k: form.get(k, "") for k in REVERSAL_FIELDS}
    if errors:
        return _page(
            request,
            user,
            422,
            values=values,
            errors=errors | {"_form": t["error"]},
            which="reversal",
        )
    db = kit.db(request)
    try:
        n.check()  # a value the service refuses is refused here, before asking to confirm
        if not confirmed(form):
            project = next((p for p in _removal_projects(request) if p.id == n.project_id), None)
            if project is None or n.project_id not in {
                p.project_id for p in profiles.list_profiles(db)
            }:
                raise Conflict(
                    "removal_profile_not_found",
                    f"Project {n.project_id} has no removal profile; a reversal is reported for "
                    "a removal project.",
                )
            lang = kit.lang_of(request)
            return confirm_page(
                request,
                user,
                title=t["confirm_reversal_title"].format(project=n.project_id),
                consequence=t["confirm_reversal_text"].format(
                    project=n.project_id,
                    quantity=f"{n.quantity:,}",
                    cause=texts(lang, "removal_cause").get(n.cause, n.cause),
                    date=n.occurred_on,
                    pool=profiles.buffer_account_id(project.scheme),
                ),
                action=f"{SCREEN}/reversal",
                back=SCREEN,
                fields=values,
                notes=[t["confirm_reversal_note"]],
            )
        out = reversals.report(db, user.actor, n)
    except TansoError as e:
        where = REVERSAL_FIELD_OF_CODE.get(e.code, "_form")
        return _page(
            request, user, status_of(e), values=values, errors={where: e.message}, which="reversal"
        )
    notice = t["rm_reversal_reported"].format(
        id=out.id,
        project=out.project_id,
        quantity=f"{out.quantity:,}",
        buffer=f"{out.from_project_buffer:,}",
        holders=f"{out.from_holders:,}",
        pool=f"{out.from_pool:,}",
        uncompensated=f"{out.uncompensated:,}",
    )
    return _page(request, user, notice=notice)
