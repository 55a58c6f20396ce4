"""Accounts: the home screen (holding accounts and cash), one account's holdings with their
value at reference prices, opening an account, transfers between own accounts, and cash
movements; holdings and cash movements downloadable as CSV (docs/portal-history.md)."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.registry import BlockStatus
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.common import plain
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.trading import valuation
from tanso.web import kit
from tanso.web.kit import CreditMover, CurrentUser, Form
from tanso.web.portal import filters

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


# ---------------------------------------------------------------- home and holdings


def _home_page(
    request: Request, user: PortalUser, state: kit.FormState | None = None
) -> HTMLResponse:
    db = kit.db(request)
    accounts = []
    for a in kit.own_accounts(db, user):
        h = registry.holdings(db, user.actor, a.id, limit=1)
        accounts.append(plain(a) | {"total": h.total})
    return kit.page(
        request,
        "portal_home.html",
        user,
        state=state,
        accounts=accounts,
        balances=cash.balances(db, user.actor, user.participant_id),
        participant=participants.get_participant(db, user.actor, user.participant_id),
    )


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, user: CurrentUser) -> Response:
    return _home_page(request, user)


@router.post("/portal/accounts")
def open_account(request: Request, user: CreditMover, form: Form) -> Response:
    t = kit.labels(request)
    name = form.get("name", "").strip()
    if not name:
        return _home_page(request, user, kit.FormState.invalid(form, {"name": t["required"]}, t))
    try:
        out = participants.open_account(kit.db(request), user.actor, name, user.participant_id)
    except TansoError as e:
        where = "name" if e.code == "invalid_name" else "_form"
        refused = kit.FormState(form, {where: e.message}, status=status_of(e))
        return _home_page(request, user, refused)
    notice = t["account_opened"].format(id=out.id, name=out.name)
    return _home_page(request, user, kit.FormState(notice=notice))


HOLDING_COLUMNS = (
    "account",
    "serials",
    "issuance_id",
    "serial_start",
    "serial_end",
    "quantity",
    "status",
    "scheme",
    "category",
    "vintage",
    "project_id",
)


# before /portal/holdings/{account_id}, whose id would otherwise take "X.csv"
@router.get("/portal/holdings/{account_id}.csv")
def holdings_csv(request: Request, user: CurrentUser, account_id: str) -> Response:
    """One account's blocks of serials as CSV, with their credits' attributes."""
    db = kit.db(request)
    if account_id not in {a.id for a in kit.own_accounts(db, user)}:
        return kit.not_found(request, user)
    h = registry.holdings(db, user.actor, account_id, limit=10_000)
    rows = (
        (
            account_id,
            b.serials,
            b.issuance_id,
            b.serial_start,
            b.serial_end,
            b.quantity,
            b.status,
            b.scheme,
            b.category,
            b.vintage,
            b.project_id,
        )
        for b in h.blocks
    )
    return filters.csv_download(f"holdings-{account_id}.csv", HOLDING_COLUMNS, rows)


@router.get("/portal/holdings/{account_id}", response_class=HTMLResponse)
def holdings(request: Request, user: CurrentUser, account_id: str) -> Response:
    db = kit.db(request)
    if account_id not in {a.id for a in kit.own_accounts(db, user)}:
        return kit.not_found(request, user)
    h = registry.holdings(db, user.actor, account_id, limit=10_000)
    return kit.page(
        request,
        "portal_holdings.html",
        user,
        h=h,
        names=_names(request),
        valued=valuation.valuation(db, user.actor, account_id),
    )


def _names(request: Request) -> dict[str, dict[str, str]]:
    """Schemes, categories and block statuses by code, named in the page's language (the code
    stays beside the name)."""
    db, lang = kit.db(request), kit.lang_of(request)
    t = kit.labels(request)
    key = "name_ja" if lang == "ja" else "name_en"
    return {
        "scheme": {s["code"]: s[key] for s in taxonomy.list_schemes(db)},
        "category": {c["code"]: c[key] for c in taxonomy.list_categories(db)},
        "status": {s.value: t[f"block_{s.value}"] for s in BlockStatus},
    }


# ---------------------------------------------------------------- transfers between own accounts


def _transfer_page(
    request: Request,
    user: PortalUser,
    state: kit.FormState | None = None,
    done: registry.Transfer | None = None,
) -> HTMLResponse:
    db = kit.db(request)
    past, older, newer = kit.cursor_page(
        request, partial(registry.list_transfers, db, kit.reader(user), user.participant_id)
    )
    return kit.page(
        request,
        "portal_transfer.html",
        user,
        state=state,
        past=past.transfers,
        older=older,
        newer=newer,
        accounts=kit.own_accounts(db, user),
        done=done,
    )


@router.get("/portal/transfer", response_class=HTMLResponse)
def transfer_form(request: Request, user: CurrentUser) -> Response:
    return _transfer_page(request, user)


@router.post("/portal/transfer")
def transfer(request: Request, user: CreditMover, form: Form) -> Response:
    t = kit.labels(request)
    db = kit.db(request)
    own = {a.id for a in kit.own_accounts(db, user)}
    errors: dict[str, str] = {}
    for name in ("from_account", "to_account"):
        if form.get(name, "") not in own:
            errors[name] = t["required"]
    quantity = kit.optional_int(form, "quantity", t, errors)
    serials = form.get("serials", "").strip() or None
    if "quantity" not in errors and quantity is None and serials is None:
        errors["quantity"] = t["transfer_help"]
    if errors:
        return _transfer_page(request, user, kit.FormState.invalid(form, errors, t))
    try:
        done = registry.transfer(
            db,
            user.actor,
            form["from_account"],
            form["to_account"],
            registry.Selection(quantity=quantity, serials=serials),
        )
    except TansoError as e:
        fields = ("from_account", "to_account", "quantity", "serials")
        return _transfer_page(request, user, kit.FormState.refused(e, form, fields))
    return _transfer_page(request, user, done=done)


# ---------------------------------------------------------------- cash


def _counterparty(user: PortalUser, account: str) -> tuple[str, str]:
    """(label key, shown id) for a movement's other side; another participant stays anonymous."""
    if account.startswith("SYS-BANK-"):
        return "cp_bank", ""
    operator = participants.OPERATOR_PARTICIPANT
    if account.startswith(f"CASH-{operator}-") and user.participant_id != operator:
        return "cp_fees", ""
    if account.startswith(f"CASH-{user.participant_id}-"):
        return "", account
    return "cp_market", ""


CASH_EXPORT = 1_000
"""Movements in one cash CSV at most (the newest): what ``cash.movements`` answers at most."""
CASH_COLUMNS = (
    "cash_account",
    "entry",
    "journal_seq",
    "moved_at",
    "amount",
    "currency",
    "counterparty",
    "memo",
    "external_ref",
)


@router.get("/portal/cash.csv")
def cash_csv(request: Request, user: CurrentUser) -> Response:
    """One cash account's movements as CSV (``account``, else the first), newest first; another
    participant shows as the market, as on the screen."""
    db, reader = kit.db(request), kit.reader(user)
    balances = cash.balances(db, reader, user.participant_id)
    selected = request.query_params.get("account") or (balances[0].id if balances else "")
    if selected and selected not in {b.id for b in balances}:
        return kit.not_found(request, user)
    t = kit.labels(request)
    rows = []
    for m in cash.movements(db, reader, selected, CASH_EXPORT) if selected else []:
        key, shown = _counterparty(user, m.counterparty)
        rows.append(
            (
                selected,
                m.id,
                m.journal_seq,
                m.at,
                m.amount,
                m.currency,
                t[key] if key else shown,
                m.memo,
                m.external_ref,
            )
        )
    name = f"cash-{selected or user.participant_id}.csv"
    return filters.csv_download(name, CASH_COLUMNS, rows)


@router.get("/portal/cash", response_class=HTMLResponse)
def cash_page(request: Request, user: CurrentUser) -> Response:
    db, reader = kit.db(request), kit.reader(user)
    balances = cash.balances(db, reader, user.participant_id)
    own = {b.id for b in balances}
    selected = request.query_params.get("account") or (balances[0].id if balances else "")
    if selected and selected not in own:
        return kit.not_found(request, user)
    movements = []
    older = newer = None
    if selected:
        rows, older, newer = kit.offset_page(
            request, lambda n: cash.movements(db, reader, selected, n)
        )
        for m in rows:
            key, shown = _counterparty(user, m.counterparty)
            movements.append(asdict(m) | {"cp_key": key, "cp_id": shown})
    return kit.page(
        request,
        "portal_cash.html",
        user,
        balances=balances,
        selected=selected,
        movements=movements,
        older=older,
        newer=newer,
    )
