"""The operator's market notices screen (issue 22, docs/market-notices.md): every notice with
its state; a form to publish one in English and Japanese; a form per standing notice to
withdraw it with the reason; a form to name the participant that develops a project (who may
then publish the project's updates).

Registered by the app beside the other operator screens (``router``); the same dependency
(``OperatorUser``: live session, origin and CSRF on a POST, operator role) guards each route,
and the services check the role again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import market_notices as mn
from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.ledger import project_updates, taxonomy
from tanso.services.marketdata import market_notices
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

SCREEN = "/portal/operator/notices"
NOTICE_FIELDS = ("kind", "title_en", "title_ja", "body_en", "body_ja", "effective_on", "link")
FIELD_OF_CODE = {
    "invalid_notice_kind": "kind",
    "invalid_date": "effective_on",
    "invalid_link": "link",
}


def _page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    lang = kit.lang_of(request)
    return operator_page(
        request,
        "operator_market_notices.html",
        user,
        status,
        notices=market_notices.list_notices(db, limit=200),
        projects=taxonomy.list_projects(db),
        g=texts(lang, "market_notices"),
        kinds=mn.KINDS,
        **context,
    )


@router.get("/notices", response_class=HTMLResponse)
def notices_screen(request: Request, user: OperatorUser) -> Response:
    return _page(request, user)


def _field_of(e: TansoError, default: str = "_form") -> str:
    if e.code in FIELD_OF_CODE:
        return FIELD_OF_CODE[e.code]
    for name in NOTICE_FIELDS:  # text_required, text_too_long, invalid_text name their field
        if e.message.startswith(name + " "):
            return name
    return default


@router.post("/notices/publish")
def publish(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    values = {k: form.get(k, "").strip() for k in NOTICE_FIELDS}
    values["body_en"], values["body_ja"] = form.get("body_en", ""), form.get("body_ja", "")
    errors = {k: t["required"] for k in NOTICE_FIELDS[:-1] if not values[k].strip()}
    if errors:
        return _page(
            request,
            user,
            422,
            values=values,
            errors=errors | {"_form": t["error"]},
            which="publish",
        )
    text = mn.NoticeText(
        kind=values["kind"],
        title_en=values["title_en"],
        title_ja=values["title_ja"],
        body_en=values["body_en"],
        body_ja=values["body_ja"],
        effective_on=values["effective_on"],
        link=values["link"] or None,
    )
    try:
        out = market_notices.publish(kit.db(request), user.actor, text)
    except TansoError as e:
        return _page(
            request,
            user,
            status_of(e),
            values=values,
            errors={_field_of(e): e.message},
            which="publish",
        )
    return _page(request, user, notice=t["mn_published"].format(id=out.id))


@router.post("/notices/withdraw")
def withdraw(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    notice_id = form.get("notice", "").strip()[:40]
    reason = form.get("reason", "").strip()
    if not notice_id or not reason:
        errors = {f"reason-{notice_id}": t["required"], "_form": t["error"]}
        return _page(request, user, 422, errors=errors, which="withdraw")
    try:
        out = market_notices.withdraw(kit.db(request), user.actor, notice_id, reason)
    except TansoError as e:
        errors = {f"reason-{notice_id}": e.message, "_form": e.message}
        return _page(request, user, status_of(e), errors=errors, which="withdraw")
    return _page(request, user, notice=t["mn_withdrawn"].format(id=out.id))


@router.post("/notices/developer")
def name_developer(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    values = {k: form.get(k, "").strip()[:40] for k in ("dev_project", "dev_participant")}
    errors = {k: t["required"] for k, v in values.items() if not v}
    if errors:
        return _page(
            request, user, 422, values=values, errors=errors | {"_form": t["error"]}, which="dev"
        )
    try:
        out = project_updates.name_developer(
            kit.db(request), user.actor, values["dev_project"], values["dev_participant"]
        )
    except TansoError as e:
        where = "dev_participant" if e.code == "participant_not_found" else "dev_project"
        return _page(
            request, user, status_of(e), values=values, errors={where: e.message}, which="dev"
        )
    notice = t["mn_developer_named"].format(project=out.project_id, participant=out.participant_id)
    return _page(request, user, notice=notice)
