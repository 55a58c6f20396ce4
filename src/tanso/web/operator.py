"""The operator's screens of the portal (issue 6), under ``/portal/operator``.

Only a user whose actor holds an operator role (an administrator user of the OPERATOR
participant) may see or use them; anyone else gets 403 on every GET and POST, before any
service is called. Every POST goes through the portal's own ``_post``: a live session, then the
session's CSRF token (constant-time), then the operator check, then one service call with the
user's actor, which checks the operator role again. See docs/portal.md ("Operator screens").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.fees import FeeSchedule
from tanso.domain.participants import ParticipantKind, Role
from tanso.services.access import users
from tanso.services.access.users import NewUser, PortalUser, UserRole, UserStatus
from tanso.services.clearing import settlement
from tanso.services.ledger import audit, participants, registry, taxonomy
from tanso.services.operations import journal_search
from tanso.services.trading import exchange as xs
from tanso.store import repo
from tanso.web import render
from tanso.web.pages import LANG_COOKIE, jst
from tanso.web.portal import (
    LABELS,
    _current,
    _db,
    _exchange,
    _forbidden,
    _int,
    _lang,
    _post,
    _to_login,
    field_for,
    manage_user,
    refusal_status,
)

router = APIRouter(prefix="/portal/operator", include_in_schema=False)

JOURNAL_PAGE = 50
SESSION_ACTIONS = ("open", "close", "halt", "resume", "auction")
STATUS_ACTIONS = {"approve": "active", "suspend": "suspended", "reinstate": "active"}

OP_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "operator": "Operator",
        "op_nav": "Operator menu",
        "op_home": "Overview",
        "op_participants": "Participants",
        "op_users": "Users",
        "op_instruments": "Instruments and sessions",
        "op_settlement": "Settlement",
        "op_issuance": "Issuance",
        "op_fees": "Fee schedules",
        "op_journal": "Journal",
        "participant": "Participant",
        "kind": "Kind",
        "roles": "Roles",
        "actions": "Actions",
        "approve": "Approve",
        "suspend": "Suspend",
        "reinstate": "Reinstate",
        "reason": "Reason (optional)",
        "set_roles": "Set roles",
        "status_changed": "{pid} is now {status}.",
        "roles_changed": "Roles of {pid}: {roles}.",
        "create_user": "Create a user",
        "display_name": "Name",
        "user_role": "Role",
        "unlock": "Unlock",
        "user_created": "User {email} created for {pid}.",
        "user_unlocked": "User {email} unlocked.",
        "no_users": "No users.",
        "state": "State",
        "phase": "Phase",
        "mode": "Mode",
        "reference_price": "Reference price",
        "act_open": "Open",
        "act_close": "Close",
        "act_halt": "Halt",
        "act_resume": "Resume",
        "act_auction": "Run auction now",
        "session_done": "{instrument}: {action} done; state {state}.",
        "auction_result": "Auction {instrument}: {price} × {volume} t; trades: {trades}.",
        "auction_none": "Auction {instrument}: nothing traded.",
        "run_settlement": "Run settlement",
        "settlement_date": "Settle obligations due on or before",
        "run": "Run",
        "runs": "Settlement runs",
        "no_runs": "No runs yet.",
        "settled": "Settled",
        "failed": "Failed",
        "cash_moved": "Cash moved",
        "credits_moved": "Credits moved",
        "fees": "Fees",
        "at": "At (JST)",
        "date": "Date",
        "run_done": "Settlement for {date}: {settled} settled, {failed} failed.",
        "failed_obligations": "Failed obligations",
        "no_failed": "No failed obligations.",
        "pending_obligations": "Pending obligations",
        "no_pending": "No pending obligations.",
        "trade": "Trade",
        "due": "Due",
        "buyer": "Buyer",
        "seller": "Seller",
        "amount": "Amount",
        "settle_later": "Settle now (late charge)",
        "cancel_trade": "Cancel trade",
        "resolved": "Obligation of {trade}: {status}.",
        "issue_credits": "Issue credits",
        "project": "Project",
        "credit_type": "Credit type",
        "round": "Round",
        "issue": "Issue",
        "issued": "Issued {qty} t as {id} into {account}.",
        "issuances": "Issuances",
        "no_issuances": "No issuances.",
        "no_projects": "No projects are registered.",
        "set_fees": "Set a fee schedule",
        "all_instruments": "* (every instrument)",
        "per_tonne": "Per tonne (¥)",
        "bps": "Basis points of value",
        "per_trade": "Per trade (¥)",
        "late_charge": "Late charge (¥)",
        "set": "Set",
        "fees_set": "Fees for {instrument} {side} set.",
        "no_fees": "No fee schedules: trades pay no fees.",
        "audit_status": "Audit verify",
        "audit_ok": "Verified: {entries} entries, the hash chain and every balance match.",
        "audit_bad": "Verification FAILED at entry {seq}:",
        "head_hash": "Head hash",
        "seq": "Seq",
        "entry_kind": "Kind",
        "actor": "Actor",
        "payload": "Payload",
        "newer": "Newer",
        "older": "Older",
        "latest": "Latest",
        "no_entries": "No entries.",
        "journal_pages": "Journal pages",
        "not_a_date": "Give a date such as 2026-01-05.",
        "choose": "Choose one.",
        "op_projects": "Projects",
        "register_participant": "Register a participant",
        "participant_id_optional": "Participant id (optional: generated)",
        "name_en": "Name (English)",
        "name_ja": "Name (Japanese)",
        "corporate_number": "Corporate number (13 digits; corporations)",
        "gx_league": "GX League member",
        "submit_participant": "Register participant",
        "participant_registered": "{pid} registered (pending approval) with account {account}.",
        "register_project": "Register a project",
        "project_id": "Project id",
        "scheme": "Scheme",
        "category": "Category",
        "project_name": "Name",
        "project_name_ja": "Name in Japanese (optional)",
        "country": "Country (ISO code)",
        "mechanism": "Mechanism",
        "nature": "Nature",
        "region": "Region (optional)",
        "developer": "Developer (optional)",
        "methodology": "Methodology (optional)",
        "submit_project": "Register project",
        "project_registered": "Project {id} registered.",
        "audit_never": "Not verified yet.",
        "audit_when": "Verified at {at} (JST).",
        "audit_since": "{n} entries were added since: verify again to include them.",
        "verify_now": "Verify now",
        "journal_filter": "Filter",
        "seq_from": "From seq",
        "seq_to": "To seq",
        "apply_filter": "Show",
    },
    "ja": {
        "operator": "運営者",
        "op_nav": "運営者メニュー",
        "op_home": "概要",
        "op_participants": "参加者",
        "op_users": "ユーザー",
        "op_instruments": "売買区分と立会",
        "op_settlement": "決済",
        "op_issuance": "発行",
        "op_fees": "手数料",
        "op_journal": "ジャーナル",
        "participant": "参加者",
        "kind": "種別",
        "roles": "役割",
        "actions": "操作",
        "approve": "承認",
        "suspend": "停止",
        "reinstate": "再開",
        "reason": "理由 (任意)",
        "set_roles": "役割を設定",
        "status_changed": "{pid} の状態: {status}。",
        "roles_changed": "{pid} の役割: {roles}。",
        "create_user": "ユーザーの作成",
        "display_name": "氏名",
        "user_role": "役割",
        "unlock": "ロック解除",
        "user_created": "{pid} のユーザー {email} を作成しました。",
        "user_unlocked": "ユーザー {email} のロックを解除しました。",
        "no_users": "ユーザーはいません。",
        "state": "状態",
        "phase": "フェーズ",
        "mode": "方式",
        "reference_price": "基準値段",
        "act_open": "開始",
        "act_close": "終了",
        "act_halt": "売買停止",
        "act_resume": "売買再開",
        "act_auction": "板寄せを実行",
        "session_done": "{instrument}: {action} を実行しました。状態 {state}。",
        "auction_result": "板寄せ {instrument}: {price} × {volume} t、約定 {trades} 件。",
        "auction_none": "板寄せ {instrument}: 約定なし。",
        "run_settlement": "決済の実行",
        "settlement_date": "この日以前に期日の債務を決済",
        "run": "実行",
        "runs": "決済の実行履歴",
        "no_runs": "実行履歴はありません。",
        "settled": "決済済",
        "failed": "不履行",
        "cash_moved": "資金移動",
        "credits_moved": "クレジット移動",
        "fees": "手数料",
        "at": "時刻 (JST)",
        "date": "日付",
        "run_done": "{date} の決済: 決済 {settled} 件、不履行 {failed} 件。",
        "failed_obligations": "不履行の債務",
        "no_failed": "不履行の債務はありません。",
        "pending_obligations": "未決済の債務",
        "no_pending": "未決済の債務はありません。",
        "trade": "約定",
        "due": "期日",
        "buyer": "買方",
        "seller": "売方",
        "amount": "金額",
        "settle_later": "今すぐ決済 (遅延金)",
        "cancel_trade": "約定を取消",
        "resolved": "{trade} の債務: {status}。",
        "issue_credits": "クレジットの発行",
        "project": "プロジェクト",
        "credit_type": "クレジット種別",
        "round": "回次",
        "issue": "発行",
        "issued": "{qty} t を {id} として {account} に発行しました。",
        "issuances": "発行履歴",
        "no_issuances": "発行はありません。",
        "no_projects": "登録済みのプロジェクトはありません。",
        "set_fees": "手数料の設定",
        "all_instruments": "* (全売買区分)",
        "per_tonne": "1 t あたり (円)",
        "bps": "約定代金のベーシスポイント",
        "per_trade": "1 約定あたり (円)",
        "late_charge": "遅延金 (円)",
        "set": "設定",
        "fees_set": "{instrument} {side} の手数料を設定しました。",
        "no_fees": "手数料の設定はありません (無料)。",
        "audit_status": "監査検証",
        "audit_ok": "検証済: {entries} 件、ハッシュチェーンと全残高が一致しています。",
        "audit_bad": "検証に失敗しました (エントリ {seq}):",
        "head_hash": "先頭ハッシュ",
        "seq": "番号",
        "entry_kind": "種類",
        "actor": "実行者",
        "payload": "内容",
        "newer": "新しい",
        "older": "古い",
        "latest": "最新",
        "no_entries": "エントリはありません。",
        "journal_pages": "ジャーナルのページ",
        "not_a_date": "2026-01-05 のように日付を入力してください。",
        "choose": "選択してください。",
        "op_projects": "プロジェクト",
        "register_participant": "参加者の登録",
        "participant_id_optional": "参加者 ID (任意: 自動付与)",
        "name_en": "名称 (英語)",
        "name_ja": "名称 (日本語)",
        "corporate_number": "法人番号 (13 桁、法人のみ)",
        "gx_league": "GX リーグ参加企業",
        "submit_participant": "参加者を登録",
        "participant_registered": "{pid} を登録しました (承認待ち)。口座 {account}。",
        "register_project": "プロジェクトの登録",
        "project_id": "プロジェクト ID",
        "scheme": "制度",
        "category": "区分",
        "project_name": "名称",
        "project_name_ja": "日本語名称 (任意)",
        "country": "国 (ISO コード)",
        "mechanism": "方式",
        "nature": "種類",
        "region": "地域 (任意)",
        "developer": "事業者 (任意)",
        "methodology": "方法論 (任意)",
        "submit_project": "プロジェクトを登録",
        "project_registered": "プロジェクト {id} を登録しました。",
        "audit_never": "まだ検証していません。",
        "audit_when": "{at} (日本時間) に検証。",
        "audit_since": "その後 {n} 件が追加されました。含めるには再度検証してください。",
        "verify_now": "今すぐ検証",
        "journal_filter": "絞り込み",
        "seq_from": "番号 (から)",
        "seq_to": "番号 (まで)",
        "apply_filter": "表示",
    },
}

Page = Callable[..., HTMLResponse]
Handler = Callable[[Request, PortalUser, dict[str, str]], Response]


# ---------------------------------------------------------------- plumbing


def _labels(request: Request) -> dict[str, str]:
    lang = _lang(request)
    return LABELS[lang] | OP_LABELS[lang]


def _page(
    request: Request,
    template: str,
    user: PortalUser,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Like the portal's pages (same headers, same language cookie), with operator labels."""
    lang = _lang(request)
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("notice", "")
    html = render(
        template,
        lang=lang,
        t=_labels(request),
        user=user,
        path=request.url.path,
        jst=jst,
        csrf=user.csrf_token,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.query_params.get("lang") in ("en", "ja"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


def _viewer(request: Request) -> PortalUser | Response:
    """The operator user of a GET, or the answer for anyone else (login, or 403)."""
    user = _current(request)
    if user is None:
        return _to_login()
    if not user.is_operator:
        return _forbidden(request, user, "no_permission")
    return user


def _only_operator(handler: Handler) -> Handler:
    def guarded(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
        if not user.is_operator:
            return _forbidden(request, user, "no_permission")
        return handler(request, user, form)

    return guarded


async def _operator_post(request: Request, handler: Handler) -> Response:
    """Session, then CSRF (the portal's ``_post``), then the operator check, then the handler."""
    return await _post(request, _only_operator(handler), None)


def _show(request: Request, render_page: Callable[[PortalUser], Response]) -> Response:
    user = _viewer(request)
    if isinstance(user, PortalUser):
        return render_page(user)
    return user


def _whole(form: dict[str, str], name: str, t: dict[str, str], errors: dict[str, str]) -> int:
    try:
        value = _int(form.get(name))
    except ValueError:
        errors[name] = t["whole_number"]
        return 0
    if value is None:
        errors[name] = t["required"]
        return 0
    return value


# ---------------------------------------------------------------- overview


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    def page(user: PortalUser) -> Response:
        db = _db(request)
        people = participants.list_participants(db, user.actor)
        pending = [p for p in people if p["status"] == "pending"]
        failed = settlement.obligations(db, user.actor, "failed", limit=500)
        return _page(
            request,
            "operator_home.html",
            user,
            participants_n=len(people),
            pending=pending,
            failed_n=len(failed),
            instruments=xs.list_instruments(db, _exchange(request)),
        )

    return _show(request, page)


# ---------------------------------------------------------------- participants


def _participants_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> HTMLResponse:
    people = participants.list_participants(_db(request), user.actor)
    return _page(
        request,
        "operator_participants.html",
        user,
        status,
        people=people,
        all_roles=[r.value for r in Role],
        kinds=[k.value for k in ParticipantKind],
        **context,
    )


@router.get("/participants", response_class=HTMLResponse)
def participants_screen(request: Request) -> Response:
    return _show(request, lambda user: _participants_page(request, user))


@router.post("/participants/{pid}/{action}")
async def participant_action(request: Request, pid: str, action: str) -> Response:
    def act(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _labels(req)
        db = _db(req)
        try:
            if action in STATUS_ACTIONS:
                out = participants.set_status(
                    db, user.actor, pid, STATUS_ACTIONS[action], form.get("reason", "")[:500]
                )
                notice = t["status_changed"].format(pid=pid, status=out["status"])
            elif action == "roles":
                roles = [r.value for r in Role if form.get(f"role_{r.value}")]
                out = participants.set_roles(db, user.actor, pid, roles)
                notice = t["roles_changed"].format(pid=pid, roles=", ".join(out["roles"]) or "-")
            else:
                return _participants_page(req, user, 404, errors={"_form": t["not_found_text"]})
        except TansoError as e:
            return _participants_page(
                req, user, 422, errors={"_form": e.message, f"p-{pid}": e.message}
            )
        return _participants_page(req, user, notice=notice)

    return await _operator_post(request, act)


PARTICIPANT_FIELDS = ("id", "name_en", "name_ja", "kind", "corporate_number", "roles")


def _participant_field(e: TansoError) -> str:
    if "corporate_number" in e.code:
        return "corporate_number"
    if e.code in ("invalid_id", "participant_exists"):
        return "id"
    if e.code == "invalid_name":
        return "name_ja" if "name_ja" in e.message else "name_en"
    if "role" in e.code:
        return "roles"
    if "kind" in e.code:
        return "kind"
    return "_form"


def _register_participant(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _labels(request)
    errors = {
        f: t["required"] for f in ("name_en", "name_ja", "kind") if not form.get(f, "").strip()
    }
    if errors:
        errors["_form"] = t["error"]
        return _participants_page(request, user, 422, values=form, errors=errors)
    new = participants.NewParticipant(
        name_ja=form["name_ja"].strip(),
        name_en=form["name_en"].strip(),
        kind=form["kind"],
        roles=[r.value for r in Role if form.get(f"new_role_{r.value}")],
        corporate_number=form.get("corporate_number", "").strip() or None,
        gx_league=bool(form.get("gx_league")),
        id=form.get("id", "").strip().upper() or None,
    )
    try:
        out = participants.create_participant(_db(request), user.actor, new)
    except TansoError as e:
        errors = {_participant_field(e): e.message}
        return _participants_page(request, user, 422, values=form, errors=errors)
    notice = t["participant_registered"].format(pid=out["id"], account=out["accounts"][0])
    return _participants_page(request, user, notice=notice)


@router.post("/participants")
async def register_participant(request: Request) -> Response:
    return await _operator_post(request, _register_participant)


# ---------------------------------------------------------------- projects


def _projects_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = _db(request)
    return _page(
        request,
        "operator_projects.html",
        user,
        status,
        projects=taxonomy.list_projects(db),
        schemes=taxonomy.list_schemes(db),
        categories=taxonomy.list_categories(db),
        mechanisms=taxonomy.MECHANISMS,
        natures=taxonomy.NATURES,
        **context,
    )


@router.get("/projects", response_class=HTMLResponse)
def projects_screen(request: Request) -> Response:
    return _show(request, lambda user: _projects_page(request, user))


PROJECT_FIELD_OF_CODE = {
    "invalid_project_id": "id",
    "project_exists": "id",
    "invalid_mechanism": "mechanism",
    "invalid_nature": "nature",
    "invalid_country": "country",
    "invalid_name": "name",
    "scheme_not_found": "scheme",
    "category_not_found": "category",
}


def _register_project(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _labels(request)
    required = ("id", "scheme", "category", "name", "country")
    errors = {f: t["required"] for f in required if not form.get(f, "").strip()}
    if errors:
        errors["_form"] = t["error"]
        return _projects_page(request, user, 422, values=form, errors=errors)
    new = taxonomy.NewProject(
        id=form["id"].strip(),
        scheme=form["scheme"],
        name=form["name"].strip(),
        category=form["category"],
        country=form["country"].strip(),
        mechanism=form.get("mechanism", "reduction"),
        nature=form.get("nature", "technology"),
        name_ja=form.get("name_ja", "").strip(),
        region=form.get("region", "").strip()[:200],
        developer=form.get("developer", "").strip()[:200],
        methodology=form.get("methodology", "").strip()[:200],
    )
    try:
        out = taxonomy.register_project(_db(request), user.actor, new)
    except TansoError as e:
        errors = {PROJECT_FIELD_OF_CODE.get(e.code, "_form"): e.message}
        return _projects_page(request, user, 422, values=form, errors=errors)
    return _projects_page(request, user, notice=t["project_registered"].format(id=out["id"]))


@router.post("/projects")
async def register_project(request: Request) -> Response:
    return await _operator_post(request, _register_project)


# ---------------------------------------------------------------- users


def _users_page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = _db(request)
    people = participants.list_participants(db, user.actor)
    everyone = [u for p in people for u in users.list_users(db, user.actor, p["id"])]
    return _page(
        request,
        "operator_users.html",
        user,
        status,
        people=people,
        everyone=everyone,
        roles=[r.value for r in UserRole],
        locked=UserStatus.LOCKED.value,
        **context,
    )


@router.get("/users", response_class=HTMLResponse)
def users_screen(request: Request) -> Response:
    return _show(request, lambda user: _users_page(request, user))


def _create_user(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _labels(request)
    fields = ("participant", "email", "display_name", "role", "password")
    errors = {f: t["required"] for f in fields if not form.get(f, "").strip()}
    values = {k: v for k, v in form.items() if k != "password"}
    if errors:
        return _users_page(request, user, 422, values=values, errors=errors | {"_form": t["error"]})
    new = NewUser(
        form["participant"], form["email"], form["display_name"], form["role"], form["password"]
    )
    try:
        out = users.create(_db(request), user.actor, new)
    except TansoError as e:
        where = {
            "invalid_email": "email",
            "email_taken": "email",
            "invalid_name": "display_name",
            "unknown_user_role": "role",
            "weak_password": "password",
            "participant_not_found": "participant",
        }.get(e.code, "_form")
        return _users_page(request, user, 422, values=values, errors={where: e.message})
    notice = t["user_created"].format(email=out["email"], pid=out["participant_id"])
    return _users_page(request, user, notice=notice)


@router.post("/users")
async def create_user(request: Request) -> Response:
    return await _operator_post(request, _create_user)


@router.post("/users/{user_id}/unlock")
async def unlock_user(request: Request, user_id: str) -> Response:
    def unlock(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        try:
            out = users.unlock(_db(req), user.actor, user_id)
        except TansoError as e:
            return _users_page(req, user, 404, errors={"_form": e.message})
        notice = _labels(req)["user_unlocked"].format(email=out["email"])
        return _users_page(req, user, notice=notice)

    return await _operator_post(request, unlock)


@router.post("/users/{user_id}/{action}")
async def user_action(request: Request, user_id: str, action: str) -> Response:
    """Change a role, reset a password, turn TOTP off or remove: any participant's user."""

    def act(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _labels(req)
        db = _db(req)
        try:
            target = users.get_user(db, user.actor, user_id)
            done = manage_user(db, user, action, user_id, form, as_user=None)
        except TansoError as e:
            errors = {"_form": e.message, f"u-{user_id}": e.message}
            return _users_page(req, user, refusal_status(e), errors=errors)
        if done is None:
            return _users_page(req, user, 404, errors={"_form": t["not_found_text"]})
        key, reset = done
        role = t.get(f"role_{form.get('role', '')}", "")
        notice = t[key].format(email=target["email"], role=role) if key else ""
        return _users_page(req, user, notice=notice, reset=reset)

    return await _operator_post(request, act)


# ---------------------------------------------------------------- instruments and sessions


def _instruments_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db, x = _db(request), _exchange(request)
    lang = _lang(request)
    markets = []
    for i in xs.list_instruments(db, x):
        try:
            book = x.book(user.actor, i["id"], depth=5)
        except TansoError:
            book = {"phase": "", "bids": [], "asks": []}
        auctions = xs.auction_results(db, i["id"], 1)
        markets.append(
            i
            | {
                "name": i["name_ja" if lang == "ja" else "name_en"],
                "book": book,
                "auction": auctions[0] if auctions else None,
            }
        )
    return _page(
        request,
        "operator_instruments.html",
        user,
        status,
        markets=markets,
        actions=SESSION_ACTIONS,
        **context,
    )


@router.get("/instruments", response_class=HTMLResponse)
def instruments_screen(request: Request) -> Response:
    return _show(request, lambda user: _instruments_page(request, user))


@router.post("/instruments/{instrument}/{action}")
async def session_action(request: Request, instrument: str, action: str) -> Response:
    def act(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        t = _labels(req)
        if action not in SESSION_ACTIONS:
            return _instruments_page(req, user, 404, errors={"_form": t["not_found_text"]})
        try:
            out = _exchange(req).session(user.actor, instrument, action)
        except TansoError as e:
            return _instruments_page(
                req, user, 409, errors={"_form": e.message, f"i-{instrument}": e.message}
            )
        notice = t["session_done"].format(
            instrument=instrument, action=t[f"act_{action}"], state=out.get("state", "")
        )
        results = []
        for a in out.get("auctions", []):
            if a.get("price") is None:
                results.append(t["auction_none"].format(instrument=a["instrument"]))
            else:
                results.append(
                    t["auction_result"].format(
                        instrument=a["instrument"],
                        price=f"¥{a['price']:,}",
                        volume=f"{a['volume']:,}",
                        trades=len(out.get("trades", [])),
                    )
                )
        return _instruments_page(
            req, user, notice=notice, results=results, trades=out.get("trades", [])
        )

    return await _operator_post(request, act)


# ---------------------------------------------------------------- settlement


def _settlement_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = _db(request)
    return _page(
        request,
        "operator_settlement.html",
        user,
        status,
        runs=settlement.runs(db, user.actor, 50),
        failed=settlement.obligations(db, user.actor, "failed", limit=200),
        pending=settlement.obligations(db, user.actor, "pending", limit=200),
        today=dt.datetime.now(xs.JST).date().isoformat(),
        **context,
    )


@router.get("/settlement", response_class=HTMLResponse)
def settlement_screen(request: Request) -> Response:
    return _show(request, lambda user: _settlement_page(request, user))


def _run_settlement(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _labels(request)
    try:
        date = dt.date.fromisoformat(form.get("date", "").strip())
    except ValueError:
        return _settlement_page(
            request, user, 422, values=form, errors={"date": t["not_a_date"], "_form": t["error"]}
        )
    try:
        out = settlement.run(_db(request), user.actor, date)
    except TansoError as e:
        return _settlement_page(request, user, 422, values=form, errors={"date": e.message})
    notice = t["run_done"].format(date=out["date"], settled=out["settled"], failed=out["failed"])
    return _settlement_page(request, user, notice=notice, values=form)


@router.post("/settlement/run")
async def run_settlement(request: Request) -> Response:
    return await _operator_post(request, _run_settlement)


@router.post("/settlement/obligations/{trade_id}/{action}")
async def resolve_obligation(request: Request, trade_id: str, action: str) -> Response:
    def resolve(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        t = _labels(req)
        try:
            out = settlement.resolve(_db(req), user.actor, trade_id, action)
        except TansoError as e:
            return _settlement_page(
                req, user, 409, errors={"_form": e.message, f"o-{trade_id}": e.message}
            )
        status = out.get("status", "settled")
        return _settlement_page(
            req, user, notice=t["resolved"].format(trade=trade_id, status=status)
        )

    return await _operator_post(request, resolve)


# ---------------------------------------------------------------- issuance


def _issuance_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = _db(request)
    accounts = [a for a in participants.list_accounts(db, user.actor) if a["kind"] == "holding"]
    return _page(
        request,
        "operator_issuance.html",
        user,
        status,
        projects=taxonomy.list_projects(db),
        credit_types=taxonomy.list_terms(db, "credit_type"),
        accounts=accounts,
        issuances=list(reversed(registry.list_issuances(db)))[:200],
        **context,
    )


@router.get("/issuance", response_class=HTMLResponse)
def issuance_screen(request: Request) -> Response:
    return _show(request, lambda user: _issuance_page(request, user))


def _issue(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _labels(request)
    errors: dict[str, str] = {}
    for name in ("project", "credit_type", "round", "account"):
        if not form.get(name, "").strip():
            errors[name] = t["required"]
    vintage = _whole(form, "vintage", t, errors)
    qty = _whole(form, "qty", t, errors)
    if errors:
        return _issuance_page(
            request, user, 422, values=form, errors=errors | {"_form": t["error"]}
        )
    new = registry.NewIssuance(
        project_id=form["project"],
        credit_type=form["credit_type"],
        round=form["round"].strip(),
        vintage=vintage,
        quantity=qty,
        account_id=form["account"],
    )
    try:
        out = registry.issue(_db(request), user.actor, new)
    except TansoError as e:
        fields = ("project", "credit_type", "round", "vintage", "qty", "account")
        where = field_for(e.code, fields)
        if where == "_form":
            where = next((f for f in fields if f in e.code), "_form")
        if e.code == "issuance_exists":
            where = "round"
        return _issuance_page(request, user, 422, values=form, errors={where: e.message})
    notice = t["issued"].format(
        qty=f"{out['quantity']:,}", id=out["issuance_id"], account=out["account_id"]
    )
    return _issuance_page(request, user, notice=notice)


@router.post("/issuance")
async def issue(request: Request) -> Response:
    return await _operator_post(request, _issue)


# ---------------------------------------------------------------- fee schedules


def _fees_page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = _db(request)
    return _page(
        request,
        "operator_fees.html",
        user,
        status,
        fees=settlement.list_fees(db),
        instruments=xs.list_instruments(db),
        **context,
    )


@router.get("/fees", response_class=HTMLResponse)
def fees_screen(request: Request) -> Response:
    return _show(request, lambda user: _fees_page(request, user))


def _set_fees(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _labels(request)
    errors: dict[str, str] = {}
    instrument = form.get("instrument", "")
    if not instrument:
        errors["instrument"] = t["choose"]
    side = form.get("side", "")
    if side not in ("buy", "sell"):
        errors["side"] = t["choose"]
    amounts = {
        name: _whole(form, name, t, errors)
        for name in ("per_tonne", "bps", "per_trade", "late_charge")
    }
    if not errors:
        try:
            schedule = FeeSchedule(**amounts)
        except TansoError as e:
            name = next((n for n in amounts if n in e.message), "_form")
            errors[name] = e.message
    if errors:
        return _fees_page(request, user, 422, values=form, errors=errors | {"_form": t["error"]})
    try:
        settlement.set_fees(_db(request), user.actor, instrument, side, schedule)
    except TansoError as e:
        where = field_for(e.code, ("instrument", "side"))
        return _fees_page(request, user, 422, values=form, errors={where: e.message})
    notice = t["fees_set"].format(instrument=instrument, side=t[side])
    return _fees_page(request, user, notice=notice)


@router.post("/fees")
async def set_fees(request: Request) -> Response:
    return await _operator_post(request, _set_fees)


# ---------------------------------------------------------------- journal


def _payload(text: str) -> str:
    try:
        pretty = json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
    except ValueError:
        pretty = text
    return pretty if len(pretty) <= 600 else pretty[:600] + " …"


AUTO_VERIFY_ENTRIES = 20_000
"""Up to this many entries the journal screen verifies by itself when the journal has grown
since the last verification; above it, only when asked ("Verify now"): a full fold of a large
journal is not for every page view."""


def _audit_status(request: Request, head_seq: int, head_hash: str | None) -> dict[str, Any]:
    """The last verification (kept per server process), made anew when asked, or when the
    journal has grown and is small enough; with how many entries came since."""
    state = request.app.state
    last: dict[str, Any] | None = getattr(state, "portal_audit", None)
    asked = request.query_params.get("verify") == "1"
    current = last is not None and last["seq"] == head_seq and last["hash"] == head_hash
    if asked or (not current and head_seq <= AUTO_VERIFY_ENTRIES):
        report = audit.verify(_db(request))
        last = {
            "seq": head_seq,
            "hash": head_hash,
            "report": report.as_dict(),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        state.portal_audit = last
    if last is None:
        return {"report": None, "since": head_seq, "at": None}
    return {"report": last["report"], "since": head_seq - last["seq"], "at": last["at"]}


def _query_number(request: Request, name: str) -> int | None:
    try:
        value = _int(request.query_params.get(name))
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


@router.get("/journal", response_class=HTMLResponse)
def journal_screen(request: Request) -> Response:
    def page(user: PortalUser) -> Response:
        db = _db(request)
        q = request.query_params
        filters = {
            "kind": q.get("kind", "")[:64],
            "actor": q.get("actor", "")[:200],
            "from": q.get("from", ""),
            "to": q.get("to", ""),
        }
        with db.read() as conn:
            head = repo.journal_head(conn)
        last = int(head.seq) if head is not None else 0
        found = journal_search.entries(
            db,
            user.actor,
            kind=filters["kind"],
            actor_text=filters["actor"],
            seq_from=_query_number(request, "from"),
            seq_to=_query_number(request, "to"),
            before=_query_number(request, "before"),
            limit=JOURNAL_PAGE,
        )
        entries = [
            {
                "seq": r.seq,
                "at": r.at,
                "kind": r.kind,
                "actor": r.actor,
                "payload": _payload(r.payload),
                "hash": r.hash,
            }
            for r in found["entries"]
        ]
        kept = {k: v for k, v in filters.items() if v}

        def link(before: int | None) -> str | None:
            if before is None:
                return None
            return "/portal/operator/journal?" + urlencode({"before": before} | kept)

        return _page(
            request,
            "operator_journal.html",
            user,
            entries=entries,
            audit_status=_audit_status(request, last, head.hash if head is not None else None),
            filters=filters,
            older=link(found["older"]),
            newer=link(found["newer"]),
            latest="before" in q,
            latest_link="/portal/operator/journal" + ("?" + urlencode(kept) if kept else ""),
            verify_link="/portal/operator/journal?" + urlencode({"verify": 1} | kept),
        )

    return _show(request, page)
