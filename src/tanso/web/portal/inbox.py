"""The participant's inbox (お知らせ).

``/portal/inbox`` lists the participant's own notices, rendered in the screen's language from
their kind and parameters (tanso.web.notice_texts), and marks one read; the portal's navigation
shows how many are unread. (The request to bust a trade is on the trades screen: orders.py.) The
screens call use cases only; the services refuse anything the actor may not do.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services import notices
from tanso.services.access.users import PortalUser
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form
from tanso.web.notice_texts import notice_text

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


def unread(request: Request, user: PortalUser | None) -> int:
    """How many of the user's participant's notices are unread (the navigation's count)."""
    if user is None:
        return 0
    return notices.unread_count(kit.db(request), user.participant_id)


# ---------------------------------------------------------------- the inbox


def _inbox_page(
    request: Request, user: PortalUser, state: kit.FormState | None = None
) -> HTMLResponse:
    lang = kit.lang_of(request)
    only_unread = request.query_params.get("unread") in ("1", "true")
    found = notices.list_notices(kit.db(request), kit.reader(user), only_unread, 200)
    rows = [(n, notice_text(n.kind, n.subject_id, n.params, lang)) for n in found]
    return kit.page(
        request,
        "portal_inbox.html",
        user,
        state=state,
        rows=rows,
        only_unread=only_unread,
        unread_count=unread(request, user),
    )


@router.get("/portal/inbox", response_class=HTMLResponse)
def inbox(request: Request, user: CurrentUser) -> Response:
    return _inbox_page(request, user)


@router.post("/portal/inbox/{notice_id}/read")
def read(request: Request, user: CurrentUser, notice_id: str, _form: Form) -> Response:
    t = kit.labels(request)
    try:
        notices.mark_read(kit.db(request), kit.reader(user), notice_id)
    except TansoError as e:
        return _inbox_page(request, user, kit.FormState.refused(e))
    return _inbox_page(request, user, kit.FormState(notice=t["inbox_marked"]))
