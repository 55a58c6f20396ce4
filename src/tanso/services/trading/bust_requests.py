"""A party's request to bust a trade (取引取消の申出), and the notices of a bust.

A party to an exchange trade (its buyer or seller, or a broker acting for one) asks the operator
to bust it, with a reason and a note, within the rulebook's window: until `WINDOW_MINUTES` after
the trade (for an auction's trade, after the auction), and never once the trade settled or was
busted. The operator grants the request, which busts the trade through the exchange's sequencer
(`Exchange.bust`) with the request's reason, or refuses it with a note.

The module owns the ``bust_requests`` table and the notices of a bust: `trade_busted`, called by
`Exchange._do_bust` inside the bust's own unit of work, tells both parties and closes the pending
request as granted, so a bust, its notices and the request's answer commit together. It never
moves cash or credits: the bust does. Another participant's request, or a trade it is no party
to, answers exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services import notices
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    loader,
    new_id,
    omitted,
    require,
    require_active,
)
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_bust_requests import bust_requests

WINDOW_MINUTES = 30
"""The rulebook's window for a party's request to bust a trade: until this many minutes after
the trade, or after the auction that made it (docs/market-rules.md, docs/error-trades.md)."""

REQUEST_REASONS = ("erroneous_order", "system_fault", "other")
"""The reasons a party may give: every bust reason but ``dispute_ruling``, the operator's own."""

STATES = ("pending", "granted", "refused")
MAX_NOTE = 500
JST = dt.timezone(dt.timedelta(hours=9), "JST")


@dataclass(frozen=True, slots=True)
class BustRequest:
    """A request to bust a trade, as its requester or the operator sees it."""

    id: str
    trade_id: str
    state: str
    reason_code: str
    note: str
    requested_at: str
    deadline: str
    """Until when the trade's parties may ask (the rulebook's window)."""
    journal_seq: int
    requester_id: str | None = omitted()
    decided_at: str | None = omitted()
    decision_note: str | None = omitted()


def _parse(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


def deadline_of(trade_at: str) -> str:
    """The end of the window to ask for a bust of a trade made at ``trade_at``."""
    end = _parse(trade_at) + dt.timedelta(minutes=WINDOW_MINUTES)
    return end.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def japan_time(at: str) -> str:
    """A moment as people in Japan read it: ``2026-01-05 09:30 JST``."""
    return _parse(at).astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def _view(row: Any, actor: Actor) -> BustRequest:
    return BustRequest(
        id=row.id,
        trade_id=row.trade_id,
        state=row.state,
        reason_code=row.reason_code,
        note=row.note,
        requested_at=row.requested_at,
        deadline=row.deadline,
        journal_seq=row.journal_seq,
        requester_id=row.requester_id,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
    )


def _note(note: str, required: bool = False) -> str:
    note = note.strip()
    if required and not note:
        raise InvalidInput("note_required", f"Say why in the note (1 to {MAX_NOTE} characters).")
    if len(note) > MAX_NOTE:
        raise InvalidInput(
            "note_too_long", f"A note is at most {MAX_NOTE} characters, not {len(note)}."
        )
    return note


def _pending(conn: Any, trade_id: str) -> Any:
    b = bust_requests.c
    return conn.execute(
        select(bust_requests).where(b.trade_id == trade_id, b.state == "pending")
    ).first()


def window_open(trade: Any, settlement_status: str | None, now: str) -> bool:
    """Whether a party may still ask to bust ``trade`` at ``now`` (the portal's form)."""
    return (
        not trade.busted
        and settlement_status != "settled"
        and _parse(now) <= _parse(deadline_of(trade.at))
    )


# ---------------------------------------------------------------- the party's request


def request_bust(
    db: Database,
    actor: Actor,
    trade_id: str,
    reason_code: str,
    note: str = "",
    idem: Idem | None = None,
) -> BustRequest:
    """Ask the operator to bust a trade of one's own, within the rulebook's window."""
    if reason_code not in REQUEST_REASONS:
        raise InvalidInput(
            "invalid_reason_code", f"reason_code is one of: {', '.join(REQUEST_REASONS)}."
        )
    text = _note(note)

    def work(tx: Tx) -> BustRequest:
        conn = tx.conn
        require_active(conn, actor)
        trade = repo.get_by_id(conn, t.trades, trade_id)
        if trade is None or actor.participant_id not in (trade.buyer_id, trade.seller_id):
            raise NotFound("trade_not_found", f"There is no trade {trade_id} of yours.")
        deadline = deadline_of(trade.at)
        if trade.busted:
            raise Conflict(
                "trade_already_busted",
                f"Trade {trade.id} was busted at {japan_time(trade.busted_at)}; there is "
                "nothing to ask.",
            )
        ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", trade.id)
        if ob is not None and ob.status == "settled":
            raise Conflict(
                "bust_window_closed",
                f"Trade {trade.id} settled: a settled trade is never busted (the window "
                f"closed at {japan_time(deadline)} at the latest); open a dispute instead.",
            )
        if _parse(tx.at) > _parse(deadline):
            raise Conflict(
                "bust_window_closed",
                f"The window to ask for a bust of trade {trade.id} closed at "
                f"{japan_time(deadline)} ({WINDOW_MINUTES} minutes after the trade); open a "
                "dispute instead.",
            )
        if _pending(conn, trade.id) is not None:
            raise Conflict(
                "bust_request_pending",
                f"A request to bust trade {trade.id} is already waiting for the operator.",
            )
        rid = new_id("BRQ")
        seq = tx.record(
            "bust_request.opened",
            actor.label,
            {
                "request": rid,
                "trade": trade.id,
                "requester": actor.participant_id,
                "reason_code": reason_code,
                "note": text,
                "deadline": deadline,
            },
        )
        repo.insert_row(
            conn,
            bust_requests,
            id=rid,
            trade_id=trade.id,
            requester_id=actor.participant_id,
            state="pending",
            reason_code=reason_code,
            note=text,
            requested_at=tx.at,
            deadline=deadline,
            journal_seq=seq,
        )
        return _view(repo.get_by_id(conn, bust_requests, rid), actor)

    return execute(db, actor, idem, work, 201, loader(BustRequest), sequenced=True)


def list_requests(
    db: Database, actor: Actor, state: str | None = None, limit: int = 100
) -> list[BustRequest]:
    """Requests to bust, newest first: the operator sees all; a participant its own."""
    if state is not None and state not in STATES:
        raise InvalidInput("invalid_state", f"state is one of: {', '.join(STATES)}.")
    b = bust_requests.c
    q = select(bust_requests)
    if not actor.is_operator():
        q = q.where(b.requester_id == actor.participant_id)
    if state is not None:
        q = q.where(b.state == state)
    with db.read() as conn:
        rows = conn.execute(q.order_by(b.requested_at.desc(), b.id.desc()).limit(limit)).all()
    return [_view(r, actor) for r in rows]


# ---------------------------------------------------------------- the operator's answer


def _latest(conn: Any, trade_id: str) -> Any:
    b = bust_requests.c
    row = conn.execute(
        select(bust_requests)
        .where(b.trade_id == trade_id)
        .order_by(b.requested_at.desc(), b.id.desc())
    ).first()
    if row is None:
        raise NotFound("bust_request_not_found", f"There is no request to bust trade {trade_id}.")
    return row


def _decided(row: Any) -> Conflict:
    return Conflict(
        "bust_request_decided",
        f"The request to bust trade {row.trade_id} was {row.state} at "
        f"{japan_time(row.decided_at)}; nothing more was done.",
    )


def grant(
    db: Database,
    exchange: Any,  # the Exchange (which imports this module: not imported back)
    actor: Actor,
    trade_id: str,
    note: str = "",
    idem: Idem | None = None,
) -> BustRequest:
    """Grant the pending request to bust a trade: the exchange busts it with the request's
    reason (`Exchange.bust`), and in the same transaction the request is marked granted and
    both parties and the requester are told."""
    require(actor, Role.EXCHANGE_OPERATOR, "grant a request to bust a trade")
    text = _note(note)
    with db.read() as conn:
        row = _latest(conn, trade_id)
        replay = (
            idem is not None
            and repo.get_idempotency(conn, actor.participant_id, idem.key) is not None
        )
    if row.state != "pending" and not replay:
        raise _decided(row)
    why = f"bust request {row.id}" + (f": {text}" if text else "")
    exchange.bust(actor, trade_id, row.reason_code, why[:MAX_NOTE], idem)
    with db.read() as conn:
        return _view(repo.get_by_id(conn, bust_requests, row.id), actor)


def refuse(
    db: Database, actor: Actor, trade_id: str, note: str, idem: Idem | None = None
) -> BustRequest:
    """Refuse the pending request to bust a trade, with a note the requester is told."""
    require(actor, Role.EXCHANGE_OPERATOR, "refuse a request to bust a trade")
    text = _note(note, required=True)

    def work(tx: Tx) -> BustRequest:
        row = _latest(tx.conn, trade_id)
        if row.state != "pending":
            raise _decided(row)
        seq = tx.record(
            "bust_request.refused",
            actor.label,
            {"request": row.id, "trade": trade_id, "note": text},
        )
        tx.conn.execute(
            update(bust_requests)
            .where(bust_requests.c.id == row.id)
            .values(state="refused", decided_at=tx.at, decision_note=text, journal_seq=seq)
        )
        notices.notify(tx, row.requester_id, "bust_request_refused", trade_id, note=text)
        return _view(repo.get_by_id(tx.conn, bust_requests, row.id), actor)

    return execute(db, actor, idem, work, 200, loader(BustRequest), sequenced=True)


# ---------------------------------------------------------------- inside the bust


def trade_busted(tx: Tx, actor: Actor, trade: Any, reason_code: str, note: str = "") -> None:
    """What a bust tells (called by `Exchange._do_bust` after its journal entry, in its unit of
    work): a notice to each party with the reason, and the trade's pending request, if any,
    granted with a notice to its requester."""
    params = {
        "trade": trade.id,
        "instrument": trade.instrument_id,
        "price": trade.price,
        "quantity": trade.quantity,
        "currency": trade.currency,
        "reason_code": reason_code,
    }
    for party in dict.fromkeys((trade.buyer_id, trade.seller_id)):
        notices.notify(tx, party, "trade_busted", trade.id, **params)
    row = _pending(tx.conn, trade.id)
    if row is None:
        return
    seq = tx.record(
        "bust_request.granted",
        actor.label,
        {"request": row.id, "trade": trade.id, "reason_code": reason_code},
    )
    tx.conn.execute(
        update(bust_requests)
        .where(bust_requests.c.id == row.id)
        .values(state="granted", decided_at=tx.at, decision_note=note, journal_seq=seq)
    )
    notices.notify(tx, row.requester_id, "bust_request_granted", trade.id, reason_code=reason_code)
