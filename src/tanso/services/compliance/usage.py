"""Usage rules as a service: the rule sets in force, evaluation of credits for a use, and the
check every retirement passes before anything moves.

Rule sets ship in ``tanso/data/rules/*.json``; the operator adds or replaces one (stored in
``usage_rulesets``, one journal entry). The rule set in force on a date is the one with the
latest ``effective_from`` on or before it; among equal dates a stored one wins over a shipped
one, and a later stored one over an earlier.

The hierarchy rule refuses by default; ``TANSO_USAGE_HIERARCHY=warn`` (environment) only warns.
``check_retirement`` runs inside the retirement's transaction, after the journal head is locked,
so the claimed totals it reads (GX-ETS 10 % cap, residual emissions) cannot change before the
retirement commits: concurrent retirements are checked one after another.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain import usage_rules as ur
from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.registry import Piece
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    loader,
    omitted,
    own_account,
    require_operator,
)
from tanso.services.compliance import inventories
from tanso.services.ledger import blocks
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_removals as rm
from tanso.store import schema_usage as u
from tanso.store.db import Database, Tx, dumps, loads

JST = dt.timezone(dt.timedelta(hours=9))
HIERARCHY_ENV = "TANSO_USAGE_HIERARCHY"
MAX_RULESET_BYTES = 200_000


def hierarchy_mode() -> str | None:
    """The operator's hierarchy setting (refuse or warn) from the environment, if set."""
    value = os.environ.get(HIERARCHY_ENV, "").strip().lower()
    if not value:
        return None
    if value not in ur.HIERARCHY_MODES:
        raise InvalidInput("invalid_setting", f"{HIERARCHY_ENV} must be 'refuse' or 'warn'.")
    return value


def local_date(at: str) -> dt.date:
    """The Japanese calendar date of a timestamp (deadlines such as 30 June are in JST)."""
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(JST).date()


# ---------------------------------------------------------------- rule sets


@lru_cache(maxsize=1)
def shipped_rulesets() -> tuple[ur.RuleSet, ...]:
    """The rule sets shipped with Tanso, oldest effective date first."""
    folder = resources.files("tanso").joinpath("data/rules")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out.append(ur.parse(json.loads(entry.read_text(encoding="utf-8"))))
    return tuple(sorted(out, key=lambda r: r.effective_from))


@lru_cache(maxsize=1)
def rule_texts_ja() -> dict[str, str]:
    """Each shipped rule's Japanese text by rule id (a later rule set's over an earlier's)."""
    return {r.id: r.text_ja for rs in shipped_rulesets() for r in rs.rules if r.text_ja}


def all_rulesets(conn: Connection) -> list[tuple[ur.RuleSet, str]]:
    """Every rule set with where it comes from ("shipped" or "operator"), in precedence order."""
    stored = conn.execute(select(u.usage_rulesets).order_by(u.usage_rulesets.c.journal_seq)).all()
    out: list[tuple[ur.RuleSet, str]] = [(rs, "shipped") for rs in shipped_rulesets()]
    for row in stored:
        out.append((ur.parse(loads(row.body)), "operator"))
    return out


def ruleset_in_force(conn: Connection, on: dt.date) -> ur.RuleSet | None:
    return ur.in_force([rs for rs, _ in all_rulesets(conn)], on)


@dataclass(frozen=True, slots=True)
class RuleSetView:
    """A usage rule set, shipped or added by the operator; ``in_force`` on the date asked
    (``date``, when the answer is the set in force on that date)."""

    id: str
    version: str
    effective_from: str
    title: str
    title_ja: str
    origin: str
    in_force: bool
    hierarchy: str
    emission_factor_g_per_kwh: int | None
    sources: dict[str, dict[str, str]]
    uses: dict[str, dict[str, str]]
    rules: list[dict[str, Any]]
    date: str | None = omitted()


def ruleset_view(rs: ur.RuleSet, origin: str, in_force: bool = False) -> RuleSetView:
    return RuleSetView(
        id=rs.id,
        version=rs.version,
        effective_from=rs.effective_from.isoformat(),
        title=rs.title,
        title_ja=rs.document.get("title_ja", rs.title),
        origin=origin,
        in_force=in_force,
        hierarchy=rs.hierarchy,
        emission_factor_g_per_kwh=rs.emission_factor_g_per_kwh,
        sources={k: dict(v) for k, v in rs.sources.items()},
        uses={k: {"scope": v.scope} for k, v in rs.uses.items()},
        rules=rs.document.get("rules", []),
    )


def list_rulesets(db: Database, on: dt.date | None = None) -> list[RuleSetView]:
    """Every rule set, marking the one in force on ``on`` (default: today)."""
    on = on or local_date(db.clock())
    with db.read() as conn:
        sets = all_rulesets(conn)
    current = ur.in_force([rs for rs, _ in sets], on)
    return [ruleset_view(rs, origin, rs is current) for rs, origin in sets]


def current_ruleset(db: Database, on: dt.date | None = None) -> RuleSetView:
    on = on or local_date(db.clock())
    with db.read() as conn:
        sets = all_rulesets(conn)
    current = ur.in_force([rs for rs, _ in sets], on)
    if current is None:
        raise InvalidInput("no_ruleset_in_force", f"No usage rule set is in force on {on}.")
    origin = next(o for rs, o in sets if rs is current)
    return replace(ruleset_view(current, origin, True), date=on.isoformat())


def add_ruleset(
    db: Database, actor: Actor, doc: dict[str, Any], idem: Idem | None = None
) -> RuleSetView:
    """Add a rule set (operator): it is in force from its effective date; a new version of an
    existing id with the same date replaces it from then on."""
    require_operator(actor, "add usage rule sets")
    if len(dumps(doc)) > MAX_RULESET_BYTES:
        raise InvalidInput("ruleset_too_large", "A rule set may be at most 200 kB.")
    try:
        rs = ur.parse(doc)
    except ur.RuleSetError as e:
        raise InvalidInput("invalid_ruleset", str(e)) from None

    def work(tx: Tx) -> RuleSetView:
        taken = {(r.id, r.version) for r, _ in all_rulesets(tx.conn)}
        if (rs.id, rs.version) in taken:
            raise Conflict(
                "ruleset_exists", f"Rule set {rs.label} exists; give the new one a new version."
            )
        purposes = {r.code for r in repo.list_table(tx.conn, t.terms, kind="purpose")}
        unknown = sorted(set(rs.uses) - purposes)
        if unknown:
            raise InvalidInput(
                "unknown_purpose", f"Not retirement purposes of the taxonomy: {', '.join(unknown)}."
            )
        repo.insert_row(
            tx.conn,
            u.usage_rulesets,
            id=rs.id,
            version=rs.version,
            effective_from=rs.effective_from.isoformat(),
            body=dumps(doc),
            created_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        view = ruleset_view(rs, "operator")
        tx.record(
            "usage.ruleset_added",
            actor.label,
            {"id": rs.id, "version": rs.version, "effective_from": view.effective_from},
        )
        return view

    return execute(db, actor, idem, work, 201, loader(RuleSetView))


# ---------------------------------------------------------------- evaluation


def removal_profiles(conn: Connection, project_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Each removal project's pathway and stated permanence in years, by project id (a project
    without a removal profile is absent)."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    c = rm.removal_profiles.c
    rows = conn.execute(
        select(c.project_id, c.pathway, c.permanence_years).where(c.project_id.in_(ids))
    )
    return {r.project_id: (r.pathway, int(r.permanence_years)) for r in rows}


def lots_of(conn: Connection, pieces: Sequence[Piece]) -> list[ur.Lot]:
    """The credits a planned selection takes, with their attributes, one lot per piece."""
    details = repo.issuance_details(conn, (p.block.issuance for p in pieces))
    schemes = {r.code: r for r in repo.list_table(conn, t.schemes, t.schemes.c.code)}
    profiles = removal_profiles(conn, (d["project_id"] for d in details.values()))
    lots = []
    for p in pieces:
        d = details[p.block.issuance]
        scheme = schemes.get(d["scheme"])
        pathway, permanence = profiles.get(d["project_id"], ("", 0))
        lots.append(
            ur.Lot(
                issuance=p.block.issuance,
                quantity=p.quantity,
                scheme=d["scheme"],
                category=d["category"],
                unit=scheme.unit if scheme is not None else "tCO2",
                domestic=bool(scheme.domestic) if scheme is not None else False,
                properties=tuple(d["properties"] or ()),
                ca_status=d["ca_status"],
                vintage=int(d["vintage"]),
                credit_type=d["credit_type"] or "",
                permanence_years=permanence,
                pathway=pathway,
            )
        )
    return lots


def context_of(conn: Connection, participant_id: str, year: int) -> ur.Context:
    """The inventory figures and claims of a participant's year, with the operator's settings."""
    inv = inventories.inventory(conn, participant_id, year)
    figures = None
    if inv is not None:
        figures = ur.Figures(
            scope1=inv.scope1,
            scope2_location=inv.scope2_location,
            scope2_market=inv.scope2_market,
            scope3=inv.scope3,
            scope3_categories={int(k): v for k, v in inv.scope3_categories.items()},
            reduction_scope1=inv.reduction_scope1,
            reduction_scope2=inv.reduction_scope2,
            reduction_scope3=inv.reduction_scope3,
            purchased_electricity_kwh=inv.purchased_electricity_kwh,
            purchased_heat_kwh=inv.purchased_heat_kwh,
            verified=inv.verification == "verified",
        )
    c = u.usage_claims.c
    rows = conn.execute(
        select(c.use, c.scope, c.quantity, c.tonnes, c.unit, c.scope3_category).where(
            c.participant_id == participant_id, c.reporting_year == year
        )
    ).all()
    claims = tuple(
        ur.Claim(r.use, r.scope, int(r.quantity), int(r.tonnes), r.unit, r.scope3_category)
        for r in rows
    )
    return ur.Context(figures=figures, claims=claims, hierarchy=hierarchy_mode())


def default_year(purposes: Sequence[str], on: dt.date) -> int:
    """The year a retirement counts toward when none is named: 温対法 SHK's fiscal rule for SHK
    reporting (retired by the end of June: the previous year), else the calendar year."""
    return ur.shk_year(on) if "shk_reporting" in purposes else on.year


def _no_ruleset(on: dt.date, quantity: int) -> ur.Decision:
    reason = ur.Reason("NO-RULESET", "", False, "refuse", f"No usage rule set is in force on {on}.")
    return ur.Decision(False, (reason,), 0, quantity, 0, "", "")


def decide(
    conn: Connection,
    participant_id: str,
    pieces: Sequence[Piece],
    purposes: Sequence[str],
    year: int,
    on: dt.date,
    scope: str | None = None,
    scope3_category: int | None = None,
) -> list[tuple[str, ur.Decision, list[ur.Lot], list[ur.Claim]]]:
    """Evaluate the credits for each purpose in turn; each purpose sees the claims of the ones
    before it, as they will be recorded (returned with each decision)."""
    lots = lots_of(conn, pieces)
    quantity = sum(lot.quantity for lot in lots)
    rs = ruleset_in_force(conn, on)
    ctx = context_of(conn, participant_id, year)
    out: list[tuple[str, ur.Decision, list[ur.Lot], list[ur.Claim]]] = []
    for purpose in purposes:
        if rs is None:
            out.append((purpose, _no_ruleset(on, quantity), lots, []))
            continue
        use = ur.Use(purpose, year, on, scope, scope3_category)
        decision = ur.evaluate(rs, lots, use, ctx)
        new = _claims(purpose, decision, lots, rs, ctx, scope3_category)
        out.append((purpose, decision, lots, new))
        ctx = ur.Context(
            ctx.figures, ctx.claims + tuple(new), ctx.emission_factor_g_per_kwh, ctx.hierarchy
        )
    return out


def _claims(
    purpose: str,
    decision: ur.Decision,
    lots: Sequence[ur.Lot],
    rs: ur.RuleSet,
    ctx: ur.Context,
    scope3_category: int | None,
) -> list[ur.Claim]:
    ef = ctx.emission_factor_g_per_kwh or rs.emission_factor_g_per_kwh
    by_unit: dict[str, int] = {}
    for lot in lots:
        by_unit[lot.unit] = by_unit.get(lot.unit, 0) + lot.quantity
    category = scope3_category if decision.scope == "3" else None
    return [
        ur.Claim(purpose, decision.scope, q, ur.tonnes_of(unit, q, ef), unit, category)
        for unit, q in sorted(by_unit.items())
    ]


def refusal_message(purpose: str, decision: ur.Decision) -> str:
    r = decision.refusal
    if r is None:
        return ""
    src = f" [{r.source}]" if r.source else ""
    return f"Not allowed for {purpose}: rule {r.rule}{src}: {r.message}"


def check_retirement(
    tx: Tx,
    participant_id: str,
    pieces: Sequence[Piece],
    purposes: Sequence[str],
    year: int,
    scope: str | None,
    scope3_category: int | None,
) -> list[dict[str, Any]]:
    """Refuse (409 usage_not_allowed, naming the rule and its source) a retirement its credits
    do not qualify for; else return what each purpose counts for, with the claims to record."""
    on = local_date(tx.at)
    results = decide(tx.conn, participant_id, pieces, purposes, year, on, scope, scope3_category)
    for purpose, decision, _, _ in results:
        if not decision.allowed:
            raise Conflict("usage_not_allowed", refusal_message(purpose, decision))
    return [
        {
            "purpose": purpose,
            "scope": d.scope,
            "tonnes": d.tonnes,
            "ruleset": d.ruleset,
            "warnings": list(d.warnings),
            "claims": claims,
        }
        for purpose, d, _, claims in results
    ]


@dataclass(frozen=True, slots=True)
class PurposeUse:
    """What a retirement counts for under one of its purposes: the scope and tonnes, the rule
    set that decided it, and the warnings its rules gave."""

    purpose: str
    scope: str
    tonnes: int
    ruleset: str
    warnings: list[ur.Reason]


def record_claims(
    tx: Tx, retirement_id: str, participant_id: str, year: int, usage: Sequence[dict[str, Any]]
) -> list[PurposeUse]:
    """Store what a retirement claims, per purpose and unit (the rules read these totals);
    returns the usage without the claim objects, for the journal and the answer."""
    out = []
    for item in usage:
        for c in item["claims"]:
            repo.insert_row(
                tx.conn,
                u.usage_claims,
                retirement_id=retirement_id,
                participant_id=participant_id,
                reporting_year=year,
                use=c.use,
                scope=c.scope,
                scope3_category=c.scope3_category,
                quantity=c.quantity,
                unit=c.unit,
                tonnes=c.tonnes,
                ruleset=item["ruleset"],
                journal_seq=tx.next_seq(),
            )
        out.append(
            PurposeUse(
                item["purpose"], item["scope"], item["tonnes"], item["ruleset"], item["warnings"]
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class EvaluatedLot:
    """Credits of one issuance the evaluation took, with what the rules read of them."""

    issuance_id: str
    quantity: int
    scheme: str
    category: str
    unit: str
    ca_status: str
    vintage: int


@dataclass(frozen=True, slots=True)
class UseEvaluation:
    """May these credits be used for this purpose: the decision, its reasons, the largest
    quantity allowed, and the reporting year's position by scope."""

    allowed: bool
    quantity: int
    max_quantity: int
    tonnes: int
    scope: str
    ruleset: str
    reasons: list[ur.Reason]
    purpose: str
    reporting_year: int
    date: str
    account_id: str
    lots: list[EvaluatedLot]
    position: dict[str, inventories.ScopePosition]


def evaluate(
    db: Database,
    actor: Actor,
    account_id: str,
    selection: blocks.Selection,
    purpose: str,
    year: int | None = None,
    scope: str | None = None,
    scope3_category: int | None = None,
    on: dt.date | None = None,
) -> UseEvaluation:
    """Would these credits of the account qualify for the use? Nothing changes."""
    on = on or local_date(db.clock())
    with db.read() as conn:
        acct = own_account(conn, actor, account_id, write=False)
        if repo.get_term(conn, "purpose", purpose) is None:
            raise InvalidInput("unknown_purpose", f"{purpose!r} is not a known retirement purpose.")
        pieces = blocks.plan(conn, account_id, selection)
        year = year or default_year([purpose], on)
        [(_, d, lots, _)] = decide(
            conn, acct.participant_id, pieces, [purpose], year, on, scope, scope3_category
        )
        position = inventories.position(conn, acct.participant_id, year)
    return UseEvaluation(
        allowed=d.allowed,
        quantity=d.quantity,
        max_quantity=d.max_quantity,
        tonnes=d.tonnes,
        scope=d.scope,
        ruleset=d.ruleset,
        reasons=list(d.reasons),
        purpose=purpose,
        reporting_year=year,
        date=on.isoformat(),
        account_id=account_id,
        lots=[
            EvaluatedLot(
                lot.issuance,
                lot.quantity,
                lot.scheme,
                lot.category,
                lot.unit,
                lot.ca_status,
                lot.vintage,
            )
            for lot in lots
        ],
        position=position.scopes,
    )
