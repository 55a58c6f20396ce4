"""GX-ETS (docs/gx-ets.md): the fiscal year's reference ceiling and adjustment reference prices,
read from the shipped data (tanso/data/gx/prices.json) through the pure rules of tanso.domain.gx.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from tanso.domain import gx


@lru_cache(maxsize=1)
def price_rules() -> gx.PriceRules:
    """The published prices and the escalation rule shipped with Tanso, with their sources."""
    text = resources.files("tanso").joinpath("data/gx/prices.json").read_text(encoding="utf-8")
    return gx.PriceRules.from_dict(json.loads(text))


def prices(fiscal_year: int) -> gx.Prices:
    """A fiscal year's prices (April to March), published or provisional (404 when none)."""
    return gx.prices(price_rules(), fiscal_year)
