"""Disputes (紛争処理) in the participant portal: one's own disputes, opening one, a dispute with
its history, responding, attaching evidence, withdrawing.

A viewer only reads; a user who trades or moves credits (or an administrator) acts. Another
participant's dispute answers exactly like a missing one (the service decides that); the
counterparty's identity is never shown.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import NotFound, TansoError
from tanso.http_status import status_of
from tanso.services import disputes
from tanso.services.access.users import Capability, PortalUser
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import CurrentUser, Form, Upload

router = APIRouter(prefix="/portal/disputes", route_class=kit.ScreenRoute, include_in_schema=False)

NEW_FIELDS = ("kind", "subject_id", "summary", "claimed_amount", "claimed_quantity")
MEDIA_OF_SUFFIX = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
}


def party(request: Request, user: CurrentUser) -> PortalUser:
    """A user who may act in a dispute: one who trades or moves credits (not a viewer)."""
    if not (user.can(Capability.TRADE) or user.can(Capability.MOVE_CREDITS)):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


Party = Annotated[PortalUser, Depends(party)]


def dispute_texts(request: Request) -> Any:
    """The texts of the dispute screens (context ``disputes``), besides the page's own."""
    return texts(kit.lang_of(request), "disputes")


def _list_page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    return kit.page(
        request,
        "portal_disputes.html",
        user,
        status,
        d=dispute_texts(request),
        disputes=disputes.list_disputes(db, user.actor),
        reminders=disputes.reminders_for(db, user.actor),
        kinds=disputes.KINDS,
        may_act=user.can(Capability.TRADE) or user.can(Capability.MOVE_CREDITS),
        **context,
    )


@router.get("", response_class=HTMLResponse)
def list_screen(request: Request, user: CurrentUser) -> Response:
    return _list_page(request, user)


@router.post("")
def open_dispute(request: Request, user: Party, form: Form) -> Response:
    d = dispute_texts(request)
    errors: dict[str, str] = {}
    kind = form.get("kind", "")
    if kind not in disputes.KINDS:
        errors["kind"] = d["choose_kind"]
    subject = form.get("subject_id", "").strip()
    if not subject:
        errors["subject_id"] = d["required"]
    summary = form.get("summary", "").strip()
    if not summary:
        errors["summary"] = d["required"]
    amounts = {}
    for name in ("claimed_amount", "claimed_quantity"):
        try:
            amounts[name] = kit.parse_int(form.get(name)) or 0
        except ValueError:
            errors[name] = d["whole_number"]
    if errors:
        return _list_page(
            request, user, 422, values=form, errors=errors | {"_form": d["form_error"]}
        )
    n = disputes.NewDispute(
        kind, subject, summary, amounts.get("claimed_amount", 0), amounts.get("claimed_quantity", 0)
    )
    try:
        out = disputes.open_dispute(kit.db(request), user.actor, n)
    except TansoError as e:
        errors, status = kit.refusal(e, NEW_FIELDS)
        return _list_page(request, user, status, values=form, errors=errors)
    return _detail_page(request, user, out.id, notice=d["opened"].format(id=out.id))


def _detail_page(
    request: Request, user: PortalUser, dispute_id: str, status: int = 200, **context: Any
) -> Response:
    try:
        found = disputes.get(kit.db(request), user.actor, dispute_id)
    except NotFound:
        return kit.not_found(request, user)
    return kit.page(
        request,
        "portal_dispute.html",
        user,
        status,
        d=dispute_texts(request),
        x=found,
        may_act=user.can(Capability.TRADE) or user.can(Capability.MOVE_CREDITS),
        active=found.state in disputes.ACTIVE,
        **context,
    )


@router.get("/{dispute_id}", response_class=HTMLResponse)
def detail_screen(request: Request, user: CurrentUser, dispute_id: str) -> Response:
    return _detail_page(request, user, dispute_id)


def _act(request: Request, user: PortalUser, dispute_id: str, done: str, call: Any) -> Response:
    """Run one step of a dispute and show the dispute again, with the refusal if any."""
    try:
        call()
    except NotFound:
        return kit.not_found(request, user)
    except TansoError as e:
        return _detail_page(request, user, dispute_id, status_of(e), errors={"_form": e.message})
    return _detail_page(request, user, dispute_id, notice=dispute_texts(request)[done])


@router.post("/{dispute_id}/respond")
def respond(request: Request, user: Party, dispute_id: str, form: Form) -> Response:
    text = form.get("text", "")
    db = kit.db(request)
    return _act(
        request,
        user,
        dispute_id,
        "responded",
        lambda: disputes.respond(db, user.actor, dispute_id, text),
    )


@router.post("/{dispute_id}/withdraw")
def withdraw(request: Request, user: Party, dispute_id: str, form: Form) -> Response:
    reason = form.get("reason", "")
    db = kit.db(request)
    return _act(
        request,
        user,
        dispute_id,
        "withdrawn",
        lambda: disputes.withdraw(db, user.actor, dispute_id, reason),
    )


async def chosen_name(request: Request, _form: Form) -> str:
    """The name of the file chosen in a multipart form's ``file`` part (after the kit has read
    the form, whose parse the request keeps)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        return ""
    part = (await request.form()).get("file")
    return str(getattr(part, "filename", "") or "")


FileName = Annotated[str, Depends(chosen_name)]


@router.post("/{dispute_id}/evidence")
def attach(
    request: Request, user: Party, dispute_id: str, upload: Upload, file_name: FileName
) -> Response:
    """Attach the chosen file (multipart, part ``file``); its type from its name's suffix."""
    name = file_name.strip() or "evidence.txt"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    media = MEDIA_OF_SUFFIX.get(suffix, "application/octet-stream")
    db = kit.db(request)
    return _act(
        request,
        user,
        dispute_id,
        "attached",
        lambda: disputes.attach_evidence(db, user.actor, dispute_id, name, media, upload or b""),
    )


@router.get("/{dispute_id}/evidence/{evidence_id}")
def evidence(request: Request, user: CurrentUser, dispute_id: str, evidence_id: str) -> Response:
    """An evidence file: the uploader's own (the operator: any), as an attachment."""
    try:
        f = disputes.get_evidence(kit.db(request), user.actor, dispute_id, evidence_id)
    except NotFound:
        return kit.not_found(request, user)
    return Response(
        f.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{f.id}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
