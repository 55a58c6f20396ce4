"""GX-ETS routes (docs/gx-ets.md): public prices of each fiscal year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from tanso.api.deps import AnswerRoute
from tanso.api.schemas import Out
from tanso.domain import gx as rules
from tanso.services.compliance import gx

router = APIRouter(prefix="/v1/gx", tags=["public"], route_class=AnswerRoute)


class GxPrices(Out):
    """A GX fiscal year's prices in whole yen per t-CO2 (fiscal year: April to March, named by
    the year it starts in)."""

    fiscal_year: int
    ceiling: int
    """参考上限取引価格: paid per tonne instead of surrendering allowances."""
    floor: int
    """調整基準取引価格: below it, supply is tightened."""
    status: str
    """``published``, or ``provisional`` until the year's values are published."""
    basis_year: int
    source: str
    rule: str


@router.get("/prices/{fiscal_year}", response_model=GxPrices)
def prices(fiscal_year: Annotated[int, Path(ge=2000, le=2100)]) -> rules.Prices:
    """The reference ceiling and adjustment reference prices of a fiscal year (April to March):
    as published, or provisional from the rule (the last published price × 1.03 a year, rounded
    once to the nearest yen, half up) until published; 404 `gx_prices_not_set` outside the rule."""
    return gx.prices(fiscal_year)
