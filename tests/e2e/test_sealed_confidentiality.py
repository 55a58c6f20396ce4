"""Sealed means sealed, the operator included: one test per statement of docs/sealed-auctions.md
("What the operator can and cannot see")."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from sqlalchemy import select

from tanso.api import ops
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.operations import journal_search
from tanso.store import schema as t
from tests.e2e.test_sealed_auctions_api import _offer
from tests.e2e.test_sealed_auctions_api import clients as clients  # the fixture
from tests.integration.test_sealed_auctions import AFTER, DURING

PRICE, QUANTITY, AMOUNT = 1_777, 30, "53310"  # 1,777 x 30


def _journal(c: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = c["OPERATOR"].request(
        "GET", "/v1/journal", params={"limit": 1000}
    )
    return entries


def _after(entries: list[dict[str, Any]], auction_id: str) -> list[dict[str, Any]]:
    """The entries from the auction's creation on."""
    first = next(e["seq"] for e in entries if auction_id in e["payload"])
    return [e for e in entries if e["seq"] >= first]


def test_before_clearing_a_bid_entry_shows_only_its_place_in_the_chain(
    clients: dict[str, Any],
) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c)
    clock.set(DURING)
    bid = c["B1"].sealed_bid(a.id, "B1-MAIN", PRICE, QUANTITY)
    c["B1"].amend_sealed_bid(bid.id, quantity=20)
    sealed = [e for e in _after(_journal(c), a.id) if e.get("sealed")]
    assert len(sealed) == 2
    for e in sealed:
        assert (e["kind"], e["at"], e["actor"], json.loads(e["payload"])) == (
            "sealed",
            "",
            "(sealed)",
            {"sealed": True},
        )
    text = json.dumps(_after(_journal(c), a.id))
    # the bidder as the journal would name it (a bare "B1" may occur in a random auction id)
    bidder = ('"B1"', '\\"B1\\"', "B1-MAIN", "CASH-B1-")
    for secret in (bid.id, *bidder, AMOUNT, "35540", "bid_placed", "bid_amended"):
        at = text.find(secret)
        assert at < 0, f"{secret!r} shows in the journal: ...{text[max(at - 300, 0) : at + 60]}"
    # the stored entries are complete: the audit folds their cash reservations
    with c["db"].read() as conn:
        stored = conn.execute(
            select(t.journal.c.payload).where(t.journal.c.kind.like("sealed_auction.bid%"))
        ).all()
    assert all("cash_reserve" in r.payload for r in stored)
    assert audit.verify(c["db"]).ok


def test_after_clearing_opened_bids_read_in_full_and_a_withdrawn_bid_stays_sealed(
    clients: dict[str, Any],
) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c, pricing="pay_as_bid")
    clock.set(DURING)
    won = c["B1"].sealed_bid(a.id, "B1-MAIN", PRICE, QUANTITY)
    gone = c["B2"].sealed_bid(a.id, "B2-MAIN", 1_234, 10)
    c["B2"].withdraw_sealed_bid(gone.id)
    clock.set(AFTER)
    c["SELLER"].clear_sealed_auction(a.id)
    entries = _after(_journal(c), a.id)
    opened = [e for e in entries if e["kind"] == "sealed_auction.bid_placed"]
    assert [won.id in e["payload"] for e in opened] == [True]
    assert sum(1 for e in entries if e.get("sealed")) == 2  # B2's placement and withdrawal
    assert gone.id not in json.dumps([e for e in entries if e["kind"] != "sealed_auction.cleared"])


def test_a_cancelled_auction_keeps_its_bids_sealed_for_ever(clients: dict[str, Any]) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c)
    clock.set(DURING)
    bid = c["B1"].sealed_bid(a.id, "B1-MAIN", PRICE, QUANTITY)
    c["SELLER"].cancel_sealed_auction(a.id)
    clock.set(AFTER)
    entries = _after(_journal(c), a.id)
    (cancelled,) = [e for e in entries if e["kind"] == "sealed_auction.cancelled"]
    assert cancelled["sealed"] is True and "cash_reserve" not in json.loads(cancelled["payload"])
    text = json.dumps(entries)
    assert bid.id not in text and "CASH-B1" not in text and AMOUNT not in text
    # the journal screen and its search read through the same seal
    page = journal_search.entries(c["db"], SYSTEM, kind="sealed_auction").entries
    assert all(e.kind != "sealed" for e in page)
    assert AMOUNT not in json.dumps([e.payload for e in page])
    by_bidder = journal_search.entries(c["db"], SYSTEM, actor_text="B1").entries
    assert all("bid" not in e.kind and bid.id not in e.payload for e in by_bidder)
    assert audit.verify(c["db"]).ok


def test_a_search_can_neither_count_nor_page_through_bids(clients: dict[str, Any]) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c)
    clock.set(DURING)
    for _ in range(3):
        c["B1"].sealed_bid(a.id, "B1-MAIN", PRICE, 10)
    for kind in ("sealed_auction.bid_placed", "sealed_auction.bid", "sealed"):
        page = journal_search.entries(c["db"], SYSTEM, kind=kind, limit=1)
        assert (page.entries, page.older, page.newer) == ([], None, None)


def test_the_operators_cash_figures_leave_out_cash_held_for_sealed_bids(
    clients: dict[str, Any],
) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c)
    clock.set(DURING)
    c["B1"].sealed_bid(a.id, "B1-MAIN", PRICE, QUANTITY)
    (seen,) = c["OPERATOR"].request("GET", "/v1/cash", params={"participant_id": "B1"})
    assert (seen["reserved"], seen["available"]) == (0, seen["balance"])
    (own,) = c["B1"].request("GET", "/v1/cash")
    assert own["reserved"] == PRICE * QUANTITY
    clock.set(AFTER)
    c["SELLER"].clear_sealed_auction(a.id)
    (after,) = c["OPERATOR"].request("GET", "/v1/cash", params={"participant_id": "B1"})
    assert after == c["B1"].request("GET", "/v1/cash")[0]


def test_metrics_are_the_operators_and_count_no_bid_requests(clients: dict[str, Any]) -> None:
    c, clock = clients, clients["clock"]
    assert c["PUBLIC"]._http.get("/metrics").status_code == 401
    assert c["B1"]._http.get("/metrics").status_code == 403
    a = _offer(c)
    clock.set(DURING)
    stream = io.StringIO()
    ops.configure_logging("json", "info", stream)
    try:
        bid = c["B1"].sealed_bid(a.id, "B1-MAIN", PRICE, QUANTITY)
        c["B1"].amend_sealed_bid(bid.id, quantity=20)
        c["B1"].my_sealed_bids(a.id)
    finally:
        logging.getLogger("tanso").handlers = [
            h for h in logging.getLogger("tanso").handlers if h.get_name() != ops.HANDLER_NAME
        ]
    text = c["OPERATOR"]._http.get("/metrics").text
    assert "/bids" not in text and a.id not in text
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if "/bids" in x]
    assert len(lines) == 3
    for line in lines:
        assert a.id not in json.dumps(line) and bid.id not in json.dumps(line)
        assert not {"participant", "key_id", "ip", "user_id"} & set(line)
