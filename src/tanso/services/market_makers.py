"""Market makers (マーケットメイカー制度): programmes, appointments, compliance and incentives.

The operator defines a programme per instrument and period (as data: window, spread, sizes,
presence, incentive) and appoints market makers to it; their orders on the instrument are marked
as quotes (the exchange's sequencer reads the appointments). Compliance is measured from the book
itself: `domain.market_making.Presence` folds the journal's exchange entries. A `Monitor` keeps
one fold per database and advances it from the last entry it folded each time it is asked (the
incremental way); `Presence` run over the whole journal (`recompute`) must give the same answer.
A compliant day earns the programme's incentive, paid once a month from the exchange's fee
income (the operator's cash account), journaled with its cash move.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.journal import read_payload
from tanso.domain.market_making import DayCompliance, Presence, Programme, day_compliance
from tanso.domain.participants import Role
from tanso.services.common import Actor, Idem, execute, require
from tanso.services.ledger import cash
from tanso.services.trading.calendar import japan_calendar
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_market_makers as mm
from tanso.store.db import Database, Tx

MM_KINDS = (
    "market_maker.programme_defined",
    "market_maker.appointed",
    "market_maker.appointment_ended",
)
"""Journal entries after which the sequencer reads the appointments anew."""

CALENDAR = japan_calendar()


# ---------------------------------------------------------------- programmes and appointments


def define_programme(
    db: Database, actor: Actor, programme: Programme, idem: Idem | None = None
) -> Programme:
    """Define a programme (exchange operator)."""
    require(actor, Role.EXCHANGE_OPERATOR, "define market-maker programmes")

    def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        if repo.get_by_id(conn, t.instruments, programme.instrument) is None:
            raise NotFound(
                "instrument_not_found", f"There is no instrument {programme.instrument}."
            )
        if repo.get_by_id(conn, mm.mm_programmes, programme.id) is not None:
            raise Conflict("programme_exists", f"Programme {programme.id} already exists.")
        values = programme.as_json()
        values["instrument_id"] = values.pop("instrument")
        repo.insert_row(conn, mm.mm_programmes, **values, created_at=tx.at)
        tx.record("market_maker.programme_defined", actor.label, {"programme": programme.as_json()})
        return programme.as_json()

    return Programme.from_json(execute(db, actor, idem, work, 201, sequenced=True))


def _programme(conn: Connection, programme_id: str) -> Programme:
    row = repo.get_by_id(conn, mm.mm_programmes, programme_id)
    if row is None:
        raise NotFound("programme_not_found", f"There is no market-maker programme {programme_id}.")
    return programme_of(row)


def programme_of(row: Any) -> Programme:
    return Programme(
        id=row.id,
        instrument=row.instrument_id,
        name_en=row.name_en,
        name_ja=row.name_ja,
        starts=dt.date.fromisoformat(row.starts),
        ends=dt.date.fromisoformat(row.ends),
        window_from=dt.time.fromisoformat(row.window_from),
        window_to=dt.time.fromisoformat(row.window_to),
        timezone=row.timezone,
        max_spread=row.max_spread,
        min_quantity=row.min_quantity,
        min_presence_pct=row.min_presence_pct,
        incentive_per_day=row.incentive_per_day,
    )


@dataclass(frozen=True, slots=True)
class Appointment:
    """A market maker appointed to a programme (``ended_at`` null while it lasts)."""

    programme_id: str
    participant_id: str
    appointed_at: str
    ended_at: str | None


def appoint(
    db: Database, actor: Actor, programme_id: str, pid: str, idem: Idem | None = None
) -> Appointment:
    """Appoint a participant with the market_maker role to a programme (exchange operator)."""
    require(actor, Role.EXCHANGE_OPERATOR, "appoint market makers")

    def work(tx: Tx) -> Appointment:
        conn = tx.conn
        _programme(conn, programme_id)
        p = repo.get_participant(conn, pid)
        if p is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        if Role.MARKET_MAKER.value not in (p.roles or "").split(","):
            raise Conflict(
                "not_a_market_maker",
                f"Participant {pid} does not have the market_maker role; give it the role first.",
            )
        a = mm.mm_appointments.c
        where = (a.programme_id == programme_id) & (a.participant_id == pid)
        row = conn.execute(select(mm.mm_appointments).where(where)).first()
        if row is not None and row.ended_at is None:
            raise Conflict(
                "already_appointed", f"{pid} is already a market maker of {programme_id}."
            )
        if row is not None:
            conn.execute(
                mm.mm_appointments.update().where(where).values(appointed_at=tx.at, ended_at=None)
            )
        else:
            repo.insert_row(
                conn,
                mm.mm_appointments,
                programme_id=programme_id,
                participant_id=pid,
                appointed_at=tx.at,
                ended_at=None,
            )
        tx.record(
            "market_maker.appointed", actor.label, {"programme": programme_id, "participant": pid}
        )
        return Appointment(programme_id, pid, tx.at, None)

    return execute(db, actor, idem, work, 201, load=lambda d: Appointment(**d), sequenced=True)


def end_appointment(
    db: Database, actor: Actor, programme_id: str, pid: str, idem: Idem | None = None
) -> Appointment:
    """End a market maker's appointment (exchange operator); its orders are no longer quotes."""
    require(actor, Role.EXCHANGE_OPERATOR, "end market-maker appointments")

    def work(tx: Tx) -> Appointment:
        a = mm.mm_appointments.c
        where = (a.programme_id == programme_id) & (a.participant_id == pid)
        row = tx.conn.execute(select(mm.mm_appointments).where(where)).first()
        if row is None or row.ended_at is not None:
            raise NotFound(
                "appointment_not_found", f"{pid} is not a market maker of {programme_id}."
            )
        tx.conn.execute(mm.mm_appointments.update().where(where).values(ended_at=tx.at))
        tx.record(
            "market_maker.appointment_ended",
            actor.label,
            {"programme": programme_id, "participant": pid},
        )
        return Appointment(programme_id, pid, row.appointed_at, tx.at)

    return execute(db, actor, idem, work, load=lambda d: Appointment(**d), sequenced=True)


def quoting(conn: Connection, pid: str, instrument: str, day: dt.date) -> bool:
    """Whether the participant's orders on the instrument are quotes on that day: it is appointed
    to a programme of the instrument that runs then (read by the sequencer)."""
    a, p = mm.mm_appointments.c, mm.mm_programmes.c
    q = (
        select(a.participant_id)
        .select_from(mm.mm_appointments.join(mm.mm_programmes, a.programme_id == p.id))
        .where(
            a.participant_id == pid,
            a.ended_at.is_(None),
            p.instrument_id == instrument,
            p.starts <= day.isoformat(),
            p.ends >= day.isoformat(),
        )
        .limit(1)
    )
    return conn.execute(q).first() is not None


@dataclass(frozen=True, slots=True)
class MarketMaker:
    """A market maker of a programme, as the exchange publishes it."""

    participant_id: str
    name_en: str
    name_ja: str
    appointed_at: str


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    """A programme with its terms and its market makers now."""

    id: str
    instrument: str
    name_en: str
    name_ja: str
    starts: str
    ends: str
    window_from: str
    window_to: str
    timezone: str
    max_spread: int
    min_quantity: int
    min_presence_pct: int
    incentive_per_day: int
    market_makers: list[MarketMaker]


def list_programmes(db: Database) -> list[ProgrammeView]:
    """Every programme and who makes markets in it now (public, as JPX publishes)."""
    a, pa = mm.mm_appointments.c, t.participants.c
    with db.read() as conn:
        rows = conn.execute(select(mm.mm_programmes).order_by(mm.mm_programmes.c.id)).all()
        makers = conn.execute(
            select(a.programme_id, a.participant_id, a.appointed_at, pa.name_en, pa.name_ja)
            .select_from(mm.mm_appointments.join(t.participants, a.participant_id == pa.id))
            .where(a.ended_at.is_(None))
            .order_by(a.participant_id)
        ).all()
    out = []
    for row in rows:
        mine = [
            MarketMaker(m.participant_id, m.name_en, m.name_ja, m.appointed_at)
            for m in makers
            if m.programme_id == row.id
        ]
        out.append(ProgrammeView(**programme_of(row).as_json(), market_makers=mine))
    return out


# ---------------------------------------------------------------- compliance


def _journal_after(conn: Connection, after: int) -> Any:
    j = t.journal.c
    return conn.execute(
        select(j.seq, j.at, j.kind, j.payload)
        .where(
            j.seq > after,
            or_(j.kind.like("exchange.%"), j.kind.like("market_maker.%")),
        )
        .order_by(j.seq)
    ).all()


def fold_journal(db: Database, presence: Presence) -> Presence:
    """Fold every entry the journal holds after ``presence.seq``."""
    with db.read() as conn:
        for row in _journal_after(conn, presence.seq):
            presence.fold(row.seq, row.at, row.kind, read_payload(row.payload))
    return presence


def recompute(db: Database) -> Presence:
    """The fold run over the whole journal anew (the check on `Monitor`)."""
    return fold_journal(db, Presence())


class Monitor:
    """One database's fold, advanced from where it stopped each time it is asked."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.presence = Presence()
        self.lock = threading.Lock()

    def advance(self) -> Presence:
        with self.lock:
            return fold_journal(self.db, self.presence)


_MONITORS: weakref.WeakKeyDictionary[Database, Monitor] = weakref.WeakKeyDictionary()
_MONITORS_LOCK = threading.Lock()


def monitor(db: Database) -> Monitor:
    with _MONITORS_LOCK:
        found = _MONITORS.get(db)
        if found is None:
            found = _MONITORS[db] = Monitor(db)
        return found


@dataclass(frozen=True, slots=True)
class Compliance:
    """A market maker's days under one programme between two dates."""

    programme_id: str
    participant_id: str
    instrument: str
    days: list[DayCompliance]
    days_measured: int
    compliant_days: int
    presence_pct: float
    incentive_earned: int


def _dates(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def compliance_of(
    presence: Presence,
    pid: str,
    instrument: str | None,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
) -> list[Compliance]:
    """The market maker's compliance under each programme (of the instrument, if given) it was
    appointed to, day by day from ``start`` to ``end`` (trading days only)."""
    out = []
    for (programme_id, who), appointed in sorted(presence.appointed.items()):
        programme = presence.programmes[programme_id]
        if who != pid or (instrument is not None and programme.instrument != instrument):
            continue
        intervals = presence.quoting_intervals((programme_id, pid), now)
        days = []
        for day in _dates(max(start, programme.starts), min(end, programme.ends)):
            if not CALENDAR.is_business_day(day):
                continue
            measured = day_compliance(programme, intervals, day, appointed, now)
            if measured is not None:
                days.append(measured)
        compliant = sum(d.compliant for d in days)
        window = sum(d.window_seconds for d in days)
        quoted = sum(d.quoting_seconds for d in days)
        out.append(
            Compliance(
                programme_id=programme_id,
                participant_id=pid,
                instrument=programme.instrument,
                days=days,
                days_measured=len(days),
                compliant_days=compliant,
                presence_pct=round(100 * quoted / window, 2) if window else 0.0,
                incentive_earned=compliant * programme.incentive_per_day,
            )
        )
    return out


def _check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidInput("invalid_range", f"'to' ({end}) is before 'from' ({start}).")
    if (end - start).days > 366:
        raise InvalidInput(
            "range_too_long", f"Ask for at most 366 days at a time; {start} to {end} is longer."
        )


def compliance(
    db: Database,
    actor: Actor,
    pid: str,
    instrument: str | None,
    start: dt.date,
    end: dt.date,
    now: dt.datetime | None = None,
) -> list[Compliance]:
    """A market maker's compliance (the market maker itself, or the operator)."""
    if not (actor.is_operator() or actor.participant_id == pid):
        raise Forbidden(
            "not_your_compliance",
            "A market maker's compliance is for the market maker and the exchange operator only.",
        )
    _check_range(start, end)
    presence = monitor(db).advance()
    with monitor(db).lock:
        return compliance_of(presence, pid, instrument, start, end, now or _now(db))


def _now(db: Database) -> dt.datetime:
    return dt.datetime.fromisoformat(db.clock().replace("Z", "+00:00"))


def month_range(month: str) -> tuple[dt.date, dt.date]:
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError as e:
        raise InvalidInput("invalid_month", f"A month is written YYYY-MM; {month!r} is not.") from e
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def monthly(db: Database, month: str, now: dt.datetime | None = None) -> list[Compliance]:
    """Every market maker's compliance in a month, programme by programme."""
    start, end = month_range(month)
    presence = monitor(db).advance()
    with monitor(db).lock:
        pids = sorted({pid for _, pid in presence.appointed})
        return [
            c
            for pid in pids
            for c in compliance_of(presence, pid, None, start, end, now or _now(db))
        ]


REPORT_HEADERS = {
    "en": (
        "month",
        "programme",
        "instrument",
        "market maker",
        "days measured",
        "compliant days",
        "presence %",
        "incentive (JPY)",
    ),
    "ja": (
        "対象月",
        "プログラム",
        "銘柄",
        "マーケットメイカー",
        "評価日数",
        "義務充足日数",
        "提示率(%)",
        "インセンティブ(円)",
    ),
}


def monthly_report_csv(db: Database, actor: Actor, month: str, lang: str = "en") -> str:
    """The month's compliance report as CSV (exchange operator), headers in English or Japanese."""
    require(actor, Role.EXCHANGE_OPERATOR, "read the market makers' monthly report")
    rows = monthly(db, month)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(REPORT_HEADERS["ja" if lang == "ja" else "en"])
    for c in rows:
        w.writerow(
            [
                month,
                c.programme_id,
                c.instrument,
                c.participant_id,
                c.days_measured,
                c.compliant_days,
                f"{c.presence_pct:.2f}",
                c.incentive_earned,
            ]
        )
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class IncentivePaid:
    """An incentive paid for a month, from the exchange's fee income."""

    programme_id: str
    participant_id: str
    month: str
    compliant_days: int
    amount: int
    journal_seq: int


def pay_incentives(
    db: Database, actor: Actor, month: str, now: dt.datetime | None = None
) -> list[IncentivePaid]:
    """Pay each market maker its incentive for a month that has ended (exchange operator): the
    compliant days times the programme's incentive per day, from the operator's cash account
    (its fee income). A month is paid once; asking again pays nothing more."""
    require(actor, Role.EXCHANGE_OPERATOR, "pay market-maker incentives")
    _first, end = month_range(month)
    moment = now or _now(db)
    if moment.date() <= end:
        raise Conflict(
            "month_not_over", f"Incentives for {month} are paid after the month ends ({end})."
        )
    due = [c for c in monthly(db, month, moment) if c.incentive_earned > 0]

    def work(tx: Tx) -> list[IncentivePaid]:
        conn = tx.conn
        paid = []
        i = mm.mm_incentives.c
        done = {
            (r.programme_id, r.participant_id)
            for r in conn.execute(select(mm.mm_incentives).where(i.month == month))
        }
        owed = [c for c in due if (c.programme_id, c.participant_id) not in done]
        if not owed:
            tx.allow_empty = True  # all paid already, or nothing earned: nothing to record
            return []
        total = sum(c.incentive_earned for c in owed)
        operator_cash = cash.ensure_accounts(tx, "OPERATOR", "JPY")
        free = repo.get_cash_account(conn, operator_cash)
        if free is not None and total > free.balance - free.reserved:
            raise Conflict(
                "insufficient_cash",
                f"The incentives for {month} come to {total:,} JPY; the operator's cash account "
                f"has {free.balance - free.reserved:,} JPY free.",
            )
        for c in owed:
            dst = cash.ensure_accounts(tx, c.participant_id, "JPY")
            seq = tx.next_seq()
            memo = f"market-maker incentive {c.programme_id} {month}"
            repo.move_cash(conn, seq, "JPY", operator_cash, dst, c.incentive_earned, memo)
            tx.record(
                "market_maker.incentive_paid",
                actor.label,
                {
                    "programme": c.programme_id,
                    "participant": c.participant_id,
                    "month": month,
                    "compliant_days": c.compliant_days,
                    "amount": c.incentive_earned,
                    "cash": [["JPY", operator_cash, dst, c.incentive_earned]],
                },
            )
            repo.insert_row(
                conn,
                mm.mm_incentives,
                programme_id=c.programme_id,
                participant_id=c.participant_id,
                month=month,
                compliant_days=c.compliant_days,
                amount=c.incentive_earned,
                paid_at=tx.at,
                journal_seq=seq,
            )
            paid.append(
                IncentivePaid(
                    c.programme_id,
                    c.participant_id,
                    month,
                    c.compliant_days,
                    c.incentive_earned,
                    seq,
                )
            )
        return paid

    return execute(
        db, actor, None, work, load=lambda d: [IncentivePaid(**x) for x in d], sequenced=True
    )
