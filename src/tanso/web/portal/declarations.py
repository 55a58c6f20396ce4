"""Declarations for products and cargoes in the participant portal (issue 23 part 2,
docs/declarations.md), in English and Japanese:

- ``/portal/declarations``: the user's participant's declarations with their states, and a form
  to open one: the kind of unit (``?kind=`` picks it, and with it the reference fields, the
  stages and the verification bodies accredited for ``FOOTPRINT`` and that kind), the measured
  tonnes and method of each stage, the stated reductions, the EU consumers' box;
- ``/portal/declarations/{id}``: a declaration with its stages, evidence, verification and
  retirements; for its declarant: attach evidence (a draft), link retirements of its own not yet
  linked, see the text it would be declared with and whether the linked tonnes cover the
  verified ones, declare, withdraw with a reason, and once declared the public page's link; for
  its verification body: verify it (verified tonnes at most the measured ones);
- ``/portal/declarations/verifications``: a verification body's declarations (the operator's
  users: every one).

Acting as a declarant needs the ``manage`` scope, as the API does; verifying needs the
``verification_body`` role and the ``verify`` scope. A draft is its parties' and another's
answers like a missing one; the services decide every step, and a refusal is shown next to its
form in the service's words with the HTTP status of the one table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import NotFound, TansoError
from tanso.domain.participants import Scope
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.compliance import declaration_preview
from tanso.services.compliance import declarations as dc
from tanso.services.cycle import evidence
from tanso.services.ledger import registry, taxonomy
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import CurrentUser, Form, Upload
from tanso.web.portal.cycle import (
    Body,
    Developer,
    WorkReader,
    accredited_bodies,
    cycle_texts,
    download,
    may_verify,
    media_of,
)
from tanso.web.portal.disputes import FileName

router = APIRouter(
    prefix="/portal/declarations", route_class=kit.ScreenRoute, include_in_schema=False
)

BASE = "/portal/declarations"
REDUCTION_ROWS = 3
LINKABLE_STATES = ("draft", "verified")
WITHDRAWABLE_STATES = ("draft", "verified", "declared")


def declaration_texts(request: Request) -> Mapping[str, str]:
    """The texts of the declarations' screens: the public page's (context ``declarations``)
    under the portal's own (``declaration_portal``)."""
    return texts(kit.lang_of(request), "declarations", "declaration_portal")


def _kind(value: str | None) -> str:
    kinds = dc.kinds()
    return value if value in kinds else kinds[0]


def _stage_names(request: Request) -> Callable[[str], str]:
    lang = kit.lang_of(request)
    return lambda code: dc.stage_name(code, lang)


def _purpose_names(request: Request) -> dict[str, str]:
    key = "name_ja" if kit.lang_of(request) == "ja" else "name_en"
    return {p["code"]: p[key] for p in taxonomy.list_terms(kit.db(request), "purpose")}


def _mine(request: Request, user: PortalUser) -> list[dc.Declaration]:
    found = dc.list_declarations(kit.db(request), kit.reader(user), limit=1000)
    return [d for d in found if d.declarant_id == user.participant_id]


# ---------------------------------------------------------------- my declarations


def _list_page(
    request: Request, user: PortalUser, kind: str, status: int = 200, **context: Any
) -> Response:
    return kit.page(
        request,
        "portal_declarations.html",
        user,
        status,
        g=declaration_texts(request),
        declarations=_mine(request, user),
        kinds=dc.kinds(),
        kind=kind,
        spec=dc.rules()["kinds"][kind],
        stage_name=_stage_names(request),
        bodies=accredited_bodies(request, "FOOTPRINT", kind, but=user.participant_id),
        reduction_rows=range(REDUCTION_ROWS),
        may_declare=user.actor.may(Scope.MANAGE),
        body=may_verify(user) or user.is_operator,
        **context,
    )


@router.get("", response_class=HTMLResponse)
def list_screen(request: Request, user: CurrentUser) -> Response:
    """The participant's declarations and the form to open one of the kind ``?kind=``."""
    return _list_page(request, user, _kind(request.query_params.get("kind")))


def _new_declaration(
    form: Mapping[str, str], kind: str, t: Mapping[str, str], errors: dict[str, str]
) -> dc.NewDeclaration:
    """The declaration the form describes; blank stages and reductions are left out."""
    spec = dc.rules()["kinds"][kind]
    fields = spec["reference_required"] + spec["reference_optional"]
    reference = {k: v for k in fields if (v := form.get(f"ref_{k}", "").strip())}
    stages = []
    for s in spec["stages"]:
        method = form.get(f"method_{s}", "")
        if form.get(f"tonnes_{s}", "").strip() or method.strip():
            stages.append(dc.Stage(s, kit.required_int(form, f"tonnes_{s}", t, errors), method))
    reductions = []
    for i in range(REDUCTION_ROWS):
        description = form.get(f"reduction_{i}", "")
        if description.strip() or form.get(f"reduction_tonnes_{i}", "").strip():
            reduced = kit.required_int(form, f"reduction_tonnes_{i}", t, errors)
            reductions.append(dc.Reduction(description, reduced))
    return dc.NewDeclaration(
        unit_kind=kind,
        title=form.get("title", ""),
        reference=reference,
        verifier_id=form.get("verifier_id", "").strip()[:40],
        stages=stages,
        reductions=reductions,
        eu_consumers=form.get("eu_consumers") == "on",
    )


@router.post("")
def open_declaration(request: Request, user: Developer, form: Form) -> Response:
    """Open a draft declaration of the chosen kind."""
    t = kit.labels(request)
    kind = _kind(form.get("unit_kind"))
    errors: dict[str, str] = {}
    new = _new_declaration(form, kind, t, errors)
    if errors:
        errors["open"] = t["whole_number"]
        return _list_page(request, user, kind, 422, values=form, errors=errors)
    try:
        out = dc.create(kit.db(request), user.actor, new)
    except TansoError as e:
        return _list_page(
            request, user, kind, status_of(e), values=form, errors={"open": e.message}
        )
    notice = declaration_texts(request)["opened"].format(id=out.id)
    return _declaration_page(request, user, out.id, notice=notice)


# ---------------------------------------------------------------- a verification body's work


@router.get("/verifications", response_class=HTMLResponse)
def work_screen(request: Request, user: WorkReader) -> Response:
    """The declarations naming the body as verifier (the operator's users: every one)."""
    found = dc.list_declarations(kit.db(request), user.actor, limit=1000)
    if not user.is_operator:
        found = [d for d in found if d.verifier_id == user.participant_id]
    return kit.page(
        request,
        "portal_declarations_work.html",
        user,
        g=declaration_texts(request),
        to_verify=[d for d in found if d.state == "draft"],
        others=[d for d in found if d.state != "draft"],
        may_verify=may_verify(user),
    )


# ---------------------------------------------------------------- a declaration


def _linkable(
    request: Request, user: PortalUser, allowed: list[str]
) -> list[registry.RetirementNotice]:
    """The participant's retirements that may back a declaration of a kind offset by
    ``allowed`` purposes and back none yet."""
    taken = {r.retirement_id for d in _mine(request, user) for r in d.retirements}
    own = registry.list_retirements(kit.db(request), kit.reader(user), 1000)
    return [r for r in own if r.id not in taken and r.purposes and set(r.purposes) <= set(allowed)]


def _declaration_page(
    request: Request, user: PortalUser, declaration_id: str, status: int = 200, **context: Any
) -> Response:
    db = kit.db(request)
    try:
        d = dc.get(db, user.actor, declaration_id)
    except NotFound:
        return kit.not_found(request, user)
    spec = dc.rules()["kinds"][d.unit_kind]
    declarant = d.declarant_id == user.participant_id and user.actor.may(Scope.MANAGE)
    verifier = d.verifier_id == user.participant_id and may_verify(user)
    linking = declarant and d.state in LINKABLE_STATES
    preview = None
    if declarant and d.state == "verified":
        preview = declaration_preview.preview(db, user.actor, d.id)
    lang = kit.lang_of(request)
    purpose_name = _purpose_names(request)
    return kit.page(
        request,
        "portal_declaration.html",
        user,
        status,
        g=declaration_texts(request),
        c=cycle_texts(request),
        d=d,
        declarant=declarant,
        verifier=verifier,
        allowed_purposes=("、" if lang == "ja" else ", ").join(
            purpose_name.get(p, p) for p in spec["purposes"]
        ),
        ref_fields=spec["reference_required"] + spec["reference_optional"],
        linkable=_linkable(request, user, spec["purposes"]) if linking else [],
        linking=linking,
        withdrawable=declarant and d.state in WITHDRAWABLE_STATES,
        preview=preview,
        preview_text=(preview.text_ja if lang == "ja" else preview.text_en) if preview else "",
        stage_name=_stage_names(request),
        purpose_name=purpose_name,
        public_path=dc.verify_path(d.id, lang),
        kinds=evidence.EVIDENCE_KINDS,
        base=f"{BASE}/{d.id}",
        **context,
    )


@router.get("/{declaration_id}", response_class=HTMLResponse)
def declaration_screen(request: Request, user: CurrentUser, declaration_id: str) -> Response:
    return _declaration_page(request, user, declaration_id)


def _act(
    request: Request,
    user: PortalUser,
    declaration_id: str,
    which: str,
    call: Callable[[], Any],
    done: Callable[[Any], str],
    values: Mapping[str, str] | None = None,
) -> Response:
    """Take one step of a declaration and show it again: with the notice ``done`` gives, or
    with the service's refusal next to the form ``which``."""
    try:
        out = call()
    except TansoError as e:
        if isinstance(e, NotFound) and e.code == "declaration_not_found":
            return kit.not_found(request, user)
        return _declaration_page(
            request,
            user,
            declaration_id,
            status_of(e),
            errors={which: e.message},
            values=values or {},
        )
    return _declaration_page(request, user, declaration_id, notice=done(out))


@router.post("/{declaration_id}/evidence")
def attach_evidence(
    request: Request,
    user: Developer,
    declaration_id: str,
    form: Form,
    upload: Upload,
    file_name: FileName,
) -> Response:
    """Attach the chosen file (multipart, part ``file``; its type from its name's suffix)."""
    name, kind = file_name.strip(), form.get("kind", "document")
    db = kit.db(request)
    g = declaration_texts(request)
    return _act(
        request,
        user,
        declaration_id,
        "attach",
        lambda: dc.attach_evidence(
            db, user.actor, declaration_id, kind, name, media_of(name), upload or b""
        ),
        lambda out: g["attached"].format(name=out.file_name),
    )


@router.get("/{declaration_id}/evidence/{evidence_id}")
def evidence_download(
    request: Request, user: CurrentUser, declaration_id: str, evidence_id: str
) -> Response:
    """An evidence file: to the parties before the declaration is made, to anyone after."""
    try:
        return download(dc.evidence_file(kit.db(request), user.actor, declaration_id, evidence_id))
    except NotFound:
        return kit.not_found(request, user)


@router.post("/{declaration_id}/verification")
def verify(request: Request, user: Body, declaration_id: str, form: Form) -> Response:
    """Verify the declaration: tonnes no more than measured, findings, a statement."""
    t = kit.labels(request)
    errors: dict[str, str] = {}
    tonnes = kit.required_int(form, "verified_tonnes", t, errors)
    if errors:
        return _declaration_page(
            request, user, declaration_id, 422, errors={"verify": t["whole_number"]}, values=form
        )
    db = kit.db(request)
    g = declaration_texts(request)
    findings, statement = form.get("findings", ""), form.get("statement", "")
    return _act(
        request,
        user,
        declaration_id,
        "verify",
        lambda: dc.verify(db, user.actor, declaration_id, tonnes, findings, statement),
        lambda out: g["verified_notice"].format(tonnes=f"{tonnes:,}"),
        values=form,
    )


@router.post("/{declaration_id}/retirements")
def link_retirements(
    request: Request, user: Developer, declaration_id: str, form: Form
) -> Response:
    """Link the retirements ticked (a box ``r_{retirement_id}`` each)."""
    ids = [k.removeprefix("r_") for k, v in form.items() if k.startswith("r_") and v]
    db = kit.db(request)
    g = declaration_texts(request)
    if not ids:
        return _declaration_page(
            request, user, declaration_id, 422, errors={"link": g["choose_retirements"]}
        )
    return _act(
        request,
        user,
        declaration_id,
        "link",
        lambda: dc.link_retirements(db, user.actor, declaration_id, ids),
        lambda out: g["linked"].format(tonnes=f"{out.retired_tonnes:,}"),
    )


@router.post("/{declaration_id}/declare")
def declare(request: Request, user: Developer, declaration_id: str, form: Form) -> Response:
    db = kit.db(request)
    g = declaration_texts(request)
    return _act(
        request,
        user,
        declaration_id,
        "declare",
        lambda: dc.declare(db, user.actor, declaration_id),
        lambda out: g["declared_notice"].format(id=out.id),
    )


@router.post("/{declaration_id}/withdraw")
def withdraw(request: Request, user: Developer, declaration_id: str, form: Form) -> Response:
    reason = form.get("reason", "")
    db = kit.db(request)
    g = declaration_texts(request)
    return _act(
        request,
        user,
        declaration_id,
        "withdraw",
        lambda: dc.withdraw(db, user.actor, declaration_id, reason),
        lambda out: g["withdrawn_notice"].format(id=out.id),
        values=form,
    )
