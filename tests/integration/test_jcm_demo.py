"""The demo's JCM market (demo/jcm.py): listed before the history, it trades at the first
auction, in every partner country of the demo's JCM projects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tanso.demo import jcm
from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import demo_database

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DAYS = [dt.date(2026, 1, 6), dt.date(2026, 1, 7)]


@pytest.fixture
def demo_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Database, dict[str, str]]]:
    database, keys = demo_database("sqlite", request, tmp_path)
    yield database, keys
    database.dispose()


def test_the_demo_lists_a_jcm_instrument_per_partner_country_and_trades_it(
    demo_db: tuple[Database, dict[str, str]],
) -> None:
    db, keys = demo_db
    clock = DemoClock(at_jst(DAYS[0], 8, 0))
    db.clock = clock
    x = Exchange(db, japan_calendar())
    listed = jcm.run(db, x, keys, clock, DAYS, standing={"TAIYO", "TOKAI", "AOBA_CHEM"})
    assert listed == ["JCM-ID", "JCM-MN", "JCM-TH", "JCM-VN"]
    clock.set(at_jst(DAYS[0], 11, 30))
    for instrument in listed:
        x.session(SYSTEM, instrument, "auction")
    tr = t.trades.c
    with db.read() as conn:
        rows = conn.execute(select(tr.instrument_id, tr.quantity, tr.price)).all()
    traded = {r.instrument_id: (r.quantity, r.price) for r in rows}
    assert {i: q for i, (q, _) in traded.items()} == {i: jcm.FIRST_BIDS[i][1] for i in listed}
    for i, (_, price) in traded.items():
        assert jcm.REFERENCES[i] <= price <= jcm.REFERENCES[i] + jcm.REFERENCES[i] // 100
    o = t.orders.c
    with db.read() as conn:
        asks = conn.execute(select(o.participant_id, o.tif).where(o.side == "sell")).all()
    # the portal users' company (MARUHAMA holds the Vietnamese credits) keeps no standing ask
    assert {(r.participant_id, r.tif) for r in asks} == {
        ("MARUHAMA", "day"),
        ("TAIYO", "gtc"),
        ("TOKAI", "gtc"),
        ("AOBA_CHEM", "gtc"),
    }
    assert audit.verify(db).ok
