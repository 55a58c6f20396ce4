"""The /v1 routes. Each parses, calls one service function and returns its answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from tanso.api import schemas as s
from tanso.api.deps import (
    DB,
    AnswerRoute,
    CanManage,
    CanOperate,
    CanRead,
    CanRetire,
    CanTransfer,
    IdemKey,
)
from tanso.api.schemas import many
from tanso.api.schemas_registry import (
    Account,
    ApiKey,
    ApiKeyRevocation,
    BrokerAuthorisation,
    BrokerChange,
    Cancellation,
    CashBalance,
    CashMovement,
    Category,
    Deposit,
    Freeze,
    Holdings,
    Issuance,
    IssuanceReceipt,
    JournalEntry,
    JournalRef,
    NewApiKey,
    NewParticipant,
    Participant,
    Project,
    Properties,
    Redeposit,
    Retirement,
    RetirementCheck,
    RetirementReceipt,
    Scheme,
    Term,
    Transfer,
    Verification,
    Withdrawal,
)
from tanso.domain.errors import NotFound
from tanso.services.common import JournalRef as JournalRefValue
from tanso.services.common import require_operator
from tanso.services.ledger import audit, cash, participants, registry, taxonomy
from tanso.services.operations import journal_search

router = APIRouter(prefix="/v1", route_class=AnswerRoute)
Limit = Annotated[int, Query(ge=1, le=10_000)]


def _selection(body: s.SelectionIn) -> registry.Selection:
    return registry.Selection(body.quantity, body.serial_start, body.serial_end, body.serials)


# ---------------------------------------------------------------- participants


@router.get("/participants", response_model=many(Participant), tags=["participants"])
def list_participants(db: DB, actor: CanRead) -> list[participants.Participant]:
    """Participants: all of them for the operator, only yourself for anyone else."""
    return participants.list_participants(db, actor)


@router.post("/participants", response_model=NewParticipant, status_code=201, tags=["participants"])
def create_participant(
    body: s.ParticipantIn, db: DB, actor: CanOperate, idem: IdemKey
) -> participants.RegisteredParticipant:
    """Register a participant (operator). It starts pending until approved. A corporation of
    Japan (country JP, the default) gives its 13-digit corporate number (法人番号), one from
    abroad its LEI; refusals: invalid_lei, invalid_country, lei_required, lei_taken."""
    return participants.create_participant(
        db, actor, participants.NewParticipant(**body.model_dump()), idem
    )


@router.get("/participants/{pid}", response_model=Participant, tags=["participants"])
def get_participant(pid: str, db: DB, actor: CanRead) -> participants.Participant:
    return participants.get_participant(db, actor, pid)


@router.post("/participants/{pid}/approve", response_model=Participant, tags=["participants"])
def approve(
    pid: str, body: s.StatusIn, db: DB, actor: CanOperate, idem: IdemKey
) -> participants.Participant:
    """Approve a pending participant, or reinstate a suspended one (operator)."""
    return participants.set_status(db, actor, pid, "active", body.reason, idem)


@router.post("/participants/{pid}/suspend", response_model=Participant, tags=["participants"])
def suspend(
    pid: str, body: s.StatusIn, db: DB, actor: CanOperate, idem: IdemKey, request: Request
) -> participants.Participant:
    """Suspend a participant (operator): it keeps its holdings but cannot move them; its
    orders, listings, offers and sealed bids are cancelled, their holds released."""
    out = participants.set_status(db, actor, pid, "suspended", body.reason, idem)
    request.app.state.exchange.cancel_all(actor, pid)  # services/operations/suspension.py
    return out


@router.patch("/participants/{pid}", response_model=Participant, tags=["participants"])
def set_attributes(
    pid: str, body: s.ParticipantAttributesIn, db: DB, actor: CanOperate, idem: IdemKey
) -> participants.Participant:
    """Record a participant's GX League membership (who may trade a GX-League-only instrument)
    and its corporate group (which participants surveillance treats as one owner); a field left
    out stays as it is, a null corporate_group clears it (operator)."""
    group = (
        body.corporate_group
        if "corporate_group" in body.model_fields_set
        else participants.UNCHANGED
    )
    return participants.set_attributes(
        db, actor, pid, gx_league=body.gx_league, corporate_group=group, idem=idem
    )


@router.put("/participants/{pid}/roles", response_model=Participant, tags=["participants"])
def set_roles(
    pid: str, body: s.RolesIn, db: DB, actor: CanOperate, idem: IdemKey
) -> participants.Participant:
    return participants.set_roles(db, actor, pid, body.roles, idem)


@router.get("/participants/{pid}/api-keys", response_model=many(ApiKey), tags=["participants"])
def list_keys(pid: str, db: DB, actor: CanRead) -> list[participants.ApiKey]:
    return participants.list_api_keys(db, actor, pid)


@router.post(
    "/participants/{pid}/api-keys", response_model=NewApiKey, status_code=201, tags=["participants"]
)
def create_key(pid: str, body: s.ApiKeyIn, db: DB, actor: CanManage) -> participants.NewApiKey:
    """Create an API key; the `key` in the answer is shown only this once."""
    return participants.create_api_key(db, actor, pid, body.label, body.roles, scopes=body.scopes)


@router.delete(
    "/participants/{pid}/api-keys/{key_id}", response_model=ApiKeyRevocation, tags=["participants"]
)
def revoke_key(pid: str, key_id: str, db: DB, actor: CanManage) -> participants.ApiKeyRevocation:
    return participants.revoke_api_key(db, actor, pid, key_id)


@router.get(
    "/participants/{pid}/brokers", response_model=many(BrokerAuthorisation), tags=["participants"]
)
def list_brokers(pid: str, db: DB, actor: CanRead) -> list[participants.BrokerAuthorisation]:
    return participants.list_broker_authorisations(db, actor, pid)


@router.post("/participants/{pid}/brokers", response_model=BrokerChange, tags=["participants"])
def authorise_broker(
    pid: str, body: s.BrokerIn, db: DB, actor: CanManage, idem: IdemKey
) -> participants.BrokerChange:
    """Authorise a broker to act for this participant (the participant itself), within a mandate:
    `scopes` trade (the default), transfer, retire."""
    return participants.authorise_broker(
        db, actor, pid, body.broker_id, True, idem, scopes=body.scopes
    )


@router.delete(
    "/participants/{pid}/brokers/{broker_id}", response_model=BrokerChange, tags=["participants"]
)
def revoke_broker(pid: str, broker_id: str, db: DB, actor: CanManage) -> participants.BrokerChange:
    return participants.authorise_broker(db, actor, pid, broker_id, False)


# ---------------------------------------------------------------- accounts


@router.get("/accounts", response_model=many(Account), tags=["accounts"])
def list_accounts(db: DB, actor: CanRead) -> list[participants.Account]:
    """Your holding accounts (the operator sees all, system accounts included)."""
    return participants.list_accounts(db, actor)


@router.post("/accounts", response_model=Account, status_code=201, tags=["accounts"])
def open_account(
    body: s.AccountIn, db: DB, actor: CanManage, idem: IdemKey
) -> participants.Account:
    """Open another holding account (保有口座)."""
    return participants.open_account(db, actor, body.name, body.participant_id, idem)


@router.get("/accounts/{account_id}/holdings", response_model=Holdings, tags=["accounts"])
def holdings(
    account_id: str,
    db: DB,
    actor: CanRead,
    limit: Limit = 1000,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> registry.Holdings:
    """Credits in an account: totals by scheme, category, vintage and status, then its blocks."""
    return registry.holdings(db, actor, account_id, limit, after)


# ---------------------------------------------------------------- taxonomy (public)


@router.get("/schemes", response_model=many(Scheme), tags=["taxonomy"])
def list_schemes(db: DB) -> list[dict[str, Any]]:
    return taxonomy.list_schemes(db)


@router.post("/schemes", response_model=Scheme, status_code=201, tags=["taxonomy"])
def add_scheme(body: s.SchemeIn, db: DB, actor: CanOperate, idem: IdemKey) -> dict[str, Any]:
    return taxonomy.add_scheme(db, actor, body.model_dump(), idem)


@router.get("/categories", response_model=many(Category), tags=["taxonomy"])
def list_categories(db: DB) -> list[dict[str, Any]]:
    """Categories, TSE's trading categories (売買区分) among them."""
    return taxonomy.list_categories(db)


@router.post("/categories", response_model=Category, status_code=201, tags=["taxonomy"])
def add_category(body: s.CategoryIn, db: DB, actor: CanOperate, idem: IdemKey) -> dict[str, Any]:
    return taxonomy.add_category(db, actor, body.model_dump(), idem)


@router.get("/purposes", response_model=many(Term), tags=["taxonomy"])
def list_purposes(db: DB) -> list[dict[str, Any]]:
    return taxonomy.list_terms(db, "purpose")


@router.get("/credit-types", response_model=many(Term), tags=["taxonomy"])
def list_credit_types(db: DB) -> list[dict[str, Any]]:
    return taxonomy.list_terms(db, "credit_type")


@router.get("/properties", response_model=Properties, tags=["taxonomy"])
def list_properties(db: DB) -> dict[str, list[dict[str, Any]]]:
    """The paper's four properties of credits and the evaluation axes of voluntary credits."""
    return {
        "properties": taxonomy.list_terms(db, "property"),
        "evaluation_axes": taxonomy.list_terms(db, "evaluation_axis"),
    }


@router.get("/projects", response_model=many(Project), tags=["taxonomy"])
def list_projects(db: DB) -> list[taxonomy.Project]:
    return taxonomy.list_projects(db)


@router.post("/projects", response_model=Project, status_code=201, tags=["taxonomy"])
def register_project(
    body: s.ProjectIn, db: DB, actor: CanOperate, idem: IdemKey
) -> taxonomy.Project:
    return taxonomy.register_project(db, actor, taxonomy.NewProject(**body.model_dump()), idem)


@router.get("/projects/{project_id}", response_model=Project, tags=["taxonomy"])
def get_project(project_id: str, db: DB) -> taxonomy.Project:
    return taxonomy.get_project(db, project_id)


# ---------------------------------------------------------------- registry operations


@router.get("/issuances", response_model=many(Issuance), tags=["registry"])
def list_issuances(db: DB, project_id: str | None = None) -> list[registry.Issuance]:
    return registry.list_issuances(db, project_id)


@router.get("/issuances/{issuance_id}", response_model=Issuance, tags=["registry"])
def get_issuance(issuance_id: str, db: DB) -> registry.Issuance:
    return registry.get_issuance(db, issuance_id)


@router.post("/issuances", response_model=IssuanceReceipt, status_code=201, tags=["registry"])
def issue(body: s.IssuanceIn, db: DB, actor: CanOperate, idem: IdemKey) -> registry.IssuanceReceipt:
    """Issue credits of a registered project into a holding account (registry operator)."""
    return registry.issue(db, actor, registry.NewIssuance(**body.model_dump()), idem)


@router.post("/deposits", response_model=Deposit, status_code=201, tags=["registry"])
def deposit(
    body: s.DepositIn, db: DB, actor: CanOperate, idem: IdemKey
) -> registry.IssuanceReceipt:
    """Record credits arriving from an external registry (registry operator)."""
    fields = body.model_dump(exclude={"external_registry", "external_ref"})
    return registry.deposit(
        db, actor, registry.NewIssuance(**fields), body.external_registry, body.external_ref, idem
    )


@router.post("/redeposits", response_model=Redeposit, status_code=201, tags=["registry"])
def redeposit(body: s.RedepositIn, db: DB, actor: CanOperate, idem: IdemKey) -> registry.Redeposit:
    """Record the return of credits that had been withdrawn to an external registry."""
    return registry.redeposit(db, actor, body.serials, body.account_id, body.external_ref, idem)


@router.post("/withdrawals", response_model=Withdrawal, status_code=201, tags=["registry"])
def withdraw(
    body: s.WithdrawalIn, db: DB, actor: CanTransfer, idem: IdemKey
) -> registry.Withdrawal:
    """Send credits to an account in an external registry."""
    return registry.withdraw(
        db,
        actor,
        body.account_id,
        _selection(body),
        body.external_registry,
        body.external_account,
        idem,
    )


@router.post("/transfers", response_model=Transfer, status_code=201, tags=["registry"])
def transfer(body: s.TransferIn, db: DB, actor: CanTransfer, idem: IdemKey) -> registry.Transfer:
    """Transfer credits: a quantity (oldest vintage first) or a serial range."""
    return registry.transfer(db, actor, body.from_account, body.to_account, _selection(body), idem)


def _retirement(body: s.RetirementIn) -> registry.RetirementRequest:
    purposes = list(dict.fromkeys(([body.purpose] if body.purpose else []) + body.purposes))
    return registry.RetirementRequest(
        account_id=body.account_id,
        selection=_selection(body),
        purposes=purposes,
        beneficiary=body.beneficiary,
        reporting_year=body.reporting_year,
        note=body.note,
        emissions_scope=body.emissions_scope,
        scope3_category=body.scope3_category,
        credits=registry.CreditFilter(body.scheme, body.category, body.project_id, body.vintage),
        expected=tuple(body.expected_serials) if body.expected_serials is not None else None,
    )


@router.post("/retirements", response_model=RetirementReceipt, status_code=201, tags=["registry"])
def retire(
    body: s.RetirementIn, db: DB, actor: CanRetire, idem: IdemKey
) -> registry.RetirementReceipt:
    """Retire (無効化) credits for a purpose, by quantity or by serial range; `scheme`,
    `category`, `project_id` and `vintage` narrow which credits. Irreversible: check first
    (`POST /v1/retirements/check`) and send its `serials` as `expected_serials`."""
    return registry.retire(db, actor, _retirement(body), idem)


@router.post("/retirements/check", response_model=RetirementCheck, tags=["registry"])
def check_retirement(body: s.RetirementIn, db: DB, actor: CanRead) -> registry.RetirementCheck:
    """Check a retirement first, with nothing changed: the credits it would take (serial
    ranges with project, scheme, category, vintage, tonnes), the usage rules' outcome for each
    purpose (allowed, or the rule that refuses it) and the claims it would record."""
    return registry.check_retirement(db, actor, _retirement(body))


@router.get("/retirements", response_model=many(Retirement), tags=["registry"])
def list_retirements(db: DB, actor: CanRead, limit: Limit = 100) -> list[registry.RetirementNotice]:
    """Your retirements (all of them for the operator), newest first."""
    return registry.list_retirements(db, actor, limit)


@router.get("/retirements/{retirement_id}", response_model=Retirement, tags=["public"])
def get_retirement(retirement_id: str, db: DB) -> registry.RetirementNotice:
    """Public retirement lookup: no key needed, so anyone can verify a claim."""
    return registry.get_retirement(db, retirement_id)


@router.post("/cancellations", response_model=Cancellation, status_code=201, tags=["registry"])
def cancel(
    body: s.CancellationIn, db: DB, actor: CanRetire, idem: IdemKey
) -> registry.Cancellation:
    """Cancel (取消) credits: they are not used toward any target and never move again."""
    return registry.cancel(db, actor, body.account_id, _selection(body), body.reason, idem)


@router.post("/freezes", response_model=Freeze, tags=["registry"])
def freeze(body: s.FreezeIn, db: DB, actor: CanOperate, idem: IdemKey) -> registry.Freeze:
    """Freeze a serial range (registry operator), for example during a dispute."""
    return registry.freeze(db, actor, body.serials, True, body.reason, idem)


@router.post("/unfreezes", response_model=Freeze, tags=["registry"])
def unfreeze(body: s.FreezeIn, db: DB, actor: CanOperate, idem: IdemKey) -> registry.Freeze:
    return registry.freeze(db, actor, body.serials, False, body.reason, idem)


# ---------------------------------------------------------------- cash


@router.get("/cash", response_model=many(CashBalance), tags=["cash"])
def cash_balances(
    db: DB, actor: CanRead, participant_id: str | None = None
) -> list[cash.CashAccount]:
    """Cash balances in integer minor units (JPY: yen)."""
    return cash.balances(db, actor, participant_id)


@router.get("/cash/{cash_account_id}/movements", response_model=many(CashMovement), tags=["cash"])
def cash_movements(
    cash_account_id: str, db: DB, actor: CanRead, limit: Limit = 100
) -> list[cash.CashMovement]:
    return cash.movements(db, actor, cash_account_id, limit)


@router.post("/cash/deposits", response_model=CashBalance, status_code=201, tags=["cash"])
def cash_deposit(body: s.CashMoveIn, db: DB, actor: CanOperate, idem: IdemKey) -> cash.CashAccount:
    """Record a bank transfer in (exchange operator)."""
    return cash.deposit(
        db, actor, body.participant_id, body.currency, body.amount, body.external_ref, idem
    )


@router.post("/cash/withdrawals", response_model=CashBalance, status_code=201, tags=["cash"])
def cash_withdraw(body: s.CashMoveIn, db: DB, actor: CanOperate, idem: IdemKey) -> cash.CashAccount:
    """Record a bank transfer out (exchange operator); reserved cash cannot leave."""
    return cash.withdraw(
        db, actor, body.participant_id, body.currency, body.amount, body.external_ref, idem
    )


# ---------------------------------------------------------------- journal


@router.get("/journal/head", response_model=JournalRef, tags=["public"])
def journal_head(db: DB) -> JournalRefValue:
    """The last journal entry's number and hash; published, it pins history against rewriting."""
    head = journal_search.public_head(db)
    if head is None:
        raise NotFound("journal_empty", "The journal has no entries yet.")
    return JournalRefValue(head[0], head[1])


@router.get("/journal", response_model=many(JournalEntry), tags=["journal"])
def journal(
    db: DB, actor: CanRead, after: Annotated[int, Query(ge=0, le=2**62)] = 0, limit: Limit = 100
) -> list[journal_search.JournalEntry]:
    """Journal entries after `after`, for auditors (operator keys); bids of auctions still open
    show no bidder and no amount (`sealed: true`), the stored entry and its hash unchanged."""
    # bids of auctions still open stay sealed even from the operator (docs/sealed-auctions.md)
    return journal_search.after(db, actor, after, limit)


@router.get("/journal/verify", response_model=Verification, tags=["journal"])
def journal_verify(db: DB, actor: CanRead) -> dict[str, Any]:
    """Recompute the hash chain and every balance from the journal (operator)."""
    require_operator(actor, "verify the journal")
    return audit.verify(db).as_dict()
