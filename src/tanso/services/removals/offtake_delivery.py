"""Deliveries under forward offtake contracts (docs/offtake.md): on each issuance of a project,
the explicit delivery of outstanding or replacement tonnes, and the close of a vintage with its
shortfall rule.

Each delivery is delivery versus payment in one transaction: the credits move from the
developer's account to the buyer's (blocks.move, kind ``offtake_delivery``) and the cash from
the buyer to the developer (the price less the prepayment, plus the prepayment released from
escrow), with one journal entry per contract. On an issuance a delivery the buyer cannot pay
for is not made (never half of it): a payment failure is recorded with its notices, and the
issuance itself stands. The pure rules (price, share in priority order, shortfall, payment) are
domain/offtake.py's; this module never delivers more than a vintage is due nor more than the
account holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from tanso.domain import offtake as ot
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.registry import BlockStatus, Piece, take_quantity
from tanso.services.clearing import escrow
from tanso.services.common import Actor, Idem, execute, loader, require_active
from tanso.services.ledger import cash
from tanso.services.ledger.blocks import move, ranges_view
from tanso.services.notices import notify
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_offtake import (
    offtake_contracts,
    offtake_events,
    offtake_schedule,
)
from tanso.store.schema_removals import removal_profiles

C = offtake_contracts.c
S = offtake_schedule.c
CURRENCY = "JPY"
REMOVAL_CREDIT_TYPE = "RM"
FIRST_VINTAGE, LAST_VINTAGE = 2000, 2100


def check_vintage(vintage: int) -> int:
    """A vintage year a contract can have (2000 to 2100), before any query runs."""
    if isinstance(vintage, bool) or not isinstance(vintage, int):
        raise InvalidInput("invalid_vintage", "A vintage is a year from 2000 to 2100.")
    if not FIRST_VINTAGE <= vintage <= LAST_VINTAGE:
        raise InvalidInput(
            "invalid_vintage",
            f"Vintage {vintage} is not a year from {FIRST_VINTAGE} to {LAST_VINTAGE}.",
        )
    return vintage


def lapsed(vintage: int, day: str) -> bool:
    """A vintage has lapsed once 31 December of the year after it has passed: its credits
    would have been issued by then, so the buyer may close it if the developer does not."""
    return day > f"{vintage + 1}-12-31"


@dataclass(frozen=True, slots=True)
class Delivered:
    """One contract's delivery (or payment failure) on an issuance or an explicit call."""

    contract_id: str
    vintage: int
    quantity: int
    """Tonnes delivered (0 for a payment failure)."""
    unit_price: int | None
    amount: int
    """Yen the buyer paid on delivery (the price less the prepayment)."""
    prepaid: int
    """Yen of the prepayment counted against these tonnes (released from escrow, or paid at
    signing under milestones)."""
    journal_seq: int
    failure: str | None = None
    """Why the delivery was not made: ``insufficient_cash`` or ``no_reference_price``."""

    @property
    def delivered(self) -> int:
        """Tonnes delivered (what registry.with_removals sums on the issuance's receipt)."""
        return self.quantity


@dataclass(frozen=True, slots=True)
class VintageClosed:
    """A vintage closed: its shortfall and what the contract's rule made of it."""

    contract_id: str
    vintage: int
    shortfall: int
    rule: str
    carried: int
    carried_to: int | None
    replacement: int
    refund: int
    journal_seq: int


# ---------------------------------------------------------------- reading


def contract_row(conn: Connection, contract_id: str) -> Any:
    return conn.execute(select(offtake_contracts).where(C.id == contract_id)).first()


def schedule_rows(conn: Connection, contract_id: str) -> list[Any]:
    q = select(offtake_schedule).where(S.contract_id == contract_id).order_by(S.vintage)
    return list(conn.execute(q).all())


def price_rule(text: str) -> ot.PriceRule:
    return ot.PriceRule(**json.loads(text))


def reference_value(conn: Connection, index: str | None, day: str) -> int | None:
    """The index's value published on ``day`` or the last day before it (None: never)."""
    if not index:
        return None
    v = t.index_values.c
    # a day under the rule ``none`` has no value (services/marketdata/indices.py)
    row = conn.execute(
        select(v.value)
        .where(v.index_id == index, v.date <= day, v.rule != "none")
        .order_by(v.date.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row.value)


def due(row: Any) -> int:
    """Tonnes an open vintage still awaits."""
    return int(row.contracted + row.carried_in - row.delivered) if row.status == "open" else 0


def _conn(tx: Tx) -> Connection:
    """The connection, the sequencer's memory written out and forgotten first (deliveries read
    and change blocks and cash the memory may remember)."""
    if tx.ledger is not None:
        tx.ledger.flush()
        tx.ledger.forget()
    return tx.conn


def _free_cash(conn: Connection, pid: str) -> int:
    row = repo.get_cash_account(conn, cash.cash_account_id(pid, CURRENCY))
    return 0 if row is None else int(row.balance - row.reserved)


def event(
    tx: Tx,
    contract_id: str,
    vintage: int | None,
    kind: str,
    quantity: int = 0,
    amount: int = 0,
    prepaid: int = 0,
    unit_price: int | None = None,
    issuance_id: str | None = None,
    detail: str = "",
) -> None:
    assert tx.journal_seq is not None
    tx.conn.execute(
        offtake_events.insert().values(
            contract_id=contract_id,
            vintage=vintage,
            kind=kind,
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
            prepaid=prepaid,
            issuance_id=issuance_id,
            detail=detail,
            at=tx.at,
            journal_seq=tx.journal_seq,
        )
    )


def _bump(conn: Connection, contract_id: str, vintage: int, **deltas: int) -> None:
    conn.execute(
        update(offtake_schedule)
        .where(S.contract_id == contract_id, S.vintage == vintage)
        .values({k: getattr(S, k) + v for k, v in deltas.items()})
    )


# ---------------------------------------------------------------- one delivery (DvP)


def _price(conn: Connection, c: Any, day: str) -> int:
    """The contract's price per tonne today; ``no_reference_price`` if its index has none."""
    rule = price_rule(c.price_rule)
    price = ot.unit_price(rule, reference_value(conn, rule.index, day))
    if price < 1:
        raise InvalidInput(
            "price_below_one",
            f"Contract {c.id} prices a tonne at {price:,} yen today: a delivery is priced at "
            "1 yen per tonne or more.",
        )
    return price


def _settle(
    tx: Tx,
    actor_label: str,
    c: Any,
    vintage: int,
    pieces: list[Piece],
    price: int,
    kind: str,
    issuance_id: str | None,
) -> Delivered:
    """Move ``pieces`` to the buyer and the cash to the developer, in this transaction; the
    caller checked that the buyer has the cash (a refusal here would undo the whole unit)."""
    conn = tx.conn
    quantity = sum(p.quantity for p in pieces)
    prepaid = quantity * c.prepaid_per_tonne
    pay = ot.payment(quantity, price, c.prepaid_per_tonne)
    buyer_cash = cash.ensure_accounts(tx, c.buyer_id, CURRENCY)
    seller_cash = cash.ensure_accounts(tx, c.seller_id, CURRENCY)
    moves = move(tx, pieces, c.buyer_account, BlockStatus.HELD, "offtake_delivery", c.id)
    reserve: list[list[Any]] = []
    flows: list[list[Any]] = []
    seq = tx.next_seq()
    released = prepaid if c.prepayment_mode == "escrow" else 0
    if released:
        reserve = escrow.release_cash(tx, c.id, released)
    total = released + pay
    if total:
        repo.move_cash(
            conn, seq, CURRENCY, buyer_cash, seller_cash, total, f"offtake {c.id} {kind}", c.id
        )
        flows.append([CURRENCY, buyer_cash, seller_cash, total])
    _bump(conn, c.id, vintage, paid=pay, prepaid_released=prepaid)
    if kind == "replacement":
        _bump(conn, c.id, vintage, replaced=quantity)
    else:
        _bump(conn, c.id, vintage, delivered=quantity)
    tx.record(
        "offtake.delivered",
        actor_label,
        {
            "contract_id": c.id,
            "vintage": vintage,
            "kind": kind,
            "issuance_id": issuance_id,
            "quantity": quantity,
            "unit_price": price,
            "amount": pay,
            "prepaid": prepaid,
            "credits": ranges_view(pieces),
            "moves": moves,
            "cash": flows,
            "cash_reserve": reserve,
        },
    )
    event(tx, c.id, vintage, kind, quantity, pay, prepaid, price, issuance_id)
    for pid in (c.buyer_id, c.seller_id):
        notify(
            tx,
            pid,
            "offtake_delivered",
            c.id,
            vintage=str(vintage),
            quantity=quantity,
            price=price,
            amount=pay,
            prepaid=prepaid,
        )
    return Delivered(c.id, vintage, quantity, price, pay, prepaid, tx.journal_seq or 0)


def _failed(
    tx: Tx, actor_label: str, c: Any, vintage: int, quantity: int, code: str, issuance_id: str
) -> Delivered:
    tx.record(
        "offtake.payment_failed",
        actor_label,
        {
            "contract_id": c.id,
            "vintage": vintage,
            "issuance_id": issuance_id,
            "quantity": quantity,
            "reason_code": code,
        },
    )
    _bump(tx.conn, c.id, vintage, failures=1)
    event(tx, c.id, vintage, "payment_failed", quantity, issuance_id=issuance_id, detail=code)
    for pid in (c.buyer_id, c.seller_id):
        notify(
            tx,
            pid,
            "offtake_payment_failed",
            c.id,
            vintage=str(vintage),
            quantity=quantity,
            code=code,
        )
    return Delivered(c.id, vintage, 0, None, 0, 0, tx.journal_seq or 0, failure=code)


def _maybe_complete(tx: Tx, actor_label: str, contract_id: str) -> None:
    """A contract whose every vintage is closed and every replacement delivered is completed.
    Its escrow should then be empty (each tonne's prepayment went with its delivery or its
    refund); whatever it still holds goes back to the buyer, so that no hold dangles."""
    rows = schedule_rows(tx.conn, contract_id)
    if any(r.status == "open" or r.replaced < r.replacement for r in rows):
        return
    tx.conn.execute(update(offtake_contracts).where(C.id == contract_id).values(status="completed"))
    reserve = escrow.shrink_cash(tx, contract_id, 0)
    if reserve:
        tx.record(
            "offtake.escrow_released",
            actor_label,
            {"contract_id": contract_id, "cash_reserve": reserve},
        )


def _close_if_delivered(tx: Tx, contract_id: str, vintage: int) -> None:
    """A vintage delivered in full closes by itself (no shortfall)."""
    tx.conn.execute(
        update(offtake_schedule)
        .where(
            S.contract_id == contract_id,
            S.vintage == vintage,
            S.status == "open",
            S.delivered == S.contracted + S.carried_in,
        )
        .values(status="closed", closed_at=tx.at)
    )


# ---------------------------------------------------------------- on issuance


def deliver_on_issuance(
    tx: Tx, actor_label: str, issuance_id: str, account_id: str, available: int
) -> list[Delivered]:
    """Deliver a fresh issuance's credits under the active contracts of its project and vintage
    whose developer account received them: shared in priority order (domain/offtake.py
    `share`), at most ``available`` tonnes (what the buffer left) and what the account holds of
    the issuance. Runs in the issuance's transaction, after its journal entry."""
    conn = _conn(tx)
    issuance = repo.get_issuance(conn, issuance_id)
    if issuance is None or available <= 0:
        return []
    rows = conn.execute(
        select(offtake_contracts, S.contracted, S.carried_in, S.delivered, S.status.label("vs"))
        .join(offtake_schedule, S.contract_id == C.id)
        .where(
            C.project_id == issuance.project_id,
            C.seller_account == account_id,
            C.status == "active",
            S.vintage == issuance.vintage,
            S.status == "open",
        )
    ).all()
    dues = [
        ot.Due(r.id, r.priority, r.signed_seq, int(r.contracted + r.carried_in - r.delivered))
        for r in rows
        if r.contracted + r.carried_in > r.delivered
    ]
    if not dues:
        return []
    free = list(repo.blocks_in_account(conn, account_id, BlockStatus.HELD, issuance_id=issuance_id))
    issued = min(available, sum(b.quantity for b in free))
    by_id = {r.id: r for r in rows}
    day = tx.at[:10]
    out: list[Delivered] = []
    for share in ot.share(issued, dues):
        if share.delivered == 0:
            continue
        c = by_id[share.contract_id]
        try:
            price = _price(conn, c, day)
        except InvalidInput as err:
            out.append(
                _failed(
                    tx, actor_label, c, issuance.vintage, share.delivered, err.code, issuance_id
                )
            )
            continue
        need = ot.payment(share.delivered, price, c.prepaid_per_tonne)
        if _free_cash(conn, c.buyer_id) < need:
            out.append(
                _failed(
                    tx,
                    actor_label,
                    c,
                    issuance.vintage,
                    share.delivered,
                    "insufficient_cash",
                    issuance_id,
                )
            )
            continue
        free = list(
            repo.blocks_in_account(conn, account_id, BlockStatus.HELD, issuance_id=issuance_id)
        )
        pieces = take_quantity(free, share.delivered)
        out.append(
            _settle(tx, actor_label, c, issuance.vintage, pieces, price, "delivery", issuance_id)
        )
        _close_if_delivered(tx, c.id, issuance.vintage)
        _maybe_complete(tx, actor_label, c.id)
    return out


# ---------------------------------------------------------------- explicit calls


def _party(conn: Connection, actor: Actor, contract_id: str, *, seller: bool) -> Any:
    """The contract if the actor is a party to it (``seller``: must be its developer, or the
    operator); another's answers exactly like a missing one."""
    c = contract_row(conn, contract_id)
    if c is None or not (actor.is_operator() or actor.participant_id in (c.buyer_id, c.seller_id)):
        raise NotFound(
            "contract_not_found", f"There is no offtake contract {contract_id} of yours."
        )
    if seller and not (actor.is_operator() or actor.participant_id == c.seller_id):
        raise Forbidden("developer_only", f"Only the developer of {contract_id} may do this.")
    return c


def _schedule_row(conn: Connection, contract_id: str, vintage: int) -> Any:
    row = conn.execute(
        select(offtake_schedule).where(S.contract_id == contract_id, S.vintage == vintage)
    ).first()
    if row is None:
        raise NotFound(
            "vintage_not_contracted", f"Contract {contract_id} has no vintage {vintage}."
        )
    return row


def _removal_issuances(conn: Connection) -> set[str]:
    i = t.issuances.c
    q = select(i.id).where(i.credit_type == REMOVAL_CREDIT_TYPE)
    return {str(r.id) for r in conn.execute(q).all()}


def _same_class_issuances(conn: Connection, project_id: str) -> set[str]:
    """Removal (RM) issuances of the contract project's class: projects with the same storage
    and a permanence at least as long (removal_profiles); a project without a profile has no
    class but itself."""
    i, p = t.issuances.c, removal_profiles.c
    own = conn.execute(select(removal_profiles).where(p.project_id == project_id)).first()
    q = select(i.id).where(i.credit_type == REMOVAL_CREDIT_TYPE)
    if own is None:
        q = q.where(i.project_id == project_id)
    else:
        q = q.join(removal_profiles, p.project_id == i.project_id).where(
            p.storage == own.storage, p.permanence_years >= own.permanence_years
        )
    return {str(r.id) for r in conn.execute(q).all()}


def deliver(
    db: Database,
    actor: Actor,
    contract_id: str,
    vintage: int,
    quantity: int,
    idem: Idem | None = None,
) -> Delivered:
    """Deliver from the developer's account (developer): tonnes an open vintage still awaits,
    from the project's credits of that vintage (e.g. after a payment failure); or, once the
    vintage closed under ``replacement``, replacement credits of the same class (any removal
    removal credit of the same storage and at least the same permanence). Refused with the
    numbers if the buyer cannot pay or too little is held."""
    check_vintage(vintage)
    if not 1 <= quantity <= 10**12:
        raise InvalidInput("invalid_quantity", "quantity is a whole number of tonnes above 0.")

    def work(tx: Tx) -> Delivered:
        conn = _conn(tx)
        require_active(conn, actor)
        c = _party(conn, actor, contract_id, seller=True)
        if c.status != "active":
            raise Conflict("contract_not_active", f"Contract {contract_id} is {c.status}.")
        row = _schedule_row(conn, contract_id, vintage)
        if row.status == "open":
            left, kind = due(row), "delivery"
            i = t.issuances.c
            ids = {
                str(r.id)
                for r in conn.execute(
                    select(i.id).where(i.project_id == c.project_id, i.vintage == vintage)
                ).all()
            }
        else:
            left, kind = int(row.replacement - row.replaced), "replacement"
            ids = _same_class_issuances(conn, c.project_id)
        if quantity > left:
            raise Conflict(
                "more_than_due",
                f"Vintage {vintage} of {contract_id} awaits {left:,} t; {quantity:,} t asked.",
            )
        held = [
            b
            for b in repo.blocks_in_account(conn, c.seller_account, BlockStatus.HELD)
            if b.issuance in ids
        ]
        have = sum(b.quantity for b in held)
        if have < quantity and kind == "replacement":
            removals = _removal_issuances(conn)
            other = sum(
                b.quantity
                for b in repo.blocks_in_account(conn, c.seller_account, BlockStatus.HELD)
                if b.issuance in removals and b.issuance not in ids
            )
            if have + other >= quantity:
                raise Conflict(
                    "not_same_class",
                    f"Account {c.seller_account} holds {have:,} t of removal credits of "
                    f"{c.project_id}'s class (same storage, permanence at least as long) and "
                    f"{other:,} t of other removals; {quantity:,} t of the same class asked.",
                )
        if have < quantity:
            what = (
                f"of {c.project_id}'s vintage {vintage}"
                if kind == "delivery"
                else f"of removal (RM) credits of {c.project_id}'s class"
            )
            raise Conflict(
                "insufficient_credits",
                f"Account {c.seller_account} holds {have:,} t {what} free; {quantity:,} t asked.",
            )
        price = _price(conn, c, tx.at[:10])
        need = ot.payment(quantity, price, c.prepaid_per_tonne)
        free_cash = _free_cash(conn, c.buyer_id)
        if free_cash < need:
            raise Conflict(
                "insufficient_cash",
                f"The buyer has {free_cash:,} yen free; the delivery costs {need:,} yen.",
            )
        view = _settle(
            tx, actor.label, c, vintage, take_quantity(held, quantity), price, kind, None
        )
        if kind == "delivery":
            _close_if_delivered(tx, contract_id, vintage)
        _maybe_complete(tx, actor.label, contract_id)
        return view

    return execute(db, actor, idem, work, 201, loader(Delivered), sequenced=True)


def close_vintage(
    db: Database, actor: Actor, contract_id: str, vintage: int, idem: Idem | None = None
) -> VintageClosed:
    """Close a vintage of a contract (developer or operator; the buyer too once the vintage
    has lapsed, `lapsed`): what it still awaits is its shortfall, and the contract's rule
    applies — ``carry_forward`` adds it to the next open vintage (none left: the prepayment for
    it is refunded), ``replacement`` owes it from the developer's other removal credits of the
    same class (`deliver`), ``refund`` returns its prepayment."""
    check_vintage(vintage)

    def work(tx: Tx) -> VintageClosed:
        conn = _conn(tx)
        require_active(conn, actor)
        c = _party(conn, actor, contract_id, seller=False)
        developer = actor.is_operator() or actor.participant_id == c.seller_id
        if not developer and not lapsed(vintage, tx.at[:10]):
            raise Forbidden(
                "developer_only",
                f"Only the developer of {contract_id} closes vintage {vintage} before it lapses; "
                f"the buyer may close it from {vintage + 2}-01-01.",
            )
        if c.status != "active":
            raise Conflict("contract_not_active", f"Contract {contract_id} is {c.status}.")
        row = _schedule_row(conn, contract_id, vintage)
        if row.status != "open":
            raise Conflict(
                "vintage_closed", f"Vintage {vintage} of {contract_id} is closed already."
            )
        short = due(row)
        later = [r for r in schedule_rows(conn, contract_id) if r.vintage > vintage]
        nxt = next((r for r in later if r.status == "open"), None)
        sf = ot.shortfall(c.shortfall_rule, short, c.prepaid_per_tonne, last_vintage=nxt is None)
        reserve: list[list[Any]] = []
        flows: list[list[Any]] = []
        seq = tx.next_seq()
        if sf.refund:
            if c.prepayment_mode == "escrow":
                reserve = escrow.release_cash(tx, c.id, sf.refund)
            else:
                have = _free_cash(conn, c.seller_id)
                if have < sf.refund:
                    raise Conflict(
                        "insufficient_cash",
                        f"The refund of {sf.refund:,} yen of prepayment needs that much free "
                        f"cash of the developer; it has {have:,} yen.",
                    )
                src = cash.ensure_accounts(tx, c.seller_id, CURRENCY)
                dst = cash.ensure_accounts(tx, c.buyer_id, CURRENCY)
                repo.move_cash(
                    conn, seq, CURRENCY, src, dst, sf.refund, f"offtake {c.id} refund", c.id
                )
                flows.append([CURRENCY, src, dst, sf.refund])
        if sf.carried:
            assert nxt is not None
            _bump(conn, c.id, nxt.vintage, carried_in=sf.carried)
        conn.execute(
            update(offtake_schedule)
            .where(S.contract_id == c.id, S.vintage == vintage)
            .values(
                status="closed",
                closed_at=tx.at,
                shortfall=short,
                carried_out=sf.carried,
                replacement=sf.replacement,
                refunded=sf.refund,
            )
        )
        view = VintageClosed(
            contract_id=c.id,
            vintage=vintage,
            shortfall=short,
            rule=c.shortfall_rule,
            carried=sf.carried,
            carried_to=nxt.vintage if sf.carried and nxt is not None else None,
            replacement=sf.replacement,
            refund=sf.refund,
            journal_seq=seq,
        )
        tx.record(
            "offtake.vintage_closed",
            actor.label,
            {
                "contract_id": c.id,
                "vintage": vintage,
                "shortfall": short,
                "rule": c.shortfall_rule,
                "carried": sf.carried,
                "carried_to": view.carried_to,
                "replacement": sf.replacement,
                "refund": sf.refund,
                "cash": flows,
                "cash_reserve": reserve,
            },
        )
        detail = json.dumps(
            {"carried_to": view.carried_to, "replacement": sf.replacement}, sort_keys=True
        )
        event(tx, c.id, vintage, "vintage_closed", short, sf.refund, detail=detail)
        for pid in (c.buyer_id, c.seller_id):
            notify(
                tx,
                pid,
                "offtake_vintage_closed",
                c.id,
                vintage=str(vintage),
                shortfall=short,
                rule=c.shortfall_rule,
                refund=sf.refund,
            )
        _maybe_complete(tx, actor.label, c.id)
        return view

    return execute(db, actor, idem, work, 201, loader(VintageClosed), sequenced=True)
