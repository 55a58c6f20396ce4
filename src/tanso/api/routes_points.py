"""Behaviour-change points routes (docs/points.md): public programmes and pools (and the check
of a member's proof); the operator's registration and issuance from verified points; the
programme's methodology, batches of events, members, pledges, pools and retirements; a
verification body's verification of batches.

A member is only ever the programme's keyed hash of its member id (64 hex characters), in paths
and bodies alike; anything else is refused before it is stored or logged as a member.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from tanso.api import schemas_registry  # noqa: F401  (names the nested registry answers first)
from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead, IdemKey, needs
from tanso.api.schemas import Body, Id, Out, answer, many
from tanso.domain.participants import Scope
from tanso.services.common import Actor
from tanso.services.points import ingest, pools, programmes

router = APIRouter(prefix="/v1/points", tags=["points"], route_class=AnswerRoute)

CanPoints = Annotated[Actor, Depends(needs(Scope.POINTS))]
CanVerify = Annotated[Actor, Depends(needs(Scope.VERIFY))]
Programme = Annotated[
    str, Path(min_length=4, max_length=40, description="The programme's id, e.g. PP-ECORIDE.")
]
Member = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The programme's keyed hash of its member id: 64 lowercase hex characters.",
    ),
]
PoolId = Annotated[str, Path(min_length=1, max_length=40)]

ProgrammeOut = answer(programmes.Programme, "PointsProgramme")
BatchOut = answer(programmes.Batch, "PointsBatch")
MemberOut = answer(programmes.Member, "PointsMember")
PoolOut = answer(pools.Pool, "PointsPool")
PledgedOut = answer(pools.Pledged, "PointsPledged")
PoolRetirementOut = answer(pools.PoolRetirement, "PointsPoolRetirement")
ProofOut = answer(pools.Proof, "PointsProof")
ProofCheckOut = answer(pools.ProofCheck, "PointsProofCheck")
MemberRetirementOut = answer(pools.MemberRetirement, "PointsMemberRetirement")
IssuanceOut = answer(pools.PointsIssuance, "PointsIssuance")


class ProgrammeIn(Body):
    id: str = Field(min_length=4, max_length=34, description="PP- and capitals, e.g. PP-ECORIDE.")
    participant_id: str = Id
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    account_id: str | None = Field(default=None, min_length=1, max_length=64)
    project_id: str | None = Field(default=None, min_length=1, max_length=16)


@router.get("/programmes", response_model=many(ProgrammeOut), tags=["public"])
def list_programmes(db: DB) -> list[programmes.Programme]:
    """Every points programme: names, methodology versions and totals (public)."""
    return programmes.list_programmes(db)


@router.post("/programmes", response_model=ProgrammeOut, status_code=201)
def register(body: ProgrammeIn, db: DB, actor: CanOperate, idem: IdemKey) -> programmes.Programme:
    """Register a points programme run by a participant (registry operator); the participant
    gains the points_programme role."""
    return programmes.register(db, actor, programmes.NewProgramme(**body.model_dump()), idem)


@router.get("/pools/{pool_id}", response_model=PoolOut, tags=["public"])
def get_pool(pool_id: PoolId, db: DB) -> pools.Pool:
    """A pool: its programme, pledged grams, whole tonnes retired, carry, retirement and the
    Merkle root of its members' shares (public; never its members)."""
    return pools.get_pool(db, pool_id)


class StepIn(Body):
    side: Literal["left", "right"]
    hash: str = Field(min_length=64, max_length=64)


class ProofIn(Body):
    pool_id: str | None = Field(default=None, max_length=40)
    member: str = Field(min_length=1, max_length=64)
    grams: int = Field(ge=1, le=10**15)
    salt: str = Field(min_length=1, max_length=64)
    path: list[StepIn] = Field(default_factory=list, max_length=64)
    merkle_root: str | None = Field(default=None, max_length=64)
    retirement_id: str | None = Field(default=None, max_length=40)
    tonnes: int | None = Field(default=None, ge=0, le=10**12)
    leaves: int | None = Field(default=None, ge=0, le=10**12)


@router.post("/pools/{pool_id}/proof-check", response_model=ProofCheckOut, tags=["public"])
def check_proof(pool_id: PoolId, body: ProofIn, db: DB) -> pools.ProofCheck:
    """Check a member's proof against the pool's published root (anyone may): valid only for
    the member's exact share, salt and path."""
    return pools.check_proof(db, pool_id, body.model_dump())


@router.get("/{programme}", response_model=ProgrammeOut, tags=["public"])
def get_programme(programme: Programme, db: DB) -> programmes.Programme:
    """A programme: names, methodology versions and totals (public)."""
    return programmes.get_programme(db, programme)


class ActionIn(Body):
    code: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=40)
    grams_per_unit: int = Field(ge=1, le=10**7)
    daily_cap_grams: int | None = Field(default=None, ge=1, le=10**8)


class DoubleCountingIn(Body):
    overlaps: list[str] = Field(default_factory=list, max_length=20)
    settled: bool
    treatment: str = Field(min_length=1, max_length=2000)


class MethodologyIn(Body):
    effective_from: str = Field(min_length=10, max_length=10, description="e.g. 2026-04-01")
    source: str = Field(min_length=1, max_length=1000)
    certification: str = Field(default="", max_length=300)
    actions: list[ActionIn] = Field(min_length=1, max_length=100)
    double_counting: DoubleCountingIn


class ActionOut(Out):
    code: str
    name_en: str
    name_ja: str
    unit: str
    grams_per_unit: int
    daily_cap_grams: int | None


class DoubleCountingOut(Out):
    overlaps: list[str]
    settled: bool
    treatment: str


class MethodologyOut(Out):
    """A version of a programme's methodology, as published."""

    version: int
    effective_from: str
    source: str
    certification: str
    actions: list[ActionOut]
    double_counting: DoubleCountingOut


@router.post(
    "/{programme}/methodologies",
    response_model=MethodologyOut,
    status_code=201,
)
def publish_methodology(
    programme: Programme, body: MethodologyIn, db: DB, actor: CanPoints, idem: IdemKey
) -> dict[str, Any]:
    """Publish the next version of the programme's methodology: actions, grams of CO2 per unit,
    daily caps, source, and how double counting is settled. It rates events from its
    effective date on; refused if events on or after that date were already accepted."""
    return programmes.publish_methodology(db, actor, programme, body.model_dump(), idem)


@router.post(
    "/{programme}/events",
    response_model=BatchOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "description": "Up to 100,000 events, one per line: JSON objects or CSV rows with "
            "event_id, member, action, quantity, occurred_on (CSV with that header).",
        }
    },
)
async def events(
    programme: Programme, request: Request, db: DB, actor: CanPoints
) -> programmes.Batch:
    """Accept a batch of members' events (JSON lines or CSV, up to 100,000): each is rated
    under the methodology in force on its date; a resent event id is skipped as a duplicate.
    The batch is accepted whole or refused whole (422 ``batch_refused``, every bad line in
    ``error.details``)."""
    kind = ingest.kind_of(request.headers.get("content-type"))
    body = await request.body()
    return await run_in_threadpool(ingest.ingest, db, actor, programme, body, kind)


@router.get("/{programme}/batches", response_model=many(BatchOut))
def batches(
    programme: Programme,
    db: DB,
    actor: CanRead,
    verification: Annotated[Literal["pending", "verified", "returned"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[programmes.Batch]:
    """The programme's batches, latest first (the programme, the operator, verification
    bodies)."""
    return programmes.list_batches(db, actor, programme, verification, limit)


@router.get("/{programme}/batches/{batch_id}", response_model=BatchOut)
def batch(
    programme: Programme, batch_id: Annotated[str, Path(max_length=40)], db: DB, actor: CanRead
) -> programmes.Batch:
    """One batch: counts, grams, the SHA-256 of its events and its verification."""
    return programmes.get_batch(db, actor, programme, batch_id)


class VerificationIn(Body):
    decision: Literal["verified", "returned"]
    findings: str = Field(default="", max_length=4000)


@router.post("/{programme}/batches/{batch_id}/verification", response_model=BatchOut)
def verify_batch(
    programme: Programme,
    batch_id: Annotated[str, Path(max_length=40)],
    body: VerificationIn,
    db: DB,
    actor: CanVerify,
) -> programmes.Batch:
    """A verification body verifies (or returns, with findings) a pending batch; verified
    grams count toward credits the operator may issue for the programme."""
    return ingest.verify_batch(
        db, actor, programme, batch_id, ingest.Verification(body.decision, body.findings)
    )


@router.get("/{programme}/members/{member}", response_model=MemberOut)
def member(
    programme: Programme,
    member: Member,
    db: DB,
    actor: CanRead,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[str | None, Query(max_length=80)] = None,
) -> programmes.Member:
    """A member's points (grams: earned, pledged, spent, available) and history, latest first;
    for the programme (and its member through it)."""
    return programmes.get_member(db, actor, programme, member, limit, before)


class CreditsIn(Body):
    project_id: str | None = Field(default=None, max_length=16)
    scheme: str | None = Field(default=None, max_length=8)
    category: str | None = Field(default=None, max_length=40)
    vintage: int | None = Field(default=None, ge=1990, le=2100)


class MemberPledgeIn(Body):
    pool_id: str = Field(min_length=1, max_length=40)
    grams: int = Field(ge=1, le=10**12)


@router.post("/{programme}/members/{member}/pledges", response_model=PledgedOut, status_code=201)
def member_pledge(
    programme: Programme,
    member: Member,
    body: MemberPledgeIn,
    db: DB,
    actor: CanPoints,
    idem: IdemKey,
) -> pools.Pledged:
    """A member pledges points (grams) to an open pool."""
    return pools.pledge(
        db, actor, programme, body.pool_id, [pools.Pledge(member, body.grams)], idem
    )


class MemberRetirementIn(Body):
    quantity: int = Field(ge=1, le=1000, description="Whole tonnes.")
    paid_with: Literal["points", "money"]
    credits: CreditsIn | None = None


@router.post(
    "/{programme}/members/{member}/retirements",
    response_model=MemberRetirementOut,
    status_code=201,
)
def member_retirement(
    programme: Programme,
    member: Member,
    body: MemberRetirementIn,
    db: DB,
    actor: CanPoints,
    idem: IdemKey,
) -> pools.MemberRetirement:
    """Retire whole tonnes from the programme's account for one member, paid with its points
    (1,000,000 g a tonne) or money; the retirement names the member's hash as beneficiary."""
    choice = pools.CreditChoice(**body.credits.model_dump()) if body.credits else None
    return pools.retire_for_member(
        db, actor, programme, member, body.quantity, body.paid_with, choice, idem
    )


class PoolIn(Body):
    name: str = Field(min_length=1, max_length=200)


@router.get("/{programme}/pools", response_model=many(PoolOut), tags=["public"])
def list_pools(programme: Programme, db: DB) -> list[pools.Pool]:
    """The programme's pools, latest first (public)."""
    return pools.list_pools(db, programme)


@router.post("/{programme}/pools", response_model=PoolOut, status_code=201)
def open_pool(
    programme: Programme, body: PoolIn, db: DB, actor: CanPoints, idem: IdemKey
) -> pools.Pool:
    """Open a pool that members may pledge points to."""
    return pools.open_pool(db, actor, programme, body.name, idem)


class PledgeIn(Body):
    member: str = Field(min_length=1, max_length=64)
    grams: int = Field(ge=1, le=10**12)


class PledgesIn(Body):
    pledges: list[PledgeIn] = Field(min_length=1, max_length=pools.MAX_PLEDGES)


@router.post("/{programme}/pools/{pool_id}/pledges", response_model=PledgedOut, status_code=201)
def pledges(
    programme: Programme,
    pool_id: PoolId,
    body: PledgesIn,
    db: DB,
    actor: CanPoints,
    idem: IdemKey,
) -> pools.Pledged:
    """Members' pledges to an open pool, all or none (up to 100,000 a request): each member's
    available points must cover its pledges (409 ``insufficient_points`` lists those short)."""
    return pools.pledge(
        db,
        actor,
        programme,
        pool_id,
        [pools.Pledge(x.member, x.grams) for x in body.pledges],
        idem,
    )


class PoolRetirementIn(Body):
    credits: CreditsIn | None = None


@router.post(
    "/{programme}/pools/{pool_id}/retirement",
    response_model=PoolRetirementOut,
    status_code=201,
)
def retire_pool(
    programme: Programme,
    pool_id: PoolId,
    body: PoolRetirementIn,
    db: DB,
    actor: CanPoints,
    idem: IdemKey,
) -> pools.PoolRetirement:
    """Retire the pool's whole tonnes (its pledges and the carried fraction) from the
    programme's account, publishing the Merkle root of its shares; the fraction left carries to
    the next pool."""
    choice = pools.CreditChoice(**body.credits.model_dump()) if body.credits else None
    return pools.retire_pool(db, actor, programme, pool_id, choice, idem)


@router.get("/{programme}/pools/{pool_id}/proofs/{member}", response_model=ProofOut)
def proof(
    programme: Programme, pool_id: PoolId, member: Member, db: DB, actor: CanRead
) -> pools.Proof:
    """A member's proof of its share in a retired pool (for the programme to give its member,
    who checks it on /verify/pools/{pool})."""
    return pools.proof(db, actor, programme, pool_id, member)


class IssueIn(Body):
    tonnes: int = Field(ge=1, le=10**9)
    vintage: int | None = Field(default=None, ge=1990, le=2100)


@router.post("/{programme}/issuances", response_model=IssuanceOut, status_code=201)
def issue(
    programme: Programme, body: IssueIn, db: DB, actor: CanOperate, idem: IdemKey
) -> pools.PointsIssuance:
    """Issue credits for the programme's verified reductions (registry operator), with the
    verified batches as evidence; only under a certified methodology that settles double
    counting (409 ``double_counting_not_settled`` otherwise)."""
    return pools.issue(db, actor, programme, body.tonnes, body.vintage, idem)
