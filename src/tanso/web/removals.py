"""The public pages of removal credits (issue 21, docs/removals.md, docs/offtake.md), in English
and Japanese, no login; each at its path, ``/en/...`` and ``/ja/...``:

- ``/removals``: every removal project's profile (pathway, storage, stated permanence, reversal
  risk, monitoring, buffer rate), each scheme's buffer pool, and the reversals reported (the
  public notice of each, with its compensation);
- ``/removals/forward-demand``: tonnes contracted, delivered and outstanding under long-term
  offtake contracts per removal pathway and vintage, and how many contracts — aggregated, no
  names (the revenue outlook the METI paper asks for).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tanso.services.ledger import taxonomy
from tanso.services.removals import offtake, profiles
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)


def _removals(request: Request, lang: Lang) -> dict[str, Any]:
    db = kit.db(request)
    return {
        "g": texts(lang, "removals"),
        "cause": texts(lang, "removal_cause"),
        "profiles": profiles.list_profiles(db),
        "pools": profiles.pools(db),
        "reversals": profiles.list_reversals(db),
        "names": {
            p.id: (p.name_ja or p.name) if lang == "ja" else p.name
            for p in taxonomy.list_projects(db)
        },
    }


def _forward_demand(request: Request, lang: Lang) -> dict[str, Any]:
    return {
        "g": texts(lang, "removals"),
        "f": texts(lang, "forward_demand"),
        "demand": offtake.forward_demand(kit.db(request)),
    }


kit.publish_page(
    router, "/removals", "removals.html", _removals, "Removal projects, pools and reversals."
)
kit.publish_page(
    router,
    "/removals/forward-demand",
    "forward_demand.html",
    _forward_demand,
    "Forward demand for removals per pathway and vintage.",
)
