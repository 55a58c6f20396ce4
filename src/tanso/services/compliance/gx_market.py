"""GX-ETS price-stability operation (価格安定化措置, docs/gx-ets.md): when allowances trade below
the fiscal year's adjustment reference price (調整基準取引価格), the scheme administrator buys them
on the exchange at that price and then cancels (取消) what it bought, so that supply tightens.

The administrator's buys go into an allowance holding account of their own (``<PID>-GXPS``), so
that what it bought is never mixed with allowances issued to it for auction. A buy is an
ordinary exchange order (the exchange journals it, with client order id ``GX-PRICE-STABILITY``)
and settles like any trade; a cancellation is the registry's (journaled ``credits.cancelled``
with the reason ``GX-ETS price-stability operation``) and takes only allowances that such buys
delivered and that are still held. The record published is read back from those orders and
movements; this module keeps no table of its own and never moves cash or units itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.gx import fiscal_year_of
from tanso.domain.instruments import Eligibility
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.domain.registry import AccountKind, BlockStatus
from tanso.services.common import Actor, Database, Idem, execute, require, require_active
from tanso.services.compliance.gx import prices
from tanso.services.compliance.gx_cycle import ALLOWANCE_SCHEME
from tanso.services.compliance.usage import local_date
from tanso.services.ledger import registry
from tanso.services.ledger.blocks import Selection
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Tx, loads

REASON = "GX-ETS price-stability operation"
"""The reason every cancellation of the operation states (取消の理由)."""
CLIENT_ORDER_ID = "GX-PRICE-STABILITY"
"""How the journal's order entries name the operation's buys."""
ACCOUNT_SUFFIX = "-GXPS"
ACCOUNT_NAME = "GX-ETS price-stability account (価格安定化措置 買入口座)"
MAX_QUANTITY = 10**12


@dataclass(frozen=True, slots=True)
class StabilityOperation:
    """One act of the price-stability operation, as published: a buy order at the adjustment
    reference price, or a cancellation of allowances such buys delivered."""

    id: str
    """The order's id (a buy) or the cancellation's (``CN-…``)."""
    kind: str
    """``buy`` or ``cancellation``."""
    administrator: str
    fiscal_year: int
    """The fiscal year (April to March) the act fell in; a buy's price is that year's."""
    instrument_id: str | None
    price: int | None
    """A buy's limit: the fiscal year's adjustment reference price, yen per t-CO2."""
    quantity: int
    filled: int
    """Tonnes bought so far (a buy); tonnes cancelled (a cancellation)."""
    status: str
    """A buy's order status (``open``, ``filled``, ``expired`` …); ``cancelled`` for a
    cancellation."""
    at: str


@dataclass(frozen=True, slots=True)
class StabilityRecord:
    """The public record of the operation: tonnes bought (delivered by settlement), cancelled
    and still held to cancel, and every act, newest first."""

    bought: int
    cancelled: int
    held: int
    operations: list[StabilityOperation]


def _administrator(actor: Actor) -> Actor:
    """The scheme administrator the operation acts as: the caller's participant (the operator's
    when the command line acts); the exchange lets the administrator only buy allowances."""
    require(actor, Role.SCHEME_ADMINISTRATOR, "run the GX-ETS price-stability operation")
    pid = OPERATOR_PARTICIPANT if actor.is_system else actor.participant_id
    return Actor(
        pid,
        frozenset(actor.roles | {Role.SCHEME_ADMINISTRATOR}),
        key_id=actor.key_id,
        user_id=actor.user_id,
    )


def account_of(pid: str) -> str:
    """The administrator's price-stability holding account."""
    return f"{pid}{ACCOUNT_SUFFIX}"


def _quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput("invalid_quantity", "quantity is whole tonnes.")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("invalid_quantity", "quantity is 1 to 10^12 tonnes.")
    return quantity


def _ensure_account(db: Database, actor: Actor, admin: Actor) -> str:
    """Open the administrator's price-stability account on first need (journaled)."""
    account_id = account_of(admin.participant_id)
    with db.read() as conn:
        if repo.get_account(conn, account_id) is not None:
            return account_id

    def work(tx: Tx) -> str:
        conn = tx.conn
        require_active(conn, admin)
        if repo.get_account(conn, account_id) is None:
            repo.insert_row(
                conn,
                t.accounts,
                id=account_id,
                participant_id=admin.participant_id,
                kind=AccountKind.HOLDING.value,
                name=ACCOUNT_NAME,
                created_at=tx.at,
            )
            tx.record(
                "account.opened",
                actor.label,
                {"participant": admin.participant_id, "account": account_id, "name": ACCOUNT_NAME},
            )
        else:
            tx.allow_empty = True
        return account_id

    return execute(db, actor, None, work, 201)


def _allowance_instrument(conn: Connection, instrument_id: str) -> int:
    """The vintage an instrument of GX-ETS allowances trades; 404 or 422 for any other."""
    row = repo.get_by_id(conn, t.instruments, instrument_id)
    if row is None:
        raise NotFound("instrument_not_found", f"There is no instrument {instrument_id}.")
    e = Eligibility.from_dict(loads(row.eligibility) or {})
    if e.schemes != (ALLOWANCE_SCHEME,) or e.vintage_from is None or e.vintage_from != e.vintage_to:
        raise InvalidInput(
            "not_an_allowance_instrument",
            f"{instrument_id} does not trade one vintage of GX-ETS allowances; the operation "
            "buys on an allowance instrument such as GX-ALLOW-2026.",
        )
    return int(e.vintage_from)


def buy(
    db: Database,
    exchange: Exchange,
    actor: Actor,
    instrument_id: str,
    quantity: int,
    idem: Idem | None = None,
) -> StabilityOperation:
    """Place the administrator's buy order for ``quantity`` allowances on an allowance
    instrument at the current fiscal year's adjustment reference price (a day order, paid from
    the administrator's yen cash account; it settles like any trade)."""
    admin = _administrator(actor)
    _quantity(quantity)
    fy = fiscal_year_of(local_date(db.clock()))
    price = prices(fy).floor
    with db.read() as conn:
        _allowance_instrument(conn, instrument_id)
    account_id = _ensure_account(db, actor, admin)
    order = exchange.place(
        admin,
        NewOrder(
            instrument_id,
            "buy",
            quantity,
            price,
            account_id=account_id,
            client_order_id=CLIENT_ORDER_ID,
        ),
        idem,
    )
    return StabilityOperation(
        id=order.id,
        kind="buy",
        administrator=admin.participant_id,
        fiscal_year=fy,
        instrument_id=order.instrument,
        price=order.price,
        quantity=order.quantity,
        filled=order.filled,
        status=order.status,
        at=order.created_at,
    )


def _bought(conn: Connection, account_id: str) -> int:
    """Tonnes settlement delivered into the price-stability account (only its buys do)."""
    m = t.credit_movements.c
    q = select(func.coalesce(func.sum(m.serial_end - m.serial_start + 1), 0)).where(
        m.to_account == account_id, m.kind == "settlement"
    )
    return int(conn.execute(q).scalar_one())


def _cancelled(conn: Connection, account_id: str) -> int:
    m = t.credit_movements.c
    q = select(func.coalesce(func.sum(m.serial_end - m.serial_start + 1), 0)).where(
        m.from_account == account_id, m.kind == "cancellation"
    )
    return int(conn.execute(q).scalar_one())


def _held(conn: Connection, account_id: str, eligibility: Eligibility | None) -> int:
    rows = repo.blocks_in_account(conn, account_id, BlockStatus.HELD, eligibility=eligibility)
    return sum(b.quantity for b in rows)


def cancel(
    db: Database, actor: Actor, quantity: int, idem: Idem | None = None
) -> StabilityOperation:
    """Cancel ``quantity`` allowances the operation's buys delivered to the administrator
    (oldest vintage first), for good: at most what they delivered less what was cancelled."""
    admin = _administrator(actor)
    _quantity(quantity)
    account_id = account_of(admin.participant_id)
    allowances_only = Eligibility(schemes=(ALLOWANCE_SCHEME,))
    with db.read() as conn:
        if repo.get_account(conn, account_id) is None:
            raise Conflict(
                "nothing_to_cancel",
                f"{admin.participant_id} has bought no allowances in the price-stability "
                "operation.",
            )
        held = _held(conn, account_id, allowances_only)
        cancellable = min(held, _bought(conn, account_id) - _cancelled(conn, account_id))
        if _held(conn, account_id, None) != held:
            raise Conflict(
                "foreign_units_in_account",
                f"{account_id} holds units other than allowances bought in the operation; "
                "move them out before cancelling.",
            )
    if quantity > cancellable:
        raise Conflict(
            "exceeds_bought",
            f"The operation's buys delivered allowances of which {cancellable:,} t are held and "
            f"not yet cancelled; {quantity:,} t cannot be cancelled (a buy counts once it "
            "settled).",
        )
    done = registry.cancel(db, admin, account_id, Selection(quantity=quantity), REASON, idem)
    with db.read() as conn:
        at = _journal_at(conn, account_id, done.id)
    return StabilityOperation(
        id=done.id,
        kind="cancellation",
        administrator=admin.participant_id,
        fiscal_year=fiscal_year_of(local_date(at)),
        instrument_id=None,
        price=None,
        quantity=done.quantity,
        filled=done.quantity,
        status="cancelled",
        at=at,
    )


def _journal_at(conn: Connection, account_id: str, ref: str) -> str:
    m, j = t.credit_movements.c, t.journal.c
    seq = conn.execute(
        select(func.min(m.journal_seq)).where(m.from_account == account_id, m.ref == ref)
    ).scalar_one()
    return str(conn.execute(select(j.at).where(j.seq == seq)).scalar_one())


def record(db: Database) -> StabilityRecord:
    """The operation's public record: every buy and cancellation of every scheme
    administrator, newest first, with the tonnes bought, cancelled and held."""
    a, o, m, j = t.accounts.c, t.orders.c, t.credit_movements.c, t.journal.c
    with db.read() as conn:
        accounts = conn.execute(
            select(a.id, a.participant_id)
            .where(a.id.like(f"%{ACCOUNT_SUFFIX}"), a.kind == AccountKind.HOLDING.value)
            .order_by(a.id)
        ).all()
        ops: list[StabilityOperation] = []
        bought = cancelled = held = 0
        for account_id, pid in accounts:
            if account_id != account_of(pid):
                continue
            bought += _bought(conn, account_id)
            cancelled += _cancelled(conn, account_id)
            held += _held(conn, account_id, Eligibility(schemes=(ALLOWANCE_SCHEME,)))
            for r in conn.execute(
                select(t.orders).where(
                    o.participant_id == pid, o.account_id == account_id, o.side == "buy"
                )
            ):
                ops.append(
                    StabilityOperation(
                        id=r.id,
                        kind="buy",
                        administrator=pid,
                        fiscal_year=fiscal_year_of(local_date(r.created_at)),
                        instrument_id=r.instrument_id,
                        price=None if r.price is None else int(r.price),
                        quantity=int(r.quantity),
                        filled=int(r.quantity) - int(r.remaining) - int(r.cancelled),
                        status=r.status,
                        at=r.created_at,
                    )
                )
            size = func.sum(m.serial_end - m.serial_start + 1)
            for ref, n, at in conn.execute(
                select(m.ref, size, func.min(j.at))
                .join(t.journal, j.seq == m.journal_seq)
                .where(m.from_account == account_id, m.kind == "cancellation")
                .group_by(m.ref)
            ):
                ops.append(
                    StabilityOperation(
                        id=str(ref),
                        kind="cancellation",
                        administrator=pid,
                        fiscal_year=fiscal_year_of(local_date(at)),
                        instrument_id=None,
                        price=None,
                        quantity=int(n),
                        filled=int(n),
                        status="cancelled",
                        at=at,
                    )
                )
    ops.sort(key=lambda op: (op.at, op.id), reverse=True)
    return StabilityRecord(bought=bought, cancelled=cancelled, held=held, operations=ops)
