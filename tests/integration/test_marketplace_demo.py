"""The marketplace part of the demo on each backend: profiles, listings and one RFQ, audited."""

from __future__ import annotations

import datetime as dt

from tanso.demo import market as demo
from tanso.demo import marketplace as demo_marketplace
from tanso.demo.exchange_days import DemoClock, demo_days
from tanso.services.common import Actor
from tanso.services.ledger import audit
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import marketplace as market
from tanso.store.db import Database


def test_the_demo_lists_project_credits_with_profiles_and_one_rfq(db: Database) -> None:
    keys = demo.load(db)
    days = demo_days(dt.date(2026, 3, 2))
    clock = DemoClock(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    db.clock = clock
    line = demo_marketplace.seed(db, Exchange(db, japan_calendar()), keys, clock, days)
    assert "listings" in line
    listings = market.search_listings(db, None)
    assert len(listings) >= 5
    assert {x.mechanism for x in listings} == {"reduction", "removal"}
    assert {x.nature for x in listings} == {"nature", "technology"}
    assert any(x.settlement_days == 0 for x in listings)
    assert market.project(db, "5203").ratings
    assert market.check_reservations(db) == []
    rfqs = [r for pid in keys if pid != "OPERATOR" for r in market.rfqs(db, Actor(pid), "out")]
    assert len(rfqs) == 1 and rfqs[0].offers
    assert audit.verify(db).ok
