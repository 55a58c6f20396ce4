"""GX-ETS compliance cycle (docs/gx-ets.md): covered entities and their accounts, allocation,
verified emissions, surrenders, ceiling payments, compliance status and the public register.

A fiscal year (年度) runs from April to March and is named by the year it starts in. Allowances
are registry units (scheme ``GXA``, credit type ``AL``, vintage = fiscal year) in the ordinary
serial blocks; they come into being only by allocation (or by auction, issued to the scheme
administrator who sells them) and move through the same journal as credits. Emissions live in
the one emissions store (inventories) with a verification status; only verified figures count.
Every change is one transaction with its journal entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from tanso.domain import gx
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role, Scope
from tanso.domain.registry import AccountKind
from tanso.services.common import (
    Actor,
    Database,
    Idem,
    execute,
    loader,
    plain,
    require,
    require_active,
    require_scope,
)
from tanso.services.compliance import inventories
from tanso.services.compliance.gx import rules
from tanso.services.ledger import registry, taxonomy
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_gx as g
from tanso.store import schema_usage as u
from tanso.store.db import Tx

ALLOWANCE_SCHEME = "GXA"
ALLOWANCE_TYPE = "AL"
ALLOWANCE_CATEGORY = "GX_ALLOWANCE"
SCHEME_CASH = "GX-SCHEME-JPY"
"""The scheme's cash account: ceiling payments go here (held by the operator for the scheme)."""
CURRENCY = "JPY"


def check_year(fiscal_year: int) -> gx.SchemeYear:
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int):
        raise InvalidInput("invalid_fiscal_year", "fiscal_year is a year such as 2026.")
    if not 2000 <= fiscal_year <= 2100:
        raise InvalidInput(
            "invalid_fiscal_year",
            "fiscal_year is the year a fiscal year (April to March) starts in, e.g. 2026.",
        )
    return rules(fiscal_year)


# ---------------------------------------------------------------- covered entities


@dataclass(frozen=True, slots=True)
class CoveredEntity:
    """A participant the scheme covers in a fiscal year (April to March)."""

    participant_id: str
    fiscal_year: int
    sectors: list[str]
    facilities: list[str]
    group_members: list[str]
    """Participants of the same corporate group the entity complies for."""
    holding_account: str
    """Its allowance holding account (排出枠保有口座)."""
    compliance_account: str
    """Its compliance (surrender) account: what it surrendered, for good."""
    covered_at: str


def _texts(values: list[str], name: str, limit: int = 50) -> list[str]:
    if len(values) > limit:
        raise InvalidInput("too_many_values", f"{name} lists at most {limit} entries.")
    out = []
    for v in values:
        v = v.strip()
        if not v or len(v) > 200:
            raise InvalidInput("invalid_value", f"Each entry of {name} is 1 to 200 characters.")
        if v not in out:
            out.append(v)
    return out


def accounts_of(conn: Connection, pid: str) -> Any:
    c = g.gx_accounts.c
    return conn.execute(select(g.gx_accounts).where(c.participant_id == pid)).first()


def _ensure_accounts(tx: Tx, pid: str) -> Any:
    """The participant's allowance holding and compliance accounts, opened on first need."""
    conn = tx.conn
    row = accounts_of(conn, pid)
    if row is not None:
        return row
    holding, compliance = f"{pid}-GX", f"{pid}-GXC"
    for account_id, kind, name in (
        (holding, AccountKind.HOLDING, "GX-ETS allowance holding account (排出枠保有口座)"),
        (compliance, AccountKind.COMPLIANCE, "GX-ETS compliance account (償却口座)"),
    ):
        if repo.get_account(conn, account_id) is not None:
            raise Conflict("account_exists", f"Account {account_id} already exists.")
        repo.insert_row(
            conn,
            t.accounts,
            id=account_id,
            participant_id=pid,
            kind=kind.value,
            name=name,
            created_at=tx.at,
        )
    repo.insert_row(
        conn,
        g.gx_accounts,
        participant_id=pid,
        holding_account=holding,
        compliance_account=compliance,
        opened_at=tx.at,
    )
    return accounts_of(conn, pid)


def _covered_view(row: Any, accounts: Any) -> CoveredEntity:
    return CoveredEntity(
        participant_id=row.participant_id,
        fiscal_year=int(row.fiscal_year),
        sectors=json.loads(row.sectors),
        facilities=json.loads(row.facilities),
        group_members=json.loads(row.group_members),
        holding_account=accounts.holding_account,
        compliance_account=accounts.compliance_account,
        covered_at=row.covered_at,
    )


def _covered(conn: Connection, pid: str, fiscal_year: int) -> Any:
    c = g.gx_covered.c
    return conn.execute(
        select(g.gx_covered).where(c.participant_id == pid, c.fiscal_year == fiscal_year)
    ).first()


def require_covered(conn: Connection, pid: str, fiscal_year: int) -> Any:
    row = _covered(conn, pid, fiscal_year)
    if row is None:
        raise NotFound(
            "not_covered",
            f"{pid} is not a covered entity of GX-ETS for FY{fiscal_year} (April {fiscal_year} "
            f"to March {fiscal_year + 1}).",
        )
    return row


def cover(
    db: Database,
    actor: Actor,
    pid: str,
    fiscal_year: int,
    sectors: list[str],
    facilities: list[str] | None = None,
    group_members: list[str] | None = None,
    idem: Idem | None = None,
) -> CoveredEntity:
    """Mark a participant covered for a fiscal year (scheme administrator), with its sectors,
    facilities and the group members it complies for; opens its allowance holding and compliance
    accounts the first time. Covering again replaces the year's details."""
    require(actor, Role.SCHEME_ADMINISTRATOR, "cover entities under GX-ETS")
    check_year(fiscal_year)
    sectors = _texts(sectors, "sectors")
    if not sectors:
        raise InvalidInput("sectors_required", "A covered entity names at least one sector.")
    facilities = _texts(facilities or [], "facilities", 500)
    members = _texts(group_members or [], "group_members")

    def work(tx: Tx) -> CoveredEntity:
        conn = tx.conn
        entity = repo.get_participant(conn, pid)
        if entity is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        require_active(conn, Actor(pid))
        for m in members:
            member = repo.get_participant(conn, m)
            if member is None:
                raise NotFound("participant_not_found", f"There is no participant {m}.")
            if (
                m == pid
                or not entity.corporate_group
                or (member.corporate_group != entity.corporate_group)
            ):
                raise InvalidInput(
                    "not_in_group",
                    f"{pid} may comply only for members of its own corporate group; {m} is "
                    f"in group {member.corporate_group or 'none'}, {pid} in "
                    f"{entity.corporate_group or 'none'}.",
                )
            other = _covered(conn, m, fiscal_year)
            if other is not None:
                raise Conflict(
                    "already_covered",
                    f"{m} is itself covered for FY{fiscal_year}; it cannot also be complied for.",
                )
        accounts = _ensure_accounts(tx, pid)
        c = g.gx_covered.c
        conn.execute(
            g.gx_covered.delete().where(c.participant_id == pid, c.fiscal_year == fiscal_year)
        )
        repo.insert_row(
            conn,
            g.gx_covered,
            participant_id=pid,
            fiscal_year=fiscal_year,
            sectors=json.dumps(sectors, ensure_ascii=False),
            facilities=json.dumps(facilities, ensure_ascii=False),
            group_members=json.dumps(members),
            covered_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        view = _covered_view(_covered(conn, pid, fiscal_year), accounts)
        tx.record("gx.covered", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(CoveredEntity), sequenced=True)


def list_covered(db: Database, fiscal_year: int) -> list[CoveredEntity]:
    """Every entity covered in a fiscal year (public: the register names them)."""
    check_year(fiscal_year)
    with db.read() as conn:
        c = g.gx_covered.c
        rows = conn.execute(
            select(g.gx_covered).where(c.fiscal_year == fiscal_year).order_by(c.participant_id)
        ).all()
        return [_covered_view(r, accounts_of(conn, r.participant_id)) for r in rows]


# ---------------------------------------------------------------- allowances


def _ensure_project(tx: Tx, fiscal_year: int) -> str:
    """The registry's project that holds a fiscal year's allowances (``GX2026``)."""
    conn = tx.conn
    project_id = f"GX{fiscal_year}"
    if repo.get_by_code(conn, t.schemes, ALLOWANCE_SCHEME) is None:
        taxonomy.load_reference_data(tx)
    if repo.get_project(conn, project_id) is None:
        repo.insert_row(
            conn,
            t.projects,
            id=project_id,
            scheme=ALLOWANCE_SCHEME,
            name=f"GX-ETS allowances FY{fiscal_year}",
            name_ja=f"GX-ETS 排出枠 {fiscal_year}年度",
            country="JP",
            region="",
            developer="GX-ETS scheme administrator",
            methodology="GX-ETS allocation",
            category=ALLOWANCE_CATEGORY,
            mechanism="reduction",
            nature="technology",
            properties="[]",
            evaluation_axes="[]",
            co_benefits="[]",
            created_at=tx.at,
        )
    return project_id


@dataclass(frozen=True, slots=True)
class AllocationView:
    """Allowances issued to a participant for a fiscal year, with the method, its inputs and
    the working that turned them into the quantity."""

    id: str
    participant_id: str
    fiscal_year: int
    method: str
    inputs: dict[str, Any]
    working: str
    quantity: int
    issuance_id: str
    serials: str
    account_id: str
    allocated_at: str


def allocate(
    db: Database,
    actor: Actor,
    pid: str,
    fiscal_year: int,
    method: str,
    inputs: dict[str, Any],
    idem: Idem | None = None,
) -> AllocationView:
    """Issue allowances of vintage ``fiscal_year`` into the participant's allowance holding
    account by a calculator of the rule set (scheme administrator only). ``auction`` issues
    them to a scheme administrator, who sells them by sealed-bid auction."""
    require(actor, Role.SCHEME_ADMINISTRATOR, "allocate allowances")
    year_rules = check_year(fiscal_year)
    calc = gx.allocate(year_rules, method, inputs)

    def work(tx: Tx) -> AllocationView:
        conn = tx.conn
        p = repo.get_participant(conn, pid)
        if p is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        if method == "auction":
            if Role.SCHEME_ADMINISTRATOR.value not in (p.roles or "").split(","):
                raise InvalidInput(
                    "auction_to_administrator",
                    "Allowances for auction are issued to the scheme administrator, who sells "
                    f"them; {pid} is not one.",
                )
            if not year_rules.auctions:
                raise Conflict(
                    "auctions_not_provided",
                    f"The FY{fiscal_year} rule set provides no allowance auctions.",
                )
        else:
            require_covered(conn, pid, fiscal_year)
        accounts = _ensure_accounts(tx, pid)
        project_id = _ensure_project(tx, fiscal_year)
        n = conn.execute(
            select(func.count())
            .select_from(t.issuances)
            .where(t.issuances.c.project_id == project_id)
        ).scalar_one()
        receipt = registry.create_issuance(
            tx,
            registry.NewIssuance(
                project_id=project_id,
                credit_type=ALLOWANCE_TYPE,
                round=str(int(n) + 1),
                vintage=fiscal_year,
                quantity=calc.quantity,
                account_id=accounts.holding_account,
            ),
            "allocated" if method != "auction" else "auctioned",
            None,
        )
        aid = f"AL-{tx.next_seq():08d}"
        repo.insert_row(
            conn,
            g.gx_allocations,
            id=aid,
            participant_id=pid,
            fiscal_year=fiscal_year,
            method=method,
            inputs=json.dumps(calc.inputs | {"working": calc.working}, ensure_ascii=False),
            quantity=calc.quantity,
            issuance_id=receipt.issuance_id,
            allocated_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        view = AllocationView(
            id=aid,
            participant_id=pid,
            fiscal_year=fiscal_year,
            method=method,
            inputs=calc.inputs,
            working=calc.working,
            quantity=calc.quantity,
            issuance_id=receipt.issuance_id,
            serials=receipt.serials,
            account_id=accounts.holding_account,
            allocated_at=tx.at,
        )
        tx.record(
            "gx.allocated",
            actor.label,
            plain(view)
            | {
                "issue": [[receipt.issuance_id, 1, calc.quantity, accounts.holding_account, "held"]]
            },
        )
        return view

    return execute(db, actor, idem, work, 201, loader(AllocationView), sequenced=True)


def _allocation_view(r: Any, account_id: str) -> AllocationView:
    inputs = json.loads(r.inputs)
    working = str(inputs.pop("working", ""))
    return AllocationView(
        id=r.id,
        participant_id=r.participant_id,
        fiscal_year=int(r.fiscal_year),
        method=r.method,
        inputs=inputs,
        working=working,
        quantity=int(r.quantity),
        issuance_id=r.issuance_id,
        serials=f"{r.issuance_id}-1-{int(r.quantity)}",
        account_id=account_id,
        allocated_at=r.allocated_at,
    )


def list_allocations(
    db: Database, actor: Actor, pid: str, fiscal_year: int
) -> list[AllocationView]:
    """A participant's allocations of a fiscal year (itself or an operator)."""
    may_see(actor, pid)
    with db.read() as conn:
        c = g.gx_allocations.c
        rows = conn.execute(
            select(g.gx_allocations)
            .where(c.participant_id == pid, c.fiscal_year == fiscal_year)
            .order_by(c.journal_seq)
        ).all()
        accounts = accounts_of(conn, pid)
        return [_allocation_view(r, accounts.holding_account if accounts else "") for r in rows]


def may_see(actor: Actor, pid: str) -> None:
    if not (
        actor.is_operator() or actor.participant_id == pid or actor.has(Role.VERIFICATION_BODY)
    ):
        raise NotFound("not_covered", f"There is no GX-ETS entity {pid} that you can see.")


# ---------------------------------------------------------------- verified emissions


@dataclass(frozen=True, slots=True)
class Emissions:
    """A covered entity's direct CO2 emissions of a fiscal year (t-CO2) in the one emissions
    store, with their verification status."""

    participant_id: str
    fiscal_year: int
    direct_co2: int
    verification: str
    """``reported``, ``verified`` or ``returned`` (``unverified``: recorded as an inventory
    only)."""
    verified_by: str | None
    verified_at: str | None
    findings: str
    reported_at: str


def _emissions_view(v: inventories.InventoryView) -> Emissions:
    return Emissions(
        participant_id=v.participant_id,
        fiscal_year=v.reporting_year,
        direct_co2=v.scope1,
        verification=v.verification,
        verified_by=v.verified_by,
        verified_at=v.verified_at,
        findings=v.findings,
        reported_at=v.updated_at,
    )


def report_emissions(
    db: Database,
    actor: Actor,
    pid: str,
    fiscal_year: int,
    direct_co2: int,
    note: str = "",
    idem: Idem | None = None,
) -> Emissions:
    """The covered entity (or the administrator for it) reports its direct CO2 emissions of a
    fiscal year: Scope 1 of the year's inventory, status ``reported`` until a verification body
    confirms it. A verified figure can no longer be changed this way."""
    if actor.participant_id != pid and not actor.has(Role.SCHEME_ADMINISTRATOR):
        raise NotFound("not_covered", f"There is no GX-ETS entity {pid} that you can see.")
    check_year(fiscal_year)
    if (
        isinstance(direct_co2, bool)
        or not isinstance(direct_co2, int)
        or not (0 <= direct_co2 <= inventories.MAX_TONNES)
    ):
        raise InvalidInput("invalid_emissions", "direct_co2 is whole tonnes from 0 to 10^12.")

    def work(tx: Tx) -> Emissions:
        conn = tx.conn
        require_covered(conn, pid, fiscal_year)
        before = inventories.inventory(conn, pid, fiscal_year)
        if before is not None and before.verification == "verified":
            raise Conflict(
                "emissions_verified",
                f"The FY{fiscal_year} emissions of {pid} ({before.scope1:,} t) are verified "
                f"by {before.verified_by}; they can no longer be changed.",
            )
        figures = inventories.Inventory(scope1=direct_co2, note=note)
        if before is not None:
            kept = {f: getattr(before, f) for f in inventories.NUMBER_FIELDS if f != "scope1"}
            cats = {int(k): v for k, v in before.scope3_categories.items()}
            figures = inventories.Inventory(
                scope1=direct_co2, scope3_categories=cats, note=note or before.note, **kept
            )
        inventories.check(figures)
        view = inventories.write(
            tx,
            pid,
            fiscal_year,
            figures,
            {"verification": "reported", "verified_by": None, "verified_at": None, "findings": ""},
        )
        out = _emissions_view(view)
        tx.record("gx.emissions_reported", actor.label, plain(out))
        return out

    return execute(db, actor, idem, work, 200, loader(Emissions))


def verify_emissions(
    db: Database,
    actor: Actor,
    pid: str,
    fiscal_year: int,
    decision: str,
    findings: str = "",
    idem: Idem | None = None,
) -> Emissions:
    """A verification body (登録確認機関) confirms the reported figure (``verified``) or sends
    it back with findings (``returned``). It may not verify itself nor a member of its own
    corporate group."""
    require(actor, Role.VERIFICATION_BODY, "verify GX-ETS emissions")
    require_scope(actor, Scope.VERIFY, "verify GX-ETS emissions")
    check_year(fiscal_year)
    if decision not in ("verified", "returned"):
        raise InvalidInput("invalid_decision", "decision is verified or returned.")
    if len(findings) > 4000:
        raise InvalidInput("text_too_long", "findings may be at most 4000 characters.")
    if decision == "returned" and not findings.strip():
        raise InvalidInput(
            "findings_required", "Emissions returned to the entity state the findings."
        )

    def work(tx: Tx) -> Emissions:
        conn = tx.conn
        require_active(conn, actor)
        require_covered(conn, pid, fiscal_year)
        body = repo.get_participant(conn, actor.participant_id)
        entity = repo.get_participant(conn, pid)
        if actor.participant_id == pid or (
            body is not None
            and entity is not None
            and body.corporate_group
            and body.corporate_group == entity.corporate_group
        ):
            raise Forbidden(
                "conflict_of_interest",
                f"{actor.participant_id} may not verify the emissions of {pid}: it is the "
                "entity itself or of its corporate group.",
            )
        before = inventories.inventory(conn, pid, fiscal_year)
        if before is None or before.verification != "reported":
            state = "not reported" if before is None else before.verification
            raise Conflict(
                "emissions_not_reported",
                f"The FY{fiscal_year} emissions of {pid} are {state}; only a reported figure "
                "awaits verification.",
            )
        inv_t = u.emissions_inventories
        conn.execute(
            update(inv_t)
            .where(inv_t.c.participant_id == pid, inv_t.c.reporting_year == fiscal_year)
            .values(
                verification=decision,
                verified_by=actor.participant_id,
                verified_at=tx.at,
                findings=findings.strip(),
            )
        )
        view = inventories.inventory(conn, pid, fiscal_year)
        assert view is not None
        out = _emissions_view(view)
        tx.record(f"gx.emissions_{decision}", actor.label, plain(out))
        return out

    return execute(db, actor, idem, work, 200, loader(Emissions))


def emissions(db: Database, actor: Actor, pid: str, fiscal_year: int) -> Emissions:
    may_see(actor, pid)
    check_year(fiscal_year)
    with db.read() as conn:
        view = inventories.inventory(conn, pid, fiscal_year)
    if view is None:
        raise NotFound(
            "emissions_not_reported",
            f"{pid} has reported no emissions for FY{fiscal_year} (April to March).",
        )
    return _emissions_view(view)


def awaiting_verification(db: Database, actor: Actor) -> list[Emissions]:
    """Reported figures waiting for a verification body (verification bodies, operators)."""
    if not (actor.has(Role.VERIFICATION_BODY) or actor.is_operator()):
        raise Forbidden("role_required", "Only a verification body or an operator sees this.")
    inv_t = u.emissions_inventories
    with db.read() as conn:
        rows = conn.execute(
            select(inv_t.c.participant_id, inv_t.c.reporting_year)
            .where(inv_t.c.verification == "reported")
            .order_by(inv_t.c.reporting_year, inv_t.c.participant_id)
        ).all()
        out = []
        for r in rows:
            view = inventories.inventory(conn, r.participant_id, r.reporting_year)
            if view is not None:
                out.append(_emissions_view(view))
        return out
