"""Usage rules: what a credit may be used for, why, and up to what quantity.

A rule set is data (a versioned JSON document with an effective date and the sources of its
rules, shipped in ``tanso/data/rules`` and replaceable by the operator). ``evaluate`` answers
for some credits (the lots a selection would take) and an intended use: allowed or not, the
reasons (each naming the rule and its source), and the largest quantity of those credits the
rules admit. Pure: no I/O, no clock; the caller passes the inventory figures, the quantities
already claimed and the date.

Kinds of rule (``kind`` in the data):

- ``eligible``: every lot must match at least one of ``allow_any`` (filters on scheme,
  category, unit, domestic, corresponding-adjustment status, properties, vintage, credit type,
  removal pathway and stated permanence).
- ``deny``: no lot may match ``match``.
- ``share_cap``: the tonnes claimed for ``counts_uses`` in the year, with these, stay within
  ``percent`` % of the inventory figures named in ``basis`` (GX-ETS: 10 % of emissions).
- ``residual``: the hierarchy approach: claims against a scope stay within its emissions minus
  own reductions minus what was already claimed (refuse or only warn: ``hierarchy``).
- ``energy_cap``: energy attribute certificates (kWh) never cover more than the energy bought
  nor, converted with the emission factor, more than the emissions of that energy.
- ``reporting_window``: a claim for a fiscal year must be retired by a day of the next year
  (温対法: by the end of June); later ones are flagged.

Any rule may name ``from_date``: it applies only to uses on or after that day (a law that
applies from a date, such as Directive (EU) 2024/825 from 27 September 2026).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCOPES = ("1", "2", "3", "1+2")
UNITS = ("tCO2", "kWh")
RULE_KINDS = ("eligible", "deny", "share_cap", "residual", "energy_cap", "reporting_window")
SEVERITIES = ("refuse", "warn", "hierarchy")
HIERARCHY_MODES = ("refuse", "warn")
BASIS_FIGURES = (
    "scope1",
    "scope2_location",
    "scope2_market",
    "scope3",
)
FILTER_KEYS = (
    "schemes",
    "categories",
    "units",
    "domestic",
    "ca_status",
    "properties",
    "vintage_before",
    "credit_types",
    "pathways",
    "min_permanence_years",
)
GRAMS_PER_TONNE = 1_000_000


class RuleSetError(ValueError):
    """A rule set document that cannot be used; the message says where."""


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Lot:
    """Some credits of one issuance, with every attribute a rule may look at."""

    issuance: str
    quantity: int
    scheme: str
    category: str
    unit: str = "tCO2"
    domestic: bool = False
    properties: tuple[str, ...] = ()
    ca_status: str = "not_started"
    vintage: int = 0
    credit_type: str = ""
    """The issuance's credit type (``RM``: removal; others: reductions and avoidance)."""
    permanence_years: int = 0
    """The stated permanence of the project's removal profile (0: no profile)."""
    pathway: str = ""
    """The removal pathway of the project's profile (DACCS, biochar, ...; "" without one)."""


@dataclass(frozen=True, slots=True)
class Use:
    """An intended use: a purpose (the taxonomy's code), the year claimed, the date of use, and
    for purposes that need it the scope (and Scope 3 category) it counts against."""

    purpose: str
    year: int
    date: dt.date
    scope: str | None = None
    scope3_category: int | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """A year's inventory (t-CO2e; purchased energy in kWh)."""

    scope1: int = 0
    scope2_location: int = 0
    scope2_market: int = 0
    scope3: int = 0
    scope3_categories: Mapping[int, int] = field(default_factory=dict)
    reduction_scope1: int = 0
    reduction_scope2: int = 0
    reduction_scope3: int = 0
    purchased_electricity_kwh: int = 0
    purchased_heat_kwh: int = 0
    verified: bool = False
    """Whether a verification body confirmed the figures (GX-ETS counts only verified ones)."""

    def basis(self, names: Iterable[str]) -> int:
        return sum(int(getattr(self, n)) for n in names)

    def net(self, scope: str) -> int:
        """Emissions of a scope after own reductions (Scope 2: location-based)."""
        parts = scope.split("+")
        total = 0
        for s in parts:
            emitted = {"1": self.scope1, "2": self.scope2_location, "3": self.scope3}[s]
            total += emitted - int(getattr(self, f"reduction_scope{s}"))
        return total


@dataclass(frozen=True, slots=True)
class Claim:
    """What earlier retirements of the participant claimed for the year."""

    use: str
    scope: str
    quantity: int
    tonnes: int
    unit: str = "tCO2"
    scope3_category: int | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What the rules need besides the credits: the year's inventory (None: not recorded), the
    claims already made for that year, and the operator's settings."""

    figures: Figures | None = None
    claims: tuple[Claim, ...] = ()
    emission_factor_g_per_kwh: int | None = None
    hierarchy: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's verdict: ``ok`` False with severity ``refuse`` refuses the use."""

    rule: str
    source: str
    ok: bool
    severity: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "source": self.source,
            "ok": self.ok,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: allowed or not, why, up to what quantity of these credits, and what a
    retirement of them counts against (scope, tonnes)."""

    allowed: bool
    reasons: tuple[Reason, ...]
    max_quantity: int
    quantity: int
    tonnes: int
    scope: str
    ruleset: str

    @property
    def refusal(self) -> Reason | None:
        return next((r for r in self.reasons if not r.ok and r.severity == "refuse"), None)

    @property
    def warnings(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.ok and r.severity == "warn")

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "quantity": self.quantity,
            "max_quantity": self.max_quantity,
            "tonnes": self.tonnes,
            "scope": self.scope,
            "ruleset": self.ruleset,
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Filter:
    schemes: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    units: frozenset[str] | None = None
    domestic: bool | None = None
    ca_status: frozenset[str] | None = None
    properties: frozenset[str] | None = None
    vintage_before: int | None = None
    """Only credits of a vintage before this year (e.g. JCM credits from before 2020)."""
    credit_types: frozenset[str] | None = None
    pathways: frozenset[str] | None = None
    min_permanence_years: int | None = None
    """Only removals stated to keep the carbon at least this many years (SBTi neutralisation)."""

    def admits(self, lot: Lot) -> bool:
        return (
            (self.vintage_before is None or lot.vintage < self.vintage_before)
            and (self.credit_types is None or lot.credit_type in self.credit_types)
            and (self.pathways is None or lot.pathway in self.pathways)
            and (
                self.min_permanence_years is None
                or lot.permanence_years >= self.min_permanence_years
            )
            and (self.schemes is None or lot.scheme in self.schemes)
            and (self.categories is None or lot.category in self.categories)
            and (self.units is None or lot.unit in self.units)
            and (self.domestic is None or lot.domestic == self.domestic)
            and (self.ca_status is None or lot.ca_status in self.ca_status)
            and (self.properties is None or bool(self.properties & set(lot.properties)))
        )


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    source: str
    uses: frozenset[str]
    text: str
    years: tuple[int | None, int | None] = (None, None)
    text_ja: str = ""
    """The rule in Japanese, for Japanese pages (the English ``text`` when empty)."""
    severity: str = "refuse"
    allow_any: tuple[Filter, ...] = ()
    match: Filter | None = None
    basis: tuple[str, ...] = ()
    percent: int = 100
    counts_uses: frozenset[str] = frozenset()
    requires_inventory: bool = False
    requires_verified: bool = False
    """A share cap whose basis counts only once a verification body confirmed it (GX-ETS)."""
    units: frozenset[str] = frozenset()
    deadline: str = "06-30"
    from_date: dt.date | None = None
    """The rule applies only to uses on or after this date (e.g. a law's date of application)."""

    def applies(self, use: Use) -> bool:
        lo, hi = self.years
        return (
            ("*" in self.uses or use.purpose in self.uses)
            and (lo is None or use.year >= lo)
            and (hi is None or use.year <= hi)
            and (self.from_date is None or use.date >= self.from_date)
        )


@dataclass(frozen=True, slots=True)
class UseSpec:
    """How a purpose relates to an inventory: the scope it counts against ("" for none) and
    whether the caller may name the scope."""

    scope: str
    scope_choice: bool = False


@dataclass(frozen=True, slots=True)
class RuleSet:
    id: str
    version: str
    effective_from: dt.date
    title: str
    sources: Mapping[str, Mapping[str, str]]
    uses: Mapping[str, UseSpec]
    rules: tuple[Rule, ...]
    hierarchy: str = "refuse"
    emission_factor_g_per_kwh: int | None = None
    document: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def source_label(self, code: str) -> str:
        s = self.sources.get(code, {})
        return f"{code}: {s.get('title_en', '')}".rstrip(": ")


# ---------------------------------------------------------------- parsing


def _strs(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleSetError(f"{where} must be a list of strings.")
    return frozenset(value)


def _filter(d: Any, where: str) -> Filter:
    if not isinstance(d, dict) or not d:
        raise RuleSetError(f"{where} must be a non-empty object.")
    unknown = set(d) - set(FILTER_KEYS)
    if unknown:
        raise RuleSetError(f"{where} has unknown keys {sorted(unknown)}.")
    domestic = d.get("domestic")
    if domestic is not None and not isinstance(domestic, bool):
        raise RuleSetError(f"{where}.domestic must be true or false.")
    kw: dict[str, Any] = {"domestic": domestic}
    before = d.get("vintage_before")
    if before is not None:
        kw["vintage_before"] = _year(before, f"{where}.vintage_before")
    least = d.get("min_permanence_years")
    if least is not None:
        if isinstance(least, bool) or not isinstance(least, int) or not 0 <= least <= 100_000:
            raise RuleSetError(f"{where}.min_permanence_years must be 0 to 100000 years.")
        kw["min_permanence_years"] = least
    for key in ("schemes", "categories", "units", "ca_status", "properties", "credit_types"):
        if key in d:
            kw[key] = _strs(d[key], f"{where}.{key}")
    if "pathways" in d:
        kw["pathways"] = _strs(d["pathways"], f"{where}.pathways")
    return Filter(**kw)


def _year(v: Any, where: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 1990 <= v <= 2100:
        raise RuleSetError(f"{where} must be a year or null.")
    return v


def _rule(d: Any, i: int, sources: Mapping[str, Any]) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(d, dict):
        raise RuleSetError(f"{where} must be an object.")
    for key in ("id", "kind", "source", "uses", "text"):
        if key not in d:
            raise RuleSetError(f"{where} lacks {key!r}.")
    if d["kind"] not in RULE_KINDS:
        raise RuleSetError(f"{where}.kind must be one of {', '.join(RULE_KINDS)}.")
    if d["source"] not in sources:
        raise RuleSetError(f"{where}.source {d['source']!r} is not among the sources.")
    years = d.get("years", [None, None])
    if not isinstance(years, list) or len(years) != 2:
        raise RuleSetError(f"{where}.years must be [from, to].")
    severity = d.get("severity", "hierarchy" if d["kind"] == "residual" else "refuse")
    if severity not in SEVERITIES:
        raise RuleSetError(f"{where}.severity must be one of {', '.join(SEVERITIES)}.")
    kw: dict[str, Any] = {
        "id": str(d["id"]),
        "kind": d["kind"],
        "source": d["source"],
        "uses": _strs(d["uses"], f"{where}.uses"),
        "text": str(d["text"]),
        "text_ja": str(d.get("text_ja", "")),
        "years": (_year(years[0], f"{where}.years"), _year(years[1], f"{where}.years")),
        "severity": severity,
    }
    if d.get("from_date") is not None:
        try:
            kw["from_date"] = dt.date.fromisoformat(str(d["from_date"]))
        except ValueError:
            raise RuleSetError(f"{where}.from_date is a date such as 2026-09-27.") from None
    kind = d["kind"]
    if kind == "eligible":
        allow = d.get("allow_any")
        if not isinstance(allow, list) or not allow:
            raise RuleSetError(f"{where}.allow_any must be a non-empty list of filters.")
        kw["allow_any"] = tuple(_filter(f, f"{where}.allow_any[{j}]") for j, f in enumerate(allow))
    elif kind == "deny":
        kw["match"] = _filter(d.get("match"), f"{where}.match")
    elif kind == "share_cap":
        basis = d.get("basis")
        if not isinstance(basis, list) or not basis or not set(basis) <= set(BASIS_FIGURES):
            raise RuleSetError(f"{where}.basis must list figures among {BASIS_FIGURES}.")
        percent = d.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise RuleSetError(f"{where}.percent must be a whole number from 0 to 100.")
        kw |= {
            "basis": tuple(basis),
            "percent": percent,
            "counts_uses": _strs(d.get("counts_uses", sorted(kw["uses"])), f"{where}.counts"),
            "requires_inventory": bool(d.get("requires_inventory", True)),
            "requires_verified": bool(d.get("requires_verified", False)),
        }
    elif kind == "energy_cap":
        kw["units"] = _strs(d.get("units", ["kWh"]), f"{where}.units")
    elif kind == "reporting_window":
        deadline = d.get("deadline", "06-30")
        try:
            dt.date.fromisoformat(f"2001-{deadline}")
        except (TypeError, ValueError):
            raise RuleSetError(f"{where}.deadline must be MM-DD.") from None
        kw["deadline"] = deadline
    return Rule(**kw)


def parse(doc: Mapping[str, Any]) -> RuleSet:
    """A rule set from its JSON document; RuleSetError says what is wrong."""
    if not isinstance(doc, Mapping):
        raise RuleSetError("A rule set is a JSON object.")
    for key in ("id", "version", "effective_from", "sources", "uses", "rules"):
        if key not in doc:
            raise RuleSetError(f"A rule set needs {key!r}.")
    if not isinstance(doc["id"], str) or not 1 <= len(doc["id"]) <= 40:
        raise RuleSetError("id is 1 to 40 characters.")
    if not isinstance(doc["version"], str) or not 1 <= len(doc["version"]) <= 40:
        raise RuleSetError("version is 1 to 40 characters.")
    try:
        effective = dt.date.fromisoformat(str(doc["effective_from"]))
    except ValueError:
        raise RuleSetError("effective_from is a date such as 2026-04-01.") from None
    sources = doc["sources"]
    if not isinstance(sources, dict) or not sources:
        raise RuleSetError("sources is an object of source code -> {title_en, url}.")
    uses: dict[str, UseSpec] = {}
    if not isinstance(doc["uses"], dict):
        raise RuleSetError("uses is an object of purpose -> {scope}.")
    for purpose, spec in doc["uses"].items():
        if not isinstance(spec, dict) or spec.get("scope", "") not in (*SCOPES, ""):
            raise RuleSetError(f"uses.{purpose}.scope must be one of {SCOPES} or ''.")
        uses[purpose] = UseSpec(spec.get("scope", ""), bool(spec.get("scope_choice", False)))
    if not isinstance(doc["rules"], list):
        raise RuleSetError("rules is a list.")
    rules = tuple(_rule(r, i, sources) for i, r in enumerate(doc["rules"]))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RuleSetError("rule ids must be unique within a rule set.")
    hierarchy = doc.get("hierarchy", "refuse")
    if hierarchy not in HIERARCHY_MODES:
        raise RuleSetError("hierarchy is 'refuse' or 'warn'.")
    ef = doc.get("emission_factor_g_per_kwh")
    if ef is not None and (isinstance(ef, bool) or not isinstance(ef, int) or not 0 < ef < 10_000):
        raise RuleSetError("emission_factor_g_per_kwh is a whole number of g-CO2/kWh.")
    return RuleSet(
        id=doc["id"],
        version=doc["version"],
        effective_from=effective,
        title=str(doc.get("title_en", doc["id"])),
        sources=sources,
        uses=uses,
        rules=rules,
        hierarchy=hierarchy,
        emission_factor_g_per_kwh=ef,
        document=doc,
    )


def in_force(rulesets: Sequence[RuleSet], on: dt.date) -> RuleSet | None:
    """The rule set in force on a date: the latest effective_from on or before it (of equal
    dates, the later in the sequence, so an operator's rule set replaces a shipped one)."""
    best: RuleSet | None = None
    for rs in rulesets:
        if rs.effective_from <= on and (best is None or rs.effective_from >= best.effective_from):
            best = rs
    return best


# ---------------------------------------------------------------- evaluation


def shk_year(on: dt.date) -> int:
    """温対法 SHK: the fiscal year a retirement on this date counts toward by default (credits
    retired by the end of June count toward the previous fiscal year)."""
    return on.year - 1 if on.month <= 6 else on.year


def tonnes_of(lot_unit: str, quantity: int, ef_g_per_kwh: int | None) -> int:
    """t-CO2e a quantity counts for: tCO2 one for one; kWh converted (rounded up)."""
    if lot_unit == "tCO2":
        return quantity
    if not ef_g_per_kwh:
        return 0
    return -(-quantity * ef_g_per_kwh // GRAMS_PER_TONNE)


def _scope_sets() -> dict[str, frozenset[str]]:
    return {s: frozenset(s.split("+")) for s in SCOPES}


def residual_room(figures: Figures, claims: Iterable[Claim], scope: str) -> int:
    """The tonnes a new claim against ``scope`` may still take: for every scope set containing
    it (Scope 1 is inside "1+2"), its net emissions minus every claim inside that set."""
    sets = _scope_sets()
    target = sets[scope]
    claims = list(claims)
    room: int | None = None
    for name, members in sets.items():
        if not target <= members:
            continue
        taken = sum(c.tonnes for c in claims if c.scope and sets[c.scope] <= members)
        left = figures.net(name) - taken
        room = left if room is None else min(room, left)
    return max(0, room or 0)


def _scope_of(rs: RuleSet, use: Use) -> tuple[str, Reason | None]:
    spec = rs.uses.get(use.purpose)
    if spec is None:
        return "", Reason(
            "USE-KNOWN",
            rs.id,
            False,
            "refuse",
            f"The rule set {rs.label} does not cover the purpose {use.purpose!r}.",
        )
    if use.scope is None or use.scope == spec.scope:
        return spec.scope, None
    if spec.scope_choice and use.scope in ("1", "2", "3"):
        return use.scope, None
    return spec.scope, Reason(
        "USE-SCOPE",
        rs.id,
        False,
        "refuse",
        f"The purpose {use.purpose} counts against "
        f"{'Scope ' + spec.scope if spec.scope else 'no scope'}, not Scope {use.scope}.",
    )


def evaluate(rs: RuleSet, lots: Sequence[Lot], use: Use, ctx: Context) -> Decision:
    """Whether ``lots`` may be used for ``use`` under ``rs``, why, and up to what quantity."""
    reasons: list[Reason] = []
    hierarchy = ctx.hierarchy or rs.hierarchy
    ef = ctx.emission_factor_g_per_kwh or rs.emission_factor_g_per_kwh
    quantity = sum(lot.quantity for lot in lots)
    scope, problem = _scope_of(rs, use)
    if problem is not None:
        reasons.append(problem)
    if use.scope3_category is not None and (scope != "3" or not 1 <= use.scope3_category <= 15):
        reasons.append(
            Reason(
                "USE-SCOPE",
                rs.id,
                False,
                "refuse",
                "A Scope 3 category (1 to 15) is named only for a Scope 3 claim.",
            )
        )
    # caps in tonnes and in kWh: the room each rule leaves
    tonne_caps: list[tuple[Rule, int]] = []
    kwh_caps: list[tuple[Rule, int]] = []
    for rule in rs.rules:
        if not rule.applies(use):
            continue
        src = rs.source_label(rule.source)
        if rule.kind == "eligible":
            bad = [lot for lot in lots if not any(f.admits(lot) for f in rule.allow_any)]
            if bad:
                names = ", ".join(sorted({f"{b.issuance} ({b.scheme}/{b.category})" for b in bad}))
                reasons.append(
                    Reason(
                        rule.id, src, False, rule.severity, f"{rule.text} Not eligible: {names}."
                    )
                )
            else:
                reasons.append(Reason(rule.id, src, True, rule.severity, rule.text))
        elif rule.kind == "deny":
            assert rule.match is not None
            bad = [lot for lot in lots if rule.match.admits(lot)]
            if bad:
                names = ", ".join(sorted({f"{b.issuance} ({b.scheme}/{b.category})" for b in bad}))
                reasons.append(
                    Reason(rule.id, src, False, rule.severity, f"{rule.text} Refused: {names}.")
                )
        elif rule.kind == "reporting_window":
            deadline = dt.date.fromisoformat(f"{use.year + 1}-{rule.deadline}")
            if use.date > deadline:
                reasons.append(
                    Reason(
                        rule.id,
                        src,
                        False,
                        rule.severity,
                        f"{rule.text} Retired on {use.date}, after {deadline}: it counts toward "
                        f"fiscal year {use.year} only in an amended report.",
                    )
                )
            elif use.year > use.date.year or (use.year == use.date.year and use.date.month < 4):
                reasons.append(
                    Reason(
                        rule.id,
                        src,
                        False,
                        "refuse",
                        f"Fiscal year {use.year} has not begun on {use.date}.",
                    )
                )
            else:
                reasons.append(Reason(rule.id, src, True, rule.severity, rule.text))
        elif rule.kind == "share_cap":
            if ctx.figures is None:
                if rule.requires_inventory:
                    tonne_caps.append((rule, 0))
                    reasons.append(
                        Reason(
                            rule.id,
                            src,
                            False,
                            rule.severity,
                            f"{rule.text} No emissions inventory is recorded for {use.year}, "
                            "so the cap is 0.",
                        )
                    )
                else:
                    reasons.append(
                        Reason(
                            rule.id,
                            src,
                            False,
                            "warn",
                            f"{rule.text} Not checked: no emissions inventory for {use.year}.",
                        )
                    )
                continue
            if rule.requires_verified and not ctx.figures.verified:
                tonne_caps.append((rule, 0))
                reasons.append(
                    Reason(
                        rule.id,
                        src,
                        False,
                        rule.severity,
                        f"{rule.text} The emissions for {use.year} are not verified yet, "
                        "so the cap is 0.",
                    )
                )
                continue
            cap = ctx.figures.basis(rule.basis) * rule.percent // 100
            taken = sum(c.tonnes for c in ctx.claims if c.use in rule.counts_uses)
            tonne_caps.append((rule, max(0, cap - taken)))
        elif rule.kind == "residual":
            if not scope:
                continue
            if ctx.figures is None:
                reasons.append(
                    Reason(
                        rule.id,
                        src,
                        False,
                        "warn",
                        f"{rule.text} Not checked: no emissions inventory for {use.year}.",
                    )
                )
                continue
            room = residual_room(ctx.figures, ctx.claims, scope)
            if use.scope3_category is not None and scope == "3":
                cat_emitted = int(ctx.figures.scope3_categories.get(use.scope3_category, 0))
                cat_taken = sum(
                    c.tonnes for c in ctx.claims if c.scope3_category == use.scope3_category
                )
                room = min(room, max(0, cat_emitted - cat_taken))
            tonne_caps.append((rule, room))
        elif rule.kind == "energy_cap":
            if not any(lot.unit in rule.units for lot in lots):
                continue
            if not ef:
                reasons.append(
                    Reason(
                        rule.id,
                        src,
                        False,
                        rule.severity,
                        f"{rule.text} No emission factor is set to convert kWh.",
                    )
                )
                kwh_caps.append((rule, 0))
                continue
            if ctx.figures is None:
                kwh_caps.append((rule, 0))
                reasons.append(
                    Reason(
                        rule.id,
                        src,
                        False,
                        rule.severity,
                        f"{rule.text} No inventory for {use.year} records the energy bought.",
                    )
                )
                continue
            bought = ctx.figures.purchased_electricity_kwh + ctx.figures.purchased_heat_kwh
            used = sum(c.quantity for c in ctx.claims if c.unit in rule.units)
            kwh_room = max(0, bought - used)
            # the emissions of the energy bought, less what certificates already covered
            emitted = bought * ef // GRAMS_PER_TONNE
            covered = sum(c.tonnes for c in ctx.claims if c.unit in rule.units)
            kwh_room = min(kwh_room, max(0, emitted - covered) * GRAMS_PER_TONNE // ef)
            kwh_caps.append((rule, kwh_room))

    tonnes = sum(tonnes_of(lot.unit, lot.quantity, ef) for lot in lots)
    kwh = sum(lot.quantity for lot in lots if lot.unit == "kWh")
    blocked = any(not r.ok and r.severity == "refuse" for r in reasons)
    hard_tonnes: list[int] = []
    hard_kwh: list[int] = []
    for rule, room in tonne_caps:
        severity = hierarchy if rule.severity == "hierarchy" else rule.severity
        if severity == "refuse":
            hard_tonnes.append(room)
        ok = tonnes <= room
        left = f"{room:,} t remain for {use.year}"
        reasons.append(
            Reason(
                rule.id,
                rs.source_label(rule.source),
                ok,
                severity,
                f"{rule.text} {left}."
                if ok
                else (f"{rule.text} These credits count for {tonnes:,} t but only {left}."),
            )
        )
    for rule, room in kwh_caps:
        hard_kwh.append(room)
        if any(r.rule == rule.id for r in reasons):
            continue  # already refused for want of a factor or an inventory
        ok = kwh <= room
        reasons.append(
            Reason(
                rule.id,
                rs.source_label(rule.source),
                ok,
                rule.severity,
                f"{rule.text} {room:,} kWh of bought energy remain."
                if ok
                else (
                    f"{rule.text} These certificates cover {kwh:,} kWh but only {room:,} kWh "
                    "of bought energy (and its emissions) remain."
                ),
            )
        )
    max_quantity = 0 if blocked else _admitted(lots, hard_tonnes, hard_kwh, ef)
    refused = any(not r.ok and r.severity == "refuse" for r in reasons)
    return Decision(
        allowed=not refused,
        reasons=tuple(reasons),
        max_quantity=max_quantity,
        quantity=quantity,
        tonnes=tonnes,
        scope=scope,
        ruleset=rs.label,
    )


def _admitted(
    lots: Sequence[Lot], tonne_rooms: list[int], kwh_rooms: list[int], ef: int | None
) -> int:
    """How many of the lots, taken in order, fit within every hard cap."""
    t_left = min(tonne_rooms, default=None)
    k_left = min(kwh_rooms, default=None)
    total = 0
    for lot in lots:
        take = lot.quantity
        if lot.unit == "kWh":
            if k_left is not None:
                take = min(take, k_left)
            if t_left is not None:
                take = min(take, t_left * GRAMS_PER_TONNE // ef) if ef else 0
        elif t_left is not None:
            take = min(take, t_left)
        total += take
        if t_left is not None:
            t_left -= tonnes_of(lot.unit, take, ef)
        if k_left is not None and lot.unit == "kWh":
            k_left -= take
        if take < lot.quantity:
            break
    return total
