"""Public market notices (市場のお知らせ) and project updates (issue 22,
docs/market-notices.md): the operator publishes and withdraws notices in English and Japanese;
the registry operator names a project's developer, which publishes the project's updates;
anyone reads both. Not the participants' private inbox (``/v1/notices``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanManage, CanOperate, IdemKey
from tanso.api.schemas import Body, answer, many
from tanso.domain import market_notices as mn
from tanso.services.ledger import project_updates as pu
from tanso.services.marketdata import market_notices

router = APIRouter(prefix="/v1", tags=["market notices"], route_class=AnswerRoute)

NoticeKind = Literal["halt", "rule_change", "market_maker", "holiday", "new_instrument", "other"]
"""The kinds of ``tanso.domain.market_notices.KINDS`` (a test keeps them equal)."""
UpdateLanguage = Literal["en", "ja", "both"]
NoticeId = Annotated[str, Path(min_length=1, max_length=40, description="A market notice's id.")]
ProjectId = Annotated[str, Path(min_length=1, max_length=16, description="A project's id.")]
DateText = Annotated[str, Field(min_length=10, max_length=10, description="A date: 2026-12-29.")]

NoticeOut = answer(market_notices.MarketNotice)
DeveloperOut = answer(pu.Developer, "ProjectDeveloper")
UpdateOut = answer(pu.ProjectUpdate)


class NoticeIn(Body):
    kind: NoticeKind
    title_en: str = Field(min_length=1, max_length=mn.MAX_TITLE)
    title_ja: str = Field(min_length=1, max_length=mn.MAX_TITLE)
    body_en: str = Field(min_length=1, max_length=mn.MAX_BODY)
    body_ja: str = Field(min_length=1, max_length=mn.MAX_BODY)
    effective_on: DateText
    link: str | None = Field(
        default=None,
        max_length=mn.MAX_LINK,
        description="An http(s) address or a path on this site such as /rules.",
    )


class WithdrawIn(Body):
    reason: str = Field(min_length=1, max_length=mn.MAX_REASON, description="Why it is withdrawn.")


class DeveloperIn(Body):
    participant_id: str = Field(min_length=1, max_length=40)


class UpdateIn(Body):
    language: UpdateLanguage
    published_on: DateText
    title_en: str = Field(default="", max_length=mn.MAX_TITLE)
    body_en: str = Field(default="", max_length=mn.MAX_BODY)
    title_ja: str = Field(default="", max_length=mn.MAX_TITLE)
    body_ja: str = Field(default="", max_length=mn.MAX_BODY)


@router.post("/market/notices", response_model=NoticeOut, status_code=201)
def publish_notice(
    body: NoticeIn, db: DB, actor: CanOperate, idem: IdemKey
) -> market_notices.MarketNotice:
    """Publish a market notice in English and Japanese (the operator)."""
    return market_notices.publish(db, actor, mn.NoticeText(**body.model_dump()), idem)


@router.post("/market/notices/{market_notice_id}/withdraw", response_model=NoticeOut)
def withdraw_notice(
    market_notice_id: NoticeId, body: WithdrawIn, db: DB, actor: CanOperate, idem: IdemKey
) -> market_notices.MarketNotice:
    """Withdraw (correct) a market notice with the reason; its text stays public, marked
    withdrawn (the operator)."""
    return market_notices.withdraw(db, actor, market_notice_id, body.reason, idem)


@router.get("/market/notices", response_model=many(NoticeOut), tags=["public"])
def list_notices(
    db: DB,
    kind: NoticeKind | None = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[market_notices.MarketNotice]:
    """Market notices, newest first, withdrawn ones marked; ``kind`` and the effective dates
    ``from``/``to`` (inclusive) narrow them (public)."""
    return market_notices.list_notices(
        db,
        kind,
        start.isoformat() if start else None,
        end.isoformat() if end else None,
        limit,
    )


@router.get("/market/notices/{market_notice_id}", response_model=NoticeOut, tags=["public"])
def get_notice(market_notice_id: NoticeId, db: DB) -> market_notices.MarketNotice:
    """One market notice (public)."""
    return market_notices.get(db, market_notice_id)


@router.put("/projects/{project_id}/developer", response_model=DeveloperOut)
def name_developer(
    project_id: ProjectId, body: DeveloperIn, db: DB, actor: CanOperate, idem: IdemKey
) -> pu.Developer:
    """Name the participant that develops a project: it may publish the project's updates
    (registry operator)."""
    return pu.name_developer(db, actor, project_id, body.participant_id, idem)


@router.post("/projects/{project_id}/updates", response_model=UpdateOut, status_code=201)
def publish_update(
    project_id: ProjectId, body: UpdateIn, db: DB, actor: CanManage, idem: IdemKey
) -> pu.ProjectUpdate:
    """Publish an update on a project's page in English, Japanese or both (the project's
    developer, with the ``manage`` scope: the participant's own presentation, no credits or
    cash move)."""
    return pu.publish_update(db, actor, project_id, mn.UpdateText(**body.model_dump()), idem)


@router.get("/projects/{project_id}/updates", response_model=many(UpdateOut), tags=["public"])
def list_updates(project_id: ProjectId, db: DB) -> list[pu.ProjectUpdate]:
    """A project's updates from its developer, newest first (public)."""
    return pu.list_updates(db, project_id)
