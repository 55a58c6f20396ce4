"""The JSON twins of the public project pages (issue 22, docs/projects.md): the project list with
its figures under a search and filters, one project's public record (figures, issuances with
serial ranges, retirements of its credits, the instruments it trades in with their daily closes)
and the credits issued per prefecture and per host country that the project map shades.

All public: no key needed, no participant named by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from tanso.api.deps import DB, AnswerRoute
from tanso.api.schemas import answer
from tanso.services.ledger import project_pages as pp

router = APIRouter(prefix="/v1", tags=["public"], route_class=AnswerRoute)

ProjectId = Annotated[str, Path(min_length=1, max_length=16, description="A project's id.")]
Code = Annotated[str, Query(max_length=pp.MAX_CODE)]

answer(pp.Figures, "ProjectFigures")
answer(pp.IssuanceLine, "ProjectIssuance")
answer(pp.RetirementLine, "ProjectRetirement")
answer(pp.DailyClose, "ProjectDailyClose")
answer(pp.TradedIn, "ProjectInstrument")
answer(pp.RemovalClass, "ProjectRemovalClass")
answer(pp.RegionFigure, "ProjectRegionFigure")
answer(pp.ProjectRow, "ProjectListRow")
SummaryOut = answer(pp.ProjectSummary, "ProjectSummary")
PageOut = answer(pp.ProjectPage, "ProjectListPage")
MapOut = answer(pp.MapFigures, "ProjectMapFigures")


@router.get("/project-search", response_model=PageOut)
def search_projects(
    db: DB,
    q: Annotated[
        str,
        Query(max_length=pp.MAX_QUERY, description="Text in id, name, developer or methodology."),
    ] = "",
    scheme: Code = "",
    category: Code = "",
    country: Code = "",
    prefecture: Annotated[
        str, Query(max_length=pp.MAX_CODE, description="A region such as 千葉県.")
    ] = "",
    credit_type: Code = "",
    page: Annotated[int, Query(ge=1, le=pp.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=pp.MAX_PER_PAGE)] = pp.PER_PAGE,
) -> pp.ProjectPage:
    """The projects matching a search and filters, by id, one page with their figures (public)."""
    return pp.search(
        db,
        pp.ProjectFilter(q, scheme, category, country, prefecture, credit_type, page, per_page),
    )


@router.get("/project-map", response_model=MapOut)
def project_map(db: DB) -> pp.MapFigures:
    """Credits issued per prefecture of Japan's projects and per host country abroad (public)."""
    return pp.map_figures(db)


@router.get("/projects/{project_id}/summary", response_model=SummaryOut)
def project_summary(project_id: ProjectId, db: DB) -> pp.ProjectSummary:
    """One project's public record: figures, issuances with serial ranges, retirements of its
    credits, removal profile and the daily closes of the instruments it trades in (public)."""
    return pp.summary(db, project_id)
