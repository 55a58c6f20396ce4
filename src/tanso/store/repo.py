"""Repositories: every SQL statement Tanso runs lives here.

Functions take an open connection and plain values. Writes that move credits or cash are
conditional (they name the state they expect) and check the row count, so a change can never
apply to a block or balance that moved in the meantime.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from tanso.domain.errors import Conflict
from tanso.domain.instruments import Eligibility
from tanso.domain.registry import Block, BlockStatus, Piece
from tanso.store import schema as t
from tanso.store.db import dumps


class StaleState(Conflict):
    """A conditional write found the row changed since it was read."""

    def __init__(self, what: str) -> None:
        super().__init__(
            "concurrent_change", f"{what} changed while the request ran; please retry."
        )


# ---------------------------------------------------------------- participants, keys, accounts


def get_participant(conn: Connection, pid: str) -> Row[Any] | None:
    return get_by_id(conn, t.participants, pid)


def list_participants(conn: Connection, only: str | None = None) -> Sequence[Row[Any]]:
    q = select(t.participants).order_by(t.participants.c.id)
    if only is not None:
        q = q.where(t.participants.c.id == only)
    return conn.execute(q).all()


def corporate_number_taken(conn: Connection, number: str) -> bool:
    q = select(t.participants.c.id).where(t.participants.c.corporate_number == number)
    return conn.execute(q).first() is not None


def lei_taken(conn: Connection, lei: str) -> bool:
    q = select(t.participants.c.id).where(t.participants.c.lei == lei)
    return conn.execute(q).first() is not None


@functools.cache
def _insert(table: Table) -> Any:
    return insert(table)


@functools.cache
def _by_id(table: Table) -> Any:
    """SELECT one row by its id: built once per table (the hot paths run it per command)."""
    return select(table).where(table.c.id == bindparam("key"))


def insert_row(conn: Connection, table: Table, **values: Any) -> None:
    conn.execute(_insert(table), values)


def update_participant(conn: Connection, pid: str, **values: Any) -> None:
    conn.execute(update(t.participants).where(t.participants.c.id == pid).values(**values))


def get_api_key(conn: Connection, key_id: str) -> Row[Any] | None:
    return get_by_id(conn, t.api_keys, key_id)


def list_api_keys(conn: Connection, pid: str) -> Sequence[Row[Any]]:
    q = (
        select(t.api_keys)
        .where(t.api_keys.c.participant_id == pid)
        .order_by(t.api_keys.c.created_at)
    )
    return conn.execute(q).all()


def revoke_api_key(conn: Connection, key_id: str, at: str) -> None:
    conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(revoked_at=at))


def get_broker_authorisation(conn: Connection, client: str, broker: str) -> Row[Any] | None:
    c = t.broker_authorisations.c
    return conn.execute(
        select(t.broker_authorisations).where(c.client_id == client, c.broker_id == broker)
    ).first()


def set_broker_authorisation(
    conn: Connection, client: str, broker: str, at: str, active: bool, scopes: str = "trade"
) -> None:
    """Grant (``active``, with the mandate's ``scopes``) or withdraw a broker's mandate."""
    c = t.broker_authorisations.c
    existing = get_broker_authorisation(conn, client, broker)
    if existing is None:
        insert_row(
            conn,
            t.broker_authorisations,
            client_id=client,
            broker_id=broker,
            scopes=scopes,
            granted_at=at,
            revoked_at=None if active else at,
        )
    else:
        values: dict[str, Any] = (
            {"granted_at": at, "revoked_at": None, "scopes": scopes}
            if active
            else {"revoked_at": at}
        )
        conn.execute(
            update(t.broker_authorisations)
            .where(c.client_id == client, c.broker_id == broker)
            .values(**values)
        )


def list_broker_authorisations(conn: Connection, pid: str) -> Sequence[Row[Any]]:
    c = t.broker_authorisations.c
    q = select(t.broker_authorisations).where((c.client_id == pid) | (c.broker_id == pid))
    return conn.execute(q.order_by(c.client_id, c.broker_id)).all()


def get_account(conn: Connection, account_id: str) -> Row[Any] | None:
    return get_by_id(conn, t.accounts, account_id)


def list_accounts(conn: Connection, pid: str | None) -> Sequence[Row[Any]]:
    q = select(t.accounts).order_by(t.accounts.c.id)
    if pid is not None:
        q = q.where(t.accounts.c.participant_id == pid)
    return conn.execute(q).all()


# ---------------------------------------------------------------- taxonomy and projects


def get_by_code(conn: Connection, table: Table, code: str) -> Row[Any] | None:
    return conn.execute(select(table).where(table.c.code == code)).first()


def get_term(conn: Connection, kind: str, code: str) -> Row[Any] | None:
    return conn.execute(
        select(t.terms).where(t.terms.c.kind == kind, t.terms.c.code == code)
    ).first()


def list_table(conn: Connection, table: Table, *order: Any, **where: Any) -> Sequence[Row[Any]]:
    q = select(table)
    for col, value in where.items():
        q = q.where(table.c[col] == value)
    return conn.execute(q.order_by(*order)).all()


def get_by_id(conn: Connection, table: Table, key: str) -> Row[Any] | None:
    return conn.execute(_by_id(table), {"key": key}).first()


def get_project(conn: Connection, project_id: str) -> Row[Any] | None:
    return conn.execute(select(t.projects).where(t.projects.c.id == project_id)).first()


def get_issuance(conn: Connection, issuance_id: str) -> Row[Any] | None:
    return conn.execute(select(t.issuances).where(t.issuances.c.id == issuance_id)).first()


def credit_columns() -> tuple[Any, ...]:
    """What an issuance and its project say of their credits, as the columns of a select that
    joins issuances with projects: credit type, corresponding adjustment, and the project's
    name (``project_name``), scheme, category, country, mechanism, nature and properties."""
    i, p = t.issuances.c, t.projects.c
    return (
        i.credit_type,
        i.ca_declaration,
        i.ca_status,
        p.name.label("project_name"),
        p.scheme,
        p.category,
        p.country,
        p.mechanism,
        p.nature,
        p.properties,
    )


def issuance_details(conn: Connection, issuance_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Issuance and project attributes for each issuance id (for holdings and certificates)."""
    ids = sorted(set(issuance_ids))
    if not ids:
        return {}
    i, p = t.issuances.c, t.projects.c
    q = (
        select(
            i.id, i.vintage, i.round, i.certified_on, p.id.label("project_id"), *credit_columns()
        )
        .select_from(t.issuances.join(t.projects, i.project_id == p.id))
        .where(i.id.in_(ids))
    )
    out = {}
    for r in conn.execute(q):
        d = r._asdict()
        d["properties"] = _json_list(d["properties"])
        out[r.id] = d
    return out


def _json_list(text: str) -> list[Any]:
    import json

    return list(json.loads(text)) if text else []


# ---------------------------------------------------------------- blocks


def _block(r: Row[Any]) -> Block:
    return Block(
        id=r.id,
        issuance=r.issuance_id,
        start=r.serial_start,
        end=r.serial_end,
        account=r.account_id,
        status=BlockStatus(r.status),
        vintage=r.vintage,
        reservation=r.reservation,
    )


def blocks_in_account(
    conn: Connection,
    account_id: str,
    status: BlockStatus = BlockStatus.HELD,
    *,
    issuance_id: str | None = None,
    reservation: str | None = None,
    categories: Sequence[str] | None = None,
    eligibility: Eligibility | None = None,
    chunk: int = 500,
) -> Iterator[Block]:
    """Blocks of one account in one status, oldest vintage first, streamed in chunks."""
    if categories:
        eligibility = Eligibility(categories=tuple(categories))
    q = _blocks_query(status.value, issuance_id is not None, reservation is not None, eligibility)
    params = {"account": account_id, "issuance": issuance_id, "reservation": reservation}
    offset = 0
    while True:
        rows = conn.execute(q, params | {"limit": chunk, "offset": offset}).all()
        for r in rows:
            yield _block(r)
        if len(rows) < chunk:
            return
        offset += chunk
        chunk = min(chunk * 4, 20_000)


@functools.lru_cache(maxsize=256)
def _blocks_query(
    status: str, by_issuance: bool, by_reservation: bool, eligibility: Eligibility | None
) -> Any:
    """The statement of `blocks_in_account`, built once per shape; the values are parameters."""
    b = t.blocks.c
    q = select(t.blocks).where(b.account_id == bindparam("account"), b.status == status)
    if by_issuance:
        q = q.where(b.issuance_id == bindparam("issuance"))
    if by_reservation:
        q = q.where(b.reservation == bindparam("reservation"))
    if eligibility is not None:
        q = q.where(b.issuance_id.in_(eligible_issuances(eligibility)))
    q = q.order_by(b.vintage, b.issuance_id, b.serial_start)
    return q.limit(bindparam("limit")).offset(bindparam("offset"))


def eligible_issuances(e: Eligibility) -> Any:
    """A subquery of the issuance ids whose credits an eligibility rule admits."""
    i, p = t.issuances.c, t.projects.c
    q = select(i.id).join(t.projects, i.project_id == p.id)
    if e.schemes:
        q = q.where(p.scheme.in_(e.schemes))
    if e.categories:
        q = q.where(p.category.in_(e.categories))
    if e.projects:
        q = q.where(p.id.in_(e.projects))
    if e.countries:
        q = q.where(p.country.in_(e.countries))
    if e.ca_statuses:
        q = q.where(i.ca_status.in_(e.ca_statuses))
    if e.vintage_from is not None:
        q = q.where(i.vintage >= e.vintage_from)
    if e.vintage_to is not None:
        q = q.where(i.vintage <= e.vintage_to)
    return q


def blocks_overlapping(conn: Connection, issuance_id: str, start: int, end: int) -> list[Block]:
    """Every block of the issuance that shares a serial with ``start..end``."""
    b = t.blocks.c
    q = (
        select(t.blocks)
        .where(b.issuance_id == issuance_id, b.serial_start <= end, b.serial_end >= start)
        .order_by(b.serial_start)
    )
    return [_block(r) for r in conn.execute(q)]


def blocks_reserved_for(conn: Connection, reservation: str) -> list[Block]:
    q = select(t.blocks).where(t.blocks.c.reservation == reservation).order_by(t.blocks.c.id)
    return [_block(r) for r in conn.execute(q)]


def insert_block(
    conn: Connection,
    issuance_id: str,
    start: int,
    end: int,
    account: str,
    status: BlockStatus,
    vintage: int,
) -> None:
    insert_row(
        conn,
        t.blocks,
        issuance_id=issuance_id,
        serial_start=start,
        serial_end=end,
        account_id=account,
        status=status.value,
        vintage=vintage,
        reservation=None,
    )


_b = t.blocks.c
_MOVE_BLOCK = (
    update(t.blocks)
    .where(
        _b.id == bindparam("k_id"),
        _b.account_id == bindparam("k_account"),
        _b.status == bindparam("k_status"),
        _b.serial_start == bindparam("k_start"),
        _b.serial_end == bindparam("k_end"),
    )
    .values(
        serial_start=bindparam("start"),
        serial_end=bindparam("end"),
        account_id=bindparam("account"),
        status=bindparam("status"),
        reservation=bindparam("reservation"),
    )
)
"""A block moved only if it still has the range, account and status its plan saw."""


def apply_pieces(
    conn: Connection,
    pieces: Sequence[Piece],
    to_account: str,
    to_status: BlockStatus,
    reservation: str | None = None,
) -> None:
    """Move each piece to ``to_account`` with ``to_status``, splitting blocks where needed.

    Each block is updated only if it still has the range, account and status the plan saw.
    """
    leftovers: list[dict[str, Any]] = []
    for p in pieces:
        blk = p.block
        res = conn.execute(
            _MOVE_BLOCK,
            {
                "k_id": blk.id,
                "k_account": blk.account,
                "k_status": blk.status.value,
                "k_start": blk.start,
                "k_end": blk.end,
                "start": p.start,
                "end": p.end,
                "account": to_account,
                "status": to_status.value,
                "reservation": reservation,
            },
        )
        if res.rowcount != 1:
            raise StaleState(f"Block {blk.issuance}-{blk.start}-{blk.end}")
        for lo, hi in p.remainders():
            leftovers.append(
                {
                    "issuance_id": blk.issuance,
                    "serial_start": lo,
                    "serial_end": hi,
                    "account_id": blk.account,
                    "status": blk.status.value,
                    "vintage": blk.vintage,
                    "reservation": blk.reservation,
                }
            )
    if leftovers:
        conn.execute(insert(t.blocks), leftovers)


def record_movements(
    conn: Connection, seq: int, kind: str, ref: str | None, pieces: Sequence[Piece], to_account: str
) -> None:
    rows = [
        {
            "journal_seq": seq,
            "kind": kind,
            "ref": ref,
            "issuance_id": p.block.issuance,
            "serial_start": p.start,
            "serial_end": p.end,
            "from_account": p.block.account,
            "to_account": to_account,
        }
        for p in pieces
    ]
    if rows:
        conn.execute(insert(t.credit_movements), rows)


def holdings_totals(conn: Connection, account_id: str) -> Sequence[Any]:
    """Quantities of an account grouped by scheme, category, vintage and status."""
    b, i, p = t.blocks.c, t.issuances.c, t.projects.c
    quantity = func.sum(b.serial_end - b.serial_start + 1).label("quantity")
    q = (
        select(p.scheme, p.category, b.vintage, b.status, quantity)
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id).join(t.projects, i.project_id == p.id)
        )
        .where(b.account_id == account_id)
        .group_by(p.scheme, p.category, b.vintage, b.status)
        .order_by(p.scheme, p.category, b.vintage, b.status)
    )
    return conn.execute(q).all()


def account_blocks_page(
    conn: Connection, account_id: str, limit: int, after_id: int | None
) -> Sequence[Row[Any]]:
    b = t.blocks.c
    q = select(t.blocks).where(b.account_id == account_id)
    if after_id is not None:
        q = q.where(b.id > after_id)
    return conn.execute(q.order_by(b.id).limit(limit)).all()


def all_blocks(conn: Connection) -> Iterator[Any]:
    b = t.blocks.c
    q = select(b.issuance_id, b.serial_start, b.serial_end, b.account_id, b.status, b.reservation)
    yield from conn.execute(q.order_by(b.issuance_id, b.serial_start)).yield_per(10_000)


# ---------------------------------------------------------------- retirements


def get_retirement(conn: Connection, rid: str) -> Row[Any] | None:
    return conn.execute(select(t.retirements).where(t.retirements.c.id == rid)).first()


def movements_for(conn: Connection, kind: str, ref: str) -> Sequence[Row[Any]]:
    m = t.credit_movements.c
    q = select(t.credit_movements).where(m.kind == kind, m.ref == ref)
    return conn.execute(q.order_by(m.issuance_id, m.serial_start)).all()


def list_retirements(conn: Connection, pid: str | None, limit: int) -> Sequence[Row[Any]]:
    q = select(t.retirements)
    if pid is not None:
        q = q.where(t.retirements.c.participant_id == pid)
    return conn.execute(q.order_by(t.retirements.c.journal_seq.desc()).limit(limit)).all()


# ---------------------------------------------------------------- cash


def get_cash_account(conn: Connection, cash_id: str) -> Row[Any] | None:
    return get_by_id(conn, t.cash_accounts, cash_id)


def ensure_cash_account(
    conn: Connection, cash_id: str, pid: str | None, currency: str, kind: str
) -> None:
    if get_cash_account(conn, cash_id) is None:
        insert_row(
            conn,
            t.cash_accounts,
            id=cash_id,
            participant_id=pid,
            currency=currency,
            kind=kind,
            balance=0,
            reserved=0,
        )


def move_cash(
    conn: Connection,
    seq: int,
    currency: str,
    src: str,
    dst: str,
    amount: int,
    memo: str,
    external_ref: str | None = None,
    *,
    from_reserved: int = 0,
) -> None:
    """Debit ``src`` and credit ``dst``; ``src`` must have the amount free (or reserved for it)."""
    c = t.cash_accounts.c
    src_row = get_cash_account(conn, src)
    assert src_row is not None
    guard = [c.id == src]
    if src_row.kind != "external":
        # the amount not covered by the reservation must be free
        guard.append(c.balance - c.reserved >= amount - from_reserved)
        guard.append(c.reserved >= from_reserved)
    res = conn.execute(
        update(t.cash_accounts)
        .where(and_(*guard))
        .values(balance=c.balance - amount, reserved=c.reserved - from_reserved)
    )
    if res.rowcount != 1:
        raise Conflict(
            "insufficient_cash", f"Cash account {src} does not have {amount} {currency} available."
        )
    conn.execute(update(t.cash_accounts).where(c.id == dst).values(balance=c.balance + amount))
    insert_row(
        conn,
        t.cash_entries,
        journal_seq=seq,
        currency=currency,
        from_account=src,
        to_account=dst,
        amount=amount,
        memo=memo,
        external_ref=external_ref,
    )


_c = t.cash_accounts.c
_RESERVE = (
    update(t.cash_accounts)
    .where(_c.id == bindparam("key"), _c.balance - _c.reserved >= bindparam("delta"))
    .values(reserved=_c.reserved + bindparam("delta"))
)
_RELEASE = (
    update(t.cash_accounts)
    .where(_c.id == bindparam("key"), _c.reserved >= -bindparam("delta"))
    .values(reserved=_c.reserved + bindparam("delta"))
)


def change_reserved(conn: Connection, cash_id: str, delta: int, currency: str) -> None:
    """Reserve (delta > 0) or release (delta < 0) cash; a reserve needs that much free."""
    res = conn.execute(_RESERVE if delta > 0 else _RELEASE, {"key": cash_id, "delta": delta})
    if res.rowcount != 1:
        raise Conflict(
            "insufficient_cash",
            f"Cash account {cash_id} does not have {delta} {currency} free to reserve.",
        )


def get_cash_reservation(conn: Connection, rid: str) -> Row[Any] | None:
    return get_by_id(conn, t.cash_reservations, rid)


def resize_cash_reservation(conn: Connection, rid: str, amount: int) -> None:
    """An existing cash hold now holds ``amount`` (0: it is gone)."""
    r = t.cash_reservations.c
    if amount == 0:
        conn.execute(delete(t.cash_reservations).where(r.id == rid))
    else:
        conn.execute(update(t.cash_reservations).where(r.id == rid).values(amount=amount))


def set_cash_reservation(conn: Connection, rid: str, cash_id: str, amount: int) -> None:
    if get_cash_reservation(conn, rid) is None:
        insert_row(conn, t.cash_reservations, id=rid, cash_account_id=cash_id, amount=amount)
    elif amount == 0:
        conn.execute(delete(t.cash_reservations).where(t.cash_reservations.c.id == rid))
    else:
        conn.execute(
            update(t.cash_reservations).where(t.cash_reservations.c.id == rid).values(amount=amount)
        )


def cash_accounts_of(conn: Connection, pid: str | None) -> Sequence[Row[Any]]:
    q = select(t.cash_accounts).order_by(t.cash_accounts.c.id)
    if pid is not None:
        q = q.where(t.cash_accounts.c.participant_id == pid)
    return conn.execute(q).all()


def cash_entries_of(conn: Connection, cash_id: str, limit: int) -> Sequence[Row[Any]]:
    """A cash account's entries, newest first, each with the time of its journal entry (``at``)."""
    e, j = t.cash_entries.c, t.journal.c
    q = (
        select(t.cash_entries, j.at)
        .select_from(t.cash_entries.outerjoin(t.journal, j.seq == e.journal_seq))
        .where((e.from_account == cash_id) | (e.to_account == cash_id))
    )
    return conn.execute(q.order_by(e.id.desc()).limit(limit)).all()


# ---------------------------------------------------------------- journal and idempotency


def journal_entries(
    conn: Connection, after: int = 0, limit: int | None = None
) -> Iterator[Row[Any]]:
    q = select(t.journal).where(t.journal.c.seq > after).order_by(t.journal.c.seq)
    if limit is not None:
        q = q.limit(limit)
    yield from conn.execute(q).yield_per(5_000)


def journal_head(conn: Connection) -> Row[Any] | None:
    return conn.execute(select(t.journal_head)).first()


def get_idempotency(conn: Connection, pid: str, key: str) -> Row[Any] | None:
    c = t.idempotency_keys.c
    return conn.execute(
        select(t.idempotency_keys).where(c.participant_id == pid, c.key == key)
    ).first()


def store_idempotency(
    conn: Connection, pid: str, key: str, fingerprint: str, status: int, body: Any, at: str
) -> None:
    insert_row(
        conn,
        t.idempotency_keys,
        participant_id=pid,
        key=key,
        fingerprint=fingerprint,
        status_code=status,
        response=dumps(body),
        created_at=at,
    )


# ---------------------------------------------------------------- fees


def fee_schedule(conn: Connection, instrument: str, side: str) -> Row[Any] | None:
    """The instrument's own schedule for a side, else the one for every instrument ('*')."""
    f = t.fee_schedules.c
    for key in (instrument, "*"):
        row = conn.execute(
            select(t.fee_schedules).where(f.instrument_id == key, f.side == side)
        ).first()
        if row is not None:
            return row
    return None


def get_by_key(conn: Connection, table: Table, column: str, key: str) -> Row[Any] | None:
    return conn.execute(select(table).where(table.c[column] == key)).first()


def is_trade_reservation(conn: Connection, reservation: str) -> bool:
    """Whether a credit reservation belongs to a trade awaiting settlement (not an order)."""
    o = t.settlement_obligations.c
    q = select(o.deal_id).where(o.credit_reservation == reservation)
    return conn.execute(q).first() is not None


# ---------------------------------------------------------------- portal users and sessions


def get_user(conn: Connection, user_id: str) -> Row[Any] | None:
    return conn.execute(select(t.users).where(t.users.c.id == user_id)).first()


def get_user_by_email(conn: Connection, email: str) -> Row[Any] | None:
    return conn.execute(select(t.users).where(t.users.c.email == email)).first()


def list_users(conn: Connection, participant_id: str) -> Sequence[Row[Any]]:
    q = select(t.users).where(t.users.c.participant_id == participant_id)
    return conn.execute(q.order_by(t.users.c.email)).all()


def update_user(conn: Connection, user_id: str, **values: Any) -> None:
    conn.execute(update(t.users).where(t.users.c.id == user_id).values(**values))


def get_login_throttle(conn: Connection, email_hash: str) -> Row[Any] | None:
    q = select(t.login_throttle).where(t.login_throttle.c.email_hash == email_hash)
    return conn.execute(q).first()


def login_throttles(conn: Connection, email_hashes: Sequence[str]) -> dict[str, Row[Any]]:
    if not email_hashes:
        return {}
    q = select(t.login_throttle).where(t.login_throttle.c.email_hash.in_(list(email_hashes)))
    return {r.email_hash: r for r in conn.execute(q)}


def count_login_failure(conn: Connection, email_hash: str, at: str) -> int:
    """Add one failed login for an address (in SQL, so concurrent failures all count); returns
    how many failed in a row."""
    c = t.login_throttle.c
    done = conn.execute(
        update(t.login_throttle)
        .where(c.email_hash == email_hash)
        .values(failures=c.failures + 1, updated_at=at)
    ).rowcount
    if not done:
        try:
            with conn.begin_nested():  # a concurrent first failure may insert the row first
                conn.execute(
                    insert(t.login_throttle).values(
                        email_hash=email_hash, failures=1, not_before=None, updated_at=at
                    )
                )
        except IntegrityError:
            conn.execute(
                update(t.login_throttle)
                .where(c.email_hash == email_hash)
                .values(failures=c.failures + 1, updated_at=at)
            )
    row = conn.execute(select(c.failures).where(c.email_hash == email_hash)).first()
    return int(row.failures) if row else 0


def set_login_not_before(conn: Connection, email_hash: str, not_before: str | None) -> None:
    c = t.login_throttle.c
    conn.execute(
        update(t.login_throttle).where(c.email_hash == email_hash).values(not_before=not_before)
    )


def delete_login_throttle(conn: Connection, email_hash: str) -> int:
    q = delete(t.login_throttle).where(t.login_throttle.c.email_hash == email_hash)
    return conn.execute(q).rowcount


def forget_login_throttles(conn: Connection, before: str, now: str) -> int:
    """Delete the rows nobody tried since ``before`` whose lock (if any) is over."""
    c = t.login_throttle.c
    q = delete(t.login_throttle).where(
        c.updated_at < before, (c.not_before.is_(None)) | (c.not_before <= now)
    )
    return conn.execute(q).rowcount


def get_portal_session(conn: Connection, session_id: str) -> Row[Any] | None:
    q = select(t.portal_sessions).where(t.portal_sessions.c.id == session_id)
    return conn.execute(q).first()


def delete_portal_session(conn: Connection, session_id: str) -> int:
    q = delete(t.portal_sessions).where(t.portal_sessions.c.id == session_id)
    return conn.execute(q).rowcount


def delete_portal_sessions_of(conn: Connection, user_id: str) -> int:
    q = delete(t.portal_sessions).where(t.portal_sessions.c.user_id == user_id)
    return conn.execute(q).rowcount


def delete_expired_portal_sessions(conn: Connection, now: str) -> int:
    q = delete(t.portal_sessions).where(t.portal_sessions.c.expires_at < now)
    return conn.execute(q).rowcount
