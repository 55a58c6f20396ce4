"""The demo's sealed-bid auctions: one cleared with results, one open for bids; audit holds."""

from __future__ import annotations

import datetime as dt

from tanso.demo import auctions as demo_auctions
from tanso.demo.exchange_days import DemoClock, at_jst, demo_days
from tanso.services.common import SYSTEM, plain
from tanso.services.ledger import audit, participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import sealed_auctions as sa
from tanso.settings import utc_now
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund


def test_the_demo_seeds_a_cleared_and_an_open_auction(db: Database) -> None:
    days = demo_days(dt.datetime.now(dt.UTC).date())
    clock = DemoClock(at_jst(days[0], 8, 30))
    db.clock = clock
    keys = {"OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key}
    for pid in ("HOLDER", "BUY1", "BUY2", "BUY3"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    add_issuance(db, "HOLDER-MAIN", 5_000)
    add_issuance(db, "BUY1-MAIN", 100)
    for pid, amount in (("BUY1", 30_000_000), ("BUY2", 20_000_000), ("BUY3", 10_000_000)):
        fund(db, pid, amount)
    line = demo_auctions.seed(db, Exchange(db, japan_calendar()), keys, clock, days)
    db.clock = utc_now
    (cleared,) = sa.list_auctions(db, "cleared")
    (opened,) = sa.list_auctions(db, "open")
    assert cleared.result is not None
    assert cleared.seller is None and "seller" not in plain(cleared)
    assert cleared.result.sold == 1_000
    assert {a.seller for a in sa.own_auctions(db, SYSTEM)} == {"HOLDER"}
    assert cleared.result.clearing_price == 3_000 and cleared.result.bidders == 3
    assert len(cleared.result.demand_curve) == 5
    assert opened.closes_at > utc_now() and cleared.id in line
    assert audit.verify(db).ok
