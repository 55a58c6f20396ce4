"""Routes of a party's request to bust a trade (取引取消の申出) and of participants' notices
(お知らせ): ask, list, and the operator's grant or refusal; one's own notices, marked read."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead, CanTrade, IdemKey
from tanso.api.schemas import Body, answer, many
from tanso.services import notices
from tanso.services.trading import bust_requests as br
from tanso.services.trading.exchange import Exchange
from tanso.web.notice_texts import notice_text

router = APIRouter(prefix="/v1", route_class=AnswerRoute)

BustRequest = answer(br.BustRequest)
Notice = answer(notices.Notice)
TradeId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1000)]


class BustRequestIn(Body):
    reason_code: Literal["erroneous_order", "system_fault", "other"]
    note: str = Field(default="", max_length=500)


class GrantIn(Body):
    note: str = Field(default="", max_length=400)


class RefuseIn(Body):
    note: str = Field(min_length=1, max_length=500)


def _exchange(request: Request) -> Exchange:
    x: Exchange = request.app.state.exchange
    return x


@router.post(
    "/trades/{trade_id}/bust-requests",
    response_model=BustRequest,
    status_code=201,
    tags=["exchange"],
)
def request_bust(
    trade_id: TradeId, body: BustRequestIn, db: DB, actor: CanTrade, idem: IdemKey
) -> br.BustRequest:
    """Ask the operator to bust a trade of yours (its buyer or seller), within the rulebook's
    window: until 30 minutes after the trade (an auction's trade: after the auction), never once
    it settled or was busted (409 `bust_window_closed`, with the deadline in Japan time). One
    request per trade waits at a time (409 `bust_request_pending`)."""
    return br.request_bust(db, actor, trade_id, body.reason_code, body.note, idem)


@router.get("/trades/bust-requests", response_model=many(BustRequest), tags=["exchange"])
def list_bust_requests(
    db: DB,
    actor: CanRead,
    state: Annotated[Literal["pending", "granted", "refused"] | None, Query()] = None,
    limit: Limit = 100,
) -> list[br.BustRequest]:
    """Requests to bust a trade, newest first: your own (the operator: everyone's)."""
    return br.list_requests(db, actor, state, limit)


@router.post(
    "/trades/bust-requests/{trade_id}/grant", response_model=BustRequest, tags=["exchange"]
)
def grant_bust_request(
    trade_id: TradeId,
    body: GrantIn,
    request: Request,
    db: DB,
    actor: CanOperate,
    idem: IdemKey,
) -> br.BustRequest:
    """Grant the pending request to bust a trade (operator): the trade is busted with the
    request's reason, and both parties and the requester get a notice, in one transaction."""
    return br.grant(db, _exchange(request), actor, trade_id, body.note, idem)


@router.post(
    "/trades/bust-requests/{trade_id}/refuse", response_model=BustRequest, tags=["exchange"]
)
def refuse_bust_request(
    trade_id: TradeId, body: RefuseIn, db: DB, actor: CanOperate, idem: IdemKey
) -> br.BustRequest:
    """Refuse the pending request to bust a trade (operator), with a note the requester gets
    in a notice; the trade stands."""
    return br.refuse(db, actor, trade_id, body.note, idem)


def _texts(n: notices.Notice) -> notices.Notice:
    return dataclasses.replace(
        n,
        text_en=notice_text(n.kind, n.subject_id, n.params, "en"),
        text_ja=notice_text(n.kind, n.subject_id, n.params, "ja"),
    )


@router.get("/notices", response_model=many(Notice), tags=["notices"])
def list_notices(
    db: DB, actor: CanRead, unread: bool = False, limit: Limit = 100
) -> list[notices.Notice]:
    """Your notices (お知らせ), newest first, in English and Japanese (``unread``: only those
    not read yet)."""
    return [_texts(n) for n in notices.list_notices(db, actor, unread, limit)]


@router.post("/notices/{notice_id}/read", response_model=Notice, tags=["notices"])
def read_notice(
    notice_id: Annotated[str, Path(min_length=1, max_length=40)],
    db: DB,
    actor: CanRead,
    idem: IdemKey,
) -> notices.Notice:
    """Mark a notice of yours read (one read already stays as it was)."""
    return _texts(notices.mark_read(db, actor, notice_id, idem))
