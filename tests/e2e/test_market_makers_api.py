"""Market makers and GX-League-only trading over HTTP through tanso.client: the operator defines a
programme and appoints a market maker, its orders come back marked as quotes, the public reads
who makes markets, only the market maker and the operator read its compliance, the monthly
report comes as CSV in both languages; a non-member's order on a GX-League-only instrument is
refused with a reason a person understands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TERMS = {
    "id": "MM-ES",
    "instrument": "JC-ES",
    "name_en": "Energy saving market making",
    "name_ja": "省エネ マーケットメイク",
    "starts": "2026-01-05",
    "ends": "2026-03-31",
    "window_from": "09:00",
    "window_to": "15:00",
    "max_spread": 200,
    "min_quantity": 500,
    "min_presence_pct": 50,
    "incentive_per_day": 5_000,
}


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    keys = {}
    add_participant(db, "MAKER", ["trader", "market_maker"])
    add_participant(db, "OTHER")
    for pid in ("MAKER", "OTHER", "OPERATOR"):
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    add_issuance(db, "MAKER-MAIN", 5_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "MAKER", 10_000_000)
    fund(db, "OTHER", 10_000_000)
    open_market(Exchange(db, japan_calendar()), energy_saving("continuous"))
    with TestClient(create_app(db)) as http:
        transport = http._transport  # type: ignore[attr-defined]
        cs: dict[str, Any] = {
            pid: Client("http://testserver", key, transport=transport) for pid, key in keys.items()
        }
        cs["PUBLIC"] = Client("http://testserver", transport=transport)
        yield cs | {"http": http, "keys": keys}


def test_a_programme_its_quotes_and_who_reads_compliance(clients: dict[str, Any]) -> None:
    op, maker, other, public = (clients[k] for k in ("OPERATOR", "MAKER", "OTHER", "PUBLIC"))
    with pytest.raises(ApiError) as refused:
        maker.define_mm_programme(**TERMS)
    assert refused.value.status == 403
    assert op.define_mm_programme(**TERMS).max_spread == 200
    with pytest.raises(ApiError) as not_mm:
        op.appoint_market_maker("MM-ES", "OTHER")
    assert (not_mm.value.status, not_mm.value.code) == (409, "not_a_market_maker")
    op.appoint_market_maker("MM-ES", "MAKER")
    [listed] = public.market_makers()
    assert [m.participant_id for m in listed.market_makers] == ["MAKER"]
    bid = maker.place_order("JC-ES", "buy", 500, 1_950)
    ask = maker.place_order("JC-ES", "sell", 500, 2_050)
    assert bid.quote and ask.quote
    assert not other.place_order("JC-ES", "buy", 10, 1_900).quote
    [mine] = maker.mm_compliance("MAKER", "2026-01-05", "2026-01-05")
    assert mine.programme_id == "MM-ES" and mine.days_measured == 1
    with pytest.raises(ApiError) as nosy:
        other.mm_compliance("MAKER", "2026-01-05", "2026-01-05")
    assert nosy.value.status == 403
    http, key = clients["http"], clients["keys"]["OPERATOR"]
    auth = {"Authorization": f"Bearer {key}"}
    csv_ja = http.get("/v1/market-makers/reports/2026-01?lang=ja", headers=auth)
    assert csv_ja.status_code == 200 and csv_ja.text.startswith("対象月,")
    assert "MM-ES,JC-ES,MAKER" in csv_ja.text
    bad = http.get("/v1/market-makers/MAKER/compliance?from=2026-02-01&to=2026-01-01", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_range"


def test_a_gx_league_only_instrument_refuses_a_non_member(clients: dict[str, Any]) -> None:
    other, op, http = clients["OTHER"], clients["OPERATOR"], clients["http"]
    auth = {"Authorization": f"Bearer {clients['keys']['OPERATOR']}"}
    body = {
        "id": "JC-GX",
        "name_en": "GX only",
        "name_ja": "GXリーグ限定",
        "eligibility": {"schemes": ["JC"], "gx_league_only": True},
        "mode": "continuous",
        "reference_price": 2_000,
    }
    assert http.post("/v1/instruments", json=body, headers=auth).status_code == 201
    op.session("JC-GX", "open")
    assert [i.eligibility["gx_league_only"] for i in other.instruments() if i.id == "JC-GX"] == [
        True
    ]
    with pytest.raises(ApiError) as refused:
        other.place_order("JC-GX", "buy", 10, 2_000)
    assert (refused.value.status, refused.value.code) == (403, "gx_league_only")
    assert "OTHER is not a GX League member" in refused.value.message
    assert op.set_participant_attributes("OTHER", gx_league=True).gx_league
    assert other.place_order("JC-GX", "buy", 10, 2_000).status == "open"
