"""Removal credits as their own class (issue 21 §1): the pure rules.

A removal project states how it takes carbon out of the air (its pathway), where the carbon is
kept (storage), for how long (stated permanence), how likely it is to come back (reversal risk),
how long it is monitored, and which share of each issuance its methodology puts in the scheme's
buffer pool. A reversal (a fire, a leak) is compensated by cancelling credits, in a fixed order:
the project's own buffer contributions, then its holders' unretired credits, then the rest of
the scheme's pool. Retired credits are never touched. Nothing here reads a database or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from tanso.domain.errors import InvalidInput

PATHWAYS = (
    "daccs",
    "beccs",
    "biochar",
    "enhanced_weathering",
    "mineralisation",
    "afforestation",
    "forest_management",
    "blue_carbon",
    "soil_carbon",
)
"""Removal pathways: direct air capture with storage, bioenergy with capture and storage,
biochar, enhanced rock weathering, mineralisation (e.g. CO2 cured in concrete), afforestation
and reforestation, improved forest management, blue carbon (J-Blue), soil carbon."""

STORAGES = ("geological", "mineral", "product", "biological")
RISKS = ("none", "low", "medium", "high")
CAUSES = ("fire", "leakage", "pest", "storm", "harvest", "other")
BASIS_POINTS = 10_000
MAX_PERMANENCE_YEARS = 100_000
DURABLE_YEARS = 100
"""The permanence from which Tanso's pages call a removal durable; whether a use accepts it is
the usage rule set's word (``min_permanence_years`` of a rule), not this constant's."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A removal project's class, as data."""

    pathway: str
    storage: str
    permanence_years: int
    reversal_risk: str
    monitoring_years: int
    buffer_rate_bp: int
    source: str = ""

    def check(self) -> Profile:
        if self.pathway not in PATHWAYS:
            raise InvalidInput("invalid_pathway", f"pathway is one of {', '.join(PATHWAYS)}.")
        if self.storage not in STORAGES:
            raise InvalidInput("invalid_storage", f"storage is one of {', '.join(STORAGES)}.")
        if self.reversal_risk not in RISKS:
            raise InvalidInput("invalid_risk", f"reversal_risk is one of {', '.join(RISKS)}.")
        if not 1 <= self.permanence_years <= MAX_PERMANENCE_YEARS:
            raise InvalidInput(
                "invalid_permanence",
                f"permanence_years is 1 to {MAX_PERMANENCE_YEARS:,} years; got "
                f"{self.permanence_years}.",
            )
        if not 0 <= self.monitoring_years <= self.permanence_years:
            raise InvalidInput(
                "invalid_monitoring",
                f"monitoring_years is 0 to the stated permanence ({self.permanence_years}); got "
                f"{self.monitoring_years}.",
            )
        if not 0 <= self.buffer_rate_bp <= BASIS_POINTS // 2:
            raise InvalidInput(
                "invalid_buffer_rate",
                f"buffer_rate_bp is 0 to 5,000 basis points (0-50%); got {self.buffer_rate_bp}.",
            )
        if self.reversal_risk == "none" and self.buffer_rate_bp:
            raise InvalidInput(
                "invalid_buffer_rate",
                "A project without reversal risk puts nothing in the buffer: buffer_rate_bp is 0.",
            )
        if self.reversal_risk != "none" and not self.buffer_rate_bp:
            raise InvalidInput(
                "invalid_buffer_rate",
                f"A project with {self.reversal_risk} reversal risk names its methodology's "
                "buffer rate (buffer_rate_bp above 0).",
            )
        if len(self.source) > 500:
            raise InvalidInput("text_too_long", "source may be at most 500 characters.")
        return self

    @property
    def durable(self) -> bool:
        return self.permanence_years >= DURABLE_YEARS


def buffer_share(quantity: int, rate_bp: int) -> int:
    """The credits of an issuance of ``quantity`` that go to the buffer pool: the rate's share,
    rounded up (the conservative side), never the whole issuance unless it is one credit."""
    if quantity <= 0 or rate_bp <= 0:
        return 0
    share = -(-quantity * rate_bp // BASIS_POINTS)
    return min(share, quantity)


@dataclass(frozen=True, slots=True)
class Compensation:
    """How a reversal of ``quantity`` tonnes is covered, in the order the rule takes them."""

    quantity: int
    from_project_buffer: int
    from_holders: int
    from_pool: int

    @property
    def uncompensated(self) -> int:
        return self.quantity - self.from_project_buffer - self.from_holders - self.from_pool


def compensate(quantity: int, project_buffer: int, holders: int, pool: int) -> Compensation:
    """Cover a reversal: first the project's own credits in the buffer pool, then (the project's
    buffer exhausted) its credits not yet retired wherever they are held, then the rest of the
    scheme's pool. What none covers stays uncompensated, and is said so."""
    if quantity < 1:
        raise InvalidInput("invalid_quantity", "A reversal is a whole number of tonnes above 0.")
    a = min(quantity, max(0, project_buffer))
    b = min(quantity - a, max(0, holders))
    c = min(quantity - a - b, max(0, pool))
    return Compensation(quantity, a, b, c)
