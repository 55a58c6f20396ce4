"""Issuance requests: from a verified monitoring report to credits (docs/project-cycle.md).

The developer asks for the credits of a verified report; the request fixes the figures: the
verified tonnes, the methodology's buffer rate, the buffer share (rounded up, as
``domain.removals.buffer_share``) and the quantity its account receives, which is the verified
tonnes less that share (the database refuses any other sum). The registry operator approves
it, and one transaction issues exactly the verified tonnes with serials, moves the buffer
share to the scheme's pool, links the issuance to the request, and journals the issuance with
its basis (request, report, verification); or rejects it with a reason. A report is the basis
of one request at most, and a project that is not registered and active issues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain import project_cycle as pc
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.domain.project_cycle import PlanState, ReportState, RequestState
from tanso.domain.registry import AccountKind
from tanso.domain.removals import buffer_share
from tanso.services import notices
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    new_id,
    omitted,
    plain,
    require,
    require_active,
)
from tanso.services.cycle import methodologies as meth
from tanso.services.cycle import plans
from tanso.services.ledger import registry
from tanso.store import repo
from tanso.store.db import Database, Tx
from tanso.store.schema_cycle import issuance_requests, monitoring_reports, verifications

Q, R, V = issuance_requests.c, monitoring_reports.c, verifications.c


@dataclass(frozen=True, slots=True)
class IssuanceRequest:
    """A request to issue a verified report's credits, and what came of it."""

    id: str
    report_id: str
    project_id: str
    developer_id: str
    account_id: str
    verified_tonnes: int
    buffer_rate_bp: int
    buffer_tonnes: int
    quantity: int
    vintage: int
    state: str
    requested_at: str
    journal_seq: int
    issuance_id: str | None = omitted()
    reason: str | None = omitted()
    decided_at: str | None = omitted()
    serials: str | None = omitted()
    buffer_serials: str | None = omitted()


def _row(conn: Connection, request_id: str) -> Any:
    row = conn.execute(select(issuance_requests).where(Q.id == request_id)).first()
    if row is None:
        raise NotFound("request_not_found", f"There is no issuance request {request_id}.")
    return row


def _of(row: Any, **extra: Any) -> IssuanceRequest:
    return from_row(
        IssuanceRequest,
        row,
        issuance_id=row.issuance_id,
        reason=row.reason,
        decided_at=row.decided_at,
        **extra,
    )


def _view(conn: Connection, request_id: str, **extra: Any) -> IssuanceRequest:
    return _of(_row(conn, request_id), **extra)


def request(
    db: Database,
    actor: Actor,
    report_id: str,
    account_id: str,
    quantity: int | None = None,
    idem: Idem | None = None,
) -> IssuanceRequest:
    """Ask for a verified report's credits into one's holding account (the developer).
    ``quantity``, if given, must be the figure the rules make: verified less buffer."""

    def work(tx: Tx) -> IssuanceRequest:
        conn = tx.conn
        require_active(conn, actor)
        report = conn.execute(select(monitoring_reports).where(R.id == report_id)).first()
        if report is None or report.developer_id != actor.participant_id:
            raise NotFound(
                "report_not_found", f"There is no monitoring report {report_id} of yours."
            )
        if report.state != ReportState.VERIFIED:
            raise Conflict(
                "report_not_verified",
                f"Report {report_id} is not verified yet; credits are issued from verified "
                "reports only.",
            )
        plan = plans.plan_of(conn, report.project_id)
        if plan.state != PlanState.REGISTERED:
            raise Conflict(
                "project_not_active",
                f"Project {report.project_id} is {plan.state}; it issues nothing.",
            )
        taken = conn.execute(select(Q.id, Q.state).where(Q.report_id == report_id)).first()
        if taken is not None:
            raise Conflict(
                "report_already_requested",
                f"Report {report_id} is the basis of request {taken.id} ({taken.state}); "
                "a report is issued from once.",
            )
        account = repo.get_account(conn, account_id)
        if (
            account is None
            or account.participant_id != actor.participant_id
            or account.kind != AccountKind.HOLDING.value
        ):
            raise NotFound(
                "account_not_found", f"There is no holding account {account_id} of yours."
            )
        verified = conn.execute(
            select(V.verified_tonnes).where(V.report_id == report_id)
        ).scalar_one()
        m = meth.methodology(conn, report.methodology_id, report.methodology_version)
        buffered = buffer_share(verified, m.buffer_rate_bp)
        net = verified - buffered
        if net <= 0:
            raise Conflict(
                "nothing_to_issue",
                f"Report {report_id} has {verified:,} t verified"
                + (f", {buffered:,} t of them for the buffer pool" if buffered else "")
                + "; nothing is left to issue.",
            )
        if quantity is not None and quantity != net:
            raise InvalidInput(
                "quantity_not_verified",
                f"Report {report_id} has {verified:,} t verified, less {buffered:,} t for the "
                f"buffer pool ({m.buffer_rate_bp / 100:g}%): the request is for {net:,} t, "
                f"not {quantity:,}.",
            )
        rid = new_id("IR")
        conn.execute(
            issuance_requests.insert().values(
                id=rid,
                report_id=report_id,
                project_id=report.project_id,
                developer_id=actor.participant_id,
                account_id=account_id,
                verified_tonnes=verified,
                buffer_rate_bp=m.buffer_rate_bp,
                buffer_tonnes=buffered,
                quantity=net,
                vintage=int(report.period_end[:4]),
                state=RequestState.PENDING.value,
                requested_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        view = _view(conn, rid)
        tx.record("cycle.issuance_requested", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(IssuanceRequest))


def _pending(conn: Connection, request_id: str) -> Any:
    row = _row(conn, request_id)
    if row.state != RequestState.PENDING:
        raise Conflict(
            "request_decided",
            f"Issuance request {request_id} is {row.state} already.",
        )
    return row


def approve(
    db: Database, actor: Actor, request_id: str, idem: Idem | None = None
) -> IssuanceRequest:
    """Approve a pending request (registry operator): issue the verified tonnes, the buffer
    share to the pool and the rest to the developer's account, in one transaction."""
    require(actor, Role.REGISTRY_OPERATOR, "approve issuance requests")

    def work(tx: Tx) -> IssuanceRequest:
        conn = tx.conn
        q = _pending(conn, request_id)
        plan = plans.plan_of(conn, q.project_id)
        if plan.state != PlanState.REGISTERED:
            raise Conflict(
                "project_not_active",
                f"Project {plan.id} is {plan.state}; it issues nothing. Reject the request.",
            )
        report = conn.execute(select(monitoring_reports).where(R.id == q.report_id)).one()
        m = meth.methodology(conn, report.methodology_id, report.methodology_version)
        n = registry.NewIssuance(
            project_id=q.project_id,
            credit_type=m.credit_type,
            round=str(report.number),
            vintage=q.vintage,
            quantity=q.verified_tonnes,
            account_id=q.account_id,
            certified_on=tx.at[:10],
        )
        registry.check_issuance(n)
        basis = {
            "kind": "request",
            "request_id": request_id,
            "report_id": report.id,
            "verifier_id": report.verifier_id,
        }
        receipt = registry.new_credits_in(tx, actor.label, n, None, basis, rate_bp=q.buffer_rate_bp)
        if (receipt.buffer_quantity or 0) != q.buffer_tonnes:
            raise Conflict(
                "buffer_mismatch",
                f"The buffer share came to {receipt.buffer_quantity or 0} t, not the "
                f"{q.buffer_tonnes} t the request fixed; nothing was issued.",
            )
        conn.execute(
            issuance_requests.update()
            .where(Q.id == request_id, Q.state == RequestState.PENDING.value)
            .values(
                state=RequestState.APPROVED.value,
                issuance_id=receipt.issuance_id,
                decided_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        view = _view(
            conn, request_id, serials=receipt.serials, buffer_serials=receipt.buffer_serials
        )
        tx.record("cycle.issuance_approved", actor.label, plain(view))
        notices.notify(
            tx,
            view.developer_id,
            "cycle_issuance_approved",
            request_id,
            project=view.project_id,
            quantity=view.quantity,
            buffer=view.buffer_tonnes,
            account=view.account_id,
            serials=receipt.serials,
        )
        return view

    return execute(db, actor, idem, work, 200, loader(IssuanceRequest), sequenced=True)


def reject(
    db: Database, actor: Actor, request_id: str, reason: str, idem: Idem | None = None
) -> IssuanceRequest:
    """Reject a pending request with the reason (registry operator); the report issues
    nothing."""
    require(actor, Role.REGISTRY_OPERATOR, "reject issuance requests")
    reason = pc.text(reason, "reason")

    def work(tx: Tx) -> IssuanceRequest:
        conn = tx.conn
        _pending(conn, request_id)
        conn.execute(
            issuance_requests.update()
            .where(Q.id == request_id)
            .values(
                state=RequestState.REJECTED.value,
                reason=reason,
                decided_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        view = _view(conn, request_id)
        tx.record("cycle.issuance_rejected", actor.label, plain(view))
        notices.notify(tx, view.developer_id, "cycle_issuance_rejected", request_id, reason=reason)
        return view

    return execute(db, actor, idem, work, 200, loader(IssuanceRequest))


def get(db: Database, actor: Actor, request_id: str) -> IssuanceRequest:
    """A request: to its developer and the operator; another's answers like a missing one."""
    with db.read() as conn:
        row = conn.execute(select(issuance_requests).where(Q.id == request_id)).first()
        if row is None or not (actor.is_operator() or row.developer_id == actor.participant_id):
            raise NotFound(
                "request_not_found", f"There is no issuance request {request_id} of yours."
            )
        return _of(row)


def list_requests(
    db: Database,
    actor: Actor | None,
    *,
    state: str | None = None,
    project_id: str | None = None,
    limit: int = 200,
) -> list[IssuanceRequest]:
    """Requests, newest first: the operator's all, a developer's own; ``actor`` None: the
    approved ones (public: what each issuance rests on)."""
    query = select(issuance_requests).order_by(Q.journal_seq.desc()).limit(limit)
    if state is not None:
        query = query.where(Q.state == state)
    if project_id is not None:
        query = query.where(Q.project_id == project_id)
    if actor is None:
        query = query.where(Q.state == RequestState.APPROVED.value)
    elif not actor.is_operator():
        query = query.where(Q.developer_id == actor.participant_id)
    with db.read() as conn:
        return [_of(r) for r in conn.execute(query)]


def by_issuance(conn: Connection, issuance_id: str) -> Any:
    """The approved request an issuance rests on, or None (a direct issuance or a deposit)."""
    return conn.execute(select(issuance_requests).where(Q.issuance_id == issuance_id)).first()
