"""Surveillance over HTTP: the server's online monitor raises the alert as the trade commits;
the operator lists it, reads its evidence and works it; a participant gets 403 everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.services import surveillance
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.trading.exchange import NewOrder
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund


@pytest.fixture
def clients(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("TANSO_SURVEILLANCE_ONLINE", "true")
    keys = {"OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key}
    for pid in ("SELLER", "BUYER"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    for pid in ("SELLER", "BUYER"):
        participants.set_attributes(db, SYSTEM, pid, corporate_group="HOLDCO")
    add_issuance(db, "SELLER-MAIN", 1_000, category="ENERGY_SAVING")
    fund(db, "BUYER", 10_000_000)
    app = create_app(db)
    with TestClient(app) as http:
        cs = {
            pid: Client("http://testserver", key, transport=http._transport)  # type: ignore[attr-defined]
            for pid, key in keys.items()
        }
        op = cs["OPERATOR"]
        op.request(
            "POST",
            "/v1/instruments",
            json={
                "id": "ES",
                "name_en": "Energy saving",
                "name_ja": "省エネ",
                "eligibility": {"categories": ["ENERGY_SAVING"]},
                "reference_price": 2_000,
            },
        )
        op.session("ES", "open")
        cs["BUYER"].place_order("ES", "buy", 100, 2_000)
        cs["SELLER"].place_order("ES", "sell", 100, 2_000)
        op.run_auction("ES")
        db.part("surveillance", lambda: None).wait()  # the online worker has written its alerts
        yield cs | {"db": db}


def test_the_online_alert_is_listed_read_and_worked_by_the_operator(
    clients: dict[str, Any],
) -> None:
    op = clients["OPERATOR"]
    (alert,) = op.surveillance_alerts(rule="wash_trade")
    assert alert.participants == ["BUYER", "SELLER"] and alert.raised_by == "online"
    assert op.surveillance_alerts(state="dismissed") == []
    detail = op.surveillance_alert(alert.id)
    assert detail.evidence["corporate_group"] == "HOLDCO" and len(detail.evidence["trade_ids"]) == 1
    op.work_alert(alert.id, "review")
    done = op.work_alert(alert.id, "dismiss", "a declared intra-group transfer")
    assert done.state == "dismissed" and [h.action for h in done.history][-1] == "dismiss"
    with pytest.raises(ApiError) as e:
        op.work_alert(alert.id, "escalate", "again")
    assert e.value.status == 409
    scan = op.surveillance_scan("2026-01-01", "2026-12-31")
    assert scan.by_rule["wash_trade"] == 1 and scan.raised == 0
    assert audit.verify(clients["db"]).ok


def test_a_participant_reads_no_alert_not_even_its_own(clients: dict[str, Any]) -> None:
    (alert,) = clients["OPERATOR"].surveillance_alerts(rule="wash_trade")
    for pid in ("BUYER", "SELLER"):
        c = clients[pid]
        for method, path, body in (
            ("GET", "/v1/surveillance/alerts", None),
            ("GET", f"/v1/surveillance/alerts/{alert.id}", None),
            ("POST", f"/v1/surveillance/alerts/{alert.id}/review", {"note": ""}),
            ("POST", "/v1/surveillance/scan", {"from": "2026-01-01", "to": "2026-12-31"}),
        ):
            with pytest.raises(ApiError) as e:
                c.request(method, path, json=body)
            assert e.value.status == 403, (pid, path)


# ---------------------------------------------------------------- the operator's screens


def test_the_operator_finds_reads_and_escalates_an_alert_on_the_portal(db: Database) -> None:
    from tests.e2e.test_operator_portal import BETA, as_operator, cross, exchange, prepare
    from tests.e2e.test_portal import login

    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        csrf = as_operator(http)
        cross(http, 1_000)  # ALPHA's 1,000 t bid takes BETA's 100 t: each side wholly one owner
        exchange(http).place(BETA, NewOrder("ES", "sell", 900, 2_000, account_id="BETA-MAIN"))
        exchange(http).session(SYSTEM, "ES", "auction")
        r = http.post(
            "/portal/operator/surveillance/scan",
            data={"csrf": csrf, "from": "2026-01-01", "to": "2026-12-31"},
        )
        assert r.status_code == 200 and "new alerts" in r.text, r.text
        (alert,) = surveillance.alerts(db, SYSTEM, rule="concentration", participant="ALPHA")
        page = http.get("/portal/operator/surveillance?state=new&rule=concentration")
        assert (
            f'data-alert="{alert.id}"' in page.text and "Concentration in an auction" in page.text
        )
        detail = http.get(f"/portal/operator/surveillance/{alert.id}")
        assert "Order book before" in detail.text and "share_pct" in detail.text
        base = f"/portal/operator/surveillance/{alert.id}"
        r = http.post(f"{base}/escalate", data={"csrf": csrf, "note": ""})
        assert r.status_code == 422 and "Say why in a note" in r.text
        r = http.post(f"{base}/escalate", data={"csrf": csrf, "note": "one buyer took it all"})
        assert r.status_code == 200 and "is now: Escalated" in r.text
        ja = http.get(f"{base}?lang=ja")
        assert (
            "上申済み" in ja.text
            and "板寄せにおける売買の集中" in ja.text
            and "審査履歴" in ja.text
        )
        assert http.get("/portal/operator/surveillance/999999").status_code == 404
        # a participant's user is refused the screens
        http.cookies.clear()
        assert login(http, "administrator@alpha.example.jp").status_code == 303
        assert http.get("/portal/operator/surveillance").status_code == 403
        assert http.get(base).status_code == 403
    assert surveillance.get_alert(db, SYSTEM, alert.id).state == "escalated"
