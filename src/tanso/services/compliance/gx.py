"""GX-ETS (docs/gx-ets.md): the scheme's rule sets and each fiscal year's reference ceiling and
adjustment reference prices, read from the shipped data (tanso/data/gx/) through the pure rules
of tanso.domain.gx.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from tanso.domain import gx


@lru_cache(maxsize=1)
def price_rules() -> gx.PriceRules:
    """The published prices and the escalation rule shipped with Tanso, with their sources."""
    text = resources.files("tanso").joinpath("data/gx/prices.json").read_text(encoding="utf-8")
    return gx.PriceRules.from_dict(json.loads(text))


@lru_cache(maxsize=1)
def scheme_doc() -> dict[str, Any]:
    """The scheme's rule sets per fiscal year, with their sources (tanso/data/gx/scheme.json)."""
    text = resources.files("tanso").joinpath("data/gx/scheme.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def rules(fiscal_year: int) -> gx.SchemeYear:
    """The scheme's rules for a fiscal year (April to March); 404 before phase 2."""
    return gx.scheme_year(scheme_doc(), fiscal_year)


def sector_name(code: str, lang: str) -> str:
    """A sector's name in ``lang`` (``ja`` or English) from the scheme data; a sector the data
    does not name is shown as given."""
    for sector in scheme_doc().get("sectors", ()):
        if sector["code"] == code:
            return str(sector["name_ja"] if lang == "ja" else sector["name_en"])
    return code


def prices(fiscal_year: int) -> gx.Prices:
    """A fiscal year's prices (April to March), published or provisional (404 when none)."""
    return gx.prices(price_rules(), fiscal_year)
