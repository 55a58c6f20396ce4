"""Dispute routes (紛争処理): open, respond, evidence, withdraw; the operator's review, decision
with remedies, and close; the public yearly summary."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanManage, CanOperate, CanRead, IdemKey
from tanso.api.schemas import Body, answer, many
from tanso.services import disputes
from tanso.services.trading.exchange import Exchange

router = APIRouter(prefix="/v1", tags=["disputes"], route_class=AnswerRoute)

Dispute = answer(disputes.Dispute)
Evidence = answer(disputes.Evidence)
Summary = answer(disputes.Summary)

DisputeId = Annotated[str, Path(min_length=1, max_length=40)]
Note = Field(default="", max_length=4000)


class DisputeIn(Body):
    kind: Literal["trade", "obligation", "deal", "award", "delivery", "registry_action"]
    subject_id: str = Field(
        min_length=1,
        max_length=64,
        description="The trade's, obligation's, deal's or award's id; for a delivery the "
        "obligation that delivered; for a registry action its journal entry's number.",
    )
    summary: str = Field(min_length=1, max_length=4000)
    claimed_amount: int = Field(default=0, ge=0, le=10**11)
    claimed_quantity: int = Field(default=0, ge=0, le=10**11)
    currency: str = Field(default="JPY", min_length=3, max_length=3)


class RespondIn(Body):
    text: str = Field(min_length=1, max_length=4000)


class NoteIn(Body):
    note: str = Note


class WithdrawIn(Body):
    reason: str = Note


class EvidenceIn(Body):
    file_name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=100)
    content_base64: str = Field(min_length=1, max_length=4_100_000)


class RemedyIn(Body):
    kind: Literal[
        "bust",
        "price_adjustment",
        "compensation",
        "credit_return",
        "redelivery",
        "freeze",
        "unfreeze",
        "fee_waiver",
    ]
    payer: Literal["opener", "counterparty"] | None = Field(
        default=None,
        description="Who pays (a price adjustment, compensation) or is refunded (a fee waiver).",
    )
    amount: int | None = Field(default=None, ge=1, le=10**11)
    currency: str = Field(default="JPY", min_length=3, max_length=3)
    serials: str | None = Field(default=None, min_length=1, max_length=80)
    from_account: str | None = Field(default=None, min_length=1, max_length=40)
    to_account: str | None = Field(default=None, min_length=1, max_length=40)


class DecideIn(Body):
    outcome: Literal["upheld", "partly_upheld", "rejected"]
    decision: str = Field(min_length=1, max_length=4000)
    remedies: list[RemedyIn] = Field(default_factory=list, max_length=20)


def _exchange(request: Request) -> Exchange:
    x: Exchange = request.app.state.exchange
    return x


@router.post("/disputes", response_model=Dispute, status_code=201)
def open_dispute(body: DisputeIn, db: DB, actor: CanManage, idem: IdemKey) -> disputes.Dispute:
    """Open a dispute about a trade, obligation, deal, award, delivery or registry action of
    your own; the counterparty is asked to respond by `respond_by` (the rulebook's deadline).
    The counterparty's identity is never shown to you."""
    n = disputes.NewDispute(
        body.kind,
        body.subject_id,
        body.summary,
        body.claimed_amount,
        body.claimed_quantity,
        body.currency,
    )
    return disputes.open_dispute(db, actor, n, idem)


@router.get("/disputes", response_model=many(Dispute))
def list_disputes(
    db: DB,
    actor: CanRead,
    state: Annotated[
        Literal["open", "responded", "under_review", "decided", "closed", "withdrawn"] | None,
        Query(),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[disputes.Dispute]:
    """Your disputes, opened or answered, newest first (the operator: everyone's)."""
    return disputes.list_disputes(db, actor, state, limit)


@router.get("/disputes/summary", response_model=Summary, tags=["public"])
def summary(db: DB, calendar_year: Annotated[int, Query(ge=2000, le=2100)]) -> disputes.Summary:
    """The public yearly summary: disputes opened in the calendar year (UTC) by kind and
    outcome, no names."""
    return disputes.summary(db, calendar_year)


@router.get("/disputes/{dispute_id}", response_model=Dispute)
def get_dispute(dispute_id: DisputeId, db: DB, actor: CanRead) -> disputes.Dispute:
    """One dispute with its history and evidence; another participant's answers 404."""
    return disputes.get(db, actor, dispute_id)


@router.post("/disputes/{dispute_id}/respond", response_model=Dispute)
def respond(
    dispute_id: DisputeId, body: RespondIn, db: DB, actor: CanManage, idem: IdemKey
) -> disputes.Dispute:
    """The counterparty's response to an open dispute."""
    return disputes.respond(db, actor, dispute_id, body.text, idem)


@router.post("/disputes/{dispute_id}/withdraw", response_model=Dispute)
def withdraw(
    dispute_id: DisputeId, body: WithdrawIn, db: DB, actor: CanManage, idem: IdemKey
) -> disputes.Dispute:
    """The opener withdraws its dispute before the decision."""
    return disputes.withdraw(db, actor, dispute_id, body.reason, idem)


@router.post("/disputes/{dispute_id}/evidence", response_model=Evidence, status_code=201)
def attach_evidence(
    dispute_id: DisputeId, body: EvidenceIn, db: DB, actor: CanManage, idem: IdemKey
) -> disputes.Evidence:
    """Attach a file (base64 in JSON; PDF, PNG, JPEG, text, CSV or JSON; at most 3,000,000
    bytes, 20 files a dispute). Kept with its SHA-256; served only to you and the operator."""
    content = disputes.decode_base64(body.content_base64)
    return disputes.attach_evidence(
        db, actor, dispute_id, body.file_name, body.media_type, content, idem
    )


@router.get(
    "/disputes/{dispute_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_evidence(
    dispute_id: DisputeId,
    evidence_id: Annotated[str, Path(min_length=1, max_length=40)],
    db: DB,
    actor: CanRead,
) -> Response:
    """An evidence file's bytes: only for the party who uploaded it and the operator."""
    f = disputes.get_evidence(db, actor, dispute_id, evidence_id)
    return Response(
        f.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{f.id}"',
            "X-Content-Type-Options": "nosniff",
            "X-Evidence-Media-Type": f.media_type,
            "X-Evidence-SHA256": f.sha256,
        },
    )


@router.post("/disputes/{dispute_id}/review", response_model=Dispute)
def review(
    dispute_id: DisputeId, body: NoteIn, db: DB, actor: CanOperate, idem: IdemKey
) -> disputes.Dispute:
    """Take an open or answered dispute under review (operator); the deadline to decide
    starts."""
    return disputes.review(db, actor, dispute_id, body.note, idem)


@router.post("/disputes/{dispute_id}/decide", response_model=Dispute)
def decide(
    dispute_id: DisputeId,
    body: DecideIn,
    request: Request,
    db: DB,
    actor: CanOperate,
    idem: IdemKey,
) -> disputes.Dispute:
    """Decide a dispute under review (operator) with remedies, each executed as a journaled
    operation that conserves cash and credits: bust, price adjustment, compensation, credit
    return or redelivery, freeze or unfreeze, fee waiver. A payer without the free cash answers
    409 `insufficient_cash` and nothing is done."""
    orders = [
        disputes.RemedyOrder(
            r.kind, r.payer, r.amount, r.currency, r.serials, r.from_account, r.to_account
        )
        for r in body.remedies
    ]
    return disputes.decide(
        db, actor, dispute_id, body.outcome, body.decision, orders, _exchange(request), idem
    )


@router.post("/disputes/{dispute_id}/close", response_model=Dispute)
def close(
    dispute_id: DisputeId, body: NoteIn, db: DB, actor: CanOperate, idem: IdemKey
) -> disputes.Dispute:
    """Close a decided dispute (operator)."""
    return disputes.close(db, actor, dispute_id, body.note, idem)
