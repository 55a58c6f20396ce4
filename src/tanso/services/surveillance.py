"""売買審査: surveillance alerts, raised online and by batch scans, and their review.

Two ways in, one rule code (`domain.surveillance.Monitor`):

- **online**: `attach(exchange)` adds a listener to the exchange's committed entries. The listener
  only queues them (the sequencer thread never waits for surveillance); a worker thread of its own
  feeds them to a `Monitor` (first catching up from the journal, so it starts from any point) and
  writes the alerts found in transactions of its own.
- **batch**: `scan(db, actor, from_date, to_date)` feeds the stored exchange entries, oldest first,
  to a fresh `Monitor` and raises the findings of trade dates in the range.

An alert is raised once per rule and subject (its key), whichever path finds it first; raising one
records ``surveillance.alert_raised`` in the journal, and each review, dismissal or escalation
``surveillance.alert_reviewed`` / ``alert_dismissed`` / ``alert_escalated``, each with a row of
the alert's audit trail. None of these entries moves cash or credits, so `tanso audit verify`
folds them as nothing. Only the exchange operator reads and works alerts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, func, select, update

from tanso.domain import surveillance as sv
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.journal import read_payload
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor, Idem, execute, loader, require
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads
from tanso.store.schema_surveillance import surveillance_alert_events as ev_t
from tanso.store.schema_surveillance import surveillance_alerts as al_t

log = logging.getLogger("tanso.surveillance")

RULES_FILE: Final = Path(__file__).resolve().parent.parent / "data" / "surveillance-rules.json"
STATES: Final = ("new", "reviewing", "dismissed", "escalated")
ACTIONS: Final = {
    # action: (states it may start from, the state it leads to, journal kind)
    "review": (("new",), "reviewing", "surveillance.alert_reviewed"),
    "dismiss": (("new", "reviewing"), "dismissed", "surveillance.alert_dismissed"),
    "escalate": (("new", "reviewing"), "escalated", "surveillance.alert_escalated"),
}
NOTE_MAX: Final = 2_000
READ_CHUNK: Final = 2_000


@cache
def rules(path: str | None = None) -> sv.Rules:
    """The rule set (``src/tanso/data/surveillance-rules.json`` unless ``path``), checked."""
    return sv.load_rules(Path(path or RULES_FILE).read_text(encoding="utf-8"))


def _operator(actor: Actor, what: str) -> None:
    require(actor, Role.EXCHANGE_OPERATOR, what)


# ---------------------------------------------------------------- reading the journal


def owners(conn: Connection) -> dict[str, str]:
    """Each participant's declared corporate group (beneficial owner), if it declared one."""
    rows = conn.execute(select(t.participants)).all()
    return sv.owners_of({r.id: getattr(r, "corporate_group", None) for r in rows})


def exchange_entries(db: Database, after: int = 0, upto: int | None = None) -> Iterator[sv.Entry]:
    """The exchange's journal entries after ``after`` (up to ``upto``), oldest first, read in
    chunks so that a long history is never all in memory."""
    j = t.journal.c
    while True:
        q = (
            select(j.seq, j.at, j.kind, j.payload)
            .where(j.seq > after, j.kind.like("exchange.%"))
            .order_by(j.seq)
            .limit(READ_CHUNK)
        )
        if upto is not None:
            q = q.where(j.seq <= upto)
        with db.read() as conn:
            rows = conn.execute(q).all()
        for r in rows:
            yield sv.Entry(r.seq, r.at, r.kind, read_payload(r.payload))
        if len(rows) < READ_CHUNK:
            return
        after = rows[-1].seq


# ---------------------------------------------------------------- raising alerts


def raise_findings(db: Database, findings: list[sv.Finding], how: str) -> list[int]:
    """Raise an alert for each finding not raised before (by its key), in one transaction with
    a journal entry each; the ids of the alerts new here."""
    if not findings:
        return []
    raised: list[int] = []
    with db.write() as tx:
        tx.allow_empty = True  # every finding may be known already
        conn = tx.conn
        keys = [f.key for f in findings]
        known = set(conn.execute(select(al_t.c.key).where(al_t.c.key.in_(keys))).scalars())
        for f in findings:
            if f.key in known:
                continue
            known.add(f.key)
            raised.append(_raise(tx, f, how))
    return raised


def _raise(tx: Tx, f: sv.Finding, how: str) -> int:
    conn = tx.conn
    inserted = conn.execute(
        al_t.insert().values(
            key=f.key,
            rule=f.rule,
            severity=f.severity,
            participants=dumps(list(f.participants)),
            instrument_id=f.instrument,
            trade_date=f.trade_date,
            journal_seq=f.seq,
            detected_at=f.at,
            raised_at=tx.at,
            raised_by=how,
            evidence=dumps(f.evidence),
            state="new",
            updated_at=tx.at,
        )
    ).inserted_primary_key
    assert inserted is not None
    alert_id = int(inserted[0])
    seq = tx.record(
        "surveillance.alert_raised",
        SYSTEM.label,
        {
            "alert": alert_id,
            "key": f.key,
            "rule": f.rule,
            "severity": f.severity,
            "participants": list(f.participants),
            "instrument": f.instrument,
            "trade_date": f.trade_date,
            "detected_seq": f.seq,
            "raised_by": how,
        },
    )
    conn.execute(
        ev_t.insert().values(
            alert_id=alert_id,
            at=tx.at,
            actor=SYSTEM.label,
            action="raised",
            from_state=None,
            to_state="new",
            note=None,
            journal_seq=seq,
        )
    )
    return alert_id


# ---------------------------------------------------------------- batch


@dataclass(frozen=True, slots=True)
class Scan:
    """What a batch scan over a range of trade dates found and raised."""

    from_date: str
    to_date: str
    entries: int
    """Exchange journal entries read (all of history up to the head: the rules need the books)."""
    findings: int
    """Findings of trade dates in the range."""
    raised: int
    """Alerts new from this scan (the others had been raised before)."""
    by_rule: dict[str, int]
    """Findings of each rule (every rule named, 0 included)."""
    alert_ids: list[int] = field(default_factory=list)


def scan(
    db: Database,
    actor: Actor,
    from_date: dt.date,
    to_date: dt.date,
    *,
    rule_set: sv.Rules | None = None,
) -> Scan:
    """Run every enabled rule over the exchange's history and raise the findings whose trade
    date lies from ``from_date`` to ``to_date``; findings raised before are not raised again."""
    _operator(actor, "run a surveillance scan")
    if from_date > to_date:
        raise InvalidInput(
            "invalid_range", f"The scan's first day {from_date} is after its last day {to_date}."
        )
    if (to_date - from_date).days > 3_660:
        raise InvalidInput("invalid_range", "A scan covers at most ten years.")
    with db.read() as conn:
        monitor = sv.Monitor(rule_set or rules(), owners(conn))
    lo, hi = from_date.isoformat(), to_date.isoformat()
    findings: list[sv.Finding] = []
    read = 0
    for entry in exchange_entries(db):
        read += 1
        if sv.trade_date_of(entry.at) > to_date:
            break  # later days cannot complete a pattern of the range
        findings += [f for f in monitor.feed(entry) if lo <= f.trade_date <= hi]
    by_rule = dict.fromkeys(sv.RULE_IDS, 0)
    for f in findings:
        by_rule[f.rule] += 1
    ids: list[int] = []
    for start in range(0, len(findings), 500):
        ids += raise_findings(db, findings[start : start + 500], "scan")
    return Scan(lo, hi, read, len(findings), len(ids), by_rule, ids)


# ---------------------------------------------------------------- online


COALESCE_SECONDS = 0.2
"""How long the online worker lets committed batches gather before it evaluates them together."""


class OnlineMonitor:
    """The online path: hears each batch's committed exchange entries and evaluates them on a
    thread of its own, so the sequencer never waits for surveillance."""

    def __init__(self, db: Database, rule_set: sv.Rules | None = None) -> None:
        self.db = db
        self.rule_set = rule_set or rules()
        self.monitor: sv.Monitor | None = None
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.raised = 0

    def hear(self, entries: list[dict[str, Any]]) -> None:
        """The exchange's listener: queue the committed entries, nothing more."""
        if not entries:
            return
        self._queue.put(entries)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="tanso-surveillance", daemon=True
                    )
                    self._thread.start()

    def wait(self) -> None:
        """Until everything heard so far is evaluated and its alerts written (tests, shutdown)."""
        self._queue.join()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            batches = [self._queue.get()]
            if batches[0] is not None:
                # the batches of the next moments join this run: one read of the groups and of
                # the journal, one transaction of alerts, for many batches (a run per batch took
                # a fifth of the order path's throughput from the sequencer)
                time.sleep(COALESCE_SECONDS)
            while True:
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [
                sv.Entry(e["seq"], e["at"], e["kind"], e["payload"])
                for batch in batches
                if batch is not None
                for e in batch
            ]
            try:
                if entries:
                    self.evaluate(entries)
            except Exception:  # an alert lost is better than a stopped monitor
                log.exception("surveillance could not evaluate a batch")
                self.monitor = None  # start again from the journal
            finally:
                for _ in batches:
                    self._queue.task_done()
            if None in batches:
                return

    def evaluate(self, entries: list[sv.Entry]) -> list[int]:
        """Feed ``entries`` (after whatever the journal holds before them) and raise what they
        complete; the ids of the new alerts."""
        ids = raise_findings(self.db, self.judge(entries), "online")
        self.raised += len(ids)
        return ids

    def judge(self, entries: list[sv.Entry]) -> list[sv.Finding]:
        """The findings ``entries`` complete, the journal's entries before them that this
        monitor has not heard read first (a start, a restart, a batch it missed)."""
        with self.db.read() as conn:
            groups = owners(conn)
        if self.monitor is None:
            self.monitor = sv.Monitor(self.rule_set, groups)
        monitor = self.monitor
        monitor.owners = groups
        findings: list[sv.Finding] = []
        first = entries[0].seq if entries else None
        if first is not None and first > monitor.last_seq + 1:
            # entries it has not heard (a start, a restart): read them from the journal first
            for e in exchange_entries(self.db, monitor.last_seq, first - 1):
                findings += monitor.feed(e)
        for e in entries:
            findings += monitor.feed(e)
        return findings


def attach(db: Database, exchange: Any) -> OnlineMonitor:
    """Run surveillance online beside ``exchange``: its listener, and a worker thread stopped
    when the database is disposed."""
    online = db.part("surveillance", lambda: OnlineMonitor(db))
    if online.hear not in exchange.listeners:
        exchange.listeners.append(online.hear)
        db.before_dispose.append(lambda _db: online.stop())
    return online


# ---------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One step of an alert's audit trail."""

    at: str
    actor: str
    action: str
    to_state: str
    journal_seq: int
    from_state: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as the list shows it."""

    id: int
    rule: str
    severity: str
    participants: list[str]
    instrument_id: str | None
    trade_date: str
    state: str
    journal_seq: int
    detected_at: str
    raised_at: str
    raised_by: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class AlertDetail(Alert):
    """An alert with its evidence and its audit trail."""

    evidence: dict[str, Any] = field(default_factory=dict)
    history: list[AlertEvent] = field(default_factory=list)


def _alert(row: Any) -> Alert:
    return Alert(
        id=int(row.id),
        rule=row.rule,
        severity=row.severity,
        participants=list(loads(row.participants)),
        instrument_id=row.instrument_id,
        trade_date=row.trade_date,
        state=row.state,
        journal_seq=int(row.journal_seq),
        detected_at=row.detected_at,
        raised_at=row.raised_at,
        raised_by=row.raised_by,
        updated_at=row.updated_at,
    )


def alerts(
    db: Database,
    actor: Actor,
    *,
    state: str | None = None,
    rule: str | None = None,
    from_date: dt.date | None = None,
    to_date: dt.date | None = None,
    participant: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[Alert]:
    """Alerts, newest first, filtered by state, rule, trade dates and participant."""
    _operator(actor, "read surveillance alerts")
    if state is not None and state not in STATES:
        raise InvalidInput("invalid_state", f"state is one of {', '.join(STATES)}.")
    if rule is not None and rule not in sv.RULE_IDS:
        raise InvalidInput("invalid_rule", f"rule is one of {', '.join(sv.RULE_IDS)}.")
    c = al_t.c
    q = select(al_t).order_by(c.id.desc()).limit(max(1, min(limit, 500)))
    if state:
        q = q.where(c.state == state)
    if rule:
        q = q.where(c.rule == rule)
    if from_date:
        q = q.where(c.trade_date >= from_date.isoformat())
    if to_date:
        q = q.where(c.trade_date <= to_date.isoformat())
    if participant:
        q = q.where(c.participants.contains(json.dumps(participant), autoescape=True))
    if before:
        q = q.where(c.id < before)
    with db.read() as conn:
        return [_alert(r) for r in conn.execute(q)]


def counts(db: Database, actor: Actor) -> dict[str, int]:
    """How many alerts are in each state."""
    _operator(actor, "read surveillance alerts")
    with db.read() as conn:
        rows = conn.execute(select(al_t.c.state, func.count()).group_by(al_t.c.state)).all()
    found: dict[str, int] = dict.fromkeys(STATES, 0)
    found.update({r[0]: int(r[1]) for r in rows})
    return found


def get_alert(db: Database, actor: Actor, alert_id: int | str) -> AlertDetail:
    """One alert with its evidence and audit trail."""
    _operator(actor, "read surveillance alerts")
    with db.read() as conn:
        return _detail(conn, _number(alert_id))


def _number(alert_id: int | str) -> int:
    """An alert's id as given (a path's text); one that is not a number is missing like any."""
    if isinstance(alert_id, int):
        return alert_id
    if not alert_id.isdigit() or len(alert_id) > 18:
        raise NotFound("alert_not_found", f"There is no surveillance alert {alert_id[:20]}.")
    return int(alert_id)


def _detail(conn: Connection, alert_id: int) -> AlertDetail:
    row = conn.execute(select(al_t).where(al_t.c.id == alert_id)).first()
    if row is None:
        raise NotFound("alert_not_found", f"There is no surveillance alert {alert_id}.")
    e = ev_t.c
    history = [
        AlertEvent(
            at=r.at,
            actor=r.actor,
            action=r.action,
            to_state=r.to_state,
            journal_seq=int(r.journal_seq),
            from_state=r.from_state,
            note=r.note,
        )
        for r in conn.execute(select(ev_t).where(e.alert_id == alert_id).order_by(e.id))
    ]
    base = _alert(row)
    return AlertDetail(
        **{f: getattr(base, f) for f in Alert.__dataclass_fields__},
        evidence=dict(loads(row.evidence)),
        history=history,
    )


# ---------------------------------------------------------------- the workflow


def act(
    db: Database,
    actor: Actor,
    alert_ref: int | str,
    action: str,
    note: str | None,
    idem: Idem | None = None,
) -> AlertDetail:
    """Move an alert on: ``review`` (new → reviewing), ``dismiss`` or ``escalate`` (new or
    reviewing → dismissed or escalated, a note saying why required). Journaled."""
    _operator(actor, "work surveillance alerts")
    if action not in ACTIONS:
        raise InvalidInput("invalid_action", f"action is one of {', '.join(ACTIONS)}.")
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise InvalidInput("note_too_long", f"A note has at most {NOTE_MAX} characters.")
    if action != "review" and not text:
        raise InvalidInput("note_required", f"Say why in a note to {action} an alert.")
    starts, to_state, kind = ACTIONS[action]
    alert_id = _number(alert_ref)

    def work(tx: Tx) -> AlertDetail:
        conn = tx.conn
        row = conn.execute(select(al_t).where(al_t.c.id == alert_id)).first()
        if row is None:
            raise NotFound("alert_not_found", f"There is no surveillance alert {alert_id}.")
        if row.state not in starts:
            raise Conflict(
                "alert_state",
                f"Alert {alert_id} is {row.state}; {action} needs it {' or '.join(starts)}.",
            )
        done = conn.execute(
            update(al_t)
            .where(al_t.c.id == alert_id, al_t.c.state == row.state)
            .values(state=to_state, updated_at=tx.at)
        )
        if done.rowcount != 1:
            raise Conflict("alert_state", f"Alert {alert_id} changed meanwhile; try again.")
        seq = tx.record(
            kind,
            actor.label,
            {
                "alert": alert_id,
                "rule": row.rule,
                "from": row.state,
                "to": to_state,
                "note": text or None,
            },
        )
        conn.execute(
            ev_t.insert().values(
                alert_id=alert_id,
                at=tx.at,
                actor=actor.label,
                action=action,
                from_state=row.state,
                to_state=to_state,
                note=text or None,
                journal_seq=seq,
            )
        )
        return _detail(conn, alert_id)

    return execute(db, actor, idem, work, load=loader(AlertDetail), sequenced=True)


def rule_table(rule_set: sv.Rules | None = None) -> list[Mapping[str, Any]]:
    """The rules as the operator's screen lists them."""
    found = rule_set or rules()
    return [
        {
            "id": r.id,
            "enabled": r.enabled,
            "severity": r.severity,
            "thresholds": dict(r.thresholds),
        }
        for r in found.by_id.values()
    ]
