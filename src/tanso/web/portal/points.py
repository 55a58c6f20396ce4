"""Portal screens of behaviour-change points programmes (docs/points.md), in English and Japanese:

- ``/portal/points``: the programmes the user's participant runs (the operator's users: every
  programme, to read) with their totals, batches (latest first, with their verification), pools
  and forms: send a batch of events (a CSV or JSON lines file; a refused batch lists its bad lines
  in a table), open a pool, retire a pool (optionally choosing which credits), and look a member
  up by its hash (balance and history);
- ``/portal/points/verifications``: a verification body's list of pending batches of every
  programme, each verified or returned with findings (the operator's users may read it).

The screen never sees a member's identity: a member is the programme's keyed hash, typed or
pasted. Acting needs the ``points`` scope (an administrator user of the programme's participant);
other users read. The services refuse anything else (another's programme answers like a missing
one), and a refusal is shown next to its form with its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.participants import Role, Scope
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.points import ingest, pools, programmes
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import CurrentUser, Form, Upload
from tanso.web.points import mass

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)

BATCHES_SHOWN = 50
POOLS_SHOWN = 50
BAD_LINES_SHOWN = 200
"""Bad lines of a refused batch the screen lists (the service lists up to 1,000; the count is
always said)."""
QueryText = Annotated[str | None, Query(max_length=80)]


def points_texts(request: Request) -> Mapping[str, str]:
    return texts(kit.lang_of(request), "points")


def refusal_shown(e: TansoError) -> dict[str, Any]:
    """A service's refusal as a form shows it: its message (the service's English), its code
    and, for a refused batch, its bad lines."""
    details = getattr(e, "details", None)
    lines = details if e.code == "batch_refused" and isinstance(details, list) else []
    return {"message": e.message, "code": e.code, "lines": lines[:BAD_LINES_SHOWN], "more": 0}


# ---------------------------------------------------------------- who may see and act


def visible_programmes(request: Request, user: PortalUser) -> list[programmes.Programme]:
    """The programmes the user's participant runs; every one for the operator's users."""
    rows = programmes.list_programmes(kit.db(request))
    if user.is_operator:
        return rows
    return [p for p in rows if p.participant_id == user.participant_id]


def runs_programmes(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if its participant runs a points programme (any of its users: a
    viewer reads) or it is the operator's (else 403)."""
    if not (user.is_operator or visible_programmes(request, user)):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


def acts_for_programme(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it may act for its participant's programme: the role and the
    ``points`` scope (an administrator user); else 403."""
    if not (user.actor.has(Role.POINTS_PROGRAMME) and user.actor.may(Scope.POINTS)):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


def reads_verifications(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for a verification body or the operator (else 403)."""
    if not (user.actor.has(Role.VERIFICATION_BODY) or user.is_operator):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


def verifies(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for a verification body with the ``verify`` scope."""
    if not (user.actor.has(Role.VERIFICATION_BODY) and user.actor.may(Scope.VERIFY)):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


ProgrammeReader = Annotated[PortalUser, Depends(runs_programmes)]
ProgrammeActor = Annotated[PortalUser, Depends(acts_for_programme)]
VerificationReader = Annotated[PortalUser, Depends(reads_verifications)]
Verifier = Annotated[PortalUser, Depends(verifies)]


# ---------------------------------------------------------------- the programme's screen


def _page(
    request: Request,
    user: PortalUser,
    chosen: str | None,
    *,
    values: Mapping[str, str] | None = None,
    refused: Mapping[str, Mapping[str, Any]] | None = None,
    notice: str = "",
    member: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    db = kit.db(request)
    mine = visible_programmes(request, user)
    prog = next((p for p in mine if p.id == chosen), mine[0] if mine else None)
    batches: list[programmes.Batch] = []
    pool_rows: list[pools.Pool] = []
    found: programmes.Member | None = None
    refused = dict(refused or {})
    if prog is not None:
        batches = programmes.list_batches(db, user.actor, prog.id, limit=BATCHES_SHOWN)
        pool_rows = pools.list_pools(db, prog.id, limit=POOLS_SHOWN)
        if member:
            try:
                found = programmes.get_member(db, user.actor, prog.id, member.strip())
            except TansoError as e:
                refused["member"] = refusal_shown(e)
                status = status if status != 200 else status_of(e)
    may_act = (
        prog is not None
        and prog.participant_id == user.participant_id
        and user.actor.has(Role.POINTS_PROGRAMME)
        and user.actor.may(Scope.POINTS)
    )
    return kit.page(
        request,
        "points_portal.html",
        user,
        status,
        group="points",
        programmes=mine,
        prog=prog,
        batches=batches,
        pools=pool_rows,
        open_pools=[x for x in pool_rows if x.status == "open"],
        member=(member or "").strip(),
        found=found,
        may_act=may_act,
        mass=mass,
        values=values or {},
        refused=refused,
        notice=notice,
        verifies=user.actor.has(Role.VERIFICATION_BODY),
    )


@router.get("/portal/points", response_class=HTMLResponse)
def screen(
    request: Request,
    user: ProgrammeReader,
    programme: QueryText = None,
    member: QueryText = None,
) -> Response:
    """The programmes the user's participant runs, one of them in full (``?programme=``), and a
    member's balance and history when ``?member=`` names its hash."""
    return _page(request, user, programme, member=member)


def _programme_of(form: Mapping[str, str]) -> str:
    return form.get("programme", "").strip()[:40]


def _refused(
    request: Request, user: PortalUser, form: Mapping[str, str], which: str, e: TansoError
) -> HTMLResponse:
    return _page(
        request,
        user,
        _programme_of(form),
        values=form,
        refused={which: refusal_shown(e)},
        status=status_of(e),
    )


def _invalid(
    request: Request, user: PortalUser, form: Mapping[str, str], which: str, message: str
) -> HTMLResponse:
    shown = {"message": message, "code": "invalid_input", "lines": [], "lang": ""}
    return _page(
        request, user, _programme_of(form), values=form, refused={which: shown}, status=422
    )


def kind_of_file(body: bytes, chosen: str) -> str:
    """The batch's format: the one chosen, else JSON lines when its first character opens a
    JSON object, else CSV (with its header line)."""
    if chosen in ("jsonl", "csv"):
        return chosen
    return "jsonl" if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


@router.post("/portal/points/batches")
def send_batch(request: Request, user: ProgrammeActor, form: Form, upload: Upload) -> Response:
    """Send a batch of members' events from a file: accepted whole, or refused whole with its
    bad lines listed."""
    g = points_texts(request)
    if not upload:
        return _invalid(request, user, form, "batch", g["pt_file_missing"])
    try:
        batch = ingest.ingest(
            kit.db(request),
            user.actor,
            _programme_of(form),
            upload,
            kind_of_file(upload, form.get("format", "")),
            "portal",
        )
    except TansoError as e:
        return _refused(request, user, form, "batch", e)
    notice = g["pt_batch_accepted"].format(
        batch=batch.id,
        events=f"{batch.events:,}",
        duplicates=f"{batch.duplicates:,}",
        grams=mass(batch.grams),
    )
    return _page(request, user, batch.programme_id, notice=notice)


@router.post("/portal/points/pools")
def open_pool(request: Request, user: ProgrammeActor, form: Form) -> Response:
    """Open a pool that members may pledge points to."""
    g = points_texts(request)
    name = form.get("name", "").strip()
    if not name:
        return _invalid(request, user, form, "open_pool", kit.labels(request)["required"])
    try:
        pool = pools.open_pool(kit.db(request), user.actor, _programme_of(form), name)
    except TansoError as e:
        return _refused(request, user, form, "open_pool", e)
    notice = g["pt_pool_opened"].format(pool=pool.id, name=pool.name)
    return _page(request, user, pool.programme_id, notice=notice)


@router.post("/portal/points/pools/retirement")
def retire_pool(request: Request, user: ProgrammeActor, form: Form) -> Response:
    """Retire a pool's whole tonnes from the programme's holding account (optionally only
    credits of a project, scheme, category or vintage); the fraction left carries on."""
    g, t = points_texts(request), kit.labels(request)
    errors: dict[str, str] = {}
    vintage = kit.optional_int(form, "vintage", t, errors)
    if errors:
        return _invalid(request, user, form, "retire_pool", t["whole_number"])
    choice = pools.CreditChoice(
        project_id=form.get("project_id", "").strip() or None,
        scheme=form.get("scheme", "").strip() or None,
        category=form.get("category", "").strip() or None,
        vintage=vintage,
    )
    pool_id = form.get("pool", "").strip()[:40]
    if not pool_id:
        return _invalid(request, user, form, "retire_pool", t["required"])
    try:
        out = pools.retire_pool(kit.db(request), user.actor, _programme_of(form), pool_id, choice)
    except TansoError as e:
        return _refused(request, user, form, "retire_pool", e)
    notice = g["pt_pool_retired_notice"].format(
        pool=out.pool.id,
        tonnes=f"{out.pool.tonnes or 0:,}",
        retirement=out.retirement.id,
        carry=mass(out.pool.carry_out_grams or 0),
    )
    return _page(request, user, out.pool.programme_id, notice=notice)


# ---------------------------------------------------------------- the verification body's screen


def pending(request: Request, user: PortalUser) -> list[tuple[programmes.Programme, Any]]:
    """Every programme's pending batches, oldest programme id first, latest batch first."""
    db = kit.db(request)
    out: list[tuple[programmes.Programme, Any]] = []
    for prog in programmes.list_programmes(db):
        for b in programmes.list_batches(db, user.actor, prog.id, "pending", limit=100):
            out.append((prog, b))
    return out


def _verifications(
    request: Request,
    user: PortalUser,
    *,
    refused: Mapping[str, Any] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    return kit.page(
        request,
        "points_verifications.html",
        user,
        status,
        group="points",
        awaiting=pending(request, user),
        may_verify=user.actor.has(Role.VERIFICATION_BODY) and user.actor.may(Scope.VERIFY),
        mass=mass,
        refused=refused or {},
        notice=notice,
    )


@router.get("/portal/points/verifications", response_class=HTMLResponse)
def verifications(request: Request, user: VerificationReader) -> Response:
    """Batches of events awaiting verification, of every programme."""
    return _verifications(request, user)


@router.post("/portal/points/verifications")
def verify(request: Request, user: Verifier, form: Form) -> Response:
    """Verify a batch (its grams count toward the programme's verified total) or return it
    with findings."""
    g = points_texts(request)
    programme, batch_id = _programme_of(form), form.get("batch", "").strip()[:40]
    if not programme or not batch_id:
        return kit.not_found(request, user)
    decision = ingest.Verification(form.get("decision", ""), form.get("findings", ""))
    try:
        out = ingest.verify_batch(kit.db(request), user.actor, programme, batch_id, decision)
    except TansoError as e:
        shown = refusal_shown(e) | {"programme": programme, "batch": batch_id}
        return _verifications(request, user, refused=shown, status=status_of(e))
    notice = g[f"pt_batch_{out.verification}"].format(
        batch=out.id, programme=out.programme_id, grams=mass(out.grams)
    )
    return _verifications(request, user, notice=notice)
