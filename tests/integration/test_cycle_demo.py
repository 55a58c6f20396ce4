"""The project cycle's demo (tanso.demo.cycle): a forest project registered with two verified
reports issued from, a biochar plan under validation, every step on a business day before the
demo's history, and a journal that still verifies."""

from __future__ import annotations

import datetime as dt

import pytest

from tanso.demo import cycle
from tanso.demo.exchange_days import demo_days
from tanso.services.common import SYSTEM
from tanso.services.cycle import integrity, issuance_requests, monitoring, plans, public
from tanso.services.ledger import audit, registry
from tanso.services.trading.calendar import japan_calendar
from tanso.store.db import Database

LIVE = dt.date(2026, 12, 7)


@pytest.mark.fast_backends("sqlite")
def test_the_demo_registers_a_forest_project_issued_from_twice_and_a_biochar_plan_under_validation(
    db: Database,
) -> None:
    days = demo_days(LIVE)
    clock = db.clock
    assert cycle.run(db, days).startswith("project cycle: P1027")
    assert db.clock is clock  # the business clock handed back

    forest = plans.get(db, None, cycle.FOREST_PROJECT)
    assert forest.state == "registered" and forest.validation is not None
    assert forest.validation.opinion == "positive"
    reports = monitoring.list_reports(db, None, project_id=cycle.FOREST_PROJECT)
    assert [r.state for r in reports] == ["verified", "verified"]
    verified = [r.verification.verified_tonnes for r in reports if r.verification]
    assert verified[0] == reports[0].claimed_tonnes and verified[1] < reports[1].claimed_tonnes
    requests = issuance_requests.list_requests(db, SYSTEM, project_id=cycle.FOREST_PROJECT)
    issued = sorted(
        registry.get_issuance(db, q.issuance_id).quantity
        for q in requests
        if q.state == "approved" and q.issuance_id
    )
    assert issued == sorted(verified)
    second = reports[1].verification
    assert second is not None and second.parameters  # the body's corrected figures, public
    page = public.project_cycle(db, cycle.FOREST_PROJECT)
    assert page is not None and page.reports[1].corrected_tonnes == verified[1]
    assert integrity.check(db).problems == []
    for r in reports:
        assert r.period_end < r.submitted_at[:10] < days[0].isoformat()
        assert {e.kind for e in r.evidence or []} == {"measurement", "satellite_data"}

    biochar = plans.get(db, None, cycle.BIOCHAR_PROJECT)
    assert biochar.state == "under_validation" and biochar.validation is None
    assert biochar.validator_id == cycle.TOKIWA.id and biochar.documents
    assert audit.verify(db).ok
    assert cycle.run(db, days) == ""  # once


@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_every_step_of_the_timeline_is_a_business_day_in_order_before_the_history(
    year: int,
) -> None:
    cal = japan_calendar()
    for first in (dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range(366)):
        t = cycle.Timeline.before(first)
        (s1, e1), (s2, e2) = t.periods
        approved = cycle._business_day(e2 + dt.timedelta(days=cycle.REPORT_STEPS["approved"]))
        steps = [
            t.bodies,
            t.developer,
            t.drafted,
            t.submitted,
            t.validation_started,
            t.validated,
            t.registered,
            s1,
        ]
        assert steps == sorted(steps) and len(set(steps)) == len(steps), first
        assert e1 < s2 <= e2 < approved < t.biochar_drafted, first
        biochar = [t.biochar_drafted, t.biochar_submitted, t.biochar_validation_started, first]
        assert biochar == sorted(biochar) and len(set(biochar)) == 4, first
        assert all(cal.is_business_day(d) for d in steps[:-1] + biochar[:-1])
