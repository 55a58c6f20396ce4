"""Local-government credit schemes (自治体クレジット, docs/local-credits.md) as use cases.

The registry operator registers a scheme for a local government (a participant of kind
local_government, which then holds the local_scheme role): its code becomes a scheme of the
registry, so the scheme's credits are issued, held, traded and retired like any other. The
scheme's owner registers its local projects (with their prefecture and municipality and one of
the scheme's methodologies), has credits of its own projects issued into holding accounts (it
certifies them: it is the scheme's certifying body), and says how the proceeds are used. A buyer
chooses to be named on the scheme's public page, or withdraws that choice.

Each change is one transaction with one journal entry. What a scheme's page counts (issued,
sold, retired) is read from the registry's issuances, blocks and credit movements, never stored
twice. Another participant's scheme answers ``not_scheme_owner`` (403): schemes are public.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from tanso.domain import local_credits as lc
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import ParticipantKind, Role, Scope
from tanso.domain.registry import AccountKind, BlockStatus
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    loader,
    plain,
    require,
    require_active,
    require_scope,
)
from tanso.services.compliance import usage
from tanso.services.ledger import registry
from tanso.services.ledger.registry import IssuanceReceipt, NewIssuance
from tanso.services.ledger.taxonomy import PROJECT_RE, Project, project_view
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_local as lt
from tanso.store.db import Database, Tx, dumps, loads

CATEGORY = "LOCAL_GOVERNMENT"
"""The trading category of every local scheme's credits (自治体クレジット)."""
BUYER_ACCOUNTS = (AccountKind.HOLDING.value, AccountKind.COMPLIANCE.value)
"""Where a sale delivers: another participant's holding (or GX compliance) account, never a
system account (a retirement, a cancellation, escrow)."""
PROPERTIES = ("local_contribution",)
"""The METI paper's property of local credits: 地域への貢献・個人の行動変容 (論点②)."""


# ---------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class LocalScheme:
    """A local government's credit scheme: its owner, region, methodologies and how the
    proceeds are used (``prefecture``: the JIS X 0401 code; ``municipality`` empty for a
    prefecture's own scheme)."""

    code: str
    participant_id: str
    owner_name_en: str
    owner_name_ja: str
    name_en: str
    name_ja: str
    prefecture: str
    prefecture_en: str
    prefecture_ja: str
    municipality: str
    methodologies: list[lc.Methodology]
    proceeds_en: str
    proceeds_ja: str
    url: str
    registered_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class LocalProject:
    """A project of a local scheme: the registry's project with its region and methodology."""

    project_id: str
    scheme: str
    name: str
    name_ja: str
    developer: str
    prefecture: str
    prefecture_en: str
    prefecture_ja: str
    municipality: str
    methodology: str
    credit_type: str
    mechanism: str
    nature: str
    registered_at: str


@dataclass(frozen=True, slots=True)
class Quantities:
    """Tonnes of a scheme's (or a project's) credits: ``issued``; ``sold``: moved out of the
    scheme owner's accounts into another participant's, by settlement or transfer; ``retired``
    (無効化) by anyone."""

    issued: int = 0
    sold: int = 0
    retired: int = 0


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    project: LocalProject
    quantities: Quantities


@dataclass(frozen=True, slots=True)
class NamedBuyer:
    """A buyer that chose to be named, with the tonnes it bought from the scheme's owner."""

    participant_id: str
    name_en: str
    name_ja: str
    bought: int


@dataclass(frozen=True, slots=True)
class Programme:
    """What a scheme's public page shows: the scheme, its totals, its projects with theirs, and
    the buyers who chose to be named (those that bought)."""

    scheme: LocalScheme
    quantities: Quantities
    projects: list[ProjectSummary]
    buyers: list[NamedBuyer]


@dataclass(frozen=True, slots=True)
class Naming:
    """A participant's choice to be named on a scheme's page (``named``) or not."""

    scheme: str
    participant_id: str
    named: bool
    at: str


@dataclass(frozen=True, slots=True)
class NewLocalScheme:
    code: str
    participant_id: str
    name_en: str
    name_ja: str
    prefecture: str
    methodologies: Sequence[dict[str, Any]]
    municipality: str = ""
    proceeds_en: str = ""
    proceeds_ja: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class NewLocalProject:
    id: str
    name: str
    methodology: str
    name_ja: str = ""
    prefecture: str | None = None
    """The scheme's prefecture when not given; a municipality's scheme keeps to its own."""
    municipality: str | None = None
    developer: str = ""
    co_benefits: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- views


def _methodologies(row: Any) -> list[lc.Methodology]:
    return [lc.Methodology(**m) for m in loads(row.methodologies)]


def _scheme_view(conn: Connection, row: Any) -> LocalScheme:
    owner = repo.get_participant(conn, row.participant_id)
    return LocalScheme(
        code=row.code,
        participant_id=row.participant_id,
        owner_name_en=owner.name_en if owner else "",
        owner_name_ja=owner.name_ja if owner else "",
        name_en=row.name_en,
        name_ja=row.name_ja,
        prefecture=row.prefecture,
        prefecture_en=lc.prefecture_name(row.prefecture, "en"),
        prefecture_ja=lc.prefecture_name(row.prefecture, "ja"),
        municipality=row.municipality,
        methodologies=_methodologies(row),
        proceeds_en=row.proceeds_en,
        proceeds_ja=row.proceeds_ja,
        url=row.url,
        registered_at=row.registered_at,
        updated_at=row.updated_at,
    )


def _project_view(row: Any, methods: dict[str, lc.Methodology]) -> LocalProject:
    m = methods.get(row.methodology)
    return LocalProject(
        project_id=row.project_id,
        scheme=row.scheme,
        name=row.name,
        name_ja=row.name_ja,
        developer=row.developer,
        prefecture=row.prefecture,
        prefecture_en=lc.prefecture_name(row.prefecture, "en"),
        prefecture_ja=lc.prefecture_name(row.prefecture, "ja"),
        municipality=row.municipality,
        methodology=row.methodology,
        credit_type=m.credit_type if m else "",
        mechanism=row.mechanism,
        nature=row.nature,
        registered_at=row.registered_at,
    )


def _scheme_row(conn: Connection, code: str) -> Any:
    row = conn.execute(select(lt.local_schemes).where(lt.local_schemes.c.code == code)).first()
    if row is None:
        raise NotFound("local_scheme_not_found", f"There is no local credit scheme {code}.")
    return row


def _projects_query() -> Any:
    lp, p = lt.local_projects.c, t.projects.c
    return select(
        lp.project_id,
        lp.scheme,
        lp.prefecture,
        lp.municipality,
        lp.methodology,
        lp.registered_at,
        p.name,
        p.name_ja,
        p.developer,
        p.mechanism,
        p.nature,
    ).select_from(lt.local_projects.join(t.projects, lp.project_id == p.id))


def _owned(conn: Connection, actor: Actor, code: str, what: str) -> Any:
    """The scheme if the actor owns it (its local_scheme scope and role); else 404 for a
    scheme that does not exist, 403 for another's."""
    require_scope(actor, Scope.LOCAL_SCHEME, what)
    require(actor, Role.LOCAL_SCHEME, what)
    row = _scheme_row(conn, code)
    if row.participant_id != actor.participant_id:
        raise Forbidden(
            "not_scheme_owner",
            f"Scheme {code} is run by {row.participant_id}; only its owner may {what}.",
        )
    require_active(conn, actor)
    return row


# ---------------------------------------------------------------- the operator: schemes


def register_scheme(
    db: Database, actor: Actor, n: NewLocalScheme, idem: Idem | None = None
) -> LocalScheme:
    """Register a local government's credit scheme (registry operator): a registry scheme of
    its own, the owner given the local_scheme role."""
    require(actor, Role.REGISTRY_OPERATOR, "register local credit schemes")
    code = lc.scheme_code(n.code)
    prefecture = lc.prefecture(n.prefecture)
    methods = lc.methodologies(n.methodologies)
    lc.text(n.name_en, "name_en", lc.MAX_NAME, required=True)
    lc.text(n.name_ja, "name_ja", lc.MAX_NAME, required=True)
    lc.text(n.municipality, "municipality", 100)
    lc.text(n.proceeds_en, "proceeds_en")
    lc.text(n.proceeds_ja, "proceeds_ja")
    _url(n.url)

    def work(tx: Tx) -> LocalScheme:
        conn = tx.conn
        owner = repo.get_participant(conn, n.participant_id)
        if owner is None:
            raise NotFound("participant_not_found", f"There is no participant {n.participant_id}.")
        if owner.kind != ParticipantKind.LOCAL_GOVERNMENT.value:
            raise InvalidInput(
                "not_a_local_government",
                f"Participant {n.participant_id} is a {owner.kind}; a local credit scheme is "
                "run by a local government.",
            )
        if repo.get_by_code(conn, t.schemes, code) is not None:
            raise Conflict("scheme_exists", f"Scheme {code} already exists.")
        repo.insert_row(
            conn,
            t.schemes,
            code=code,
            name_en=n.name_en,
            name_ja=n.name_ja,
            unit="tCO2",
            domestic=True,
            properties=dumps(list(PROPERTIES)),
        )
        repo.insert_row(
            conn,
            lt.local_schemes,
            code=code,
            participant_id=n.participant_id,
            name_en=n.name_en,
            name_ja=n.name_ja,
            prefecture=prefecture,
            municipality=n.municipality.strip(),
            methodologies=dumps([m.as_dict() for m in methods]),
            proceeds_en=n.proceeds_en,
            proceeds_ja=n.proceeds_ja,
            url=n.url,
            registered_at=tx.at,
            updated_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        roles = [r for r in (owner.roles or "").split(",") if r]
        added = Role.LOCAL_SCHEME.value not in roles
        if added:
            repo.update_participant(
                conn, n.participant_id, roles=",".join([*roles, Role.LOCAL_SCHEME.value])
            )
        view = _scheme_view(conn, _scheme_row(conn, code))
        tx.record(
            "local_scheme.registered",
            actor.label,
            {"scheme": plain(view), "role_added": Role.LOCAL_SCHEME.value if added else None},
        )
        return view

    return execute(db, actor, idem, work, 201, loader(LocalScheme))


def _url(url: str) -> str:
    lc.text(url, "url", 500)
    if url and not url.startswith(("https://", "http://")):
        raise InvalidInput("invalid_url", "url must be an http(s) address.")
    return url


def update_scheme(
    db: Database,
    actor: Actor,
    code: str,
    *,
    proceeds_en: str | None = None,
    proceeds_ja: str | None = None,
    url: str | None = None,
    idem: Idem | None = None,
) -> LocalScheme:
    """Say how the scheme's proceeds are used, or where it publishes itself (its owner)."""
    changes = {
        k: v
        for k, v in (("proceeds_en", proceeds_en), ("proceeds_ja", proceeds_ja), ("url", url))
        if v is not None
    }
    for k, v in changes.items():
        _url(v) if k == "url" else lc.text(v, k)
    if not changes:
        raise InvalidInput("nothing_to_change", "Give proceeds_en, proceeds_ja or url.")

    def work(tx: Tx) -> LocalScheme:
        _owned(tx.conn, actor, code, "change the scheme")
        tx.conn.execute(
            update(lt.local_schemes)
            .where(lt.local_schemes.c.code == code)
            .values(**changes, updated_at=tx.at)
        )
        tx.record("local_scheme.updated", actor.label, {"scheme": code, "changes": changes})
        return _scheme_view(tx.conn, _scheme_row(tx.conn, code))

    return execute(db, actor, idem, work, load=loader(LocalScheme))


# ---------------------------------------------------------------- the owner: projects, issuance


def register_project(
    db: Database, actor: Actor, code: str, n: NewLocalProject, idem: Idem | None = None
) -> LocalProject:
    """Register a local project in the actor's own scheme, under one of its methodologies."""
    if not PROJECT_RE.fullmatch(n.id):
        raise InvalidInput(
            "invalid_project_id", "A project id is 1 to 16 upper-case letters and digits."
        )
    lc.text(n.name, "name", lc.MAX_NAME, required=True)
    lc.text(n.name_ja, "name_ja", lc.MAX_NAME)
    lc.text(n.developer, "developer", lc.MAX_NAME)
    lc.text(n.municipality or "", "municipality", 100)
    if len(n.co_benefits) > 20 or any(len(c) > 200 for c in n.co_benefits):
        raise InvalidInput("invalid_co_benefits", "At most 20 co-benefits of 200 characters each.")

    def work(tx: Tx) -> LocalProject:
        conn = tx.conn
        scheme = _owned(conn, actor, code, "register projects in the scheme")
        methods = {m.code: m for m in _methodologies(scheme)}
        method = methods.get(n.methodology)
        if method is None:
            raise InvalidInput(
                "unknown_methodology",
                f"Scheme {code} has no methodology {n.methodology!r}; it has "
                f"{', '.join(sorted(methods))}.",
            )
        prefecture = lc.prefecture(n.prefecture) if n.prefecture else scheme.prefecture
        municipality = (
            n.municipality if n.municipality is not None else scheme.municipality
        ).strip()
        if scheme.municipality and (
            prefecture != scheme.prefecture or municipality != scheme.municipality
        ):
            raise InvalidInput(
                "outside_the_scheme",
                f"Scheme {code} is {scheme.municipality}'s: its projects are in "
                f"{scheme.municipality} ({lc.prefecture_name(scheme.prefecture)}).",
            )
        if prefecture != scheme.prefecture:
            raise InvalidInput(
                "outside_the_scheme",
                f"Scheme {code} covers {lc.prefecture_name(scheme.prefecture)} "
                f"({scheme.prefecture}); the project says {prefecture}.",
            )
        if repo.get_project(conn, n.id) is not None:
            raise Conflict("project_exists", f"Project {n.id} already exists.")
        region = " ".join(x for x in (lc.prefecture_name(prefecture, "ja"), municipality) if x)
        repo.insert_row(
            conn,
            t.projects,
            id=n.id,
            scheme=code,
            name=n.name,
            name_ja=n.name_ja or n.name,
            country="JP",
            region=region,
            developer=n.developer,
            methodology=f"{method.code}: {method.name_en}",
            category=CATEGORY,
            mechanism=method.mechanism,
            nature=method.nature,
            properties=dumps(list(PROPERTIES)),
            evaluation_axes=dumps([]),
            co_benefits=dumps(list(n.co_benefits)),
            created_at=tx.at,
        )
        repo.insert_row(
            conn,
            lt.local_projects,
            project_id=n.id,
            scheme=code,
            prefecture=prefecture,
            municipality=municipality,
            methodology=method.code,
            registered_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        project: Project = project_view(repo.get_project(conn, n.id))
        row = conn.execute(_projects_query().where(lt.local_projects.c.project_id == n.id)).one()
        view = _project_view(row, methods)
        tx.record(
            "local_scheme.project_registered",
            actor.label,
            {"scheme": code, "project": plain(project), "local": plain(view)},
        )
        return view

    return execute(db, actor, idem, work, 201, loader(LocalProject))


def issue(
    db: Database, actor: Actor, code: str, n: NewIssuance, idem: Idem | None = None
) -> IssuanceReceipt:
    """Issue credits of a project of the actor's own scheme into a holding account: the local
    government certifies its scheme's credits (the credit type is its methodology's)."""
    registry.check_issuance(n)

    def work(tx: Tx) -> IssuanceReceipt:
        conn = tx.conn
        scheme = _owned(conn, actor, code, "issue the scheme's credits")
        local = conn.execute(
            select(lt.local_projects).where(
                lt.local_projects.c.project_id == n.project_id, lt.local_projects.c.scheme == code
            )
        ).first()
        if local is None:
            raise NotFound("project_not_found", f"Scheme {code} has no project {n.project_id}.")
        method = {m.code: m for m in _methodologies(scheme)}.get(local.methodology)
        if method is not None and n.credit_type != method.credit_type:
            raise InvalidInput(
                "credit_type_mismatch",
                f"Project {n.project_id} follows {method.code}, which certifies "
                f"{method.credit_type} credits; the issuance says {n.credit_type}.",
            )
        view = registry.create_issuance(tx, n, "issued", None)
        tx.record(
            "credits.issued",
            actor.label,
            plain(view)
            | {
                "local_scheme": code,
                "issue": [[view.issuance_id, 1, n.quantity, n.account_id, "held"]],
            },
        )
        return registry.with_removals(tx, actor.label, view)

    return execute(db, actor, idem, work, 201, loader(IssuanceReceipt), sequenced=True)


# ---------------------------------------------------------------- buyers: being named


def set_named(
    db: Database, actor: Actor, code: str, named: bool, idem: Idem | None = None
) -> Naming:
    """Choose to be named as a buyer on a scheme's public page (``named``), or withdraw it."""
    require_scope(actor, Scope.MANAGE, "choose how the participant is named")
    if actor.agent_id:
        raise Forbidden("broker_cannot_manage", "A broker cannot choose how its client is named.")

    def work(tx: Tx) -> Naming:
        conn = tx.conn
        _scheme_row(conn, code)
        require_active(conn, actor)
        s = lt.local_supporters.c
        key = and_(s.scheme == code, s.participant_id == actor.participant_id)
        found = conn.execute(select(lt.local_supporters).where(key)).first()
        if named and found is None:
            repo.insert_row(
                conn,
                lt.local_supporters,
                scheme=code,
                participant_id=actor.participant_id,
                named_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        elif not named and found is not None:
            conn.execute(delete(lt.local_supporters).where(key))
        else:
            tx.allow_empty = True  # already as asked: nothing changes, nothing is journaled
            return Naming(code, actor.participant_id, named, found.named_at if found else tx.at)
        tx.record(
            "local_scheme.buyer_named" if named else "local_scheme.buyer_unnamed",
            actor.label,
            {"scheme": code, "participant": actor.participant_id},
        )
        return Naming(code, actor.participant_id, named, tx.at)

    return execute(db, actor, idem, work, load=loader(Naming))


# ---------------------------------------------------------------- reading


def list_schemes(db: Database, prefecture: str | None = None) -> list[LocalScheme]:
    """Every local scheme (public), optionally of one prefecture, by code."""
    q = select(lt.local_schemes).order_by(lt.local_schemes.c.code)
    if prefecture:
        q = q.where(lt.local_schemes.c.prefecture == lc.prefecture(prefecture))
    with db.read() as conn:
        return [_scheme_view(conn, r) for r in conn.execute(q).all()]


def get_scheme(db: Database, code: str) -> LocalScheme:
    with db.read() as conn:
        return _scheme_view(conn, _scheme_row(conn, code))


def list_projects(db: Database, code: str) -> list[LocalProject]:
    """The projects of a scheme (public), by id."""
    with db.read() as conn:
        scheme = _scheme_row(conn, code)
        methods = {m.code: m for m in _methodologies(scheme)}
        rows = conn.execute(
            _projects_query()
            .where(lt.local_projects.c.scheme == code)
            .order_by(lt.local_projects.c.project_id)
        ).all()
        return [_project_view(r, methods) for r in rows]


def _sum_by_project(conn: Connection, q: Any) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in conn.execute(q).all()}


def _quantities(conn: Connection, code: str, owner: str) -> dict[str, Quantities]:
    """Issued, sold and retired tonnes per project of a scheme, from the registry."""
    i, b = t.issuances.c, t.blocks.c
    lp = lt.local_projects.c
    in_scheme = select(lp.project_id).where(lp.scheme == code).scalar_subquery()
    issued = _sum_by_project(
        conn,
        select(i.project_id, func.sum(i.quantity))
        .where(i.project_id.in_(in_scheme))
        .group_by(i.project_id),
    )
    retired = _sum_by_project(
        conn,
        select(i.project_id, func.sum(b.serial_end - b.serial_start + 1))
        .select_from(t.blocks.join(t.issuances, b.issuance_id == i.id))
        .where(i.project_id.in_(in_scheme), b.status == BlockStatus.RETIRED.value)
        .group_by(i.project_id),
    )
    sold = _sum_by_project(conn, _sold_query(code, owner))
    return {
        pid: Quantities(issued.get(pid, 0), sold.get(pid, 0), retired.get(pid, 0))
        for pid in set(issued) | set(retired) | set(sold)
    }


def _sold_query(code: str, owner: str, *, by_buyer: bool = False) -> Any:
    """Tonnes of the scheme's credits moved out of the owner's accounts into another
    participant's account, grouped per project (and per buyer when ``by_buyer``)."""
    i, m = t.issuances.c, t.credit_movements.c
    src, dst = t.accounts.alias("src"), t.accounts.alias("dst")
    lp = lt.local_projects.c
    in_scheme = select(lp.project_id).where(lp.scheme == code).scalar_subquery()
    keys = (i.project_id, dst.c.participant_id) if by_buyer else (i.project_id,)
    return (
        select(*keys, func.sum(m.serial_end - m.serial_start + 1))
        .select_from(
            t.credit_movements.join(t.issuances, m.issuance_id == i.id)
            .join(src, m.from_account == src.c.id)
            .join(dst, m.to_account == dst.c.id)
        )
        .where(
            i.project_id.in_(in_scheme),
            src.c.participant_id == owner,
            dst.c.kind.in_(BUYER_ACCOUNTS),
            dst.c.participant_id != owner,
        )
        .group_by(*keys)
    )


def _named_buyers(conn: Connection, code: str, owner: str) -> list[NamedBuyer]:
    s, p = lt.local_supporters.c, t.participants.c
    bought: dict[str, int] = {}
    for _project, pid, quantity in conn.execute(_sold_query(code, owner, by_buyer=True)).all():
        bought[pid] = bought.get(pid, 0) + int(quantity)
    rows = conn.execute(
        select(s.participant_id, p.name_en, p.name_ja)
        .select_from(lt.local_supporters.join(t.participants, s.participant_id == p.id))
        .where(s.scheme == code)
        .order_by(s.named_at, s.participant_id)
    ).all()
    return [NamedBuyer(r[0], r[1], r[2], bought[r[0]]) for r in rows if bought.get(r[0], 0) > 0]


def programme(db: Database, code: str) -> Programme:
    """A scheme's public page: the scheme, its totals, each project's, and its named buyers."""
    with db.read() as conn:
        row = _scheme_row(conn, code)
        scheme = _scheme_view(conn, row)
        methods = {m.code: m for m in scheme.methodologies}
        per = _quantities(conn, code, row.participant_id)
        rows = conn.execute(
            _projects_query()
            .where(lt.local_projects.c.scheme == code)
            .order_by(lt.local_projects.c.project_id)
        ).all()
        projects = [
            ProjectSummary(_project_view(r, methods), per.get(r.project_id, Quantities()))
            for r in rows
        ]
        total = Quantities(
            sum(q.issued for q in per.values()),
            sum(q.sold for q in per.values()),
            sum(q.retired for q in per.values()),
        )
        return Programme(scheme, total, projects, _named_buyers(conn, code, row.participant_id))


def naming(db: Database, actor: Actor, code: str) -> Naming:
    """Whether the actor chose to be named on a scheme's page."""
    with db.read() as conn:
        _scheme_row(conn, code)
        s = lt.local_supporters.c
        found = conn.execute(
            select(lt.local_supporters).where(
                s.scheme == code, s.participant_id == actor.participant_id
            )
        ).first()
        return Naming(
            code, actor.participant_id, found is not None, found.named_at if found else ""
        )


# ---------------------------------------------------------------- usage rules


@dataclass(frozen=True, slots=True)
class LocalUse:
    """A usage rule in force that names local-government credits: for ``uses``, they are
    ``allowed`` (an eligibility rule admits them) or not (a rule denies them), and why."""

    rule: str
    uses: list[str]
    allowed: bool
    text: str
    text_ja: str
    source: str
    source_title_en: str
    source_title_ja: str
    source_url: str


def local_uses(db: Database, on: dt.date) -> list[LocalUse]:
    """The rules of the usage rule set in force on ``on`` that name local-government credits
    (their category), as a scheme's page lists them; every retirement is checked by all."""
    with db.read() as conn:
        rs = usage.ruleset_in_force(conn, on)
    if rs is None:
        return []
    out = []
    for r in rs.rules:
        admits = any(f.categories and CATEGORY in f.categories for f in r.allow_any)
        denies = r.match is not None and bool(r.match.categories and CATEGORY in r.match.categories)
        if not (admits or denies):
            continue
        src = rs.sources.get(r.source, {})
        out.append(
            LocalUse(
                rule=r.id,
                uses=sorted(r.uses),
                allowed=admits and not denies,
                text=r.text,
                text_ja=r.text_ja or r.text,
                source=r.source,
                source_title_en=str(src.get("title_en", r.source)),
                source_title_ja=str(src.get("title_ja", src.get("title_en", r.source))),
                source_url=str(src.get("url", "")),
            )
        )
    return out
