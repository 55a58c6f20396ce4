"""The usage demo (demo_usage.seed) on both backends: inventories and retirements that the usage
rules admit, every certificate verifies, and the showcase claim report says what the demo
promises."""

from __future__ import annotations

import datetime as dt

from tanso.demo import market as demo
from tanso.demo import usage as demo_usage
from tanso.demo.exchange_days import DemoClock
from tanso.services.common import SYSTEM
from tanso.services.compliance import certificates, claims
from tanso.services.ledger import audit, registry
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store.db import Database


def test_the_usage_demo_loads_and_its_claims_hold(db: Database) -> None:
    keys = demo.load(db)
    clock = DemoClock(dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC))
    line = demo_usage.seed(db, Exchange(db, japan_calendar()), keys, clock, [])
    assert "/verify/RT-" in line and "/portal/claims?year=2025" in line
    rid = line.split("/verify/")[1].split()[0]

    retirements = registry.list_retirements(db, SYSTEM, 1_000)
    purposes = {p for r in retirements for p in r.purposes}
    assert {"offset_scope1", "offset_scope2", "offset_scope3", "re100"} <= purposes
    for r in retirements:
        v = certificates.verification(db, r.id)
        assert v.verification.verified, r.id
        assert sum(x.quantity for x in v.ranges) == r.quantity
    assert certificates.certificate(db, rid).beneficiary == "富士見食品株式会社"
    last = certificates.verification(db, rid).verification.last_audit
    assert last is not None and last.ok is True

    fujimi = claims.report(db, SYSTEM, "FUJIMI_FOODS", 2025)
    by = {c.code: c for c in fujimi.claims}
    assert by["carbon_neutral_scope12"].allowed
    assert by["carbon_neutral"].reason == "residual_not_covered"
    assert by["offset_scope1"].allowed and by["offset_scope2"].allowed
    assert fujimi.scopes[0].remaining == 0 and fujimi.scopes[1].remaining == 0
    hokuto = claims.report(db, SYSTEM, "HOKUTO_STEEL", 2024)
    assert {c.code: c.allowed for c in hokuto.claims}["shk_reporting"] is True
    assert audit.verify(db).ok
