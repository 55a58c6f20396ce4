"""Request bodies of the usage capability: inventories, evaluation, rule sets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tanso.api.schemas import Body, Id, SelectionIn

Tonnes = Field(default=0, ge=0, le=10**12)


class InventoryIn(Body):
    """One year's inventory (t-CO2e; energy in kWh). Scope 3 by GHG Protocol category "1".."15"."""

    scope1: int = Tonnes
    scope2_location: int = Tonnes
    scope2_market: int = Tonnes
    scope3_categories: dict[str, int] = Field(default_factory=dict, max_length=15)
    reduction_scope1: int = Tonnes
    reduction_scope2: int = Tonnes
    reduction_scope3: int = Tonnes
    target_scope12: int | None = Field(default=None, ge=0, le=10**12)
    target_scope3: int | None = Field(default=None, ge=0, le=10**12)
    purchased_electricity_kwh: int = Tonnes
    purchased_heat_kwh: int = Tonnes
    note: str = Field(default="", max_length=2000)


class InventoryCsvIn(Body):
    """An inventory CSV (header row first; see docs/usage-rules.md for the columns)."""

    csv: str = Field(min_length=1, max_length=2_000_000)


class EvaluateIn(SelectionIn):
    """Which credits of an account (a quantity, oldest first, or a serial range) for which use."""

    account_id: str = Id
    purpose: str = Field(min_length=1, max_length=40)
    year: int | None = Field(default=None, ge=1990, le=2100)
    emissions_scope: Literal["1", "2", "3"] | None = None
    scope3_category: int | None = Field(default=None, ge=1, le=15)
