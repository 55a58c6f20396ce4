"""Local-government credit schemes (自治体クレジット, docs/local-credits.md): the public list of
schemes, each scheme's programme (projects, issued, sold and retired tonnes, named buyers, how
proceeds are used); the registry operator's registration of a scheme; the scheme owner's
projects, issuances and proceeds text; a buyer's choice to be named on a scheme's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from tanso.api import schemas as s
from tanso.api.deps import DB, AnswerRoute, CanManage, CanOperate, CanRead, IdemKey, needs
from tanso.api.schemas import Body, Id, answer, many
from tanso.api.schemas_registry import IssuanceReceipt
from tanso.domain.participants import Scope
from tanso.services.common import Actor
from tanso.services.ledger import local_schemes as local
from tanso.services.ledger import registry

router = APIRouter(prefix="/v1/local-schemes", tags=["local schemes"], route_class=AnswerRoute)

Code = Annotated[
    str, Path(min_length=1, max_length=8, description="A local scheme's code, e.g. LGNA.")
]
CanRunScheme = Annotated[Actor, Depends(needs(Scope.LOCAL_SCHEME))]

SchemeOut = answer(local.LocalScheme)
ProjectOut = answer(local.LocalProject)
ProgrammeOut = answer(local.Programme, "LocalProgramme")
NamingOut = answer(local.Naming, "LocalNaming")


class MethodologyIn(Body):
    code: str = Field(min_length=2, max_length=40)
    name_en: str = Field(min_length=1, max_length=300)
    name_ja: str = Field(min_length=1, max_length=300)
    credit_type: str = Field(default="ER", min_length=2, max_length=2)
    mechanism: str = Field(default="reduction", max_length=16)
    nature: str = Field(default="technology", max_length=16)
    source_url: str = Field(default="", max_length=500)
    source_text: str = Field(default="", max_length=2000)


class SchemeIn(Body):
    code: str = Field(min_length=4, max_length=4, description="'LG' and two letters, e.g. LGNA.")
    participant_id: str = Id
    name_en: str = Field(min_length=1, max_length=300)
    name_ja: str = Field(min_length=1, max_length=300)
    prefecture: str = Field(min_length=1, max_length=2, description="JIS X 0401 code, e.g. 20.")
    municipality: str = Field(default="", max_length=100)
    methodologies: list[MethodologyIn] = Field(min_length=1, max_length=30)
    proceeds_en: str = s.Text
    proceeds_ja: str = s.Text
    url: str = Field(default="", max_length=500)


class SchemeChangeIn(Body):
    proceeds_en: str | None = Field(default=None, max_length=2000)
    proceeds_ja: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, max_length=500)


class LocalProjectIn(Body):
    id: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=300)
    name_ja: str = Field(default="", max_length=300)
    methodology: str = Field(min_length=2, max_length=40)
    prefecture: str | None = Field(default=None, min_length=1, max_length=2)
    municipality: str | None = Field(default=None, max_length=100)
    developer: str = Field(default="", max_length=300)
    co_benefits: list[str] = Field(default_factory=list, max_length=20)


class NamingIn(Body):
    named: bool


@router.get("", response_model=many(SchemeOut), tags=["public"])
def list_schemes(
    db: DB,
    prefecture: Annotated[str | None, Query(min_length=1, max_length=2)] = None,
) -> list[local.LocalScheme]:
    """Every local credit scheme, or those of one prefecture (JIS X 0401 code)."""
    return local.list_schemes(db, prefecture)


@router.post("", response_model=SchemeOut, status_code=201)
def register_scheme(body: SchemeIn, db: DB, actor: CanOperate, idem: IdemKey) -> local.LocalScheme:
    """Register a local government's credit scheme (registry operator); the participant (kind
    local_government) is given the local_scheme role."""
    n = local.NewLocalScheme(
        code=body.code,
        participant_id=body.participant_id,
        name_en=body.name_en,
        name_ja=body.name_ja,
        prefecture=body.prefecture,
        methodologies=[m.model_dump() for m in body.methodologies],
        municipality=body.municipality,
        proceeds_en=body.proceeds_en,
        proceeds_ja=body.proceeds_ja,
        url=body.url,
    )
    return local.register_scheme(db, actor, n, idem)


@router.get("/{code}", response_model=ProgrammeOut, tags=["public"])
def programme(code: Code, db: DB) -> local.Programme:
    """A scheme's programme: the scheme, its issued, sold and retired tonnes (from the
    registry), each project's, and the buyers that chose to be named."""
    return local.programme(db, code)


@router.patch("/{code}", response_model=SchemeOut)
def update_scheme(
    code: Code, body: SchemeChangeIn, db: DB, actor: CanRunScheme, idem: IdemKey
) -> local.LocalScheme:
    """Say how the proceeds are used, or where the scheme publishes itself (its owner)."""
    return local.update_scheme(
        db,
        actor,
        code,
        proceeds_en=body.proceeds_en,
        proceeds_ja=body.proceeds_ja,
        url=body.url,
        idem=idem,
    )


@router.get("/{code}/projects", response_model=many(ProjectOut), tags=["public"])
def list_projects(code: Code, db: DB) -> list[local.LocalProject]:
    """The projects of a scheme with their prefecture, municipality and methodology."""
    return local.list_projects(db, code)


@router.post("/{code}/projects", response_model=ProjectOut, status_code=201)
def register_project(
    code: Code, body: LocalProjectIn, db: DB, actor: CanRunScheme, idem: IdemKey
) -> local.LocalProject:
    """Register a local project in the caller's own scheme under one of its methodologies."""
    return local.register_project(db, actor, code, local.NewLocalProject(**body.model_dump()), idem)


@router.post("/{code}/issuances", response_model=IssuanceReceipt, status_code=201)
def issue(
    code: Code, body: s.IssuanceIn, db: DB, actor: CanRunScheme, idem: IdemKey
) -> registry.IssuanceReceipt:
    """Issue credits of a project of the caller's own scheme into a holding account."""
    return local.issue(db, actor, code, registry.NewIssuance(**body.model_dump()), idem)


@router.get("/{code}/naming", response_model=NamingOut)
def naming(code: Code, db: DB, actor: CanRead) -> local.Naming:
    """Whether the caller chose to be named as a buyer on the scheme's page."""
    return local.naming(db, actor, code)


@router.put("/{code}/naming", response_model=NamingOut)
def set_naming(code: Code, body: NamingIn, db: DB, actor: CanManage, idem: IdemKey) -> local.Naming:
    """Choose to be named as a buyer on the scheme's page (once it bought), or withdraw it."""
    return local.set_named(db, actor, code, body.named, idem)
