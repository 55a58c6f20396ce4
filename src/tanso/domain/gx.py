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
