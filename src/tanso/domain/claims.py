"""Offset claims: which statements a participant's figures support for a year, and why not.

Pure: the caller passes the year's figures by scope (emissions, own reductions) and what its
retirements back, each already judged by the usage rules (``domain.usage_rules.evaluate``):
this module never decides which credit counts for which scope, it only adds up what the rules
admitted and states the claims that follow (METI 論点④: an offset is told with which credits,
of what kind, and must not mislead).

A verdict names a claim (``code``), whether it may be made, the reason when not (a code, with
figures in ``params`` for the wording), and the figures behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCOPES = ("1", "2", "3")
OFFSET_PURPOSES = {"offset_scope1": "1", "offset_scope2": "2", "offset_scope3": "3"}
STATEMENT_PURPOSES = ("shk_reporting", "gx_ets_surrender", "re100", "cdp_sbt")
PRODUCT_PURPOSES = ("offset_product", "offset_event")


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


def assess(
    figures: Mapping[str, ScopeFigures], backings: Sequence[Backing]
) -> tuple[dict[str, ScopeLine], list[Verdict]]:
    """The scope lines and every claim the data supports or refuses, in a fixed order."""
    lines = scope_lines(figures, backings)
    verdicts: list[Verdict] = []
    for purpose, scope in OFFSET_PURPOSES.items():
        backs = [b for b in backings if b.purpose == purpose]
        if backs:
            verdicts.append(_offset_claim(scope, lines[scope], backs))
    verdicts.append(_neutral("carbon_neutral_scope12", ("1", "2"), lines))
    verdicts.append(_neutral("carbon_neutral", SCOPES, lines))
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
