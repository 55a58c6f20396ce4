"""The operator's public market notices (市場のお知らせ, docs/market-notices.md): publish one in
English and Japanese, withdraw (correct) one with a reason, list them newest first.

Never deletes: a withdrawn notice keeps its text and says when and why it was withdrawn; the
journal keeps both entries (``market.notice_published``, ``market.notice_withdrawn``). Not the
participants' private inbox (services/notices.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain.errors import Conflict, NotFound
from tanso.domain.market_notices import NoticeText, check_date, check_reason
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    new_id,
    plain,
    require_operator,
)
from tanso.store.db import Database, Tx
from tanso.store.schema_hub import market_notices

N = market_notices.c


@dataclass(frozen=True, slots=True)
class MarketNotice:
    """A market notice as the public sees it; ``withdrawn_at`` and ``withdrawal_reason`` are
    None while it stands."""

    id: str
    kind: str
    title_en: str
    title_ja: str
    body_en: str
    body_ja: str
    effective_on: str
    link: str | None
    published_at: str
    journal_seq: int
    withdrawn_at: str | None
    withdrawal_reason: str | None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


def _view(row: Any) -> MarketNotice:
    return from_row(MarketNotice, row)


def _row(conn: Connection, notice_id: str) -> Any:
    return conn.execute(select(market_notices).where(N.id == notice_id)).first()


def publish(db: Database, actor: Actor, text: NoticeText, idem: Idem | None = None) -> MarketNotice:
    """Publish a market notice in English and Japanese (the operator)."""
    require_operator(actor, "publish a market notice")
    text.check()

    def work(tx: Tx) -> MarketNotice:
        notice_id = new_id("MN")
        tx.conn.execute(
            market_notices.insert().values(
                id=notice_id,
                kind=text.kind,
                title_en=text.title_en,
                title_ja=text.title_ja,
                body_en=text.body_en,
                body_ja=text.body_ja,
                effective_on=text.effective_on,
                link=text.link or None,
                published_at=tx.at,
                published_by=actor.label[:120],
                journal_seq=tx.next_seq(),
            )
        )
        view = _view(_row(tx.conn, notice_id))
        tx.record("market.notice_published", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(MarketNotice))


def withdraw(
    db: Database, actor: Actor, notice_id: str, reason: str, idem: Idem | None = None
) -> MarketNotice:
    """Withdraw (correct) a market notice with the reason (the operator); its text stays."""
    require_operator(actor, "withdraw a market notice")
    check_reason(reason)

    def work(tx: Tx) -> MarketNotice:
        row = _row(tx.conn, notice_id)
        if row is None:
            raise NotFound("market_notice_not_found", f"There is no market notice {notice_id}.")
        if row.withdrawn_at is not None:
            raise Conflict(
                "market_notice_withdrawn",
                f"Market notice {notice_id} was already withdrawn at {row.withdrawn_at}.",
            )
        tx.conn.execute(
            market_notices.update()
            .where(N.id == notice_id)
            .values(withdrawn_at=tx.at, withdrawal_reason=reason, withdrawal_seq=tx.next_seq())
        )
        view = _view(_row(tx.conn, notice_id))
        tx.record(
            "market.notice_withdrawn",
            actor.label,
            {"id": notice_id, "reason": reason, "withdrawn_at": tx.at},
        )
        return view

    return execute(db, actor, idem, work, 200, loader(MarketNotice))


def get(db: Database, notice_id: str) -> MarketNotice:
    with db.read() as conn:
        row = _row(conn, notice_id)
    if row is None:
        raise NotFound("market_notice_not_found", f"There is no market notice {notice_id}.")
    return _view(row)


def list_notices(
    db: Database,
    kind: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: int = 200,
) -> list[MarketNotice]:
    """Market notices, newest first (by publication), withdrawn ones too; ``kind`` and the
    effective dates from ``start`` to ``end`` (inclusive, ``YYYY-MM-DD``) narrow them."""
    q = select(market_notices)
    if kind is not None:
        q = q.where(N.kind == kind)
    if start is not None:
        q = q.where(N.effective_on >= check_date(start, "from"))
    if end is not None:
        q = q.where(N.effective_on <= check_date(end, "to"))
    with db.read() as conn:
        rows = conn.execute(q.order_by(N.journal_seq.desc()).limit(limit)).all()
    return [_view(r) for r in rows]
