"""Voiding a whole call auction (板寄せの取消, issue 17): the operator's undo of an auction whose
result was wrong.

It owns one sequenced command, run by the exchange's sequencer between two orders: every trade
of the auction is busted as `Exchange.bust` does (obligation, cash, credits, bars), the orders
that traded in it (or that it cancelled) go back into the book at their old time priority where
still valid, with their cash or credits held again, and the reference price and last price go
back to what they were before it. One journal entry, ``exchange.auction_voided``, whose engine
command (`VoidAuction`) a replay applies to rebuild the same books. It never moves cash or
credits except through the escrow, and never voids an auction that is not the instrument's
latest or whose trades have begun to settle.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, func, select, update

from tanso.domain import exchange as ex
from tanso.domain.errors import Conflict, InvalidInput, NotFound, TansoError
from tanso.domain.journal import read_payload
from tanso.domain.participants import Role
from tanso.services.clearing import escrow
from tanso.services.common import Actor, Idem, loader, require
from tanso.services.ledger import registry
from tanso.services.trading import exchange as xs
from tanso.store import schema as t
from tanso.store.db import Tx

KIND = xs.AUCTION_VOIDED
"""The journal entry of a voided auction."""

# Orders the auction itself cancelled, which voiding it puts back (IOC, FOK and market orders,
# valid for one auction only, never come back).
_UNDONE_CANCELS = (ex.SELF_TRADE, ex.OUTSIDE_PRICE_LIMIT)


@dataclass(frozen=True, slots=True)
class VoidedOrder:
    """One order of a voided auction: what it traded (or lost) in it, and whether it is back in
    the book; ``reason`` says why not."""

    order_id: str
    side: str
    quantity: int
    reinstated: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AuctionVoid:
    """A call auction the operator voided, and what that undid."""

    auction_id: int
    """The auction's journal entry (as `GET /v1/market/auctions` gives it, ``seq``)."""
    instrument: str
    price: int
    volume: int
    trade_date: str
    reason_code: str
    note: str
    trades: list[str]
    """The trades busted."""
    released_cash: int
    """Cash the busted trades held (price, quantity and fees), free again before any order
    holds its share again."""
    released_credits: int
    reference_price: int
    """The reference price (基準値段) again as before the auction."""
    lower_limit: int
    upper_limit: int
    orders: list[VoidedOrder]
    voided_at: str


xs._REPLAY["void_auction"] = loader(AuctionVoid)
voided_auctions = xs.voided_auctions


def void(
    x: xs.Exchange,
    actor: Actor,
    instrument: str,
    auction_id: int | str,
    reason_code: str,
    note: str = "",
    idem: Idem | None = None,
) -> AuctionVoid:
    """Void the latest call auction of an instrument before any of its trades settled
    (docs/void-auction.md): every trade busted, its orders back in the book at their old
    priority where still valid, the reference price as before it. One journal entry,
    `exchange.auction_voided`, whose engine command a replay applies."""
    require(actor, Role.EXCHANGE_OPERATOR, "void a call auction")
    if reason_code not in xs.BUST_REASONS:
        raise InvalidInput(
            "invalid_reason_code", f"reason_code is one of: {', '.join(xs.BUST_REASONS)}."
        )
    if len(note) > 500:
        raise InvalidInput("note_too_long", f"A note is at most 500 characters, not {len(note)}.")
    seq = str(auction_id)
    if not seq.isdigit() or len(seq) > 18:  # the id is a journal entry's number
        raise NotFound("auction_not_found", f"There is no auction {seq} of {instrument}.")
    args = {"instrument": instrument, "auction_id": int(seq), "reason_code": reason_code}
    return cast(AuctionVoid, x.submit(actor, "void_auction", note=note, idem=idem, **args))


def run(x: xs.Exchange, tx: Tx, actor: Actor, a: dict[str, Any]) -> AuctionVoid:
    """The sequenced command (`void`)."""
    conn = tx.conn
    instrument, seq = a["instrument"], a["auction_id"]
    au = t.auctions.c
    auction = conn.execute(
        select(t.auctions).where(au.instrument_id == instrument, au.journal_seq == seq)
    ).first()
    if auction is None:
        raise NotFound("auction_not_found", f"There is no auction {seq} of {instrument}.")
    if seq in voided_auctions(conn, instrument, seq):
        raise Conflict(
            "auction_already_voided", f"Auction {seq} of {instrument} was voided already."
        )
    if auction.price is None or not auction.volume:
        raise Conflict(
            "auction_without_trades", f"Auction {seq} of {instrument} traded nothing to void."
        )
    later = conn.execute(
        select(func.min(au.journal_seq)).where(au.instrument_id == instrument, au.journal_seq > seq)
    ).scalar()
    if later is not None:
        raise Conflict(
            "auction_not_latest",
            f"Auction {later} of {instrument} came after auction {seq}: only the latest "
            "auction of an instrument can be voided; bust single trades instead.",
        )
    tr = t.trades.c
    later_trade = conn.execute(
        select(func.min(tr.id)).where(tr.instrument_id == instrument, tr.journal_seq > seq)
    ).scalar()
    if later_trade is not None:
        raise Conflict(
            "auction_not_latest",
            f"{instrument} traded again after auction {seq} (trade {later_trade}): only an "
            "auction with no trade after it can be voided; bust single trades instead.",
        )
    trades = conn.execute(
        select(t.trades)
        .where(tr.instrument_id == instrument, tr.journal_seq == seq, tr.busted.is_(False))
        .order_by(tr.id)
    ).all()
    obligations = {
        r.deal_id: r
        for r in conn.execute(
            select(t.settlement_obligations).where(
                t.settlement_obligations.c.deal_id.in_([r.id for r in trades])
            )
        )
    }
    settled = sorted(i for i, ob in obligations.items() if ob.status == "settled")
    if settled:
        raise Conflict(
            "trade_settled",
            f"Trade {settled[0]} of auction {seq} settled: an auction whose trades have begun "
            "to settle cannot be voided.",
        )
    reference, last_price = _before(conn, instrument, seq)
    row = x._instrument(conn, instrument)
    m = x.engine.markets[instrument]

    # 1. every trade busted, as `Exchange.bust` does
    ctx = xs._Context(tx, actor, currency=row.currency, lot=row.lot)
    busted_events: list[dict[str, Any]] = []
    released_cash = released_credits = 0
    traded: dict[str, int] = defaultdict(int)
    for trade in trades:
        ob = obligations.get(trade.id)
        if ob is not None and ob.status in ("pending", "failed"):
            pieces, moves, reserve = escrow.release_deal(tx, ob)
            ctx.moves += moves
            ctx.cash_reserve += reserve
            released_cash -= sum(r[1] for r in reserve)
            released_credits += sum(p.quantity for p in pieces)
        if ob is not None:
            conn.execute(
                update(t.settlement_obligations)
                .where(t.settlement_obligations.c.deal_id == trade.id)
                .values(status="busted")
            )
        conn.execute(
            update(t.trades)
            .where(tr.id == trade.id)
            .values(busted=True, busted_at=tx.at, bust_reason=a["reason_code"])
        )
        traded[trade.buy_order_id] += trade.quantity
        traded[trade.sell_order_id] += trade.quantity
        busted_events.append(
            {
                "event": "trade_busted",
                "trade": trade.id,
                "instrument": instrument,
                "price": trade.price,
                "quantity": trade.quantity,
                "trade_date": trade.trade_date,
                "reason_code": a["reason_code"],
            }
        )

    # 2. the orders back in the book where still valid, their cash or credits held again
    cancelled = _cancelled_by(conn, seq)
    eligibility = xs._eligibility(row.eligibility)
    today = xs.trade_date(tx.at).isoformat()
    takes_orders = m.phase == ex.OPEN if not m.continuous else m.phase in (ex.CLOSED, ex.PRE_CLOSE)
    outcomes: list[VoidedOrder] = []
    restore: list[list[Any]] = []
    for oid in sorted(set(traded) | set(cancelled), key=lambda i: x._order(conn, i).priority):
        order = x._order(conn, oid)
        quantity = traded.get(oid) or cancelled[oid]
        why = _invalid(x, conn, order, oid in traded, auction.trade_date, today, m, takes_orders)
        if why is None:
            why = _hold_again(x, tx, ctx, order, quantity, eligibility)
        if why is None:
            back = {} if oid in traded else {"cancelled": order.cancelled - quantity}
            x._set_order(
                conn,
                oid,
                remaining=order.remaining + quantity,
                **back,
                status="open",
                reason=None,
                updated_at=tx.at,
            )
            restore.append(
                [
                    oid,
                    order.participant_id,
                    order.side,
                    order.price,
                    quantity,
                    order.tif,
                    order.priority,
                ]
            )
        elif oid in traded:  # as a bust leaves it: its filled quantity goes down
            left = order.quantity - quantity
            values: dict[str, Any] = {"quantity": left, "updated_at": tx.at}
            if order.status == "filled" and left == 0:
                values |= {"status": "cancelled", "reason": "trade_busted"}
            x._set_order(conn, oid, **values)
        outcomes.append(VoidedOrder(oid, order.side, quantity, why is None, why))

    # 3. the engine: one command, which a replay applies the same way
    command = ex.VoidAuction(instrument, restore, reference, last_price)
    events, ctx = x._run_engine(tx, actor, command, ctx)
    xs._raise_if_rejected(events)
    x._persist(tx, ctx, events)  # orders outside the restored limits, cancelled
    conn.execute(
        update(t.instruments)
        .where(t.instruments.c.id == instrument)
        .values(reference_price=reference)
    )
    x._instruments.pop(instrument, None)
    x._restate_bars(conn, instrument, dt.date.fromisoformat(auction.trade_date))

    lower, upper = m.lower, m.upper
    void = AuctionVoid(
        auction_id=seq,
        instrument=instrument,
        price=auction.price,
        volume=auction.volume,
        trade_date=auction.trade_date,
        reason_code=a["reason_code"],
        note=a.get("note") or "",
        trades=[r.id for r in trades],
        released_cash=released_cash,
        released_credits=released_credits,
        reference_price=reference,
        lower_limit=lower,
        upper_limit=upper,
        orders=outcomes,
        voided_at=tx.at,
    )
    payload: dict[str, Any] = {
        "command": xs.command_to_json(command),
        "events": busted_events + [e.to_json() for e in events],
        "auction": seq,
        "instrument": instrument,
        "price": auction.price,
        "volume": auction.volume,
        "reason_code": void.reason_code,
        "note": void.note,
        "limits": [lower, upper],
        "not_reinstated": {o.order_id: o.reason for o in outcomes if not o.reinstated},
        "moves": ctx.moves,
        "cash_reserve": ctx.cash_reserve,
    }
    entry = tx.record(KIND, actor.label, payload)
    x._job_feed.append({"seq": entry, "at": tx.at, "kind": KIND, "payload": payload})
    return void


def _before(conn: Connection, instrument: str, seq: int) -> tuple[int, int | None]:
    """The instrument's reference price and last price just before journal entry ``seq``: read
    back from the entries that set them (a listing, an auction that traded, a trade, a void)."""
    j = t.journal.c
    reference: int | None = None
    last: tuple[int | None] | None = None
    upto = seq
    while True:
        rows = conn.execute(
            select(j.seq, j.payload)
            .where(j.seq < upto, j.kind.like("exchange.%"))
            .order_by(j.seq.desc())
            .limit(500)
        ).all()
        if not rows:
            break
        for entry_seq, raw in rows:
            upto = entry_seq
            p = read_payload(raw)
            c = p.get("command") or {}
            name = c.get("command")
            if name == "VoidAuction" and c.get("instrument") == instrument:
                reference = c["reference_price"] if reference is None else reference
                last = (c["last_price"],) if last is None else last
            for e in reversed(p.get("events") or []):
                if e.get("instrument") != instrument:
                    continue
                if e.get("event") == "trade" and last is None:
                    last = (e["price"],)
                elif e.get("event") == "auction" and e.get("price") is not None:
                    last = (e["price"],) if last is None else last
                    reference = e["reference_price"] if reference is None else reference
            if name == "DefineInstrument" and c.get("id") == instrument:
                reference = c["reference_price"] if reference is None else reference
                last = (None,) if last is None else last
            if reference is not None and last is not None:
                return reference, last[0]
    raise NotFound("auction_not_found", f"The journal does not list {instrument}.")


def _cancelled_by(conn: Connection, seq: int) -> dict[str, int]:
    """Orders the auction's own command cancelled for self-trade or outside the new limits."""
    raw = conn.execute(select(t.journal.c.payload).where(t.journal.c.seq == seq)).scalar()
    out: dict[str, int] = {}
    for e in (read_payload(raw) if raw else {}).get("events") or []:
        if e.get("event") == "cancelled" and e.get("reason") in _UNDONE_CANCELS:
            out[e["id"]] = out.get(e["id"], 0) + e["quantity"]
    return out


def _invalid(
    x: xs.Exchange,
    conn: Connection,
    order: Any,
    traded: bool,
    auction_day: str,
    today: str,
    m: Any,
    takes_orders: bool,
) -> str | None:
    """Why an order of the auction cannot go back into the book, or None if it can."""
    if order.price is None or order.tif not in (ex.DAY, ex.GTC):
        return "valid_for_one_auction"
    if traded:
        if order.status not in ("open", "filled"):
            return "order_closed"  # cancelled or expired since the auction
    elif order.status != "cancelled" or order.reason not in _UNDONE_CANCELS:
        return "order_closed"
    if order.tif == ex.DAY and (auction_day != today or m.phase == ex.CLOSED):
        return "day_order_expired"
    if x._participant(conn, order.participant_id)[0] != "active":
        return "participant_not_active"
    if not takes_orders:
        return "instrument_not_open"
    return None


def _hold_again(
    x: xs.Exchange, tx: Tx, ctx: Any, order: Any, quantity: int, eligibility: Any
) -> str | None:
    """Hold cash (buy) or credits (sell) for the reinstated quantity, as a resting order does."""
    try:
        if order.side == "buy":
            fees = x._order_fees(tx.conn, order)
            need = xs.buy_reservation(fees, order.cash_price, order.remaining + quantity, ctx.lot)
            ctx.cash_reserve += escrow.resize_cash(
                tx, order.participant_id, ctx.currency, order.id, need
            )
        else:
            _p, moves = escrow.reserve_credits(
                tx, order.account_id, registry.Selection(quantity=quantity), order.id, eligibility
            )
            ctx.moves += moves
    except TansoError as e:
        return "insufficient_cash" if order.side == "buy" else _credit_reason(e)
    return None


def _credit_reason(e: TansoError) -> str:
    return "insufficient_credits" if e.code.startswith("insufficient") else e.code


xs.COMMANDS["void_auction"] = run
