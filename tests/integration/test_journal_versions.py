"""A journal written before the payload version (v1: `qty`) verifies, rebuilds and streams."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tanso.domain.journal import canonical_json
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.marketdata import stream
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund


def _as_v1(value: Any) -> Any:
    """A payload as Tanso wrote it before version 2: no `v`, quantities spelled `qty`."""
    if isinstance(value, dict):
        return {k.replace("quantity", "qty"): _as_v1(v) for k, v in value.items() if k != "v"}
    if isinstance(value, list):
        return [_as_v1(v) for v in value]
    return value


def _v1_writer(value: Any) -> str:
    if isinstance(value, dict) and "command" in value:  # an exchange entry
        value = _as_v1(value)
    return canonical_json(value)


def _books(x: Exchange) -> dict[str, tuple[str, int | None, int]]:
    return {
        oid: (o.side, o.price, o.quantity)
        for oid, m in x.engine.order_market.items()
        for o in (m.book.orders[oid],)
    }


def _exchange_payloads(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            select(t.journal.c.payload)
            .where(t.journal.c.kind.like("exchange.%"))
            .order_by(t.journal.c.seq)
        ).all()
    return [json.loads(r.payload) for r in rows]


def test_a_journal_of_v1_entries_verifies_rebuilds_the_books_and_streams_quantity(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SELLER"), add_participant(db, "BUYER")
    add_issuance(db, "SELLER-MAIN", 10_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 50_000_000)
    spec = energy_saving()
    with monkeypatch.context() as m:
        m.setattr("tanso.store.db.canonical_json", _v1_writer)
        x.define_instrument(SYSTEM, spec)
        x.session(SYSTEM, "JC-ES", "open")
        x.place(buyer, NewOrder("JC-ES", "buy", 1_000, 2_000))
        x.place(seller, NewOrder("JC-ES", "sell", 600, 2_000))
        assert x.session(SYSTEM, "JC-ES", "auction").auctions[0].volume == 600
        rest = x.place(seller, NewOrder("JC-ES", "sell", 500, 2_100))
        x.amend(seller, rest.id, quantity=300)
    v1 = _exchange_payloads(db)
    assert v1 and all("v" not in p for p in v1)
    assert any("qty" in e for p in v1 for e in p.get("events", []))

    assert audit.verify(db).ok
    live = _books(x)
    assert live == {
        next(iter(live)): ("buy", 2_000, 400),
        rest.id: ("sell", 2_100, 300),
    }
    again = Exchange(db, japan_calendar())  # recovers from the journal, checks the tables
    assert _books(again) == live

    feed = stream.Feed(db)
    messages, _ = feed.journal_page(0, feed.floor)
    trades = [e for msg in messages for e in msg.events if e["channel"] == "trades"]
    assert [(e["price"], e["quantity"]) for e in trades] == [(2_000, 600)]
    assert all("qty" not in e for e in trades)

    # entries written from now on carry the version and the current names
    again.place(buyer, NewOrder("JC-ES", "buy", 100, 1_900))
    newest = _exchange_payloads(db)[-1]
    assert newest["v"] == 2 and newest["command"]["quantity"] == 100
    assert audit.verify(db).ok
