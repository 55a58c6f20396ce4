"""The shipped rules of product and cargo declarations (``data/declaration-rules.json``): the
kinds of declared units, which are also the sectors of the ``FOOTPRINT`` scheme a verification
body is accredited for, their stages and the declarations' wordings. Read by
services/compliance/declarations.py and by the accreditations."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The shipped declaration rules: unit kinds (stages, reference fields, purposes, wording),
    stage names and the wordings in English and Japanese."""
    text = resources.files("tanso").joinpath("data/declaration-rules.json").read_text("utf-8")
    out: dict[str, Any] = json.loads(text)
    return out


def kinds() -> tuple[str, ...]:
    """The kinds of declared units (lng_cargo, product_batch, event)."""
    return tuple(rules()["kinds"])
