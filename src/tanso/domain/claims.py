"""Claims: which statements a participant's figures support for a year, and why not.

Pure: the caller passes the year's figures by scope (emissions, own reductions) and what its
retirements back, each already judged by the usage rules (``domain.usage_rules.evaluate``):
this module never decides which credit counts for which scope, it only adds up what the rules
admitted and states the claims that follow (METI 論点④: an offset is told with which credits,
of what kind, and must not mislead).

A verdict names a claim (``code``), whether it may be made, the reason when not (a code, with
figures in ``params`` for the wording), and the figures behind it.

Three kinds of claim are kept apart, as SBTi's Net-Zero Standard and VCMI's Claims Code keep
them: **offsets** against the scopes of one's own inventory (bounded by the residual emissions),
**neutralisation** with durable removals (not bounded: retiring more than one emitted is what a
carbon-negative year is), and **contributions** to mitigation elsewhere (``contribution``,
``bvcm``), reported beside the others and never counted in any of them. A year is carbon
negative only where durable removals retired for neutralisation exceed its total emissions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tanso.domain.removals import DURABLE_YEARS

SCOPES = ("1", "2", "3")
OFFSET_PURPOSES = {"offset_scope1": "1", "offset_scope2": "2", "offset_scope3": "3"}
STATEMENT_PURPOSES = ("shk_reporting", "gx_ets_surrender", "re100", "cdp_sbt")
PRODUCT_PURPOSES = ("offset_product", "offset_event", "product_claim_eu")
NEUTRALISATION_PURPOSES = ("neutralisation",)
CONTRIBUTION_PURPOSES = ("contribution", "bvcm")
PERMANENCE_BANDS = ("unstated", "under_100", "100_to_999", "1000_plus")
"""Durability of removals: no removal profile, under 100 years, 100 to 999, 1,000 and more."""


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """One scope of the year: t-CO2e emitted (None: no inventory) and reduced by itself."""

    scope: str
    emissions: int | None
    own_reductions: int = 0

    @property
    def residual(self) -> int | None:
        """残余排出量: what remains after the company's own reductions (never below 0)."""
        if self.emissions is None:
            return None
        return max(0, self.emissions - self.own_reductions)


@dataclass(frozen=True, slots=True)
class Backing:
    """Credits a retirement claims for a purpose (and the scope it counts against), as the
    usage rules judged them: ``eligible`` False names the rules that refuse them."""

    retirement: str
    purpose: str
    scope: str
    quantity: int
    tonnes: int
    unit: str = "tCO2"
    eligible: bool = True
    refused_by: tuple[str, ...] = ()
    voluntary_without_ca: bool = False
    beneficiary: str = ""
    durable_removals: int = 0
    """Of ``tonnes``, those of removal credits stated to last ``DURABLE_YEARS`` or more."""


@dataclass(frozen=True, slots=True)
class Verdict:
    code: str
    allowed: bool
    reason: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "allowed": self.allowed,
            "reason": self.reason,
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True)
class ScopeLine:
    """A scope's line of the report: emissions, own reductions, residual, covered by credits
    the rules admit for that scope, and what remains uncovered."""

    scope: str
    emissions: int | None
    own_reductions: int
    residual: int | None
    covered: int
    not_admitted: int
    remaining: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "emissions": self.emissions,
            "own_reductions": self.own_reductions,
            "residual": self.residual,
            "covered": self.covered,
            "not_admitted": self.not_admitted,
            "remaining": self.remaining,
        }


def scope_lines(
    figures: Mapping[str, ScopeFigures], backings: Sequence[Backing]
) -> dict[str, ScopeLine]:
    """Each scope's residual and how much of it admitted offsets cover (scope "1+2" claims count
    toward Scope 1 first, then Scope 2)."""
    covered = dict.fromkeys(SCOPES, 0)
    not_admitted = dict.fromkeys(SCOPES, 0)
    for b in backings:
        if b.purpose not in OFFSET_PURPOSES or b.scope not in SCOPES:
            continue
        if b.eligible:
            covered[b.scope] += b.tonnes
        else:
            not_admitted[b.scope] += b.tonnes
    out = {}
    for s in SCOPES:
        f = figures.get(s, ScopeFigures(s, None))
        residual = f.residual
        out[s] = ScopeLine(
            s,
            f.emissions,
            f.own_reductions,
            residual,
            covered[s],
            not_admitted[s],
            None if residual is None else max(0, residual - covered[s]),
        )
    return out


def _offset_claim(scope: str, line: ScopeLine, backs: Sequence[Backing]) -> Verdict:
    tonnes = sum(b.tonnes for b in backs)
    params: dict[str, Any] = {
        "scope": scope,
        "tonnes": tonnes,
        "residual": line.residual,
        "retirements": sorted({b.retirement for b in backs}),
    }
    refused = [b for b in backs if not b.eligible]
    if refused:
        rules = sorted({r for b in refused for r in b.refused_by})
        params |= {"refused": sum(b.tonnes for b in refused), "rules": rules}
        if any(b.voluntary_without_ca for b in refused) and scope in ("1", "2"):
            # METI 論点③: voluntary credits without a corresponding adjustment offset Scope 3 only
            return Verdict(f"offset_scope{scope}", False, "voluntary_without_ca", params)
        return Verdict(f"offset_scope{scope}", False, "not_eligible", params)
    if line.residual is None:
        return Verdict(f"offset_scope{scope}", False, "no_inventory", params)
    if tonnes > line.residual:
        # the hierarchy approach: credits cover what remains after own reductions, no more
        return Verdict(f"offset_scope{scope}", False, "exceeds_residual", params)
    share = tonnes * 100 // line.residual if line.residual else 100
    return Verdict(f"offset_scope{scope}", True, "", params | {"percent": share})


def _neutral(code: str, scopes: Sequence[str], lines: Mapping[str, ScopeLine]) -> Verdict:
    params: dict[str, Any] = {"scopes": list(scopes)}
    missing = [s for s in scopes if lines[s].residual is None]
    if missing:
        return Verdict(code, False, "no_inventory", params | {"missing": missing})
    refused = [s for s in scopes if lines[s].not_admitted]
    if refused:
        tonnes = sum(lines[s].not_admitted for s in refused)
        return Verdict(code, False, "not_eligible", params | {"refused": tonnes, "in": refused})
    remaining = {s: lines[s].remaining for s in scopes if lines[s].remaining}
    if remaining:
        return Verdict(
            code,
            False,
            "residual_not_covered",
            params | {"remaining": sum(v or 0 for v in remaining.values()), "in": list(remaining)},
        )
    residual = sum(lines[s].residual or 0 for s in scopes)
    return Verdict(code, True, "", params | {"residual": residual})


@dataclass(frozen=True, slots=True)
class RetiredCredits:
    """Credits retired for the year, as the removal share counts them: quantity, unit, whether
    they are removals (credit type RM) and their stated permanence (0: no removal profile)."""

    quantity: int
    unit: str = "tCO2"
    removal: bool = False
    permanence_years: int = 0


def band(permanence_years: int) -> str:
    """The durability band of a removal's stated permanence."""
    if permanence_years <= 0:
        return "unstated"
    if permanence_years < DURABLE_YEARS:
        return "under_100"
    if permanence_years < 1_000:
        return "100_to_999"
    return "1000_plus"


@dataclass(frozen=True, slots=True)
class RemovalShare:
    """Removals among the carbon credits (t-CO2) retired for the year, and their durability
    (Oxford Offsetting Principles: a shift to removals, and to durable storage, over time)."""

    credits: int
    removals: int
    percent: int
    by_band: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "credits": self.credits,
            "removals": self.removals,
            "percent": self.percent,
            "by_band": dict(self.by_band),
        }


def removal_share(retired: Sequence[RetiredCredits]) -> RemovalShare:
    """The share of removals (rounded down to a whole percent) among retired t-CO2 credits
    (kWh certificates are neither) and the removals' tonnes by durability band."""
    credits = [r for r in retired if r.unit == "tCO2"]
    total = sum(r.quantity for r in credits)
    by_band = dict.fromkeys(PERMANENCE_BANDS, 0)
    for r in credits:
        if r.removal:
            by_band[band(r.permanence_years)] += r.quantity
    removals = sum(by_band.values())
    return RemovalShare(total, removals, removals * 100 // total if total else 0, by_band)


def _summary(backs: Sequence[Backing]) -> dict[str, Any]:
    return {
        "quantity": sum(b.quantity for b in backs),
        "tonnes": sum(b.tonnes for b in backs),
        "unit": backs[0].unit if backs else "tCO2",
        "retirements": sorted({b.retirement for b in backs}),
        "beneficiaries": sorted({b.beneficiary for b in backs if b.beneficiary}),
    }


def _refused(purpose: str, backs: Sequence[Backing], params: dict[str, Any]) -> Verdict:
    refused = [b for b in backs if not b.eligible]
    rules = sorted({r for b in refused for r in b.refused_by})
    return Verdict(
        purpose,
        False,
        "not_eligible",
        params | {"refused": sum(b.tonnes for b in refused), "rules": rules},
    )


def neutralised(backings: Sequence[Backing]) -> int:
    """Tonnes of durable removals retired for neutralisation with credits the rules admit."""
    return sum(
        b.durable_removals for b in backings if b.purpose in NEUTRALISATION_PURPOSES and b.eligible
    )


def contributed(backings: Sequence[Backing]) -> int:
    """Tonnes retired as contributions (each retirement once, whichever of them it names)."""
    seen: dict[str, int] = {}
    for b in backings:
        if b.purpose in CONTRIBUTION_PURPOSES and b.eligible:
            seen[b.retirement] = max(seen.get(b.retirement, 0), b.tonnes)
    return sum(seen.values())


def _neutralisation(backs: Sequence[Backing]) -> Verdict:
    """Neutralisation (SBTi): durable removals retired to balance residual emissions; the
    residual does not bound it (more than the emissions is a carbon-negative year)."""
    params = _summary(backs) | {"durable": sum(b.durable_removals for b in backs)}
    if any(not b.eligible for b in backs):
        return _refused("neutralisation", backs, params)
    return Verdict("neutralisation", True, "", params)


def _carbon_negative(figures: Mapping[str, ScopeFigures], backings: Sequence[Backing]) -> Verdict:
    """Carbon negative: durable removals retired for neutralisation exceed the year's total
    emissions (Scope 1, 2 and 3 as recorded, before own reductions); offsets and contributions
    never count toward it."""
    durable = neutralised(backings)
    params: dict[str, Any] = {
        "durable": durable,
        "contributed": contributed(backings),
        "retirements": sorted(
            {
                b.retirement
                for b in backings
                if b.purpose in NEUTRALISATION_PURPOSES and b.eligible and b.durable_removals
            }
        ),
    }
    emitted = [figures.get(s, ScopeFigures(s, None)).emissions for s in SCOPES]
    if any(e is None for e in emitted):
        return Verdict("carbon_negative", False, "negative_no_inventory", params)
    total = sum(e or 0 for e in emitted)
    params["emissions"] = total
    if durable <= total:
        return Verdict(
            "carbon_negative",
            False,
            "removals_not_above_emissions",
            params | {"missing": total - durable + 1},
        )
    return Verdict("carbon_negative", True, "", params | {"excess": durable - total})


def assess(
    figures: Mapping[str, ScopeFigures], backings: Sequence[Backing]
) -> tuple[dict[str, ScopeLine], list[Verdict]]:
    """The scope lines and every claim the data supports or refuses, in a fixed order: offsets,
    carbon neutrality, neutralisation and carbon negativity, contributions, net zero, the
    statements of regulatory and product purposes."""
    lines = scope_lines(figures, backings)
    verdicts: list[Verdict] = []
    for purpose, scope in OFFSET_PURPOSES.items():
        backs = [b for b in backings if b.purpose == purpose]
        if backs:
            verdicts.append(_offset_claim(scope, lines[scope], backs))
    verdicts.append(_neutral("carbon_neutral_scope12", ("1", "2"), lines))
    verdicts.append(_neutral("carbon_neutral", SCOPES, lines))
    backs = [b for b in backings if b.purpose in NEUTRALISATION_PURPOSES]
    if backs:
        verdicts.append(_neutralisation(backs))
    verdicts.append(_carbon_negative(figures, backings))
    for purpose in CONTRIBUTION_PURPOSES:
        backs = [b for b in backings if b.purpose == purpose]
        if not backs:
            continue
        # a contribution is told beside the inventory, never against it (VCMI, SBTi BVCM)
        summary = _summary(backs)
        if any(not b.eligible for b in backs):
            verdicts.append(_refused(purpose, backs, summary))
        else:
            verdicts.append(Verdict(purpose, True, "", summary))
    # net zero needs deep cuts of the company's own emissions (SBTi Net-Zero Standard):
    # credits neutralise only what remains, so retirements alone never support it
    verdicts.append(Verdict("net_zero", False, "net_zero_needs_reductions", {}))
    for purpose in (*STATEMENT_PURPOSES, *PRODUCT_PURPOSES):
        backs = [b for b in backings if b.purpose == purpose]
        if not backs:
            continue
        params: dict[str, Any] = {
            "quantity": sum(b.quantity for b in backs),
            "tonnes": sum(b.tonnes for b in backs),
            "unit": backs[0].unit,
            "retirements": sorted({b.retirement for b in backs}),
            "beneficiaries": sorted({b.beneficiary for b in backs if b.beneficiary}),
        }
        refused = [b for b in backs if not b.eligible]
        if refused:
            rules = sorted({r for b in refused for r in b.refused_by})
            verdicts.append(Verdict(purpose, False, "not_eligible", params | {"rules": rules}))
            continue
        if purpose == "shk_reporting":
            emitted = [figures[s].emissions for s in ("1", "2") if s in figures]
            if len(emitted) < 2 or any(e is None for e in emitted):
                verdicts.append(Verdict(purpose, False, "no_inventory", params))
                continue
            total = sum(e or 0 for e in emitted)
            params |= {"emissions": total, "adjusted": max(0, total - params["tonnes"])}
        verdicts.append(Verdict(purpose, True, "", params))
    return lines, verdicts
