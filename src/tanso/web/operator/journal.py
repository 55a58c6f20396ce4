"""The operator's journal screen: the entries, filtered, each as a sentence in the page's language
with its raw JSON one click away, and the audit verification."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.services.ledger import audit
from tanso.services.operations import journal_search
from tanso.web import kit
from tanso.web.kit import OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.operator.journal_entries import describe, when

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

JOURNAL_PAGE = 50


# ---------------------------------------------------------------- journal


JSON_SHOWN = 20_000
"""Characters of an entry's JSON the page shows (an auction's or a close's entry can list
thousands of orders); the whole entry is in `GET /v1/journal`."""


def _payload(text: str) -> str:
    """The entry's payload as indented JSON, cut at JSON_SHOWN characters."""
    try:
        pretty = json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True, indent=1)
    except ValueError:
        pretty = text
    return pretty if len(pretty) <= JSON_SHOWN else pretty[:JSON_SHOWN] + " …"


AUTO_VERIFY_ENTRIES = 20_000
"""Up to this many entries the journal screen verifies by itself when the journal has grown
since the last verification; above it, only when asked ("Verify now"): a full fold of a large
journal is not for every page view."""


def _audit_status(request: Request, head_seq: int, head_hash: str | None) -> dict[str, Any]:
    """The last verification (kept per server process), made anew when asked, or when the
    journal has grown and is small enough; with how many entries came since."""
    state = request.app.state
    last: dict[str, Any] | None = getattr(state, "portal_audit", None)
    asked = request.query_params.get("verify") == "1"
    current = last is not None and last["seq"] == head_seq and last["hash"] == head_hash
    if asked or (not current and head_seq <= AUTO_VERIFY_ENTRIES):
        report = audit.verify(kit.db(request))
        last = {
            "seq": head_seq,
            "hash": head_hash,
            "report": report.as_dict(),
            "at": kit.db(request).clock()[:19] + "Z",  # the business clock, as the entries
        }
        state.portal_audit = last
    if last is None:
        return {"report": None, "since": head_seq, "at": None}
    return {"report": last["report"], "since": head_seq - last["seq"], "at": last["at"]}


@router.get("/journal", response_class=HTMLResponse)
def journal_screen(request: Request, user: OperatorUser) -> Response:
    db = kit.db(request)
    q = request.query_params
    t, lang = kit.labels(request, "operator"), kit.lang_of(request)
    filters = {
        "kind": q.get("kind", "")[:64],
        "actor": q.get("actor", "")[:200],
        "from": q.get("from", ""),
        "to": q.get("to", ""),
    }
    last, head_hash = journal_search.head(db, user.actor)
    found = journal_search.entries(
        db,
        user.actor,
        kind=filters["kind"],
        actor_text=filters["actor"],
        seq_from=kit.query_int(request, "from"),
        seq_to=kit.query_int(request, "to"),
        before=kit.query_int(request, "before"),
        limit=JOURNAL_PAGE,
    )
    entries = [
        {
            "seq": r.seq,
            "at": r.at,
            "kind": r.kind,
            "actor": r.actor,
            "time": when(r.at),
            "sentence": describe(r.kind, r.actor, r.payload, t, lang),
            "payload": _payload(r.payload),
            "hash": r.hash,
        }
        for r in found.entries
    ]
    kept = {k: v for k, v in filters.items() if v}

    def link(before: int | None) -> str | None:
        if before is None:
            return None
        return "/portal/operator/journal?" + urlencode({"before": before} | kept)

    return operator_page(
        request,
        "operator_journal.html",
        user,
        entries=entries,
        audit_status=_audit_status(request, last, head_hash),
        filters=filters,
        older=link(found.older),
        newer=link(found.newer),
        latest="before" in q,
        latest_link="/portal/operator/journal" + ("?" + urlencode(kept) if kept else ""),
        verify_link="/portal/operator/journal?" + urlencode({"verify": 1} | kept),
    )
