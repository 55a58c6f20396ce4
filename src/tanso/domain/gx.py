"""GX-ETS (Japan's emissions trading system, phase 2 from FY2026) rules that need no database.

A GX fiscal year (年度) runs from April to March and is named by the calendar year it starts in:
FY2026 is 2026-04-01 to 2027-03-31. It is not a calendar reporting year.

Each fiscal year has a reference ceiling price (参考上限取引価格: a covered entity may pay it per
tonne instead of surrendering allowances) and an adjustment reference price (調整基準取引価格:
below it, supply is tightened). Published values are data with their source
(tanso/data/gx/prices.json); until a year's values are published they are provisional, from the
rule: the last published price compounded by 1.03 a year, rounded once to the nearest yen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from tanso.domain.errors import InvalidInput, NotFound


def fiscal_year_of(day: dt.date) -> int:
    """The fiscal year (April to March) a day falls in: 2027-03-31 is FY2026."""
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True, slots=True)
class Published:
    fiscal_year: int
    ceiling: int
    floor: int
    source: str


@dataclass(frozen=True, slots=True)
class Escalation:
    factor_per_mille: int
    first_year: int
    last_year: int
    source: str
    rounding: str


@dataclass(frozen=True, slots=True)
class PriceRules:
    published: tuple[Published, ...]
    escalation: Escalation
    sources: dict[str, str]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PriceRules:
        esc = d["escalation"]
        published = tuple(
            Published(int(p["fiscal_year"]), int(p["ceiling"]), int(p["floor"]), str(p["source"]))
            for p in d["published"]
        )
        if not published:
            raise InvalidInput("gx_prices_invalid", "The GX price rules publish no year.")
        return cls(
            published=tuple(sorted(published, key=lambda p: p.fiscal_year)),
            escalation=Escalation(
                int(esc["factor_per_mille"]),
                int(esc["first_year"]),
                int(esc["last_year"]),
                str(esc["source"]),
                str(esc["rounding"]),
            ),
            sources={str(k): str(v) for k, v in d["sources"].items()},
        )


@dataclass(frozen=True, slots=True)
class Prices:
    """A fiscal year's prices in whole yen per t-CO2, published or provisional."""

    fiscal_year: int
    ceiling: int
    floor: int
    status: str
    """``published``, or ``provisional`` (from the rule, until the year's values are published)."""
    basis_year: int
    """The published year the values come from (the year itself when published)."""
    source: str
    rule: str
    """How the values were made (the rounding rule for provisional ones)."""


def half_up(value: Fraction) -> int:
    """A non-negative amount rounded to the nearest whole yen, halves up."""
    return int(value + Fraction(1, 2))


def prices(rules: PriceRules, fiscal_year: int) -> Prices:
    """The fiscal year's prices: as published, else provisional from the escalation rule."""
    first = rules.published[0].fiscal_year
    if fiscal_year < first:
        raise NotFound(
            "gx_prices_not_set",
            f"GX-ETS prices start with FY{first} (phase 2); FY{fiscal_year} has none.",
        )
    for p in rules.published:
        if p.fiscal_year == fiscal_year:
            return Prices(fiscal_year, p.ceiling, p.floor, "published", fiscal_year, p.source, "")
    esc = rules.escalation
    if fiscal_year > esc.last_year:
        raise NotFound(
            "gx_prices_not_set",
            f"No price rule reaches FY{fiscal_year}: the escalation rule covers "
            f"FY{esc.first_year}-FY{esc.last_year}, and nothing later is published.",
        )
    basis = max((p for p in rules.published if p.fiscal_year < fiscal_year), key=_year)
    factor = Fraction(esc.factor_per_mille, 1000) ** (fiscal_year - basis.fiscal_year)
    return Prices(
        fiscal_year,
        half_up(basis.ceiling * factor),
        half_up(basis.floor * factor),
        "provisional",
        basis.fiscal_year,
        esc.source,
        esc.rounding,
    )


def _year(p: Published) -> int:
    return p.fiscal_year


# ---------------------------------------------------------------- the scheme's rule sets


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A designated sector's benchmark: tonnes of CO2 per unit of output (a decimal string in
    the data, kept exact as a fraction)."""

    sector: str
    name_en: str
    name_ja: str
    output_unit: str
    intensity: Fraction
    source: str
    intensity_text: str = ""
    """The intensity as the data writes it (a decimal), for what people read."""


@dataclass(frozen=True, slots=True)
class SchemeYear:
    """The scheme's rules for one fiscal year (April to March), as data with their sources."""

    fiscal_year: int
    source: str
    threshold_tonnes: int
    allowance_holders: tuple[str, ...]
    banking: bool
    borrowing: bool
    emissions_due: dt.date
    surrender_deadline: dt.date
    grandfathering_per_mille: int
    grandfathering_base_year: int
    early_action_first_year: int
    early_action_percent: int
    benchmarks: dict[str, Benchmark]
    auctions: bool
    non_compliance_charge_percent: int
    """What a tonne left unsurrendered after the deadline costs, in percent of the ceiling."""
    sources: dict[str, str]
    based_on: int
    """The fiscal year whose entry these rules come from (dates shifted) when the year has none."""

    def benchmark(self, sector: str) -> Benchmark:
        found = self.benchmarks.get(sector)
        if found is None:
            known = ", ".join(sorted(self.benchmarks))
            raise InvalidInput(
                "unknown_sector",
                f"FY{self.fiscal_year} has no benchmark for sector {sector!r}; "
                f"the designated sectors are {known}.",
            )
        return found


def _shift(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def scheme_year(doc: dict[str, Any], fiscal_year: int) -> SchemeYear:
    """The fiscal year's rules: its own entry, else the latest earlier one with its dates
    shifted by the years between; 404 ``gx_not_in_force`` before the first."""
    entries = sorted(doc["fiscal_years"], key=lambda e: int(e["fiscal_year"]))
    earlier = [e for e in entries if int(e["fiscal_year"]) <= fiscal_year]
    if not earlier:
        raise NotFound(
            "gx_not_in_force",
            f"GX-ETS phase 2 starts with FY{entries[0]['fiscal_year']} (April to March); "
            f"FY{fiscal_year} has no rules.",
        )
    e = earlier[-1]
    gap = fiscal_year - int(e["fiscal_year"])
    gf, early = e["grandfathering"], e["early_action"]
    return SchemeYear(
        fiscal_year=fiscal_year,
        source=str(e["source"]),
        threshold_tonnes=int(e["threshold_tonnes"]),
        allowance_holders=tuple(e["allowance_holders"]),
        banking=bool(e["banking"]),
        borrowing=bool(e["borrowing"]),
        emissions_due=_shift(dt.date.fromisoformat(e["emissions_due"]), gap),
        surrender_deadline=_shift(dt.date.fromisoformat(e["surrender_deadline"]), gap),
        grandfathering_per_mille=int(gf["annual_reduction_per_mille"]),
        grandfathering_base_year=int(gf["base_fiscal_year"]),
        early_action_first_year=int(early["first_fiscal_year"]),
        early_action_percent=int(early["credit_percent"]),
        benchmarks={
            str(b["sector"]): Benchmark(
                str(b["sector"]),
                str(b["name_en"]),
                str(b["name_ja"]),
                str(b["output_unit"]),
                Fraction(str(b["intensity"])),
                str(b["source"]),
                str(b["intensity"]),
            )
            for b in e["benchmarks"]
        },
        auctions=bool(e["auctions"]["enabled"]),
        non_compliance_charge_percent=int(e.get("non_compliance_charge_percent", 100)),
        sources={str(k): str(v) for k, v in doc["sources"].items()},
        based_on=int(e["fiscal_year"]),
    )


# ---------------------------------------------------------------- allocation calculators

METHODS = ("benchmark", "grandfathering", "quantity", "auction")
"""How allowances come into being: calculated free allocation (benchmark, grandfathering), a
quantity the administrator decided (recorded with its reason), or sale by auction (issued to
the administrator, who sells them)."""


@dataclass(frozen=True, slots=True)
class Allocation:
    """What a calculator allocates and how: whole allowances (t-CO2), rounded down, with every
    input and intermediate figure as text so the register can show its working."""

    method: str
    quantity: int
    inputs: dict[str, Any]
    working: str


def _whole(value: Any, name: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or value > 10**12:
        raise InvalidInput(
            "invalid_allocation_input", f"{name} is a whole number from {lo} to 10^12."
        )
    return value


def figure(x: Fraction) -> str:
    """An exact figure for the working: whole tonnes with thousands separators and up to six
    decimals, an ellipsis where more follow (never rounded up)."""
    whole = x.numerator // x.denominator
    millionths = (x - whole) * 10**6
    shown = int(millionths)
    text = f"{whole:,}" if not shown else f"{whole:,}.{shown:06d}".rstrip("0")
    return text if millionths == shown else f"{text}…"


def _early_action(rules: SchemeYear, inputs: dict[str, Any]) -> tuple[Fraction, str]:
    """Credit for early action: the share of reductions achieved since the first year counted."""
    early = _whole(inputs.get("early_reduction", 0), "early_reduction")
    if not early:
        return Fraction(0), ""
    credit = Fraction(early * rules.early_action_percent, 100)
    return credit, (
        f" + early action since FY{rules.early_action_first_year}: {early:,} t × "
        f"{rules.early_action_percent}% = {figure(credit)} t"
    )


def allocate(rules: SchemeYear, method: str, inputs: dict[str, Any]) -> Allocation:
    """The allocation of ``method`` from ``inputs`` under the fiscal year's rules.

    benchmark: ``production`` (the sector's output unit) × the sector's intensity;
    grandfathering: ``base_emissions`` × (1 − rate)^(fiscal year − base year);
    both plus ``early_reduction`` × the early-action share; quantity and auction: ``quantity``
    as given (with a ``reason`` for a decided quantity). Rounded down to whole tonnes, once.
    """
    if method not in METHODS:
        raise InvalidInput("invalid_method", f"method is one of {', '.join(METHODS)}.")
    if method in ("quantity", "auction"):
        quantity = _whole(inputs.get("quantity"), "quantity", 1)
        reason = str(inputs.get("reason", "")).strip()
        if method == "quantity" and not reason:
            raise InvalidInput(
                "reason_required", "An allocation of a decided quantity states its reason."
            )
        if len(reason) > 500:
            raise InvalidInput("text_too_long", "reason may be at most 500 characters.")
        clean = {"quantity": quantity} | ({"reason": reason} if reason else {})
        return Allocation(method, quantity, clean, f"{quantity:,} t ({method})")
    if method == "benchmark":
        sector = str(inputs.get("sector", ""))
        b = rules.benchmark(sector)
        production = _whole(inputs.get("production"), "production")
        base = production * b.intensity
        early, early_text = _early_action(rules, inputs)
        quantity = int(base + early)  # floor: never more than the rule gives
        working = (
            f"benchmark {sector}: {production:,} {b.output_unit} × {b.intensity_text} t-CO2/"
            f"{b.output_unit} = {figure(base)} t{early_text}; "
            f"{quantity:,} t (rounded down)"
        )
        clean = {"sector": sector, "production": production, "intensity": b.intensity_text}
    else:
        base_emissions = _whole(inputs.get("base_emissions"), "base_emissions", 1)
        years = rules.fiscal_year - rules.grandfathering_base_year
        if years < 0:
            raise InvalidInput(
                "invalid_allocation_input",
                f"The base year FY{rules.grandfathering_base_year} is after FY{rules.fiscal_year}.",
            )
        factor = (1 - Fraction(rules.grandfathering_per_mille, 1000)) ** years
        base = base_emissions * factor
        early, early_text = _early_action(rules, inputs)
        quantity = int(base + early)
        pm = rules.grandfathering_per_mille
        working = (
            f"grandfathering: {base_emissions:,} t × (1 − {pm // 10}.{pm % 10}%)^{years} "
            f"(FY{rules.grandfathering_base_year} to FY{rules.fiscal_year}) = "
            f"{figure(base)} t{early_text}; {quantity:,} t (rounded down)"
        )
        clean = {
            "base_emissions": base_emissions,
            "base_fiscal_year": rules.grandfathering_base_year,
            "annual_reduction_per_mille": rules.grandfathering_per_mille,
        }
    early_in = inputs.get("early_reduction", 0)
    if early_in:
        clean["early_reduction"] = early_in
        clean["early_action_percent"] = rules.early_action_percent
    if quantity <= 0:
        raise InvalidInput("allocation_empty", f"These inputs allocate nothing ({working}).")
    return Allocation(method, quantity, clean, working)
