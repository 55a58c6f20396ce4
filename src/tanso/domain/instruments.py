"""Instruments: what is traded, under which rules, and which credits may be delivered.

A category instrument (as at TSE, e.g. "J-Credit 省エネルギー") delivers any credits its
eligibility rule admits; the seller designates its blocks or lets Tanso take its oldest eligible
ones. A project instrument admits the credits of one project, optionally a vintage band. A JCM
instrument (e.g. JCM-VN, "二国間クレジット ベトナム") admits the JCM credits of one partner country.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tanso.domain.errors import InvalidInput

MODES = ("call", "continuous")
KINDS = ("category", "project")
CA_STATUSES = ("not_started", "pending", "completed")

TSE_SESSIONS: dict[str, Any] = {
    "timezone": "Asia/Tokyo",
    "accept": [["08:00", "11:29"], ["12:30", "14:59"]],
    "auctions": ["11:30", "15:00"],
}
"""TSE: orders accepted 08:00-11:29 and 12:30-14:59; call auctions at 11:30 and 15:00."""


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Which credits an instrument delivers; an empty list admits any value of that attribute."""

    schemes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    vintage_from: int | None = None
    vintage_to: int | None = None
    ca_statuses: tuple[str, ...] = ()
    gx_league_only: bool = False
    """Who may trade it: GX League members only (JPX's GX-ETS 超過削減枠)."""
    countries: tuple[str, ...] = ()
    """Host countries of the credits' projects (ISO 3166 alpha-2), e.g. ("VN",) for JCM-VN."""

    def admits(self, credit: dict[str, Any]) -> bool:
        """Whether a credit with these attributes (scheme, category, project_id, country,
        vintage, ca_status) may be delivered."""
        checks = (
            (self.schemes, credit.get("scheme")),
            (self.categories, credit.get("category")),
            (self.projects, credit.get("project_id")),
            (self.countries, credit.get("country")),
            (self.ca_statuses, credit.get("ca_status")),
        )
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        vintage = credit.get("vintage")
        if self.vintage_from is not None and (vintage is None or vintage < self.vintage_from):
            return False
        return not (self.vintage_to is not None and (vintage is None or vintage > self.vintage_to))

    def as_dict(self) -> dict[str, Any]:
        return {
            "schemes": list(self.schemes),
            "categories": list(self.categories),
            "projects": list(self.projects),
            "vintage_from": self.vintage_from,
            "vintage_to": self.vintage_to,
            "ca_statuses": list(self.ca_statuses),
            "gx_league_only": self.gx_league_only,
            "countries": list(self.countries),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Eligibility:
        e = cls(
            schemes=tuple(d.get("schemes") or ()),
            categories=tuple(d.get("categories") or ()),
            projects=tuple(d.get("projects") or ()),
            vintage_from=d.get("vintage_from"),
            vintage_to=d.get("vintage_to"),
            ca_statuses=tuple(d.get("ca_statuses") or ()),
            gx_league_only=d.get("gx_league_only") is True,
            # absent from what was stored before countries existed: any country
            countries=tuple(d.get("countries") or ()),
        )

        for s in e.ca_statuses:
            if s not in CA_STATUSES:
                raise InvalidInput(
                    "invalid_eligibility", f"Unknown corresponding adjustment status {s!r}."
                )
        for c in e.countries:
            if not (
                isinstance(c, str) and len(c) == 2 and c.isascii() and c.isalpha() and c.isupper()
            ):
                raise InvalidInput(
                    "invalid_eligibility",
                    f"A country is an ISO 3166 alpha-2 code of 2 capital letters, not {c!r}.",
                )
        if e.vintage_from and e.vintage_to and e.vintage_from > e.vintage_to:
            raise InvalidInput("invalid_eligibility", "vintage_from is after vintage_to.")
        if not (e.schemes or e.categories or e.projects):
            raise InvalidInput(
                "invalid_eligibility",
                "An instrument names at least a scheme, a category or a project.",
            )
        return e


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """The trading rules of an instrument (defaults: TSE's carbon market)."""

    id: str
    name_en: str
    name_ja: str
    eligibility: Eligibility
    kind: str = "category"
    currency: str = "JPY"
    tick: int = 1
    lot: int = 1
    price_limit_pct: int = 90
    market_orders: bool = False
    mode: str = "call"
    settlement_days: int = 5
    reference_price: int | None = None
    sessions: dict[str, Any] = field(default_factory=lambda: dict(TSE_SESSIONS))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput("invalid_instrument", f"kind is one of {', '.join(KINDS)}.")
        if self.mode not in MODES:
            raise InvalidInput("invalid_instrument", f"mode is one of {', '.join(MODES)}.")
        for name, value, lo, hi in (
            ("tick", self.tick, 1, 10**9),
            ("lot", self.lot, 1, 10**9),
            ("price_limit_pct", self.price_limit_pct, 1, 100),
            ("settlement_days", self.settlement_days, 0, 30),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidInput(
                    "invalid_instrument", f"{name} is a whole number from {lo} to {hi}."
                )
        if self.reference_price is not None and (
            self.reference_price <= 0 or self.reference_price % self.tick
        ):
            raise InvalidInput(
                "invalid_instrument", "reference_price is positive and a multiple of the tick."
            )
