"""The public record of the registry's projects (issue 22, docs/projects.md): the project list
with its figures (issued, retired, outstanding) under a search and filters, paged; one project's
issuances with their serial ranges, the retirements of its credits, and the instruments whose
eligibility admits them; and the credits issued per prefecture and per host country for the map.

Read only. Nothing here ever names a participant by id: a retirement shows what its public
notice shows (quantity, purposes, beneficiary, reporting year), never who holds what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, and_, case, exists, func, select

from tanso.domain import prefectures
from tanso.domain.errors import InvalidInput, NotFound
from tanso.domain.instruments import Eligibility
from tanso.domain.registry import BlockStatus
from tanso.services.ledger import taxonomy
from tanso.services.marketdata import events as marketdata
from tanso.services.removals import profiles
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database

PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_QUERY = 100
MAX_CODE = 40
RETIREMENTS_SHOWN = 100
ISSUANCES_SHOWN = 500
BARS_SHOWN = 250
"""Daily bars of each instrument on a project's page (about a year of trading days)."""

_IN_ACCOUNTS = (BlockStatus.HELD, BlockStatus.RESERVED, BlockStatus.FROZEN)


@dataclass(frozen=True, slots=True)
class ProjectFilter:
    """What the project list is narrowed to: ``q`` searches id, name (EN/JA), developer and
    methodology; the others are exact codes, but ``prefecture`` (such as 千葉県) matches every
    project in Japan whose region names it; ``page`` from 1."""

    q: str = ""
    scheme: str = ""
    category: str = ""
    country: str = ""
    prefecture: str = ""
    credit_type: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    def check(self) -> None:
        if len(self.q) > MAX_QUERY:
            raise InvalidInput(
                "query_too_long",
                f"The search text has {len(self.q)} characters; at most {MAX_QUERY} are allowed.",
            )
        for name in ("scheme", "category", "country", "prefecture", "credit_type"):
            value = getattr(self, name)
            if len(value) > MAX_CODE:
                raise InvalidInput(
                    f"invalid_{name}",
                    f"{name} has {len(value)} characters; at most {MAX_CODE} are allowed.",
                )
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput("invalid_page", f"page is 1 to {MAX_PAGE:,}, not {self.page}.")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(
                "invalid_per_page", f"per_page is 1 to {MAX_PER_PAGE}, not {self.per_page}."
            )


@dataclass(frozen=True, slots=True)
class Figures:
    """A project's credits in tonnes (or its scheme's unit): ``issued``; of them ``retired``,
    ``cancelled`` and ``outstanding`` (still in an account: held, reserved or frozen)."""

    issued: int = 0
    retired: int = 0
    cancelled: int = 0
    outstanding: int = 0


@dataclass(frozen=True, slots=True)
class ProjectRow:
    """One line of the project list."""

    id: str
    name: str
    name_ja: str
    scheme: str
    category: str
    country: str
    region: str
    developer: str
    methodology: str
    credit_types: list[str]
    issued: int
    retired: int
    outstanding: int


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """One page of the project list: ``total`` projects match, ``pages`` pages of them."""

    rows: list[ProjectRow]
    total: int
    page: int
    per_page: int
    pages: int


@dataclass(frozen=True, slots=True)
class IssuanceLine:
    """An issuance of the project: its round, vintage, quantity and serial range."""

    id: str
    credit_type: str
    round: str
    vintage: int
    certified_on: str
    quantity: int
    serial_first: int
    serial_last: int
    serials: str
    ca_status: str
    origin: str
    external_registry: str | None
    external_ref: str | None


@dataclass(frozen=True, slots=True)
class RetirementLine:
    """A retirement that took credits of the project, as its public notice shows it
    (``/verify/{id}``); ``quantity`` counts this project's credits only."""

    id: str
    verify_path: str
    quantity: int
    purposes: list[str]
    beneficiary: str
    reporting_year: int
    retired_at: str


@dataclass(frozen=True, slots=True)
class DailyClose:
    """One trading day of an instrument: close (minor units per unit) and volume."""

    day: str
    close: int
    volume: int


@dataclass(frozen=True, slots=True)
class TradedIn:
    """An instrument whose eligibility admits the project's credits, with its daily closes."""

    instrument_id: str
    name_en: str
    name_ja: str
    currency: str
    closes: list[DailyClose]


@dataclass(frozen=True, slots=True)
class RemovalClass:
    """A removal project's profile as the public reads it."""

    pathway: str
    storage: str
    permanence_years: int
    reversal_risk: str
    monitoring_years: int
    buffer_rate_bp: int
    durable: bool


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """Everything the public project page shows, with no participant named by id."""

    project: taxonomy.Project
    figures: Figures
    removal: RemovalClass | None
    issuances: list[IssuanceLine]
    retirements: list[RetirementLine]
    instruments: list[TradedIn]
    external_links: list[str] = field(default_factory=list)
    """The issuing registries' references of its issuances (scheme registry: reference)."""


@dataclass(frozen=True, slots=True)
class RegionFigure:
    """Credits issued to the projects of one prefecture, region or host country (``key``)."""

    key: str
    projects: int
    issued: int


@dataclass(frozen=True, slots=True)
class MapFigures:
    """What the project map shades: Japan's prefectures and the host countries abroad."""

    prefectures: list[RegionFigure]
    countries: list[RegionFigure]
    unplaced: list[RegionFigure]
    """Japan's projects whose region names no prefecture (such as 関東地方), by region."""


def _length() -> Any:
    b = t.blocks.c
    return b.serial_end - b.serial_start + 1


def _figures(conn: Connection, project_ids: list[str]) -> dict[str, Figures]:
    """Issued, retired, cancelled and outstanding per project (two grouped queries)."""
    if not project_ids:
        return {}
    i, b = t.issuances.c, t.blocks.c
    issued = dict(
        conn.execute(
            select(i.project_id, func.sum(i.quantity))
            .where(i.project_id.in_(project_ids))
            .group_by(i.project_id)
        ).all()
    )

    def by_status(*statuses: str) -> Any:
        return func.coalesce(func.sum(case((b.status.in_(statuses), _length()), else_=0)), 0)

    moved = {
        r.project_id: r
        for r in conn.execute(
            select(
                i.project_id,
                by_status(BlockStatus.RETIRED).label("retired"),
                by_status(BlockStatus.CANCELLED).label("cancelled"),
                by_status(*_IN_ACCOUNTS).label("outstanding"),
            )
            .select_from(t.blocks.join(t.issuances, b.issuance_id == i.id))
            .where(i.project_id.in_(project_ids))
            .group_by(i.project_id)
        )
    }
    out = {}
    for pid in project_ids:
        m = moved.get(pid)
        out[pid] = Figures(
            issued=int(issued.get(pid) or 0),
            retired=int(m.retired) if m else 0,
            cancelled=int(m.cancelled) if m else 0,
            outstanding=int(m.outstanding) if m else 0,
        )
    return out


def _filtered(f: ProjectFilter, q: Select[Any]) -> Select[Any]:
    p, i = t.projects.c, t.issuances.c
    if f.q.strip():
        text = f.q.strip().lower()
        q = q.where(
            func.lower(p.id).contains(text, autoescape=True)
            | func.lower(p.name).contains(text, autoescape=True)
            | func.lower(p.name_ja).contains(text, autoescape=True)
            | func.lower(p.developer).contains(text, autoescape=True)
            | func.lower(p.methodology).contains(text, autoescape=True)
        )
    for column, value in (
        (p.scheme, f.scheme),
        (p.category, f.category),
        (p.country, f.country),
    ):
        if value:
            q = q.where(column == value)
    if f.prefecture:  # a region names one or more prefectures: 宮城県・山形県
        q = q.where(p.country == "JP", p.region.contains(f.prefecture, autoescape=True))
    if f.credit_type:
        q = q.where(exists().where(and_(i.project_id == p.id, i.credit_type == f.credit_type)))
    return q


def _credit_types(conn: Connection, project_ids: list[str]) -> dict[str, list[str]]:
    i = t.issuances.c
    out: dict[str, list[str]] = {pid: [] for pid in project_ids}
    rows = conn.execute(
        select(i.project_id, i.credit_type)
        .distinct()
        .where(i.project_id.in_(project_ids))
        .order_by(i.project_id, i.credit_type)
    )
    for pid, ct in rows:
        out[pid].append(ct)
    return out


def search(db: Database, f: ProjectFilter) -> ProjectPage:
    """The projects that match ``f``, by id, one page of them with their figures."""
    f.check()
    p = t.projects.c
    with db.read() as conn:
        total = int(
            conn.execute(_filtered(f, select(func.count()).select_from(t.projects))).scalar_one()
        )
        rows = conn.execute(
            _filtered(f, select(t.projects))
            .order_by(p.id)
            .offset((f.page - 1) * f.per_page)
            .limit(f.per_page)
        ).all()
        ids = [r.id for r in rows]
        figures = _figures(conn, ids)
        types = _credit_types(conn, ids)
    return ProjectPage(
        rows=[
            ProjectRow(
                id=r.id,
                name=r.name,
                name_ja=r.name_ja,
                scheme=r.scheme,
                category=r.category,
                country=r.country,
                region=r.region,
                developer=r.developer,
                methodology=r.methodology,
                credit_types=types[r.id],
                issued=figures[r.id].issued,
                retired=figures[r.id].retired,
                outstanding=figures[r.id].outstanding,
            )
            for r in rows
        ],
        total=total,
        page=f.page,
        per_page=f.per_page,
        pages=max(1, -(-total // f.per_page)),
    )


def _issuances(conn: Connection, project_id: str) -> list[IssuanceLine]:
    i, b = t.issuances.c, t.blocks.c
    ranges = (
        select(
            b.issuance_id.label("iid"),
            func.min(b.serial_start).label("first"),
            func.max(b.serial_end).label("last"),
        )
        .group_by(b.issuance_id)
        .subquery()
    )
    rows = conn.execute(
        select(t.issuances, ranges.c.first, ranges.c.last)
        .select_from(t.issuances.outerjoin(ranges, ranges.c.iid == i.id))
        .where(i.project_id == project_id)
        .order_by(i.vintage, i.certified_on, i.id)
        .limit(ISSUANCES_SHOWN)
    ).all()
    out = []
    for r in rows:
        first = int(r.first) if r.first is not None else 1
        last = int(r.last) if r.last is not None else int(r.quantity)
        out.append(
            IssuanceLine(
                id=r.id,
                credit_type=r.credit_type,
                round=r.round,
                vintage=r.vintage,
                certified_on=r.certified_on,
                quantity=int(r.quantity),
                serial_first=first,
                serial_last=last,
                serials=f"{r.id}-{first}-{last}",
                ca_status=r.ca_status,
                origin=r.origin,
                external_registry=r.external_registry,
                external_ref=r.external_ref,
            )
        )
    return out


def _retirements(conn: Connection, project_id: str) -> list[RetirementLine]:
    m, i, r = t.credit_movements.c, t.issuances.c, t.retirements.c
    taken = (
        select(
            m.ref.label("rid"),
            func.sum(m.serial_end - m.serial_start + 1).label("quantity"),
        )
        .select_from(t.credit_movements.join(t.issuances, m.issuance_id == i.id))
        .where(m.kind == "retirement", i.project_id == project_id)
        .group_by(m.ref)
        .subquery()
    )
    rows = conn.execute(
        select(r.id, r.purposes, r.beneficiary, r.reporting_year, r.created_at, taken.c.quantity)
        .select_from(t.retirements.join(taken, taken.c.rid == r.id))
        .order_by(r.journal_seq.desc())
        .limit(RETIREMENTS_SHOWN)
    ).all()
    return [
        RetirementLine(
            id=x.id,
            verify_path=f"/verify/{x.id}",
            quantity=int(x.quantity),
            purposes=[p for p in x.purposes.split(",") if p],
            beneficiary=x.beneficiary,
            reporting_year=x.reporting_year,
            retired_at=x.created_at,
        )
        for x in rows
    ]


def _admits(eligibility: Eligibility, credits: list[dict[str, Any]]) -> bool:
    return any(eligibility.admits(c) for c in credits)


def _instruments(conn: Connection, project: Any, issuances: list[IssuanceLine]) -> list[Any]:
    """The instruments whose eligibility admits one of the project's issuances (or, before any
    issuance, its scheme, category and country whatever the vintage)."""
    base = {
        "scheme": project.scheme,
        "category": project.category,
        "project_id": project.id,
        "country": project.country,
    }
    credits = [base | {"vintage": x.vintage, "ca_status": x.ca_status} for x in issuances]
    out = []
    for row in repo.list_table(conn, t.instruments, t.instruments.c.id):
        eligibility = Eligibility.from_dict(json.loads(row.eligibility))
        if credits:
            ok = _admits(eligibility, credits)
        else:
            loose = Eligibility.from_dict(
                json.loads(row.eligibility) | {"vintage_from": None, "vintage_to": None}
            )
            ok = loose.admits(base | {"ca_status": None}) if not loose.ca_statuses else False
        if ok:
            out.append(row)
    return out


def summary(db: Database, project_id: str) -> ProjectSummary:
    """A project's public record: attributes, figures, issuances with serials, retirements of
    its credits, its removal profile, and the daily closes of the instruments it trades in."""
    with db.read() as conn:
        row = repo.get_project(conn, project_id)
        if row is None:
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        figures = _figures(conn, [project_id])[project_id]
        issuances = _issuances(conn, project_id)
        retirements = _retirements(conn, project_id)
        instruments = _instruments(conn, row, issuances)
        has_profile = profiles.profile_row(conn, project_id) is not None
    traded = []
    for ins in instruments:
        bars = marketdata.bars(db, ins.id, "1d", limit=BARS_SHOWN)
        traded.append(
            TradedIn(
                instrument_id=ins.id,
                name_en=ins.name_en,
                name_ja=ins.name_ja,
                currency=ins.currency,
                closes=[
                    DailyClose(
                        day=str(b["start"])[:10], close=int(b["close"]), volume=int(b["volume"])
                    )
                    for b in bars
                ],
            )
        )
    removal = None
    if has_profile:
        prof = profiles.get_profile(db, project_id)
        removal = RemovalClass(
            pathway=prof.pathway,
            storage=prof.storage,
            permanence_years=prof.permanence_years,
            reversal_risk=prof.reversal_risk,
            monitoring_years=prof.monitoring_years,
            buffer_rate_bp=prof.buffer_rate_bp,
            durable=prof.durable,
        )
    links = sorted(
        {
            f"{x.external_registry}: {x.external_ref}"
            for x in issuances
            if x.external_registry and x.external_ref
        }
    )
    return ProjectSummary(
        project=taxonomy.project_view(row),
        figures=figures,
        removal=removal,
        issuances=issuances,
        retirements=retirements,
        instruments=traded,
        external_links=links,
    )


def map_figures(db: Database) -> MapFigures:
    """Credits issued to the projects in each prefecture (a project whose region names several
    prefectures counts in each), Japan's regions that name none, and each host country abroad."""
    p, i = t.projects.c, t.issuances.c
    issued = (
        select(i.project_id.label("pid"), func.sum(i.quantity).label("q"))
        .group_by(i.project_id)
        .subquery()
    )
    q = select(p.id, p.country, p.region, func.coalesce(issued.c.q, 0).label("issued")).select_from(
        t.projects.outerjoin(issued, issued.c.pid == p.id)
    )
    by_prefecture: dict[str, list[int]] = {}
    unplaced: dict[str, list[int]] = {}
    by_country: dict[str, list[int]] = {}
    with db.read() as conn:
        rows = conn.execute(q).all()
    for r in rows:
        amount = int(r.issued)
        if r.country != "JP":
            places, into = [r.country], by_country
        elif named := prefectures.named_in(r.region):
            places, into = named, by_prefecture
        else:
            places, into = [r.region or "—"], unplaced
        for place in places:
            figure = into.setdefault(place, [0, 0])
            figure[0] += 1
            figure[1] += amount

    def listed(figures: dict[str, list[int]], order: list[str] | None = None) -> list[RegionFigure]:
        keys = [k for k in order if k in figures] if order else sorted(figures)
        return [RegionFigure(k, figures[k][0], figures[k][1]) for k in keys]

    return MapFigures(
        prefectures=listed(by_prefecture, list(prefectures.NAMES)),
        countries=listed(by_country),
        unplaced=listed(unplaced),
    )


def choices(db: Database) -> dict[str, list[str]]:
    """The values the list's filters offer: the codes in use, sorted."""
    p, i = t.projects.c, t.issuances.c
    with db.read() as conn:

        def distinct(column: Any, *where: Any) -> list[str]:
            q = select(column).distinct().where(*where).order_by(column)
            return [str(v) for v in conn.execute(q).scalars() if v]

        regions = distinct(p.region, p.country == "JP")
        return {
            "scheme": distinct(p.scheme),
            "category": distinct(p.category),
            "country": distinct(p.country),
            "prefecture": [ja for ja in prefectures.NAMES if any(ja in r for r in regions)],
            "credit_type": distinct(i.credit_type),
        }
