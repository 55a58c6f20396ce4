"""Removal credits (issue 21, docs/removals.md): a removal project's profile (registry
operator), the public record of each project (profile, buffer contributions, reversals), the
schemes' buffer pools, and reversals reported by the registry operator and compensated from the
pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanOperate, IdemKey
from tanso.api.schemas import Body, answer, many
from tanso.domain import removals as rm
from tanso.services.removals import profiles, reversals

router = APIRouter(prefix="/v1", tags=["removals"], route_class=AnswerRoute)

ProjectId = Annotated[str, Path(min_length=1, max_length=16, description="A project's id.")]
ReversalId = Annotated[str, Path(min_length=1, max_length=64, description="A reversal's id.")]

ProfileOut = answer(profiles.RemovalProfile)
ReversalOut = answer(profiles.ReversalView)
RecordOut = answer(profiles.ProjectRecord, "RemovalRecord")
PoolOut = answer(profiles.Pool, "BufferPool")


class ProfileIn(Body):
    pathway: str = Field(max_length=24, description=", ".join(rm.PATHWAYS))
    storage: str = Field(max_length=16, description=", ".join(rm.STORAGES))
    permanence_years: int = Field(ge=1, le=rm.MAX_PERMANENCE_YEARS)
    reversal_risk: str = Field(max_length=8, description=", ".join(rm.RISKS))
    monitoring_years: int = Field(ge=0, le=rm.MAX_PERMANENCE_YEARS)
    buffer_rate_bp: int = Field(
        ge=0, le=5000, description="The methodology's buffer rate in basis points (1000 = 10%)."
    )
    source: str = Field(default="", max_length=500)
    developer_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="The participant that develops the project: it may list forward volumes.",
    )


class ReversalIn(Body):
    quantity: int = Field(ge=1, le=10**12, description="Tonnes of CO2 that came back.")
    cause: str = Field(max_length=16, description=", ".join(rm.CAUSES))
    occurred_on: str = Field(max_length=10, description="A date such as 2026-08-14.")
    description: str = Field(default="", max_length=2000)


@router.put("/projects/{project_id}/removal-profile", response_model=ProfileOut)
def set_profile(
    project_id: ProjectId, body: ProfileIn, db: DB, actor: CanOperate, idem: IdemKey
) -> profiles.RemovalProfile:
    """Record or change a removal project's profile (registry operator)."""
    fields = body.model_dump(exclude={"developer_id"})
    return profiles.set_profile(
        db, actor, project_id, rm.Profile(**fields), idem, developer_id=body.developer_id
    )


@router.post("/projects/{project_id}/reversals", response_model=ReversalOut, status_code=201)
def report_reversal(
    project_id: ProjectId, body: ReversalIn, db: DB, actor: CanOperate, idem: IdemKey
) -> profiles.ReversalView:
    """Report a reversal of a removal project and compensate it from the buffer pool (and,
    where the project's own buffer is exhausted, its unretired credits), registry operator."""
    return reversals.report(
        db, actor, reversals.NewReversal(project_id=project_id, **body.model_dump()), idem
    )


@router.get("/removals/profiles", response_model=many(ProfileOut), tags=["public"])
def list_profiles(db: DB) -> list[profiles.RemovalProfile]:
    """Every removal project's profile (public)."""
    return profiles.list_profiles(db)


@router.get("/removals/projects/{project_id}", response_model=RecordOut, tags=["public"])
def project_record(project_id: ProjectId, db: DB) -> profiles.ProjectRecord:
    """A removal project's public record: profile, buffer contributions, reversals."""
    return profiles.project_record(db, project_id)


@router.get("/removals/buffer-pools", response_model=many(PoolOut), tags=["public"])
def buffer_pools(db: DB) -> list[profiles.Pool]:
    """Each scheme's buffer pool: contributed, cancelled for reversals, left (public)."""
    return profiles.pools(db)


@router.get("/removals/reversals", response_model=many(ReversalOut), tags=["public"])
def list_reversals(
    db: DB, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[profiles.ReversalView]:
    """Reversals reported, newest first (public notices)."""
    return profiles.list_reversals(db, limit)


@router.get("/removals/reversals/{reversal_id}", response_model=ReversalOut, tags=["public"])
def get_reversal(reversal_id: ReversalId, db: DB) -> profiles.ReversalView:
    return reversals.get(db, reversal_id)
