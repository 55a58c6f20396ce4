"""Declarations for products and cargoes (issue 23 part 2, docs/declarations.md): the
declarant opens a declaration of an LNG cargo, a batch of product or an event with its measured
emissions by stage and evidence, the accredited verification body it names verifies them, the
declarant links retirements of its own that offset them and declares; anyone reads declared
ones, and their evidence."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from pydantic import Field

from tanso.api import schemas_usage  # noqa: F401 (names the certificates' models)
from tanso.api.deps import DB, AnswerRoute, CanManage, IdemKey, get_actor, needs
from tanso.api.schemas import Body, answer, many
from tanso.domain.participants import Scope
from tanso.services.common import Actor
from tanso.services.compliance import declarations as dc
from tanso.services.cycle import evidence
from tanso.web import kit

router = APIRouter(prefix="/v1", tags=["declarations"], route_class=AnswerRoute)

CanVerify = Annotated[Actor, Depends(needs(Scope.VERIFY))]

# the models a declaration holds are named first (the certificates' by schemas_usage)
EvidenceOut = answer(evidence.Evidence, "CycleEvidence")
answer(dc.Stage, "DeclarationStage")
answer(dc.Reduction, "DeclarationReduction")
answer(dc.EntryCheck, "DeclarationEntryCheck")
DeclarationOut = answer(dc.Declaration)

DeclarationId = Annotated[
    str, Path(min_length=1, max_length=40, description="A declaration's id (DC-...).")
]
UnitKind = Literal["lng_cargo", "product_batch", "event"]
"""The kinds of ``data/declaration-rules.json`` (a test keeps them equal)."""
State = Literal["draft", "verified", "declared", "withdrawn"]
EvidenceKind = Literal["document", "sensor_data", "satellite_data", "measurement"]
Tonnes = Field(ge=0, le=dc.MAX_TONNES, description="Whole t-CO2e.")


async def optional_actor(
    db: DB,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    x_on_behalf_of: Annotated[str | None, Header()] = None,
) -> Actor | None:
    """The caller if it sent a key (a wrong key is still refused), else None."""
    if not authorization and not x_api_key:
        return None
    return await get_actor(db, authorization, x_api_key, x_on_behalf_of)


Viewer = Annotated[Actor | None, Depends(optional_actor)]


class DeclarationStageIn(Body):
    stage: str = Field(
        min_length=1,
        max_length=24,
        description="lng_cargo: upstream, liquefaction, shipping, regasification, end_use; "
        "product_batch: raw_materials, manufacturing, distribution, use, end_of_life; "
        "event: venue_energy, travel, accommodation, catering, materials.",
    )
    tonnes: int = Tonnes
    method: str = Field(min_length=1, max_length=dc.MAX_METHOD, description="How it was measured.")


class DeclarationReductionIn(Body):
    description: str = Field(min_length=1, max_length=dc.MAX_METHOD)
    tonnes: int = Tonnes


class DeclarationIn(Body):
    unit_kind: UnitKind
    title: str = Field(min_length=1, max_length=dc.MAX_TITLE)
    reference: dict[str, str] = Field(
        description="lng_cargo: cargo_id, vessel, load_port, discharge_port, date (and "
        "volume_m3, energy_mmbtu, buyer, seller); product_batch: product, batch_id, date (and "
        "quantity, site, buyer); event: event, venue, date (and participants, organiser).",
        max_length=12,
    )
    verifier_id: str = Field(
        min_length=1,
        max_length=40,
        description="The verification body, accredited for FOOTPRINT and the unit's kind.",
    )
    stages: list[DeclarationStageIn] = Field(min_length=1, max_length=10)
    reductions: list[DeclarationReductionIn] = Field(
        default_factory=list, max_length=dc.MAX_REDUCTIONS
    )
    eu_consumers: bool = Field(
        default=False,
        description="The claim is aimed at consumers in the EU: refused from 27 September 2026 "
        "(Directive (EU) 2024/825).",
    )


class DeclarationEvidenceIn(Body):
    kind: EvidenceKind = "document"
    file_name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=100)
    content_base64: str = Field(min_length=1, max_length=4_100_000)


class DeclarationVerificationIn(Body):
    verified_tonnes: int = Tonnes
    findings: str = Field(default="", max_length=dc.MAX_TEXT)
    statement: str = Field(min_length=1, max_length=dc.MAX_TEXT)


class DeclarationRetirementsIn(Body):
    retirement_ids: list[str] = Field(min_length=1, max_length=dc.MAX_LINKS)


class DeclarationWithdrawIn(Body):
    reason: str = Field(min_length=1, max_length=dc.MAX_TEXT)


@router.post("/declarations", response_model=DeclarationOut, status_code=201)
def create(body: DeclarationIn, db: DB, actor: CanManage, idem: IdemKey) -> dc.Declaration:
    """Open a draft declaration of your unit: its reference, measured emissions by stage (each
    with its method), the reductions you state and the verification body you name."""
    new = dc.NewDeclaration(
        unit_kind=body.unit_kind,
        title=body.title,
        reference=body.reference,
        verifier_id=body.verifier_id,
        stages=[dc.Stage(s.stage, s.tonnes, s.method) for s in body.stages],
        reductions=[dc.Reduction(r.description, r.tonnes) for r in body.reductions],
        eu_consumers=body.eu_consumers,
    )
    return dc.create(db, actor, new, idem)


@router.get("/declarations", response_model=many(DeclarationOut), tags=["public"])
def list_declarations(
    db: DB,
    viewer: Viewer,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dc.Declaration]:
    """Declared declarations, newest first (public); with a key also your own and those you
    verify (the operator: every one)."""
    return dc.list_declarations(db, viewer, state, limit)


@router.get("/declarations/{declaration_id}", response_model=DeclarationOut, tags=["public"])
def get_declaration(declaration_id: DeclarationId, db: DB, viewer: Viewer) -> dc.Declaration:
    """One declaration: public once declared; before, only its parties and the operator (to
    anyone else it answers 404)."""
    return dc.get(db, viewer, declaration_id)


@router.post("/declarations/{declaration_id}/evidence", response_model=EvidenceOut, status_code=201)
def attach_evidence(
    declaration_id: DeclarationId,
    body: DeclarationEvidenceIn,
    db: DB,
    actor: CanManage,
    idem: IdemKey,
) -> evidence.Evidence:
    """Attach an evidence file to your draft (base64 in JSON; PDF, PNG, JPEG, TIFF, text, CSV,
    JSON or GeoJSON; at most 3,000,000 bytes). Kept with its SHA-256 and size."""
    content = evidence.decode_base64(body.content_base64)
    return dc.attach_evidence(
        db, actor, declaration_id, body.kind, body.file_name, body.media_type, content, idem
    )


@router.get(
    "/declarations/{declaration_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
    tags=["public"],
)
def get_evidence(
    declaration_id: DeclarationId,
    evidence_id: Annotated[str, Path(min_length=1, max_length=40)],
    db: DB,
    viewer: Viewer,
) -> Response:
    """An evidence file's bytes: to the parties and the operator before the declaration is
    made, to anyone after."""
    f, content = dc.evidence_file(db, viewer, declaration_id, evidence_id)
    return kit.evidence_file(f.id, f.file_name, f.media_type, f.sha256, content)


@router.post("/declarations/{declaration_id}/verification", response_model=DeclarationOut)
def verify(
    declaration_id: DeclarationId,
    body: DeclarationVerificationIn,
    db: DB,
    actor: CanVerify,
    idem: IdemKey,
) -> dc.Declaration:
    """The named verification body verifies the draft, once: verified tonnes (at most the
    measured), findings and its statement."""
    return dc.verify(
        db, actor, declaration_id, body.verified_tonnes, body.findings, body.statement, idem
    )


@router.post("/declarations/{declaration_id}/retirements", response_model=DeclarationOut)
def link_retirements(
    declaration_id: DeclarationId,
    body: DeclarationRetirementsIn,
    db: DB,
    actor: CanManage,
    idem: IdemKey,
) -> dc.Declaration:
    """Link retirements of your own, made for a product or event offset purpose, to your
    declaration before it is declared; a retirement backs one declaration only."""
    return dc.link_retirements(db, actor, declaration_id, body.retirement_ids, idem)


@router.post("/declarations/{declaration_id}/declare", response_model=DeclarationOut)
def declare(
    declaration_id: DeclarationId, db: DB, actor: CanManage, idem: IdemKey
) -> dc.Declaration:
    """Declare your verified unit once the linked retirements cover the verified emissions;
    the text follows the unit's rule set, in English and Japanese."""
    return dc.declare(db, actor, declaration_id, idem)


@router.post("/declarations/{declaration_id}/withdraw", response_model=DeclarationOut)
def withdraw(
    declaration_id: DeclarationId,
    body: DeclarationWithdrawIn,
    db: DB,
    actor: CanManage,
    idem: IdemKey,
) -> dc.Declaration:
    """Withdraw your declaration with the reason (or the operator withdraws it); a declared one
    stays public, marked withdrawn."""
    return dc.withdraw(db, actor, declaration_id, body.reason, idem)
