"""The claim report: for a participant and a year, what it emitted, reduced itself and
retired, and which claims those figures support (HTML in the portal, PDF, CSV, JSON).

Offsets (by scope), neutralisation with durable removals, and contributions (``contribution``,
``bvcm``) are kept apart: contributions are reported beside and counted in no total; the share
of removals among the year's retired credits and their durability (the removal profiles of
their projects) are shown; a carbon-negative year is weighed by ``domain.claims``.

Figures come from the emissions inventory (``services.inventories``), the year's retirements
and their certificates (``services.certificates``), and what each retirement claimed
(``usage_claims``). Which credits count for which purpose and scope is decided by the usage
rules engine (``domain.usage_rules.evaluate`` under the rule set in force on the retirement's
date), never here; ``domain.claims`` turns those verdicts into claims and reasons.

A claim comes out as codes and figures (``Claim.code``, ``reason``, ``params``), never as text:
its wording in English and Japanese, like every label of the report, is the web layer's
(``tanso.web.documents.claims``, from the ``claims`` group of the gettext catalogs).

A participant reads its own report; the operator reads any; another participant's report
answers exactly like a missing one. This module never writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from tanso.domain import usage_rules as ur
from tanso.domain.claims import (
    CONTRIBUTION_PURPOSES,
    NEUTRALISATION_PURPOSES,
    Backing,
    RetiredCredits,
    ScopeFigures,
    ScopeLine,
    assess,
    contributed,
    neutralised,
    removal_share,
)
from tanso.domain.errors import InvalidInput, NotFound
from tanso.domain.removals import DURABLE_YEARS
from tanso.services.common import Actor, omitted
from tanso.services.compliance import certificates, inventories, usage
from tanso.services.compliance.certificates import Term
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_usage as u
from tanso.store.db import Database

ELIGIBILITY_KINDS = ("eligible", "deny")
USE_RULES = ("USE-KNOWN", "USE-SCOPE")


# ---------------------------------------------------------------- the rules engine


def _ruleset(conn: Connection, on: dt.date) -> ur.RuleSet | None:
    """The rule set in force on a date (shipped or the operator's), as the usage service says."""
    return usage.ruleset_in_force(conn, on)


def _lot(
    r: certificates.CertifiedRange,
    domestic: dict[str, bool],
    profiles: dict[str, tuple[str, int]],
) -> ur.Lot:
    pathway, permanence = profiles.get(r.project_id, ("", 0))
    return ur.Lot(
        issuance=r.issuance_id,
        quantity=r.quantity,
        scheme=r.scheme.code,
        category=r.category.code,
        unit=r.unit,
        domestic=domestic.get(r.scheme.code, False),
        properties=tuple(p.code for p in r.properties),
        ca_status=r.ca_status,
        vintage=r.vintage or 0,
        credit_type=r.credit_type.code,
        permanence_years=permanence,
        pathway=pathway,
    )


def _voluntary_without_ca(lot: ur.Lot) -> bool:
    """A voluntary credit (contribution to the world) without a completed adjustment."""
    return (
        not lot.domestic
        and lot.ca_status != "completed"
        and "domestic_additional" not in lot.properties
    )


def judge(
    rs: ur.RuleSet | None, lots: list[ur.Lot], purpose: str, scope: str | None, year: int, on: Any
) -> tuple[bool, tuple[str, ...]]:
    """Whether the rules admit these credits for this purpose and scope at all (eligibility and
    deny rules; caps are the retirement's business): (admitted, the rule ids that refuse)."""
    if rs is None:
        return False, ("NO-RULESET",)
    kinds = {r.id: r.kind for r in rs.rules}
    use = ur.Use(purpose, year, on, scope if scope in ("1", "2", "3") else None)
    decision = ur.evaluate(rs, lots, use, ur.Context())
    refused = tuple(
        sorted(
            {
                r.rule
                for r in decision.reasons
                if not r.ok
                and r.severity == "refuse"
                and (kinds.get(r.rule) in ELIGIBILITY_KINDS or r.rule in USE_RULES)
            }
        )
    )
    return not refused, refused


# ---------------------------------------------------------------- building the report


def _may_read(conn: Connection, actor: Actor, participant_id: str) -> Any:
    participant = repo.get_participant(conn, participant_id)
    if participant is None or not (actor.is_operator() or actor.participant_id == participant_id):
        # someone else's report answers exactly like a missing one
        raise NotFound(
            "claim_report_not_found", f"There is no claim report of {participant_id[:40]}."
        )
    return participant


def _check_year(year: int) -> None:
    if not 1990 <= year <= 2100:
        raise InvalidInput("invalid_year", "year is a year between 1990 and 2100.")


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name_en: str
    name_ja: str


@dataclass(frozen=True, slots=True)
class Tally:
    """Credits retired of one kind (a scheme, a category, a property, a vintage, a
    corresponding-adjustment status, a unit, an evaluation axis)."""

    code: str
    quantity: int
    name_en: str | None = omitted()
    name_ja: str | None = omitted()
    unit: str | None = omitted()


@dataclass(frozen=True, slots=True)
class Totals:
    emissions: int | None
    own_reductions: int
    residual: int | None
    covered: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Retired:
    total: int
    count: int
    by_scheme: list[Tally]
    by_category: list[Tally]
    by_property: list[Tally]
    by_vintage: list[Tally]
    by_ca_status: list[Tally]
    by_unit: list[Tally]


@dataclass(frozen=True, slots=True)
class ClaimedUse:
    purpose: str
    scope: str
    quantity: int
    tonnes: int


@dataclass(frozen=True, slots=True)
class ClaimedCredits:
    code: str
    scheme: Term
    category: Term
    quantity: int


@dataclass(frozen=True, slots=True)
class ClaimedRetirement:
    id: str
    certificate_id: str
    verify_path: str
    retired_at: str
    quantity: int
    purposes: list[Term]
    beneficiary: str
    uses: list[ClaimedUse]
    schemes: list[str]
    credits: list[ClaimedCredits]


@dataclass(frozen=True, slots=True)
class VoluntaryCredits:
    project_id: str
    project_name: str
    project_name_ja: str
    scheme: Term
    ca_status: str
    evaluation_axes: list[Term]
    quantity: int


@dataclass(frozen=True, slots=True)
class Removals:
    """Removals among the carbon credits (t-CO2) retired for the year, with their tonnes by
    durability band (``unstated``: no removal profile, ``under_100``, ``100_to_999``,
    ``1000_plus`` years of stated permanence)."""

    credits: int
    removals: int
    percent: int
    by_band: list[Tally]


@dataclass(frozen=True, slots=True)
class Neutralisation:
    """Retirements for neutralisation: the tonnes retired, those of durable removals the rules
    admit (what a carbon-negative year counts), and the year's total emissions (None: no
    inventory)."""

    tonnes: int
    durable: int
    emissions: int | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim the report weighs, as codes and figures: the claim, whether the data supports it,
    the reason code when it does not, and the figures its wording needs (``params``)."""

    code: str
    allowed: bool
    reason: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimReport:
    participant: Party
    reporting_year: int
    rulesets: list[str]
    inventory: inventories.InventoryView | None
    scopes: list[ScopeLine]
    totals: Totals
    retired: Retired
    retirements: list[ClaimedRetirement]
    voluntary: list[VoluntaryCredits]
    evaluation_axes: list[Tally]
    claims: list[Claim]
    neutralisation: Neutralisation
    contributions: list[Tally]
    """Tonnes retired as contributions, by purpose: beside the inventory, counted in nothing."""
    contributed: int
    removals: Removals


_Bucket = dict[str, list[Any]]


def _add(bucket: _Bucket, key: str, item: Any, quantity: int) -> None:
    """Count ``quantity`` toward ``key``; ``item`` (with quantity 0) describes it."""
    bucket.setdefault(key, [item, 0])[1] += quantity


def _items(bucket: _Bucket) -> list[Any]:
    return [replace(item, quantity=q) for item, q in bucket.values()]


def _tally(term: Term, unit: str | None = None) -> Tally:
    return Tally(term.code, 0, term.name_en, term.name_ja, unit)


def report(db: Database, actor: Actor, participant_id: str, year: int) -> ClaimReport:
    """The offset claim report of a participant for a year."""
    _check_year(year)
    with db.read() as conn:
        participant = _may_read(conn, actor, participant_id)
        return build(conn, participant, year)


def build(conn: Connection, participant: Any, year: int) -> ClaimReport:
    """The report, read inside an open connection (the caller checked who may read it)."""
    pid = participant.id
    inv = inventories.inventory(conn, pid, year)
    schemes = {r.code: bool(r.domestic) for r in repo.list_table(conn, t.schemes, t.schemes.c.code)}
    rows = repo.list_table(
        conn, t.retirements, t.retirements.c.journal_seq, participant_id=pid, reporting_year=year
    )
    claimed: dict[str, list[Any]] = defaultdict(list)
    for c in repo.list_table(
        conn, u.usage_claims, u.usage_claims.c.id, participant_id=pid, reporting_year=year
    ):
        claimed[c.retirement_id].append(c)

    by: dict[str, _Bucket] = {
        k: {} for k in ("scheme", "category", "property", "vintage", "ca", "unit")
    }
    voluntary: _Bucket = {}
    retirements: list[ClaimedRetirement] = []
    backings: list[Backing] = []
    rulesets: set[str] = set()
    retired_credits: list[RetiredCredits] = []
    names = certificates.reference_names(conn)
    no_property = Term("", "-", "-")
    for row in rows:
        cert = certificates.certificate_in(conn, row.id, names)
        on = usage.local_date(row.created_at)
        rs = _ruleset(conn, on)
        if rs is not None:
            rulesets.add(rs.label)
        profiles = usage.removal_profiles(conn, (r.project_id for r in cert.ranges))
        lots = [_lot(r, schemes, profiles) for r in cert.ranges]
        ef = rs.emission_factor_g_per_kwh if rs else None
        durable = sum(
            lot.quantity
            for lot in lots
            if lot.unit == "tCO2"
            and lot.credit_type == "RM"
            and lot.permanence_years >= DURABLE_YEARS
        )
        for r, lot in zip(cert.ranges, lots, strict=True):
            q = r.quantity
            retired_credits.append(
                RetiredCredits(q, lot.unit, lot.credit_type == "RM", lot.permanence_years)
            )
            _add(by["scheme"], r.scheme.code, _tally(r.scheme, r.unit), q)
            _add(by["category"], r.category.code, _tally(r.category), q)
            for p in r.properties or [no_property]:
                _add(by["property"], p.code, _tally(p), q)
            _add(by["vintage"], str(r.vintage), Tally(str(r.vintage), 0), q)
            ca = "not_required" if r.ca_declaration == "not_required" else r.ca_status
            _add(by["ca"], ca, Tally(ca, 0), q)
            _add(by["unit"], r.unit, Tally(r.unit, 0), q)
            if not lot.domestic:
                key = r.project_id
                _add(
                    voluntary,
                    key,
                    VoluntaryCredits(
                        key,
                        r.project_name,
                        r.project_name_ja,
                        r.scheme,
                        ca,
                        list(r.evaluation_axes),
                        0,
                    ),
                    q,
                )
        uses = _uses(row, claimed.get(row.id, []), rs, lots, ef)
        for purpose, scope, quantity, tonnes in uses:
            ok, refused_by = judge(rs, lots, purpose, scope, year, on)
            backings.append(
                Backing(
                    row.id,
                    purpose,
                    scope,
                    quantity,
                    tonnes,
                    lots[0].unit if lots else "tCO2",
                    ok,
                    refused_by,
                    any(_voluntary_without_ca(lot) for lot in lots),
                    row.beneficiary,
                    min(tonnes, durable),
                )
            )
        retirements.append(
            ClaimedRetirement(
                id=row.id,
                certificate_id=cert.certificate_id,
                verify_path=cert.verify_path,
                retired_at=row.created_at,
                quantity=row.quantity,
                purposes=list(cert.purposes),
                beneficiary=row.beneficiary,
                uses=[ClaimedUse(p, s, q, tn) for p, s, q, tn in uses],
                schemes=sorted({r.scheme.code for r in cert.ranges}),
                credits=_kinds(cert.ranges),
            )
        )
    figures = {
        "1": ScopeFigures("1", inv.scope1 if inv else None, inv.reduction_scope1 if inv else 0),
        "2": ScopeFigures(
            "2", inv.scope2_location if inv else None, inv.reduction_scope2 if inv else 0
        ),
        "3": ScopeFigures("3", inv.scope3 if inv else None, inv.reduction_scope3 if inv else 0),
    }
    lines, verdicts = assess(figures, backings)
    totals = Totals(
        emissions=sum(f.emissions or 0 for f in figures.values()) if inv else None,
        own_reductions=sum(f.own_reductions for f in figures.values()),
        residual=sum(f.residual or 0 for f in figures.values()) if inv else None,
        covered=sum(x.covered for x in lines.values()),
        remaining=sum(x.remaining or 0 for x in lines.values()) if inv else None,
    )
    volunteered: list[VoluntaryCredits] = sorted(_items(voluntary), key=lambda x: x.project_id)
    axes: _Bucket = {}
    for v in volunteered:
        for a in v.evaluation_axes:
            _add(axes, a.code, _tally(a), v.quantity)
    share = removal_share(retired_credits)
    beside: _Bucket = {}
    for b in backings:
        if b.purpose in CONTRIBUTION_PURPOSES:
            term = names.get("purpose", {}).get(b.purpose, {})
            item = Tally(b.purpose, 0, term.get("name_en", b.purpose), term.get("name_ja"))
            _add(beside, b.purpose, item, b.tonnes)
    return ClaimReport(
        participant=Party(participant.id, participant.name_en, participant.name_ja),
        reporting_year=year,
        rulesets=sorted(rulesets),
        inventory=inv,
        scopes=[lines[s] for s in ("1", "2", "3")],
        totals=totals,
        retired=Retired(
            total=sum(r.quantity for r in retirements),
            count=len(retirements),
            by_scheme=_sorted(by["scheme"]),
            by_category=_sorted(by["category"]),
            by_property=_sorted(by["property"]),
            by_vintage=sorted(_items(by["vintage"]), key=lambda x: x.code),
            by_ca_status=_sorted(by["ca"]),
            by_unit=_sorted(by["unit"]),
        ),
        retirements=retirements,
        voluntary=volunteered,
        evaluation_axes=_sorted(axes),
        claims=[Claim(v.code, v.allowed, v.reason, dict(v.params)) for v in verdicts],
        neutralisation=Neutralisation(
            tonnes=sum(b.tonnes for b in backings if b.purpose in NEUTRALISATION_PURPOSES),
            durable=neutralised(backings),
            emissions=totals.emissions,
        ),
        contributions=_items(beside),
        contributed=contributed(backings),
        removals=Removals(
            share.credits,
            share.removals,
            share.percent,
            [Tally(code, q) for code, q in share.by_band.items()],
        ),
    )


def _kinds(ranges: list[certificates.CertifiedRange]) -> list[ClaimedCredits]:
    """A retirement's credits by scheme and category, for the wording of its claims."""
    out: _Bucket = {}
    for r in ranges:
        key = f"{r.scheme.code}/{r.category.code}"
        _add(out, key, ClaimedCredits(key, r.scheme, r.category, 0), r.quantity)
    return _sorted(out)


def _sorted(bucket: _Bucket) -> list[Any]:
    return sorted(_items(bucket), key=lambda x: (-x.quantity, x.code))


def _uses(
    row: Any, claims: Iterable[Any], rs: ur.RuleSet | None, lots: list[ur.Lot], ef: int | None
) -> list[tuple[str, str, int, int]]:
    """What a retirement claims: (purpose, scope, quantity, tonnes), as recorded when it was
    retired; a retirement made before usage claims were recorded counts for its first purpose
    against the scope the rule set gives that purpose."""
    recorded = [(c.use, c.scope, int(c.quantity), int(c.tonnes)) for c in claims]
    if recorded:
        return recorded
    purpose = row.purposes.split(",")[0]
    spec = rs.uses.get(purpose) if rs else None
    unit = lots[0].unit if lots else "tCO2"
    return [
        (
            purpose,
            spec.scope if spec else "",
            int(row.quantity),
            ur.tonnes_of(unit, int(row.quantity), ef),
        )
    ]
