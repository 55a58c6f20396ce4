"""Disputes (紛争処理): a participant disputes a trade, an obligation, a marketplace deal, an
auction award, a delivery or a registry action; the counterparty responds, both attach evidence,
and the operator decides with remedies that are executed as journaled operations.

The module owns the dispute's state machine (open → responded → under_review → decided → closed,
or withdrawn), its deadlines (from the rulebook's data, ``data/dispute-rules.json``) and their
reminders, the evidence files, and the public yearly summary. It never moves cash or credits
itself: a remedy moves them with the ledger's own helpers (``repo.move_cash`` as settlement does,
``blocks.take`` and ``blocks.move`` as a registry transfer and a freeze do) inside the decision's
one transaction, or busts the trade through the exchange's sequencer (`Exchange.bust`), so cash
and credits are conserved and `tanso audit verify` proves every balance.

A party sees only its own disputes and never learns who the counterparty is (trading is
anonymous); another participant's dispute answers exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.money import check_currency
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.domain.registry import AccountKind, BlockStatus, take_range
from tanso.domain.serials import parse_block
from tanso.services.common import (
    SYSTEM,
    Actor,
    Idem,
    execute,
    loader,
    new_id,
    omitted,
    require,
    require_active,
)
from tanso.services.ledger import cash
from tanso.services.ledger.blocks import Selection, move, take
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_disputes import dispute_events, dispute_evidence, disputes

if TYPE_CHECKING:
    from tanso.services.trading.exchange import Exchange

KINDS = ("trade", "obligation", "deal", "award", "delivery", "registry_action")
"""What a dispute is about; ``subject_id`` names it (a trade's, an obligation's, a deal's or an
award's id; for a delivery the obligation that delivered; for a registry action the journal
entry's sequence number)."""
STATES = ("open", "responded", "under_review", "decided", "closed", "withdrawn")
ACTIVE = ("open", "responded", "under_review")
OUTCOMES = ("upheld", "partly_upheld", "rejected")
REMEDIES = (
    "bust",
    "price_adjustment",
    "compensation",
    "credit_return",
    "redelivery",
    "freeze",
    "unfreeze",
    "fee_waiver",
)
PARTIES = ("opener", "counterparty")
VENUE_OF = {"trade": "exchange", "deal": "marketplace", "award": "auction"}


# ---------------------------------------------------------------- the rulebook's deadlines


@dataclass(frozen=True, slots=True)
class Rules:
    """The rulebook's terms for disputes (data/dispute-rules.json)."""

    respond_days: int
    decide_days: int
    reminder_days_before: tuple[int, ...]
    max_evidence_bytes: int
    max_evidence_per_dispute: int
    max_text_chars: int
    max_amount: int
    media_types: tuple[str, ...]


@cache
def rules() -> Rules:
    """The dispute rules shipped with Tanso."""
    text = resources.files("tanso").joinpath("data/dispute-rules.json").read_text("utf-8")
    d = json.loads(text)
    return Rules(
        respond_days=int(d["respond_days"]),
        decide_days=int(d["decide_days"]),
        reminder_days_before=tuple(
            sorted((int(x) for x in d["reminder_days_before"]), reverse=True)
        ),
        max_evidence_bytes=int(d["max_evidence_bytes"]),
        max_evidence_per_dispute=int(d["max_evidence_per_dispute"]),
        max_text_chars=int(d["max_text_chars"]),
        max_amount=int(d["max_amount"]),
        media_types=tuple(d["media_types"]),
    )


def _parse(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


def _stamp(moment: dt.datetime) -> str:
    """A time as the journal's clock writes it (ISO-8601 UTC with microseconds and Z)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _plus_days(at: str, days: int) -> str:
    return _stamp(_parse(at) + dt.timedelta(days=days))


# ---------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Remedy:
    """One remedy of a decision, as executed. ``payer`` and ``payee`` are the parties' roles
    (``opener``, ``counterparty``) or ``exchange`` (a fee waiver); an account of the other party
    is left out of what a party sees."""

    kind: str
    payer: str | None = omitted()
    payee: str | None = omitted()
    amount: int | None = omitted()
    currency: str | None = omitted()
    quantity: int | None = omitted()
    serials: str | None = omitted()
    from_account: str | None = omitted()
    to_account: str | None = omitted()
    trade_id: str | None = omitted()
    journal_seq: int | None = omitted()


@dataclass(frozen=True, slots=True)
class DisputeEvent:
    """One step of a dispute's history: a state change, a message, evidence or a reminder."""

    at: str
    kind: str
    by: str
    text: str
    journal_seq: int
    ref: str | None = omitted()


@dataclass(frozen=True, slots=True)
class Evidence:
    """A file attached to a dispute: its name is shown to its uploader and the operator only."""

    id: str
    dispute_id: str
    uploaded_by: str
    media_type: str
    size: int
    sha256: str
    at: str
    journal_seq: int
    file_name: str | None = omitted()


@dataclass(frozen=True, slots=True)
class Dispute:
    """A dispute as its caller may see it. ``role``: the caller's part in it (``opener``,
    ``counterparty`` or ``operator``); a party sees its own id, never the other's."""

    id: str
    kind: str
    subject_id: str
    role: str
    state: str
    summary: str
    currency: str
    claimed_amount: int
    claimed_quantity: int
    opened_at: str
    respond_by: str
    journal_seq: int
    remedies: list[Remedy] = field(default_factory=list)
    opener_id: str | None = omitted()
    counterparty_id: str | None = omitted()
    responded_at: str | None = omitted()
    reviewed_at: str | None = omitted()
    decide_by: str | None = omitted()
    decided_at: str | None = omitted()
    closed_at: str | None = omitted()
    withdrawn_at: str | None = omitted()
    outcome: str | None = omitted()
    decision: str | None = omitted()
    events: list[DisputeEvent] | None = omitted()  # noqa: RUF009 (None, not a shared list)
    evidence: list[Evidence] | None = omitted()  # noqa: RUF009 (None, not a shared list)


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """An evidence file's bytes, for its uploader or the operator."""

    id: str
    file_name: str
    media_type: str
    size: int
    sha256: str
    content: bytes


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Disputes opened in the year of one kind, by where they ended (no names)."""

    kind: str
    opened: int
    pending: int
    withdrawn: int
    upheld: int
    partly_upheld: int
    rejected: int


@dataclass(frozen=True, slots=True)
class Summary:
    """The public yearly summary of disputes: counts by kind and outcome, no names."""

    calendar_year: int
    total: int
    kinds: list[SummaryRow]


@dataclass(frozen=True, slots=True)
class RemedyOrder:
    """A remedy the operator orders. ``payer``: the party who pays or gives (``opener`` or
    ``counterparty``); the other party receives. Amounts in minor units, credits by serials."""

    kind: str
    payer: str | None = None
    amount: int | None = None
    currency: str = "JPY"
    serials: str | None = None
    from_account: str | None = None
    to_account: str | None = None


@dataclass(frozen=True, slots=True)
class NewDispute:
    kind: str
    subject_id: str
    summary: str
    claimed_amount: int = 0
    claimed_quantity: int = 0
    currency: str = "JPY"


# ---------------------------------------------------------------- reading helpers


def _role(row: Any, actor: Actor) -> str | None:
    if actor.is_operator():
        return "operator"
    if row.opener_id == actor.participant_id:
        return "opener"
    if row.counterparty_id == actor.participant_id:
        return "counterparty"
    return None


def _row(conn: Connection, actor: Actor, dispute_id: str) -> tuple[Any, str]:
    """The dispute and the caller's role in it; another's answers like a missing one."""
    row = conn.execute(select(disputes).where(disputes.c.id == dispute_id)).first()
    role = _role(row, actor) if row is not None else None
    if row is None or role is None:
        raise NotFound("dispute_not_found", f"There is no dispute {dispute_id} that you can see.")
    return row, role


def _remedies_view(text: str | None, role: str, conn: Connection, actor: Actor) -> list[Remedy]:
    out: list[Remedy] = []
    for d in json.loads(text) if text else []:
        r = Remedy(**d)
        if role != "operator":
            own = {
                a
                for a in (r.from_account, r.to_account)
                if a and _owner(conn, a) == actor.participant_id
            }
            r = replace(
                r,
                from_account=r.from_account if r.from_account in own else None,
                to_account=r.to_account if r.to_account in own else None,
            )
        out.append(r)
    return out


def _owner(conn: Connection, account: str) -> str | None:
    row = repo.get_account(conn, account)
    return row.participant_id if row is not None else None


def _audience_of(role: str) -> tuple[str, ...]:
    if role == "operator":
        return ("all", "opener", "counterparty", "operator")
    return ("all", role)


def _view(conn: Connection, row: Any, role: str, actor: Actor, detail: bool = False) -> Dispute:
    operator = role == "operator"
    events: list[DisputeEvent] | None = None
    evidence: list[Evidence] | None = None
    if detail:
        e = dispute_events.c
        rows = conn.execute(
            select(dispute_events)
            .where(e.dispute_id == row.id, e.audience.in_(_audience_of(role)))
            .order_by(e.id)
        ).all()
        events = [
            DisputeEvent(
                at=r.at,
                kind=r.kind,
                by=_who(r.actor_id, row, role),
                text=r.text,
                journal_seq=r.journal_seq,
                ref=r.ref,
            )
            for r in rows
        ]
        v = dispute_evidence.c
        files = conn.execute(
            select(v.id, v.uploaded_by, v.file_name, v.media_type, v.size, v.sha256, v.at)
            .add_columns(v.journal_seq)
            .where(v.dispute_id == row.id)
            .order_by(v.at, v.id)
        ).all()
        evidence = [
            Evidence(
                id=f.id,
                dispute_id=row.id,
                uploaded_by=_who(f.uploaded_by, row, role),
                media_type=f.media_type,
                size=f.size,
                sha256=f.sha256,
                at=f.at,
                journal_seq=f.journal_seq,
                file_name=f.file_name
                if operator or f.uploaded_by == actor.participant_id
                else None,
            )
            for f in files
        ]
    return Dispute(
        id=row.id,
        kind=row.kind,
        subject_id=row.subject_id,
        role=role,
        state=row.state,
        summary=row.summary,
        currency=row.currency,
        claimed_amount=row.claimed_amount,
        claimed_quantity=row.claimed_quantity,
        opened_at=row.opened_at,
        respond_by=row.respond_by,
        journal_seq=row.journal_seq,
        remedies=_remedies_view(row.remedies, role, conn, actor),
        opener_id=row.opener_id if operator or role == "opener" else None,
        counterparty_id=row.counterparty_id if operator or role == "counterparty" else None,
        responded_at=row.responded_at,
        reviewed_at=row.reviewed_at,
        decide_by=row.decide_by,
        decided_at=row.decided_at,
        closed_at=row.closed_at,
        withdrawn_at=row.withdrawn_at,
        outcome=row.outcome,
        decision=row.decision,
        events=events,
        evidence=evidence,
    )


def _who(pid: str, row: Any, role: str) -> str:
    """Who did something, as the caller may know it: a party's role, or the operator."""
    if pid == row.opener_id:
        return row.opener_id if role == "operator" else "opener"
    if pid == row.counterparty_id:
        return row.counterparty_id if role == "operator" else "counterparty"
    return "operator"


def _event(
    tx: Tx,
    dispute_id: str,
    kind: str,
    actor_id: str,
    text: str = "",
    audience: str = "all",
    ref: str | None = None,
) -> None:
    assert tx.journal_seq is not None
    repo.insert_row(
        tx.conn,
        dispute_events,
        dispute_id=dispute_id,
        journal_seq=tx.journal_seq,
        at=tx.at,
        kind=kind,
        actor_id=actor_id,
        audience=audience,
        text=text,
        ref=ref,
    )


def _text(value: str, name: str, required: bool = True) -> str:
    value = value.strip()
    limit = rules().max_text_chars
    if required and not value:
        raise InvalidInput(f"{name}_required", f"Say what the {name} is (1 to {limit} characters).")
    if len(value) > limit:
        raise InvalidInput(
            f"{name}_too_long", f"The {name} is at most {limit} characters, not {len(value)}."
        )
    return value


def _amount(value: int, name: str) -> int:
    top = rules().max_amount
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise InvalidInput(f"invalid_{name}", f"{name} is a whole number from 0 to {top}.")
    return value


def _set(tx: Tx, dispute_id: str, **values: Any) -> None:
    assert tx.journal_seq is not None
    tx.conn.execute(
        update(disputes)
        .where(disputes.c.id == dispute_id)
        .values(journal_seq=tx.journal_seq, **values)
    )


def _reload(tx: Tx, actor: Actor, dispute_id: str, detail: bool = True) -> Dispute:
    row, role = _row(tx.conn, actor, dispute_id)
    return _view(tx.conn, row, role, actor, detail)


# ---------------------------------------------------------------- the subject of a dispute


def _counterparty(conn: Connection, actor: Actor, kind: str, subject: str) -> str:
    """The other party of the subject, which must involve the opener."""
    me = actor.participant_id
    if kind == "registry_action":
        if not subject.isdigit():
            raise InvalidInput(
                "invalid_subject", "A registry action is named by its journal entry's number."
            )
        m = t.credit_movements.c
        accounts = {
            a
            for r in conn.execute(
                select(m.from_account, m.to_account).where(m.journal_seq == int(subject))
            ).all()
            for a in (r.from_account, r.to_account)
            if a
        }
        if not any(_owner(conn, a) == me for a in accounts):
            raise NotFound(
                "subject_not_found",
                f"There is no registry action {subject} that moved credits of yours.",
            )
        return OPERATOR_PARTICIPANT
    if kind == "trade":
        tr = conn.execute(select(t.trades).where(t.trades.c.id == subject)).first()
        if tr is None or me not in (tr.buyer_id, tr.seller_id):
            raise NotFound("subject_not_found", f"There is no trade {subject} of yours.")
        return str(tr.seller_id if tr.buyer_id == me else tr.buyer_id)
    ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", subject)
    if ob is None or me not in (ob.buyer_id, ob.seller_id):
        raise NotFound("subject_not_found", f"There is no {kind} {subject} of yours.")
    venue = VENUE_OF.get(kind)
    if venue is not None and ob.venue != venue:
        raise NotFound("subject_not_found", f"There is no {kind} {subject} of yours.")
    if kind == "delivery" and ob.status != "settled":
        raise Conflict(
            "not_delivered",
            f"Obligation {subject} is {ob.status}: only a delivery that happened (settled) is "
            "disputed as a delivery; dispute the obligation instead.",
        )
    return str(ob.seller_id if ob.buyer_id == me else ob.buyer_id)


def _trade_of(conn: Connection, row: Any) -> str | None:
    """The exchange trade a dispute is about, if it is about one."""
    if row.kind == "trade":
        return str(row.subject_id)
    if row.kind in ("obligation", "delivery"):
        ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", row.subject_id)
        if ob is not None and ob.venue == "exchange":
            return str(ob.deal_id)
    return None


# ---------------------------------------------------------------- the parties' steps


def open_dispute(db: Database, actor: Actor, n: NewDispute, idem: Idem | None = None) -> Dispute:
    """Open a dispute about a trade, obligation, deal, award, delivery or registry action of
    one's own; the counterparty is asked to respond by the rulebook's deadline."""
    if actor.is_operator():
        raise Forbidden("operator_only_decides", "The operator decides disputes; it opens none.")
    if n.kind not in KINDS:
        raise InvalidInput("invalid_kind", f"kind is one of: {', '.join(KINDS)}.")
    if not n.subject_id.strip() or len(n.subject_id) > 64:
        raise InvalidInput("invalid_subject", "subject_id names the thing disputed (1 to 64).")
    summary = _text(n.summary, "summary")
    amount = _amount(n.claimed_amount, "claimed_amount")
    quantity = _amount(n.claimed_quantity, "claimed_quantity")
    check_currency(n.currency)

    def work(tx: Tx) -> Dispute:
        conn = tx.conn
        require_active(conn, actor)
        other = _counterparty(conn, actor, n.kind, n.subject_id)
        d = disputes.c
        dup = conn.execute(
            select(d.id).where(
                d.subject_id == n.subject_id,
                d.kind == n.kind,
                d.opener_id == actor.participant_id,
                d.state.in_(ACTIVE),
            )
        ).first()
        if dup is not None:
            raise Conflict(
                "dispute_exists",
                f"Dispute {dup.id} about {n.kind} {n.subject_id} is still open; add to it.",
            )
        did = new_id("DSP")
        respond_by = _plus_days(tx.at, rules().respond_days)
        tx.record(
            "dispute.opened",
            actor.label,
            {
                "dispute": did,
                "kind": n.kind,
                "subject": n.subject_id,
                "opener": actor.participant_id,
                "counterparty": other,
                "claimed_amount": amount,
                "claimed_quantity": quantity,
                "currency": n.currency,
                "respond_by": respond_by,
            },
        )
        assert tx.journal_seq is not None
        repo.insert_row(
            conn,
            disputes,
            id=did,
            kind=n.kind,
            subject_id=n.subject_id,
            opener_id=actor.participant_id,
            counterparty_id=other,
            state="open",
            summary=summary,
            currency=n.currency,
            claimed_amount=amount,
            claimed_quantity=quantity,
            opened_at=tx.at,
            respond_by=respond_by,
            journal_seq=tx.journal_seq,
        )
        _event(tx, did, "opened", actor.participant_id, summary)
        return _reload(tx, actor, did)

    return execute(db, actor, idem, work, 201, loader(Dispute), sequenced=True)


def _moved(tx: Tx, actor: Actor, dispute_id: str, state: str, note: str) -> Dispute:
    """A dispute moved to ``state`` by ``actor``: journaled, stamped (``<state>_at``), in its
    history with the note; answered as the actor sees it."""
    tx.record(f"dispute.{state}", actor.label, {"dispute": dispute_id})
    _set(tx, dispute_id, state=state, **{f"{state}_at": tx.at})
    _event(tx, dispute_id, state, actor.participant_id, note)
    return _reload(tx, actor, dispute_id)


def respond(
    db: Database, actor: Actor, dispute_id: str, text: str, idem: Idem | None = None
) -> Dispute:
    """The counterparty's answer to an open dispute (by the deadline to respond)."""
    answer = _text(text, "response")

    def work(tx: Tx) -> Dispute:
        row, role = _row(tx.conn, actor, dispute_id)
        if role != "counterparty":
            raise Forbidden("counterparty_only", "Only the counterparty responds to a dispute.")
        if row.state != "open":
            raise Conflict(
                "dispute_not_open",
                f"Dispute {dispute_id} is {row.state}; a response is given while it is open.",
            )
        require_active(tx.conn, actor)
        return _moved(tx, actor, dispute_id, "responded", answer)

    return execute(db, actor, idem, work, 200, loader(Dispute), sequenced=True)


def withdraw(
    db: Database, actor: Actor, dispute_id: str, reason: str = "", idem: Idem | None = None
) -> Dispute:
    """The opener withdraws its dispute before the operator decides it."""
    note = _text(reason, "reason", required=False)

    def work(tx: Tx) -> Dispute:
        row, role = _row(tx.conn, actor, dispute_id)
        if role != "opener":
            raise Forbidden("opener_only", "Only the party who opened a dispute withdraws it.")
        if row.state not in ACTIVE:
            raise Conflict(
                "dispute_not_active",
                f"Dispute {dispute_id} is {row.state}; only an undecided one is withdrawn.",
            )
        return _moved(tx, actor, dispute_id, "withdrawn", note)

    return execute(db, actor, idem, work, 200, loader(Dispute), sequenced=True)


def attach_evidence(
    db: Database,
    actor: Actor,
    dispute_id: str,
    file_name: str,
    media_type: str,
    content: bytes,
    idem: Idem | None = None,
) -> Evidence:
    """Attach a file to an undecided dispute (a party); kept with its SHA-256, never served to
    the other party."""
    r = rules()
    name = file_name.strip()
    if not name or len(name) > 200 or any(c in name for c in "/\\") or not name.isprintable():
        raise InvalidInput(
            "invalid_file_name", "A file name is 1 to 200 printable characters, without / or \\."
        )
    if media_type not in r.media_types:
        raise InvalidInput(
            "unsupported_media_type",
            f"Evidence is one of {', '.join(r.media_types)}, not {media_type[:100]!r}.",
        )
    if not content:
        raise InvalidInput("empty_file", "The file is empty.")
    if len(content) > r.max_evidence_bytes:
        raise InvalidInput(
            "file_too_large",
            f"A file is at most {r.max_evidence_bytes} bytes; this one has {len(content)}.",
        )
    digest = hashlib.sha256(content).hexdigest()

    def work(tx: Tx) -> Evidence:
        row, role = _row(tx.conn, actor, dispute_id)
        if role == "operator":
            raise Forbidden("parties_only", "Evidence comes from the parties to the dispute.")
        if row.state not in ACTIVE:
            raise Conflict(
                "dispute_not_active",
                f"Dispute {dispute_id} is {row.state}; evidence is attached before the decision.",
            )
        v = dispute_evidence.c
        count = tx.conn.execute(select(func.count()).where(v.dispute_id == dispute_id)).scalar_one()
        if count >= r.max_evidence_per_dispute:
            raise Conflict(
                "too_much_evidence",
                f"Dispute {dispute_id} has {count} files, the most the rulebook allows.",
            )
        eid = new_id("EVD")
        tx.record(
            "dispute.evidence_attached",
            actor.label,
            {"dispute": dispute_id, "evidence": eid, "size": len(content), "sha256": digest},
        )
        assert tx.journal_seq is not None
        repo.insert_row(
            tx.conn,
            dispute_evidence,
            id=eid,
            dispute_id=dispute_id,
            uploaded_by=actor.participant_id,
            file_name=name,
            media_type=media_type,
            size=len(content),
            sha256=digest,
            content_base64=base64.b64encode(content).decode("ascii"),
            at=tx.at,
            journal_seq=tx.journal_seq,
        )
        _set(tx, dispute_id)
        _event(tx, dispute_id, "evidence", actor.participant_id, "", ref=eid)
        return Evidence(
            id=eid,
            dispute_id=dispute_id,
            uploaded_by=role,
            media_type=media_type,
            size=len(content),
            sha256=digest,
            at=tx.at,
            journal_seq=tx.journal_seq,
            file_name=name,
        )

    return execute(db, actor, idem, work, 201, loader(Evidence), sequenced=True)


def decode_base64(text: str) -> bytes:
    """An evidence file sent as base64 in JSON."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_base64", "content_base64 is not valid base64.") from None


def get_evidence(db: Database, actor: Actor, dispute_id: str, evidence_id: str) -> EvidenceFile:
    """An evidence file's bytes: for the party who uploaded it and the operator only."""
    with db.read() as conn:
        _row(conn, actor, dispute_id)
        v = dispute_evidence.c
        f = conn.execute(
            select(dispute_evidence).where(v.id == evidence_id, v.dispute_id == dispute_id)
        ).first()
        if f is None or not (actor.is_operator() or f.uploaded_by == actor.participant_id):
            raise NotFound(
                "evidence_not_found", f"There is no evidence {evidence_id} that you can see."
            )
        content = base64.b64decode(f.content_base64)
        return EvidenceFile(f.id, f.file_name, f.media_type, f.size, f.sha256, content)


def get(db: Database, actor: Actor, dispute_id: str) -> Dispute:
    """One dispute with its history and evidence, as the caller may see it."""
    with db.read() as conn:
        row, role = _row(conn, actor, dispute_id)
        return _view(conn, row, role, actor, detail=True)


def list_disputes(
    db: Database, actor: Actor, state: str | None = None, limit: int = 100
) -> list[Dispute]:
    """One's own disputes (opened or answered), newest first; the operator: everyone's."""
    if state is not None and state not in STATES:
        raise InvalidInput("invalid_state", f"state is one of: {', '.join(STATES)}.")
    d = disputes.c
    q = select(disputes).order_by(d.opened_at.desc(), d.id).limit(max(1, min(limit, 1000)))
    if not actor.is_operator():
        me = actor.participant_id
        q = q.where((d.opener_id == me) | (d.counterparty_id == me))
    if state is not None:
        q = q.where(d.state == state)
    with db.read() as conn:
        out = []
        for row in conn.execute(q).all():
            role = _role(row, actor)
            assert role is not None
            out.append(_view(conn, row, role, actor))
        return out


# ---------------------------------------------------------------- the operator's steps


def review(
    db: Database, actor: Actor, dispute_id: str, note: str = "", idem: Idem | None = None
) -> Dispute:
    """The operator takes an open or answered dispute under review; the deadline to decide
    starts."""
    require_operator_decides(actor)
    text = _text(note, "note", required=False)

    def work(tx: Tx) -> Dispute:
        row, _role = _row(tx.conn, actor, dispute_id)
        if row.state not in ("open", "responded"):
            raise Conflict(
                "dispute_not_reviewable",
                f"Dispute {dispute_id} is {row.state}; an open or answered one goes under review.",
            )
        decide_by = _plus_days(tx.at, rules().decide_days)
        tx.record(
            "dispute.under_review", actor.label, {"dispute": dispute_id, "decide_by": decide_by}
        )
        _set(tx, dispute_id, state="under_review", reviewed_at=tx.at, decide_by=decide_by)
        _event(tx, dispute_id, "under_review", actor.participant_id, text)
        return _reload(tx, actor, dispute_id)

    return execute(db, actor, idem, work, 200, loader(Dispute), sequenced=True)


def require_operator_decides(actor: Actor) -> None:
    if not actor.is_operator():
        raise Forbidden("operator_only", "Only the operator reviews, decides and closes disputes.")


def close(
    db: Database, actor: Actor, dispute_id: str, note: str = "", idem: Idem | None = None
) -> Dispute:
    """The operator closes a decided dispute."""
    require_operator_decides(actor)
    text = _text(note, "note", required=False)

    def work(tx: Tx) -> Dispute:
        row, _role = _row(tx.conn, actor, dispute_id)
        if row.state != "decided":
            raise Conflict(
                "dispute_not_decided",
                f"Dispute {dispute_id} is {row.state}; only a decided dispute is closed.",
            )
        return _moved(tx, actor, dispute_id, "closed", text)

    return execute(db, actor, idem, work, 200, loader(Dispute), sequenced=True)


def decide(
    db: Database,
    actor: Actor,
    dispute_id: str,
    outcome: str,
    decision: str,
    remedies: Sequence[RemedyOrder] = (),
    exchange: Exchange | None = None,
    idem: Idem | None = None,
) -> Dispute:
    """The operator decides a dispute under review, with remedies executed as journaled
    operations: a bust through the exchange, then every other remedy in the decision's one
    transaction (all or none), each conserving cash and credits."""
    require_operator_decides(actor)
    if outcome not in OUTCOMES:
        raise InvalidInput("invalid_outcome", f"outcome is one of: {', '.join(OUTCOMES)}.")
    reasons = _text(decision, "decision")
    orders = list(remedies)
    if outcome == "rejected" and orders:
        raise InvalidInput("remedies_without_ruling", "A rejected dispute orders no remedies.")
    if len(orders) > 20:
        raise InvalidInput("too_many_remedies", f"At most 20 remedies, not {len(orders)}.")
    for o in orders:
        _check_order(actor, o)
    busts = [o for o in orders if o.kind == "bust"]
    if len(busts) > 1:
        raise InvalidInput("bust_twice", "A trade is busted once; order one bust.")
    trade_id = None
    if busts:
        trade_id = _bust_first(db, actor, dispute_id, exchange)

    def work(tx: Tx) -> Dispute:
        conn = tx.conn
        row, _role = _row(conn, actor, dispute_id)
        if row.state != "under_review":
            raise Conflict(
                "dispute_not_under_review",
                f"Dispute {dispute_id} is {row.state}; the operator decides one under review.",
            )
        seq = tx.next_seq()
        done: list[Remedy] = []
        moves: list[list[Any]] = []
        cash_moves: list[list[Any]] = []
        for o in orders:
            if o.kind == "bust":
                done.append(Remedy(kind="bust", trade_id=trade_id))
                continue
            remedy, m, c = _execute(tx, seq, row, o)
            done.append(replace(remedy, journal_seq=seq))
            moves += m
            cash_moves += c
        payload: dict[str, Any] = {
            "dispute": dispute_id,
            "outcome": outcome,
            "remedies": [_plain(r) for r in done],
        }
        if moves:
            payload["moves"] = moves
        if cash_moves:
            payload["cash"] = cash_moves
        tx.record("dispute.decided", actor.label, payload)
        _set(
            tx,
            dispute_id,
            state="decided",
            decided_at=tx.at,
            outcome=outcome,
            decision=reasons,
            remedies=json.dumps([_plain(r) for r in done]),
        )
        _event(tx, dispute_id, "decided", actor.participant_id, reasons, ref=outcome)
        return _reload(tx, actor, dispute_id)

    return execute(db, actor, idem, work, 200, loader(Dispute), sequenced=True)


def _plain(r: Remedy) -> dict[str, Any]:
    return {k: getattr(r, k) for k in Remedy.__slots__ if getattr(r, k) is not None}


def _check_order(actor: Actor, o: RemedyOrder) -> None:
    if o.kind not in REMEDIES:
        raise InvalidInput("invalid_remedy", f"A remedy is one of: {', '.join(REMEDIES)}.")
    registry_side = o.kind in ("credit_return", "redelivery", "freeze", "unfreeze")
    require(
        actor,
        Role.REGISTRY_OPERATOR if registry_side else Role.EXCHANGE_OPERATOR,
        f"order the remedy {o.kind}",
    )
    if o.kind in ("price_adjustment", "compensation", "fee_waiver"):
        if o.payer not in PARTIES:
            who = "receives the refund" if o.kind == "fee_waiver" else "pays"
            raise InvalidInput(
                "invalid_payer", f"payer is opener or counterparty: the party who {who}."
            )
        if o.amount is None or _amount(o.amount, "amount") == 0:
            raise InvalidInput("invalid_amount", f"A {o.kind} moves a positive amount.")
        check_currency(o.currency)
    if o.kind in ("credit_return", "redelivery", "freeze", "unfreeze"):
        if not o.serials:
            raise InvalidInput("serials_required", f"A {o.kind} names the serials it moves.")
        parse_block(o.serials)
    two = o.from_account and o.to_account and o.from_account != o.to_account
    if o.kind in ("credit_return", "redelivery") and not two:
        raise InvalidInput(
            "accounts_required",
            f"A {o.kind} names from_account and to_account: the two parties' holding accounts.",
        )


def _bust_first(db: Database, actor: Actor, dispute_id: str, exchange: Exchange | None) -> str:
    """Bust the disputed trade through the exchange's sequencer, before the decision's own
    transaction (a trade busted already for this ruling counts as done)."""
    with db.read() as conn:
        row, _role = _row(conn, actor, dispute_id)
        trade_id = _trade_of(conn, row)
        if trade_id is None:
            raise InvalidInput(
                "not_a_trade", f"Dispute {dispute_id} is not about an exchange trade: no bust."
            )
        if row.state != "under_review":
            return trade_id  # the decision refuses (or answers again) in its transaction
        trade = conn.execute(select(t.trades).where(t.trades.c.id == trade_id)).first()
    if trade is not None and trade.busted and trade.bust_reason == "dispute_ruling":
        return trade_id
    if exchange is None:
        raise InvalidInput("no_exchange", "A bust needs the exchange; decide through the API.")
    exchange.bust(actor, trade_id, "dispute_ruling", f"dispute {dispute_id}")
    return trade_id


def _parties(row: Any, payer: str) -> tuple[str, str]:
    """The paying and the receiving participant, from the payer's role."""
    if payer == "opener":
        return row.opener_id, row.counterparty_id
    return row.counterparty_id, row.opener_id


def _other(payer: str) -> str:
    return "counterparty" if payer == "opener" else "opener"


def _execute(
    tx: Tx, seq: int, row: Any, o: RemedyOrder
) -> tuple[Remedy, list[list[Any]], list[list[Any]]]:
    """Carry out one remedy in the decision's transaction: (its view, credit moves, cash)."""
    conn = tx.conn
    if o.kind in ("price_adjustment", "compensation"):
        assert o.payer is not None and o.amount is not None
        src_pid, dst_pid = _parties(row, o.payer)
        src = cash.cash_account_id(src_pid, o.currency)
        dst = cash.ensure_accounts(tx, dst_pid, o.currency)
        _pay(conn, seq, o.currency, src, dst, o.amount, f"dispute {row.id} {o.kind}")
        remedy = Remedy(
            kind=o.kind,
            payer=o.payer,
            payee=_other(o.payer),
            amount=o.amount,
            currency=o.currency,
        )
        return remedy, [], [[o.currency, src, dst, o.amount]]
    if o.kind == "fee_waiver":
        assert o.payer is not None and o.amount is not None
        party = row.opener_id if o.payer == "opener" else row.counterparty_id
        _check_fee(conn, row, party, o.amount)
        src = cash.fees_account_id(o.currency)
        dst = cash.ensure_accounts(tx, party, o.currency)
        _pay(conn, seq, o.currency, src, dst, o.amount, f"dispute {row.id} fee waiver")
        remedy = Remedy(
            kind=o.kind, payer="exchange", payee=o.payer, amount=o.amount, currency=o.currency
        )
        return remedy, [], [[o.currency, src, dst, o.amount]]
    assert o.serials is not None
    if o.kind in ("credit_return", "redelivery"):
        assert o.from_account is not None and o.to_account is not None
        payer = _holder_role(conn, row, o.from_account)
        receiver = _holder_role(conn, row, o.to_account)
        if payer == receiver:
            raise InvalidInput(
                "same_party", "Credits move from one party's holding account to the other's."
            )
        pieces = take(tx, o.from_account, Selection(serials=o.serials))
        moves = move(tx, pieces, o.to_account, BlockStatus.HELD, "dispute", row.id)
        remedy = Remedy(
            kind=o.kind,
            payer=payer,
            payee=receiver,
            quantity=sum(p.quantity for p in pieces),
            serials=o.serials,
            from_account=o.from_account,
            to_account=o.to_account,
        )
        return remedy, moves, []
    # freeze or unfreeze, as the registry's freeze does it: wherever the serials are
    r = parse_block(o.serials)
    freeze = o.kind == "freeze"
    if tx.ledger is not None:
        tx.ledger.flush()
        tx.ledger.forget()
    movable = (BlockStatus.HELD, BlockStatus.RESERVED) if freeze else (BlockStatus.FROZEN,)
    blocks = repo.blocks_overlapping(conn, r.issuance, r.start, r.end)
    pieces = take_range([b for b in blocks if b.status in movable], r.issuance, r.start, r.end)
    moves = []
    for p in pieces:
        b = p.block
        if freeze and b.reservation and not repo.is_trade_reservation(conn, b.reservation):
            raise Conflict(
                "credits_reserved_by_order",
                f"Serials {b.issuance}-{p.start}-{p.end} back the open order or listing "
                f"{b.reservation}; cancel it first, then freeze.",
            )
    for p in pieces:
        b = p.block
        to = (
            BlockStatus.FROZEN
            if freeze
            else (BlockStatus.RESERVED if b.reservation else BlockStatus.HELD)
        )
        moves += move(tx, [p], b.account, to, o.kind, row.id, b.reservation)
    quantity = sum(p.quantity for p in pieces)
    return Remedy(kind=o.kind, quantity=quantity, serials=o.serials), moves, []


def _holder_role(conn: Connection, row: Any, account: str) -> str:
    a = repo.get_account(conn, account)
    if a is None or a.kind != AccountKind.HOLDING.value:
        raise NotFound("account_not_found", f"There is no holding account {account}.")
    if a.participant_id == row.opener_id:
        return "opener"
    if a.participant_id == row.counterparty_id:
        return "counterparty"
    raise InvalidInput(
        "not_a_party_account",
        f"Account {account} belongs to neither party of dispute {row.id}.",
    )


def _pay(
    conn: Connection, seq: int, currency: str, src: str, dst: str, amount: int, memo: str
) -> None:
    """One cash move of a decision, from free cash only (never what is held for others)."""
    row = repo.get_cash_account(conn, src)
    free = (row.balance - row.reserved) if row is not None else 0
    if free < amount:
        raise Conflict(
            "insufficient_cash",
            f"Cash account {src} has {free} {currency} free, not the {amount} {currency} the "
            "remedy moves; the remedy is not executed.",
        )
    repo.move_cash(conn, seq, currency, src, dst, amount, memo)


def _check_fee(conn: Connection, row: Any, party: str, amount: int) -> None:
    """A fee waiver gives back at most the fee the party was charged on the disputed deal."""
    ob = None
    if row.kind != "registry_action":
        ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", row.subject_id)
    charged = 0
    if ob is not None and ob.status == "settled":
        charged = ob.buyer_fee if ob.buyer_id == party else ob.seller_fee
    if amount > charged:
        raise Conflict(
            "fee_waiver_too_large",
            f"The party was charged {charged} in fees on {row.subject_id}; a waiver of "
            f"{amount} is more than that.",
        )


# ---------------------------------------------------------------- deadlines and reminders


@dataclass(frozen=True, slots=True)
class Reminded:
    """What a sweep of the deadlines did: reminders sent, disputes moved under review."""

    reminders: int
    lapsed: int


def remind_due(db: Database, actor: Actor = SYSTEM) -> Reminded:
    """Send the reminders that are due (to the counterparty before the deadline to respond, to
    the operator before the deadline to decide), and take under review every open dispute whose
    deadline to respond has passed. For the scheduler; each dispute in its own transaction."""
    r = rules()
    with db.read() as conn:
        d = disputes.c
        rows = conn.execute(
            select(d.id, d.state, d.respond_by, d.decide_by).where(
                d.state.in_(("open", "responded", "under_review"))
            )
        ).all()
    sent = lapsed = 0
    now = db.clock()
    for row in rows:
        if row.state == "open" and row.respond_by <= now:
            if _lapse(db, actor, row.id):
                lapsed += 1
            continue
        deadline, whom = (
            (row.respond_by, "counterparty")
            if row.state == "open"
            else (row.decide_by, "operator")
            if row.state == "under_review"
            else (None, "")
        )
        if deadline is None:
            continue
        due = [n for n in r.reminder_days_before if _plus_days(deadline, -n) <= now]
        if row.state == "under_review" and deadline <= now:
            due = [0]
        if due and _remind(db, actor, row.id, row.state, whom, deadline, min(due)):
            sent += 1
    return Reminded(sent, lapsed)


def _remind(
    db: Database, actor: Actor, dispute_id: str, state: str, whom: str, deadline: str, days: int
) -> bool:
    ref = f"{state}:{deadline}:{days}"

    def work(tx: Tx) -> bool:
        e = dispute_events.c
        row = tx.conn.execute(select(disputes).where(disputes.c.id == dispute_id)).first()
        if row is None or row.state != state:
            tx.allow_empty = True
            return False
        seen = tx.conn.execute(
            select(e.id).where(e.dispute_id == dispute_id, e.kind == "reminder", e.ref == ref)
        ).first()
        if seen is not None:
            tx.allow_empty = True
            return False
        tx.record(
            "dispute.reminded",
            actor.label,
            {"dispute": dispute_id, "to": whom, "deadline": deadline, "days_before": days},
        )
        _event(tx, dispute_id, "reminder", actor.participant_id, deadline, whom, ref)
        return True

    return execute(db, actor, None, work, sequenced=True)


def _lapse(db: Database, actor: Actor, dispute_id: str) -> bool:
    """No response by the deadline: the dispute goes under review without one."""

    def work(tx: Tx) -> bool:
        row = tx.conn.execute(select(disputes).where(disputes.c.id == dispute_id)).first()
        if row is None or row.state != "open" or row.respond_by > tx.at:
            tx.allow_empty = True
            return False
        decide_by = _plus_days(tx.at, rules().decide_days)
        tx.record(
            "dispute.response_lapsed",
            actor.label,
            {"dispute": dispute_id, "decide_by": decide_by},
        )
        _set(tx, dispute_id, state="under_review", reviewed_at=tx.at, decide_by=decide_by)
        _event(tx, dispute_id, "response_lapsed", actor.participant_id, row.respond_by)
        return True

    return execute(db, actor, None, work, sequenced=True)


def reminders_for(db: Database, actor: Actor, limit: int = 50) -> list[tuple[str, DisputeEvent]]:
    """The reminders addressed to the caller (a party: its own; the operator: its own), newest
    first, as (dispute id, event): the notices the portal shows."""
    e, d = dispute_events.c, disputes.c
    q = (
        select(dispute_events, d.opener_id, d.counterparty_id)
        .join(disputes, d.id == e.dispute_id)
        .where(e.kind == "reminder")
        .order_by(e.id.desc())
        .limit(limit)
    )
    if actor.is_operator():
        q = q.where(e.audience == "operator")
    else:
        q = q.where(e.audience == "counterparty", d.counterparty_id == actor.participant_id)
    with db.read() as conn:
        return [
            (r.dispute_id, DisputeEvent(r.at, r.kind, "operator", r.text, r.journal_seq, r.ref))
            for r in conn.execute(q).all()
        ]


# ---------------------------------------------------------------- the public summary


def summary(db: Database, year: int) -> Summary:
    """Disputes opened in the calendar ``year`` (UTC), by kind and by where they ended: public,
    no names."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("invalid_year", f"year is from 2000 to 2100, not {year}.")
    d = disputes.c
    with db.read() as conn:
        rows = conn.execute(
            select(d.kind, d.state, d.outcome, func.count())
            .where(d.opened_at >= f"{year}-01-01", d.opened_at < f"{year + 1}-01-01")
            .group_by(d.kind, d.state, d.outcome)
        ).all()
    counts: dict[str, dict[str, int]] = {k: {} for k in KINDS}
    for kind, state, outcome, n in rows:
        if state == "withdrawn":
            key = "withdrawn"
        elif state in ("decided", "closed") and outcome in OUTCOMES:
            key = outcome
        else:
            key = "pending"
        bucket = counts.setdefault(kind, {})
        bucket[key] = bucket.get(key, 0) + int(n)
    kinds = [
        SummaryRow(
            kind=k,
            opened=sum(c.values()),
            pending=c.get("pending", 0),
            withdrawn=c.get("withdrawn", 0),
            upheld=c.get("upheld", 0),
            partly_upheld=c.get("partly_upheld", 0),
            rejected=c.get("rejected", 0),
        )
        for k, c in counts.items()
    ]
    return Summary(calendar_year=year, total=sum(r.opened for r in kinds), kinds=kinds)
