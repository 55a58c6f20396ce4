"""Surveillance (issue 17, 売買審査): each rule fires on its injected pattern, with its evidence,
and not on the normal trading next to it; the online path and a batch scan raise the same
alerts for the same history; alerts are worked new → reviewing → dismissed or escalated, every
step in the journal; only the exchange operator reads or works them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain import surveillance as sv
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services import surveillance
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market

JST = dt.timezone(dt.timedelta(hours=9))
DAY = dt.date(2026, 1, 6)  # a Tuesday, a business day
OPERATOR = Actor("OPERATOR", frozenset({Role.EXCHANGE_OPERATOR}))


class SetClock:
    """Time the test sets: each reading a millisecond later, never back."""

    def __init__(self) -> None:
        self.t = dt.datetime.combine(DAY, dt.time(8, 0), JST)

    def at(self, hh: int, mm: int, day: dt.date = DAY) -> None:
        self.t = max(self.t, dt.datetime.combine(day, dt.time(hh, mm), JST))

    def __call__(self) -> str:
        self.t += dt.timedelta(milliseconds=1)
        return self.t.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@pytest.fixture
def m(db: Database) -> dict[str, Any]:
    return _market(db)


def _market(db: Database) -> dict[str, Any]:
    """A call market JC-ES (2,000 JPY): sellers S1, S2 with credits, buyers B1, B2, PX funded."""
    clock = SetClock()
    db.clock = clock
    x = Exchange(db, japan_calendar())
    actors = {pid: add_participant(db, pid) for pid in ("S1", "S2", "B1", "B2", "PX")}
    for pid in ("S1", "S2", "PX"):
        add_issuance(db, f"{pid}-MAIN", 20_000, vintage=2021, category="ENERGY_SAVING")
    for pid in ("B1", "B2", "PX", "S2"):
        fund(db, pid, 500_000_000)
    open_market(x, energy_saving())
    return {"x": x, "db": db, "clock": clock, **actors}


def _order(m: dict[str, Any], pid: str, side: str, quantity: int, price: int) -> str:
    return str(m["x"].place(m[pid], NewOrder("JC-ES", side, quantity, price)).id)


def _auction(m: dict[str, Any], hh: int, mm: int, day: dt.date = DAY) -> Any:
    m["clock"].at(hh, mm, day)
    return m["x"].session(SYSTEM, "JC-ES", "auction")


def _scan(m: dict[str, Any], day: dt.date = DAY) -> surveillance.Scan:
    return surveillance.scan(m["db"], OPERATOR, day, day)


def _alerts(db: Database, rule: str) -> list[surveillance.AlertDetail]:
    return [
        surveillance.get_alert(db, OPERATOR, a.id)
        for a in surveillance.alerts(db, OPERATOR, rule=rule)
    ]


# ---------------------------------------------------------------- rules as data


def test_the_shipped_rules_load_and_every_rule_is_there() -> None:
    rules = surveillance.rules()
    assert set(rules.by_id) == set(sv.RULE_IDS)
    assert all(r.enabled for r in rules.by_id.values())


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (lambda r: r.update(severity="urgent"), "severity"),
        (lambda r: r["thresholds"].update(min_quantity=1.5), "min_quantity"),
        (lambda r: r["thresholds"].update(min_quantity=0), "min_quantity"),
        (lambda r: r["thresholds"].pop("min_quantity"), "thresholds"),
        (lambda r: r.update(id="front_running"), "Unknown rule"),
    ],
)
def test_a_rules_file_with_a_wrong_rule_is_refused_with_what_is_wrong(
    change: Any, word: str
) -> None:
    import json

    data = json.loads(surveillance.RULES_FILE.read_text(encoding="utf-8"))
    change(data["rules"][0])
    with pytest.raises(InvalidInput) as e:
        sv.load_rules(json.dumps(data))
    assert word in e.value.message


# ---------------------------------------------------------------- wash trades


def test_a_wash_trade_between_two_participants_of_one_group_raises_an_alert(
    m: dict[str, Any],
) -> None:
    db: Database = m["db"]
    for pid in ("S1", "B1"):
        participants.set_attributes(db, SYSTEM, pid, corporate_group="HOLDCO")
    sell = _order(m, "S1", "sell", 100, 2_000)
    buy = _order(m, "B1", "buy", 100, 2_000)
    # the normal trade next to it: S2 sells to B2, no group in common
    _order(m, "S2", "sell", 50, 2_000)
    _order(m, "B2", "buy", 50, 2_000)
    result = _auction(m, 11, 30)
    scan = _scan(m)
    assert scan.by_rule["wash_trade"] == 1 and scan.raised >= 1
    (alert,) = _alerts(db, "wash_trade")
    trade = next(tr for tr in result.trades if tr.quantity == 100)
    assert alert.participants == ["B1", "S1"] and alert.severity == "high"
    ev = alert.evidence
    assert ev["trade_ids"] == [trade.id] and set(ev["order_ids"]) == {sell, buy}
    assert ev["corporate_group"] == "HOLDCO" and ev["quantity"] == 100
    assert ev["book_before"]["bids"][0]["price"] == 2_000
    assert alert.history[0].action == "raised" and alert.state == "new"


def test_trades_without_a_common_owner_raise_no_wash_alert(m: dict[str, Any]) -> None:
    participants.set_attributes(m["db"], SYSTEM, "S1", corporate_group="HOLDCO")
    participants.set_attributes(m["db"], SYSTEM, "B1", corporate_group="OTHERCO")
    _order(m, "S1", "sell", 100, 2_000)
    _order(m, "B1", "buy", 100, 2_000)
    _auction(m, 11, 30)
    assert _scan(m).by_rule["wash_trade"] == 0


# ---------------------------------------------------------------- spoofing and layering


def _spoof(m: dict[str, Any], pid: str, quantity: int, cancel_at: tuple[int, int]) -> str:
    m["clock"].at(9, 0)
    oid = _order(m, pid, "buy", quantity, 1_990)
    m["clock"].at(*cancel_at)
    m["x"].cancel(m[pid], oid)
    return oid


def test_large_orders_cancelled_just_before_the_auction_repeatedly_are_spoofing(
    m: dict[str, Any],
) -> None:
    ids = [_spoof(m, "PX", 5_000, (11, 25)) for _ in range(3)]
    # normal: B1's large order cancelled an hour before, B2's small ones just before
    _spoof(m, "B1", 5_000, (10, 20))
    for _ in range(3):
        _spoof(m, "B2", 100, (11, 26))
    _order(m, "S1", "sell", 100, 2_000)
    _order(m, "B1", "buy", 100, 2_000)
    _auction(m, 11, 30)
    scan = _scan(m)
    assert scan.by_rule["spoofing"] == 1
    (alert,) = _alerts(m["db"], "spoofing")
    assert alert.participants == ["PX"] and alert.instrument_id == "JC-ES"
    assert alert.evidence["order_ids"] == ids and alert.evidence["occurrences"] == 3
    assert all(o["quantity"] == 5_000 for o in alert.evidence["orders"])
    assert alert.evidence["book_before"]["bids"][0]["quantity"] == 100


def test_two_spoof_like_cancellations_are_not_yet_repeated(m: dict[str, Any]) -> None:
    for _ in range(2):
        _spoof(m, "PX", 5_000, (11, 25))
    _auction(m, 11, 30)
    assert _scan(m).by_rule["spoofing"] == 0


# ---------------------------------------------------------------- marking the close


def _day_with_a_midday_price(m: dict[str, Any]) -> None:
    m["clock"].at(9, 0)
    _order(m, "S1", "sell", 100, 2_000)
    _order(m, "B1", "buy", 100, 2_000)
    _auction(m, 11, 30)  # the 11:30 price: 2,000
    m["clock"].at(13, 0)
    _order(m, "S2", "sell", 100, 2_200)  # a seller asking 10% more waits all afternoon
    _order(m, "B2", "buy", 100, 2_000)


def test_a_late_order_that_lifts_the_closing_auction_is_marking_the_close(
    m: dict[str, Any],
) -> None:
    _day_with_a_midday_price(m)
    m["clock"].at(14, 56)
    late = _order(m, "PX", "buy", 100, 2_200)
    result = _auction(m, 15, 0)
    assert result.auctions[0].price == 2_200
    assert _scan(m).by_rule["marking_close"] == 1
    (alert,) = _alerts(m["db"], "marking_close")
    ev = alert.evidence
    assert alert.participants == ["PX"] and ev["order_ids"] == [late]
    assert (ev["auction_price"], ev["reference_price"], ev["reference"]) == (
        2_200,
        2_000,
        "midday_auction",
    )
    assert ev["move_bp"] == 1_000 and "price_without_late_orders" not in ev  # no trade without
    assert ev["trade_ids"] == [result.trades[0].id]
    assert ev["book_before"]["asks"][0]["price"] == 2_200 and ev["book_after"]["asks"] == []


def test_the_same_order_entered_early_in_the_afternoon_is_not_marking_the_close(
    m: dict[str, Any],
) -> None:
    _day_with_a_midday_price(m)
    m["clock"].at(13, 5)
    _order(m, "PX", "buy", 100, 2_200)
    result = _auction(m, 15, 0)
    assert result.auctions[0].price == 2_200
    assert _scan(m).by_rule["marking_close"] == 0


# ---------------------------------------------------------------- price limits


def test_orders_at_the_price_limit_again_and_again_raise_an_alert(m: dict[str, Any]) -> None:
    upper = m["x"].engine.limits("JC-ES")[1]
    ids = [_order(m, "PX", "buy", 10, upper) for _ in range(3)]
    _order(m, "B1", "buy", 10, upper)  # once: normal
    _order(m, "B1", "buy", 10, upper - 100)
    assert _scan(m).by_rule["price_limit_hits"] == 1
    (alert,) = _alerts(m["db"], "price_limit_hits")
    assert alert.participants == ["PX"] and alert.evidence["order_ids"] == ids
    assert {o["hit"] for o in alert.evidence["orders"]} == {"at_upper_limit"}
    assert alert.evidence["orders"][0]["upper_limit"] == upper


# ---------------------------------------------------------------- concentration


def test_one_participant_taking_nearly_all_of_an_auction_is_concentration(
    m: dict[str, Any],
) -> None:
    _order(m, "S1", "sell", 600, 2_000)
    _order(m, "S2", "sell", 600, 2_000)
    _order(m, "PX", "buy", 1_200, 2_000)
    _auction(m, 11, 30)
    # the next day, two buyers share an auction: normal
    _order(m, "S1", "sell", 1_200, 2_000)
    _order(m, "B1", "buy", 600, 2_000)
    _order(m, "B2", "buy", 600, 2_000)
    nxt = DAY + dt.timedelta(days=1)
    _auction(m, 11, 30, nxt)
    first, second = _scan(m), _scan(m, nxt)
    assert first.by_rule["concentration"] == 1
    (listed,) = surveillance.alerts(m["db"], OPERATOR, rule="concentration", to_date=DAY)
    alert = surveillance.get_alert(m["db"], OPERATOR, listed.id)
    assert alert.participants == ["PX"] and alert.evidence["share_pct"] == 100
    assert alert.evidence["bought"] == 1_200 and len(alert.evidence["trade_ids"]) == 2
    # the single seller of the second auction holds 100% of its side too, and is flagged
    assert second.by_rule["concentration"] == 1
    assert {a.participants[0] for a in surveillance.alerts(m["db"], OPERATOR)} == {"PX", "S1"}


# ---------------------------------------------------------------- self-trade prevention


def _continuous(db: Database) -> tuple[Exchange, Actor]:
    x = Exchange(db, japan_calendar())
    p = add_participant(db, "STP")
    add_issuance(db, "STP-MAIN", 5_000, vintage=2021, category="ENERGY_SAVING")
    fund(db, "STP", 50_000_000)
    open_market(x, energy_saving("continuous"))
    return x, p


@pytest.mark.parametrize(("times", "alerts"), [(5, 1), (4, 0)])
def test_frequent_self_trade_prevention_cancels_raise_an_alert(
    db: Database, times: int, alerts: int
) -> None:
    x, p = _continuous(db)
    for _ in range(times):
        x.place(p, NewOrder("JC-ES", "sell", 10, 2_000))
        x.place(p, NewOrder("JC-ES", "buy", 10, 2_000))
    day = sv.trade_date_of(db.clock())
    assert surveillance.scan(db, OPERATOR, day, day).by_rule["stp_cancels"] == alerts
    if alerts:
        (alert,) = _alerts(db, "stp_cancels")
        assert alert.participants == ["STP"] and alert.evidence["cancels"] == 5


# ---------------------------------------------------------------- online and batch alike


def test_the_online_path_and_a_batch_scan_raise_the_same_alerts(m: dict[str, Any]) -> None:
    db: Database = m["db"]
    online = surveillance.attach(db, m["x"])
    for pid in ("S1", "B1"):
        participants.set_attributes(db, SYSTEM, pid, corporate_group="HOLDCO")
    for _ in range(3):
        _spoof(m, "PX", 5_000, (11, 25))
    _order(m, "S1", "sell", 1_000, 2_000)
    _order(m, "B1", "buy", 1_000, 2_000)
    _auction(m, 11, 30)
    online.wait()
    with db.read() as conn:
        rows = conn.execute(select(surveillance.al_t)).all()
    assert {r.rule for r in rows} == {"wash_trade", "spoofing", "concentration"}
    assert {r.raised_by for r in rows} == {"online"}
    # the same history scanned finds the same findings with the same evidence, raises nothing
    scan = _scan(m)
    assert (scan.findings, scan.raised) == (len(rows), 0)
    batch = sv.Monitor(surveillance.rules(), {"S1": "HOLDCO", "B1": "HOLDCO"}).feed_all(
        surveillance.exchange_entries(db)
    )
    assert {f.key: f.evidence for f in batch} == {
        r.key: surveillance.loads(r.evidence) for r in rows
    }
    # a monitor started later catches up from the journal and raises nothing twice
    assert surveillance.OnlineMonitor(db).evaluate([]) == []
    assert audit.verify(db).ok


# ---------------------------------------------------------------- the workflow and access


def _one_alert(m: dict[str, Any]) -> int:
    _order(m, "S1", "sell", 1_000, 2_000)
    _order(m, "B1", "buy", 1_000, 2_000)
    _auction(m, 11, 30)
    scan = _scan(m)
    return scan.alert_ids[0]


def test_an_alert_is_reviewed_then_escalated_with_notes_each_step_journaled(
    m: dict[str, Any],
) -> None:
    db: Database = m["db"]
    alert_id = _one_alert(m)
    surveillance.act(db, OPERATOR, alert_id, "review", "looking at the orders")
    done = surveillance.act(db, OPERATOR, alert_id, "escalate", "refer to the compliance team")
    assert done.state == "escalated"
    assert [(h.action, h.from_state, h.to_state) for h in done.history] == [
        ("raised", None, "new"),
        ("review", "new", "reviewing"),
        ("escalate", "reviewing", "escalated"),
    ]
    assert done.history[-1].note == "refer to the compliance team"
    with db.read() as conn:
        kinds = [
            r.kind
            for r in conn.execute(
                select(t.journal.c.kind)
                .where(t.journal.c.kind.like("surveillance.%"))
                .order_by(t.journal.c.seq)
            )
        ]
    assert kinds.count("surveillance.alert_raised") >= 1
    assert kinds[-2:] == ["surveillance.alert_reviewed", "surveillance.alert_escalated"]
    with pytest.raises(Conflict):
        surveillance.act(db, OPERATOR, alert_id, "dismiss", "too late")
    assert audit.verify(db).ok


def test_dismissing_needs_a_note_and_a_missing_alert_is_not_found(m: dict[str, Any]) -> None:
    db: Database = m["db"]
    alert_id = _one_alert(m)
    with pytest.raises(InvalidInput):
        surveillance.act(db, OPERATOR, alert_id, "dismiss", "  ")
    assert surveillance.act(db, OPERATOR, alert_id, "dismiss", "a normal block sale").state == (
        "dismissed"
    )
    with pytest.raises(NotFound):
        surveillance.get_alert(db, OPERATOR, 999_999)


def test_only_the_exchange_operator_reads_or_works_alerts(m: dict[str, Any]) -> None:
    db: Database = m["db"]
    alert_id = _one_alert(m)
    registry_operator = Actor("OPERATOR", frozenset({Role.REGISTRY_OPERATOR}))
    for who in (m["B1"], m["S1"], registry_operator):
        with pytest.raises(Forbidden):
            surveillance.alerts(db, who)
        with pytest.raises(Forbidden):
            surveillance.get_alert(db, who, alert_id)
        with pytest.raises(Forbidden):
            surveillance.act(db, who, alert_id, "review", None)
        with pytest.raises(Forbidden):
            surveillance.scan(db, who, DAY, DAY)


def test_a_scan_twice_raises_nothing_twice(m: dict[str, Any]) -> None:
    _one_alert(m)
    again = _scan(m)
    assert again.findings >= 1 and again.raised == 0


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_online_batches_of_any_size_missed_or_not_find_what_the_batch_scan_finds(
    busy: tuple[Database, list[sv.Entry]], data: st.DataObject
) -> None:
    """However the committed entries come to the online monitor (batches of any size, some
    never heard), it finds exactly what one pass over the journal finds, evidence included."""
    db, entries = busy
    whole = sv.Monitor(surveillance.rules(), {"S1": "HOLDCO", "B1": "HOLDCO"}).feed_all(entries)
    assert {f.rule for f in whole} >= {"wash_trade", "spoofing", "concentration", "stp_cancels"}
    cuts = sorted(data.draw(st.sets(st.integers(1, len(entries) - 1), max_size=12)))
    batches = [entries[a:b] for a, b in zip([0, *cuts], [*cuts, len(entries)], strict=True)]
    heard = [b for b in batches if data.draw(st.booleans())] or [batches[-1]]
    if heard[-1] is not batches[-1]:
        heard.append(batches[-1])  # the last batch always arrives: the journal's end is known
    online = surveillance.OnlineMonitor(db)
    found: list[sv.Finding] = []
    for batch in heard:
        found += online.judge(batch)
    assert [(f.key, f.evidence) for f in found] == [(f.key, f.evidence) for f in whole]


@pytest.fixture
def busy(db: Database) -> tuple[Database, list[sv.Entry]]:
    """A day with a wash trade, spoofing, a concentrated auction and self-trade cancels."""
    m = _market(db)
    for pid in ("S1", "B1"):
        participants.set_attributes(db, SYSTEM, pid, corporate_group="HOLDCO")
    for _ in range(3):
        _spoof(m, "PX", 5_000, (11, 25))
    _order(m, "S1", "sell", 1_000, 2_000)
    _order(m, "B1", "buy", 1_000, 2_000)
    for _ in range(5):
        _order(m, "S2", "sell", 10, 2_100)
        _order(m, "S2", "buy", 10, 2_100)
    _auction(m, 11, 30)
    return db, list(surveillance.exchange_entries(db))


@pytest.mark.full  # builds the demo (`tanso init --demo`) and simulates days: seconds, not ms
def test_the_demo_and_its_simulated_trading_raise_no_alert(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import surveillance_false_positives as fp

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TANSO_DATABASE_URL", "sqlite://")  # build_demo sets it; this restores it
    db, keys = fp.build_demo(tmp_path)
    try:
        fp.simulate(db, keys, 5, seed=11)
        today = dt.date.today()
        first, last = today - dt.timedelta(days=60), today + dt.timedelta(days=60)
        scan = surveillance.scan(db, OPERATOR, first, last)
    finally:
        db.dispose()
    assert scan.entries > 500 and scan.findings == 0, scan.by_rule
