"""The participant portal (issue 6): people log in and see and act for their own participant.

Each handler finds the session's user (`tanso_session` cookie), checks the form's CSRF token on
every POST, checks the user's capability, and only then calls one service with the user's
actor. Accounts and orders are looked up among the user's own participant's, so another
participant's ids answer exactly like missing ones. The handlers never write SQL; the services
refuse anything the actor may not do, a second line behind these checks. See docs/portal.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import WebSocketRoute

from tanso.domain.errors import InvalidInput, NotFound, TansoError
from tanso.services.access import access_log, users
from tanso.services.access.users import Capability, NewUser, PortalUser, UserRole
from tanso.services.clearing import settlement
from tanso.services.common import Actor
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.marketdata.stream import Feed
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store.db import Database
from tanso.web import render
from tanso.web.pages import LANG_COOKIE, Lang, choose_lang, jst

SESSION_COOKIE = "tanso_session"
LOGIN_CSRF_COOKIE = "tanso_login_csrf"
MAX_FORM = 64 * 1024

router = APIRouter(prefix="/portal", include_in_schema=False)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "site": "Tanso",
        "portal": "Participant portal",
        "skip": "Skip to the content",
        "nav": "Portal menu",
        "home": "Accounts",
        "orders": "Orders",
        "retire": "Retire",
        "security": "Security",
        "logout": "Log out",
        "prices": "Public prices",
        "login": "Log in",
        "email": "Email",
        "password": "Password",
        "totp_title": "Second factor",
        "totp_code": "6-digit code from your authenticator app",
        "verify": "Verify",
        "bad_login": "The email or password is wrong.",
        "locked": "This user is locked after repeated failed logins. "
        "Ask your administrator or the operator to unlock it.",
        "bad_code": "The code is wrong or has expired.",
        "signed_in_as": "Logged in as",
        "role_viewer": "viewer",
        "role_trader": "trader",
        "role_account_manager": "account manager",
        "role_administrator": "administrator",
        "accounts": "Holding accounts",
        "account": "Account",
        "name": "Name",
        "credits": "Credits (t)",
        "cash": "Cash",
        "balance": "Balance",
        "reserved": "Reserved",
        "available": "Available",
        "no_accounts": "No accounts.",
        "holdings": "Holdings",
        "by_scheme": "By scheme",
        "by_category": "By category",
        "by_vintage": "By vintage",
        "by_status": "By status",
        "blocks": "Blocks and serial ranges",
        "serials": "Serial range",
        "scheme": "Scheme",
        "category": "Category",
        "vintage": "Vintage",
        "status": "Status",
        "quantity": "Quantity (t)",
        "no_blocks": "This account holds no credits.",
        "not_found": "Not found",
        "not_found_text": "There is no such page or it is not yours.",
        "forbidden": "Not allowed",
        "csrf_failed": "The form expired or did not come from this portal. Nothing was changed; "
        "go back, reload the page and try again.",
        "no_permission": "Your role does not allow this.",
        "place_order": "Place an order",
        "instrument": "Instrument",
        "side": "Side",
        "buy": "Buy",
        "sell": "Sell",
        "price": "Price (¥/t)",
        "qty": "Quantity (t)",
        "submit_order": "Place order",
        "book": "Book depth",
        "bids": "Bids",
        "asks": "Offers",
        "orders_n": "Orders",
        "no_levels": "Empty",
        "last_auction": "Latest call auction",
        "open_orders": "Open orders",
        "no_open_orders": "No open orders.",
        "order": "Order",
        "remaining": "Remaining",
        "placed": "Placed (JST)",
        "cancel": "Cancel",
        "order_placed": "Order {id} placed: {status}.",
        "order_cancelled": "Order {id} cancelled.",
        "no_instruments": "No instruments are listed yet.",
        "retire_title": "Retire credits (無効化)",
        "retire_help": "Give a quantity (oldest vintage first) or a serial range.",
        "serials_field": "Serial range (optional)",
        "purpose": "Purpose",
        "beneficiary": "Beneficiary (optional)",
        "year": "Reporting year (optional)",
        "submit_retire": "Retire",
        "retired": "Retired {qty} t as {id}.",
        "lookup": "Certificate (public verification page)",
        "retirements": "Retirements",
        "no_retirements": "No retirements yet.",
        "security_title": "Two-step login (TOTP)",
        "totp_on": "Two-step login is on.",
        "totp_enrol": "Add this key to your authenticator app, then enter the code it shows.",
        "totp_secret": "Key",
        "totp_uri": "Setup link",
        "enable": "Turn on",
        "totp_enabled_now": "Two-step login is now on.",
        "required": "Required.",
        "whole_number": "Give a whole number.",
        "error": "Please correct the errors below.",
        "footer": "Tanso carbon credit exchange. Times in Japan Standard Time.",
    },
    "ja": {
        "site": "Tanso",
        "portal": "参加者ポータル",
        "skip": "本文へ移動",
        "nav": "ポータルメニュー",
        "home": "口座",
        "orders": "注文",
        "retire": "無効化",
        "security": "セキュリティ",
        "logout": "ログアウト",
        "prices": "公開価格",
        "login": "ログイン",
        "email": "メールアドレス",
        "password": "パスワード",
        "totp_title": "二段階認証",
        "totp_code": "認証アプリの 6 桁のコード",
        "verify": "確認",
        "bad_login": "メールアドレスまたはパスワードが正しくありません。",
        "locked": "ログインの失敗が続いたため、このユーザーはロックされています。"
        "管理者または運営者にロック解除を依頼してください。",
        "bad_code": "コードが正しくないか、有効期限切れです。",
        "signed_in_as": "ログイン中",
        "role_viewer": "閲覧者",
        "role_trader": "トレーダー",
        "role_account_manager": "口座管理者",
        "role_administrator": "管理者",
        "accounts": "保有口座",
        "account": "口座",
        "name": "名称",
        "credits": "クレジット (t)",
        "cash": "資金",
        "balance": "残高",
        "reserved": "拘束中",
        "available": "利用可能",
        "no_accounts": "口座がありません。",
        "holdings": "保有",
        "by_scheme": "制度別",
        "by_category": "区分別",
        "by_vintage": "ヴィンテージ別",
        "by_status": "状態別",
        "blocks": "ブロックとシリアル番号",
        "serials": "シリアル番号",
        "scheme": "制度",
        "category": "区分",
        "vintage": "ヴィンテージ",
        "status": "状態",
        "quantity": "数量 (t)",
        "no_blocks": "この口座にクレジットはありません。",
        "not_found": "見つかりません",
        "not_found_text": "そのページは存在しないか、閲覧できません。",
        "forbidden": "許可されていません",
        "csrf_failed": "フォームの有効期限が切れたか、このポータルからの送信ではありません。"
        "何も変更されていません。ページを再読み込みしてやり直してください。",
        "no_permission": "あなたの役割ではこの操作はできません。",
        "place_order": "注文入力",
        "instrument": "売買区分",
        "side": "売買",
        "buy": "買い",
        "sell": "売り",
        "price": "価格 (円/t)",
        "qty": "数量 (t)",
        "submit_order": "発注",
        "book": "板情報",
        "bids": "買い気配",
        "asks": "売り気配",
        "orders_n": "件数",
        "no_levels": "なし",
        "last_auction": "直近の板寄せ",
        "open_orders": "未約定の注文",
        "no_open_orders": "未約定の注文はありません。",
        "order": "注文",
        "remaining": "未約定数量",
        "placed": "発注時刻 (JST)",
        "cancel": "取消",
        "order_placed": "注文 {id} を受け付けました: {status}。",
        "order_cancelled": "注文 {id} を取り消しました。",
        "no_instruments": "上場されている売買区分はまだありません。",
        "retire_title": "クレジットの無効化",
        "retire_help": "数量 (古いヴィンテージから) またはシリアル番号を指定してください。",
        "serials_field": "シリアル番号 (任意)",
        "purpose": "目的",
        "beneficiary": "受益者 (任意)",
        "year": "報告年度 (任意)",
        "submit_retire": "無効化する",
        "retired": "{qty} t を無効化しました ({id})。",
        "lookup": "無効化証明書（公開の検証ページ）",
        "retirements": "無効化の履歴",
        "no_retirements": "無効化はまだありません。",
        "security_title": "二段階認証 (TOTP)",
        "totp_on": "二段階認証は有効です。",
        "totp_enrol": "このキーを認証アプリに登録し、表示されたコードを入力してください。",
        "totp_secret": "キー",
        "totp_uri": "設定用リンク",
        "enable": "有効にする",
        "totp_enabled_now": "二段階認証を有効にしました。",
        "required": "入力してください。",
        "whole_number": "整数で入力してください。",
        "error": "以下の項目を確認してください。",
        "footer": "Tanso カーボン・クレジット取引所。時刻は日本時間。",
    },
}

MORE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "transfer": "Transfer",
        "transfer_title": "Transfer between own accounts",
        "transfer_help": "Give a quantity (oldest vintage first) or a serial range.",
        "from_account": "From account",
        "to_account": "To account",
        "submit_transfer": "Transfer",
        "transferred": "Transferred {qty} t from {src} to {dst} ({id}).",
        "ranges": "Serial ranges",
        "trades": "Trades",
        "trades_title": "Trades and settlement",
        "trade": "Trade",
        "trade_date": "Trade date",
        "settlement_date": "Settlement date",
        "settlement_status": "Settlement",
        "value": "Value (¥)",
        "at": "Time (JST)",
        "no_trades": "No trades yet.",
        "obligations": "Settlement obligations",
        "due_date": "Due",
        "amount": "Amount (¥)",
        "fee": "Fee (¥)",
        "serials_received": "Serials received",
        "reason": "Reason",
        "no_obligations": "No settlement obligations.",
        "st_pending": "pending",
        "st_settled": "settled",
        "st_failed": "failed",
        "st_cancelled": "cancelled",
        "amend": "Amend",
        "amend_title": "Amend order {id}",
        "amend_help": "Give a new quantity, a new price, or both. A smaller quantity keeps "
        "time priority; anything else loses it.",
        "new_qty": "New quantity (t)",
        "new_price": "New price (¥/t)",
        "submit_amend": "Amend order",
        "order_amended": "Order {id} amended: {qty} t at {price}.",
        "notices": "Retirement notices",
        "notices_nav": "Notices",
        "operator_nav": "Operator screens",
        "marketplace_nav": "Marketplace",
        "emissions_scope": "Offsets emissions of (for the usage rules)",
        "scope_none": "— (not an offset of own emissions)",
        "scope3_category": "Scope 3 category (1-15, optional)",
        "auctions_nav": "Auctions",
        "emissions_nav": "Emissions",
        "claims_nav": "Claims",
        "notice_title": "Retirement notice {id}",
        "retired_at": "Retired (JST)",
        "retired_by": "Retired by",
        "purposes": "Purposes",
        "journal_entry": "Journal entry",
        "cash_title": "Cash balance and movements",
        "movements": "Movements",
        "counterparty": "Counterparty",
        "memo": "Memo",
        "entry": "Entry",
        "no_movements": "No movements yet.",
        "cp_bank": "bank",
        "cp_fees": "exchange fees",
        "cp_market": "trade counterparty",
        "api_keys": "API keys",
        "keys_title": "API keys for programs",
        "key": "Key",
        "label": "Label",
        "roles": "Roles",
        "roles_help": "None ticked: all of the participant's roles.",
        "created": "Created (JST)",
        "revoked": "Revoked (JST)",
        "revoke": "Revoke",
        "create_key": "Create a key",
        "submit_key": "Create key",
        "key_created": "Key {id} created. Copy it now: it is shown only this once.",
        "key_revoked": "Key {id} revoked.",
        "no_keys": "No API keys.",
        "users": "Users",
        "users_title": "Users of {pid}",
        "user": "User",
        "display_name": "Name",
        "role": "Role",
        "totp": "Two-step",
        "create_user": "Create a user",
        "submit_user": "Create user",
        "user_created": "User {email} created.",
        "unlock": "Unlock",
        "user_unlocked": "User {email} unlocked.",
        "us_active": "active",
        "us_locked": "locked",
        "yes": "yes",
        "no": "no",
        "password_help": "12 to 1,024 characters.",
    },
    "ja": {
        "transfer": "振替",
        "transfer_title": "自社口座間の振替",
        "transfer_help": "数量 (古いヴィンテージから) またはシリアル番号を指定してください。",
        "from_account": "振替元口座",
        "to_account": "振替先口座",
        "submit_transfer": "振替する",
        "transferred": "{qty} t を {src} から {dst} へ振り替えました ({id})。",
        "ranges": "シリアル番号",
        "trades": "約定",
        "trades_title": "約定と決済",
        "trade": "約定",
        "trade_date": "約定日",
        "settlement_date": "決済日",
        "settlement_status": "決済",
        "value": "約定代金 (円)",
        "at": "時刻 (JST)",
        "no_trades": "約定はまだありません。",
        "obligations": "決済債務",
        "due_date": "期日",
        "amount": "金額 (円)",
        "fee": "手数料 (円)",
        "serials_received": "受領したシリアル番号",
        "reason": "理由",
        "no_obligations": "決済債務はありません。",
        "st_pending": "未決済",
        "st_settled": "決済済",
        "st_failed": "決済不履行",
        "st_cancelled": "取消",
        "amend": "訂正",
        "amend_title": "注文 {id} の訂正",
        "amend_help": "新しい数量、価格、またはその両方を指定してください。数量の減少のみ時間優先が"
        "維持され、それ以外は失われます。",
        "new_qty": "新しい数量 (t)",
        "new_price": "新しい価格 (円/t)",
        "submit_amend": "訂正する",
        "order_amended": "注文 {id} を訂正しました: {qty} t、{price}。",
        "notices": "無効化通知",
        "notices_nav": "無効化通知",
        "operator_nav": "運営者画面",
        "marketplace_nav": "マーケットプレイス",
        "emissions_scope": "オフセットする排出量（利用ルールの判定用）",
        "scope_none": "—（自社排出のオフセットではない）",
        "scope3_category": "スコープ3のカテゴリ（1〜15、任意）",
        "auctions_nav": "入札",
        "emissions_nav": "排出量",
        "claims_nav": "オフセット主張",
        "notice_title": "無効化通知 {id}",
        "retired_at": "無効化日時 (JST)",
        "retired_by": "無効化した者",
        "purposes": "目的",
        "journal_entry": "台帳記録",
        "cash_title": "資金残高と入出金",
        "movements": "入出金",
        "counterparty": "相手方",
        "memo": "摘要",
        "entry": "記録",
        "no_movements": "入出金はまだありません。",
        "cp_bank": "銀行",
        "cp_fees": "取引所手数料",
        "cp_market": "約定の相手方",
        "api_keys": "API キー",
        "keys_title": "プログラム用の API キー",
        "key": "キー",
        "label": "ラベル",
        "roles": "役割",
        "roles_help": "未選択の場合は参加者のすべての役割。",
        "created": "作成日時 (JST)",
        "revoked": "失効日時 (JST)",
        "revoke": "失効",
        "create_key": "キーの作成",
        "submit_key": "キーを作成",
        "key_created": "キー {id} を作成しました。今すぐコピーしてください。"
        "表示はこの一度だけです。",
        "key_revoked": "キー {id} を失効させました。",
        "no_keys": "API キーはありません。",
        "users": "ユーザー",
        "users_title": "{pid} のユーザー",
        "user": "ユーザー",
        "display_name": "氏名",
        "role": "役割",
        "totp": "二段階認証",
        "create_user": "ユーザーの作成",
        "submit_user": "ユーザーを作成",
        "user_created": "ユーザー {email} を作成しました。",
        "unlock": "ロック解除",
        "user_unlocked": "ユーザー {email} のロックを解除しました。",
        "us_active": "有効",
        "us_locked": "ロック中",
        "yes": "はい",
        "no": "いいえ",
        "password_help": "12〜1,024 文字。",
    },
}
USER_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "actions": "Actions",
        "change_role": "Change role",
        "reset_password": "Reset password",
        "totp_off": "Turn two-step off",
        "remove_user": "Remove",
        "us_removed": "removed",
        "older_page": "Older",
        "newer_page": "Newer",
        "pages": "Pages",
        "past_transfers": "Past transfers",
        "no_transfers": "No transfers yet.",
        "open_account": "Open another holding account",
        "account_name": "Account name",
        "submit_account": "Open account",
        "account_opened": "Account {id} ({name}) opened.",
        "role_changed": "{email} is now {role}.",
        "totp_turned_off": "Two-step login of {email} turned off.",
        "user_removed": "User {email} removed: it can no longer log in.",
        "new_password_for": "New password for {email}",
        "new_password_help": "Shown only this once: give it to the person over a safe channel. "
        "Their sessions were ended.",
    },
    "ja": {
        "actions": "操作",
        "change_role": "役割を変更",
        "reset_password": "パスワードを再設定",
        "totp_off": "二段階認証を解除",
        "remove_user": "削除",
        "us_removed": "削除済",
        "older_page": "より古い",
        "newer_page": "より新しい",
        "pages": "ページ",
        "past_transfers": "振替の履歴",
        "no_transfers": "振替はまだありません。",
        "open_account": "保有口座の追加開設",
        "account_name": "口座名",
        "submit_account": "口座を開設",
        "account_opened": "口座 {id} ({name}) を開設しました。",
        "role_changed": "{email} の役割を {role} に変更しました。",
        "totp_turned_off": "{email} の二段階認証を解除しました。",
        "user_removed": "ユーザー {email} を削除しました。今後ログインできません。",
        "new_password_for": "{email} の新しいパスワード",
        "new_password_help": "表示はこの一度だけです。安全な方法で本人に伝えてください。"
        "このユーザーのセッションは終了しました。",
    },
}
for _lang_code in LABELS:
    LABELS[_lang_code] |= MORE_LABELS[_lang_code] | USER_LABELS[_lang_code]

# which form field a service's refusal belongs next to, by words in its code
FIELD_OF_CODE = (
    ("same_account", "to_account"),
    ("nothing_to_amend", "qty"),
    ("email", "email"),
    ("password", "password"),
    ("invalid_name", "display_name"),
    ("user_role", "role"),
    ("administrator", "role"),
    ("role_not_held", "roles"),
    ("label", "label"),
    ("serial", "serials"),
    ("purpose", "purpose"),
    ("beneficiary", "beneficiary"),
    ("scope", "scope"),
    ("reporting_year", "year"),
    ("price", "price"),
    ("tick", "price"),
    ("limit", "price"),
    ("insufficient", "qty"),
    ("qty", "qty"),
    ("quantity", "qty"),
    ("lot", "qty"),
    ("account", "account"),
    ("instrument", "instrument"),
    ("side", "side"),
)


def field_for(code: str, fields: tuple[str, ...]) -> str:
    for word, name in FIELD_OF_CODE:
        if word in code and name in fields:
            return name
    return "_form"


# ---------------------------------------------------------------- plumbing


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _exchange(request: Request) -> Exchange:
    x: Exchange = request.app.state.exchange
    return x


def _lang(request: Request) -> Lang:
    return choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form as single values (the first of repeats), size-limited."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _page(
    request: Request,
    template: str,
    status: int = 200,
    user: PortalUser | None = None,
    labels: dict[str, dict[str, str]] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = _lang(request)
    html = render(
        template,
        lang=lang,
        t=LABELS[lang] | (labels[lang] if labels else {}),
        user=user,
        path=request.url.path,
        jst=jst,
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


def _set_session(request: Request, response: Response, token: str) -> None:
    # Secure only over https, so the tests' plain-http servers work (docs/portal.md)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )


def _current(request: Request) -> PortalUser | None:
    user = users.session_user(_db(request), request.cookies.get(SESSION_COOKIE))
    info = access_log.current_request.get()
    if user is not None and info is not None:  # the request's log line names the user
        info.user_id, info.participant_id = user.id, user.participant_id
    return user


def _to_login() -> RedirectResponse:
    return RedirectResponse("/portal/login", status_code=303)


def _not_found(request: Request, user: PortalUser) -> HTMLResponse:
    return _page(
        request, "portal_message.html", 404, user, title_key="not_found", text_key="not_found_text"
    )


def _forbidden(request: Request, user: PortalUser | None, text_key: str) -> HTMLResponse:
    return _page(
        request, "portal_message.html", 403, user, title_key="forbidden", text_key=text_key
    )


Handler = Callable[[Request, PortalUser, dict[str, str]], Response]


async def _post(request: Request, handler: Handler, capability: Capability | None) -> Response:
    """Every POST: a live session, the session's CSRF token, then the user's capability."""
    user = _current(request)
    if user is None:
        return _to_login()
    form = await _form(request)
    if not users.csrf_matches(user, form.get("csrf")):
        return _forbidden(request, user, "csrf_failed")
    if capability is not None and not user.can(capability):
        return _forbidden(request, user, "no_permission")
    return handler(request, user, form)


def _own_accounts(db: Database, user: PortalUser) -> list[dict[str, Any]]:
    """The user's participant's holding accounts (an operator's user too sees only its own)."""
    return [
        a
        for a in participants.list_accounts(db, user.actor, user.participant_id)
        if a["participant_id"] == user.participant_id and a["kind"] == "holding"
    ]


def _reader(user: PortalUser) -> Actor:
    """The user's participant with no roles: reads scoped to it even for an operator's user
    (services answer an operator with everyone's rows)."""
    return Actor(user.participant_id)


def _int(value: str | None) -> int | None:
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise ValueError(text)
    return int(text)


PAGE = 50
"""Rows on one page of a long list (trades, notices, transfers, cash movements)."""
MAX_PAGE = 200


def _query_int(request: Request, name: str) -> int | None:
    try:
        value = _int(request.query_params.get(name))
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def _limit(request: Request) -> int:
    return max(1, min(_query_int(request, "limit") or PAGE, MAX_PAGE))


def _link(request: Request, **changes: int | None) -> str:
    """This page's URL with the paging parameters replaced (others, like the account, kept)."""
    params = {
        k: v
        for k, v in request.query_params.items()
        if k not in ("offset", "before", "after", "lang")
    }
    params |= {k: str(v) for k, v in changes.items() if v is not None}
    return request.url.path + ("?" + urlencode(params) if params else "")


def _offset_page(
    request: Request, fetch: Callable[[int], list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """One page, newest first, of a list whose service returns the newest ``n`` rows: the rows
    and the links to the older and the newer page."""
    offset, limit = _query_int(request, "offset") or 0, _limit(request)
    rows = fetch(offset + limit + 1)
    older = _link(request, offset=offset + limit) if len(rows) > offset + limit else None
    newer = _link(request, offset=max(0, offset - limit) or None) if offset > 0 else None
    return rows[offset : offset + limit], older, newer


def _cursor_links(request: Request, page: dict[str, Any]) -> tuple[str | None, str | None]:
    older = _link(request, before=page["older"]) if page["older"] is not None else None
    newer = _link(request, after=page["newer"]) if page["newer"] is not None else None
    return older, newer


# ---------------------------------------------------------------- login and logout


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    if _current(request) is not None:
        return RedirectResponse("/portal", status_code=303)
    return _login_page(request, {}, {}, 200)


def _login_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = _page(request, "portal_login.html", status, values=values, errors=errors, csrf=token)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        return _forbidden(request, None, "csrf_failed")
    lang = LABELS[_lang(request)]
    email, password = form.get("email", ""), form.get("password", "")
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = lang["required"]
    if not password:
        errors["password"] = lang["required"]
    if errors:
        return _login_page(request, {"email": email}, errors, 422)
    result = users.login(_db(request), email, password)
    if result.outcome in ("ok", "totp_required") and result.token:
        target = "/portal" if result.outcome == "ok" else "/portal/login/totp"
        response = RedirectResponse(target, status_code=303)
        _set_session(request, response, result.token)
        return response
    key = "locked" if result.outcome == "locked" else "bad_login"
    return _login_page(request, {"email": email}, {"_form": lang[key]}, 401)


@router.get("/login/totp", response_class=HTMLResponse)
def totp_form(request: Request) -> Response:
    pending = users.session_user(_db(request), request.cookies.get(SESSION_COOKIE), pending=True)
    if pending is None:
        return _to_login()
    return _page(request, "portal_totp.html", errors={}, csrf=pending.csrf_token)


@router.post("/login/totp")
async def totp_verify(request: Request) -> Response:
    db = _db(request)
    token = request.cookies.get(SESSION_COOKIE)
    pending = users.session_user(db, token, pending=True)
    if pending is None or token is None:
        return _to_login()
    form = await _form(request)
    if not users.csrf_matches(pending, form.get("csrf")):
        return _forbidden(request, None, "csrf_failed")
    result = users.verify_totp(db, token, form.get("code", ""))
    if result.outcome == "ok" and result.token:
        response = RedirectResponse("/portal", status_code=303)
        _set_session(request, response, result.token)
        return response
    lang = LABELS[_lang(request)]
    if result.outcome == "invalid" and result.token:
        errors = {"code": lang["bad_code"]}
        return _page(request, "portal_totp.html", 401, errors=errors, csrf=pending.csrf_token)
    key = "locked" if result.outcome == "locked" else "bad_login"
    return _login_page(request, {}, {"_form": lang[key]}, 401)


@router.post("/logout")
async def logout(request: Request) -> Response:
    def done(req: Request, _user: PortalUser, _form: dict[str, str]) -> Response:
        users.logout(_db(req), req.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/portal/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return await _post(request, done, None)


# ---------------------------------------------------------------- home and holdings


def _home_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    accounts = []
    for a in _own_accounts(db, user):
        h = registry.holdings(db, user.actor, a["id"], limit=1)
        accounts.append(a | {"total": h["total"]})
    balances = cash.balances(db, user.actor, user.participant_id)
    return _page(
        request,
        "portal_home.html",
        status,
        user,
        accounts=accounts,
        balances=balances,
        values=values or {},
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token,
    )


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    return _home_page(request, user)


def _open_account(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = LABELS[_lang(request)]
    name = form.get("name", "").strip()
    if not name:
        errors = {"name": t["required"], "_form": t["error"]}
        return _home_page(request, user, form, errors, status=422)
    try:
        out = participants.open_account(_db(request), user.actor, name, user.participant_id)
    except TansoError as e:
        where = "name" if e.code == "invalid_name" else "_form"
        return _home_page(request, user, form, {where: e.message}, status=_refusal_status(e))
    notice = t["account_opened"].format(id=out["id"], name=out["name"])
    return _home_page(request, user, notice=notice)


@router.post("/accounts")
async def open_account(request: Request) -> Response:
    return await _post(request, _open_account, Capability.MOVE_CREDITS)


@router.get("/holdings/{account_id}", response_class=HTMLResponse)
def holdings(request: Request, account_id: str) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    db = _db(request)
    if account_id not in {a["id"] for a in _own_accounts(db, user)}:
        return _not_found(request, user)
    h = registry.holdings(db, user.actor, account_id, limit=10_000)
    return _page(request, "portal_holdings.html", user=user, h=h)


# ---------------------------------------------------------------- orders


def _orders_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db, x = _db(request), _exchange(request)
    instruments = xs.list_instruments(db, x)
    lang = _lang(request)
    markets = []
    for i in instruments:
        try:
            book = x.book(user.actor, i["id"], depth=5)
        except TansoError:
            book = {"bids": [], "asks": []}
        auctions = xs.auction_results(db, i["id"], 1)
        name = i["name_ja" if lang == "ja" else "name_en"]
        markets.append(
            {
                "id": i["id"],
                "name": name,
                "book": book,
                "auction": auctions[0] if auctions else None,
            }
        )
    open_orders = [
        o
        for o in xs.own_orders(db, user.actor, "open", 200)
        if o["participant_id"] == user.participant_id
    ]
    return _page(
        request,
        "portal_orders.html",
        status,
        user,
        markets=markets,
        open_orders=open_orders,
        accounts=_own_accounts(db, user),
        values=values or {},
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token,
    )


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    return _orders_page(
        request, user, values={"instrument": request.query_params.get("instrument", "")}
    )


def _place(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = LABELS[_lang(request)]
    db = _db(request)
    fields = ("instrument", "side", "qty", "price", "account")
    errors: dict[str, str] = {}
    instrument = form.get("instrument", "")
    if instrument not in {i["id"] for i in xs.list_instruments(db)}:
        errors["instrument"] = t["required"]
    side = form.get("side", "")
    if side not in ("buy", "sell"):
        errors["side"] = t["required"]
    account = form.get("account", "")
    if account not in {a["id"] for a in _own_accounts(db, user)}:
        errors["account"] = t["required"]
    qty = price = None
    for name in ("qty", "price"):
        try:
            value = _int(form.get(name))
        except ValueError:
            errors[name] = t["whole_number"]
            continue
        if value is None:
            errors[name] = t["required"]
        elif name == "qty":
            qty = value
        else:
            price = value
    if errors or qty is None or price is None:
        return _orders_page(request, user, form, errors | {"_form": t["error"]}, status=422)
    try:
        out = _exchange(request).place(
            user.actor,
            NewOrder(instrument=instrument, side=side, qty=qty, price=price, account_id=account),
        )
    except TansoError as e:
        where = field_for(e.code, fields)
        return _orders_page(request, user, form, {where: e.message}, status=422)
    notice = t["order_placed"].format(id=out.get("id", ""), status=out.get("status", ""))
    return _orders_page(request, user, {"instrument": instrument}, notice=notice)


@router.post("/orders")
async def place_order(request: Request) -> Response:
    return await _post(request, _place, Capability.TRADE)


@router.post("/orders/{order_id}/cancel")
async def cancel_order(request: Request, order_id: str) -> Response:
    def cancel(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        try:
            order = xs.get_order(_db(req), user.actor, order_id)
        except TansoError:
            return _not_found(req, user)
        if order["participant_id"] != user.participant_id:
            return _not_found(req, user)
        try:
            _exchange(req).cancel(user.actor, order_id)
        except TansoError as e:
            return _orders_page(req, user, errors={"_form": e.message}, status=409)
        t = LABELS[_lang(req)]
        return _orders_page(req, user, notice=t["order_cancelled"].format(id=order_id))

    return await _post(request, cancel, Capability.TRADE)


# ---------------------------------------------------------------- retirement


def _retire_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    lang = _lang(request)
    purposes = [
        {"code": p["code"], "name": p["name_ja" if lang == "ja" else "name_en"]}
        for p in taxonomy.list_terms(db, "purpose")
    ]
    retirements = registry.list_retirements(db, _reader(user), 50)
    return _page(
        request,
        "portal_retire.html",
        status,
        user,
        accounts=_own_accounts(db, user),
        purposes=purposes,
        retirements=retirements,
        values=values or {},
        errors=errors or {},
        done=done,
        csrf=user.csrf_token,
    )


@router.get("/retire", response_class=HTMLResponse)
def retire_form(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    return _retire_page(request, user)


def _retire(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = LABELS[_lang(request)]
    db = _db(request)
    fields = ("account", "qty", "serials", "purpose", "beneficiary", "year", "scope")
    errors: dict[str, str] = {}
    account = form.get("account", "")
    if account not in {a["id"] for a in _own_accounts(db, user)}:
        errors["account"] = t["required"]
    if not form.get("purpose"):
        errors["purpose"] = t["required"]
    numbers: dict[str, int | None] = {}
    for name in ("qty", "year", "scope3_category"):
        try:
            numbers[name] = _int(form.get(name))
        except ValueError:
            errors[name] = t["whole_number"]
    scope = form.get("scope", "") or None
    if scope not in (None, "1", "2", "3"):
        errors["scope"] = t["required"]
    serials = form.get("serials", "").strip() or None
    if not errors and numbers.get("qty") is None and serials is None:
        errors["qty"] = t["retire_help"]
    if errors:
        return _retire_page(request, user, form, errors | {"_form": t["error"]}, status=422)
    request_ = registry.RetirementRequest(
        account_id=account,
        selection=registry.Selection(quantity=numbers.get("qty"), serials=serials),
        purposes=[form["purpose"]],
        beneficiary=form.get("beneficiary", ""),
        reporting_year=numbers.get("year"),
        emissions_scope=scope,
        scope3_category=numbers.get("scope3_category"),
    )
    try:
        done = registry.retire(db, user.actor, request_)
    except TansoError as e:
        return _retire_page(request, user, form, {field_for(e.code, fields): e.message}, status=422)
    return _retire_page(request, user, done=done)


@router.post("/retire")
async def retire(request: Request) -> Response:
    return await _post(request, _retire, Capability.MOVE_CREDITS)


# ---------------------------------------------------------------- security (TOTP)


@router.get("/security", response_class=HTMLResponse)
def security(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    secret = users.new_totp_secret()
    return _security_page(request, user, secret, {})


def _security_page(
    request: Request,
    user: PortalUser,
    secret: str,
    errors: dict[str, str],
    status: int = 200,
    done: bool = False,
) -> HTMLResponse:
    return _page(
        request,
        "portal_security.html",
        status,
        user,
        secret=secret,
        uri=users.totp_uri(secret, user.email),
        errors=errors,
        done=done,
        csrf=user.csrf_token,
    )


@router.post("/security/totp")
async def enrol_totp(request: Request) -> Response:
    def enrol(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        secret = form.get("secret", "")
        try:
            users.enrol_totp(_db(req), user, secret, form.get("code", ""))
        except TansoError as e:
            return _security_page(req, user, secret, {"code": e.message}, 422)
        return _security_page(req, user, secret, {}, done=True)

    return await _post(request, enrol, None)


# ---------------------------------------------------------------- transfers between own accounts


def _transfer_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    past = registry.list_transfers(
        _db(request),
        _reader(user),
        user.participant_id,
        _limit(request),
        before=_query_int(request, "before"),
        after=_query_int(request, "after"),
    )
    older, newer = _cursor_links(request, past)
    return _page(
        request,
        "portal_transfer.html",
        status,
        user,
        past=past["transfers"],
        older=older,
        newer=newer,
        accounts=_own_accounts(_db(request), user),
        values=values or {},
        errors=errors or {},
        done=done,
        csrf=user.csrf_token,
    )


@router.get("/transfer", response_class=HTMLResponse)
def transfer_form(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    return _transfer_page(request, user)


def _transfer(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = LABELS[_lang(request)]
    db = _db(request)
    fields = ("from_account", "to_account", "qty", "serials")
    own = {a["id"] for a in _own_accounts(db, user)}
    errors: dict[str, str] = {}
    for name in ("from_account", "to_account"):
        if form.get(name, "") not in own:
            errors[name] = t["required"]
    qty: int | None = None
    try:
        qty = _int(form.get("qty"))
    except ValueError:
        errors["qty"] = t["whole_number"]
    serials = form.get("serials", "").strip() or None
    if "qty" not in errors and qty is None and serials is None:
        errors["qty"] = t["transfer_help"]
    if errors:
        return _transfer_page(request, user, form, errors | {"_form": t["error"]}, status=422)
    try:
        done = registry.transfer(
            db,
            user.actor,
            form["from_account"],
            form["to_account"],
            registry.Selection(quantity=qty, serials=serials),
        )
    except TansoError as e:
        where = field_for(e.code, fields)
        return _transfer_page(request, user, form, {where: e.message}, status=422)
    return _transfer_page(request, user, done=done)


@router.post("/transfer")
async def transfer(request: Request) -> Response:
    return await _post(request, _transfer, Capability.MOVE_CREDITS)


# ---------------------------------------------------------------- trades and settlement


@router.get("/trades", response_class=HTMLResponse)
def trades(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    db, reader = _db(request), _reader(user)
    rows, older, newer = _offset_page(request, lambda n: xs.own_trades(db, reader, n))
    return _page(
        request,
        "portal_trades.html",
        user=user,
        trades=rows,
        older=older,
        newer=newer,
        obligations=settlement.obligations(db, reader, limit=200),
    )


# ---------------------------------------------------------------- amend an open order


def _own_open_order(request: Request, user: PortalUser, order_id: str) -> dict[str, Any] | None:
    try:
        order = xs.get_order(_db(request), _reader(user), order_id)
    except TansoError:
        return None
    if order["participant_id"] != user.participant_id or order["status"] != "open":
        return None
    return order


def _amend_page(
    request: Request,
    user: PortalUser,
    order: dict[str, Any],
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "portal_amend.html",
        status,
        user,
        order=order,
        values=values or {},
        errors=errors or {},
        csrf=user.csrf_token,
    )


@router.get("/orders/{order_id}/amend", response_class=HTMLResponse)
def amend_form(request: Request, order_id: str) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    order = _own_open_order(request, user, order_id)
    if order is None:
        return _not_found(request, user)
    if not user.can(Capability.TRADE):
        return _forbidden(request, user, "no_permission")
    return _amend_page(request, user, order)


@router.post("/orders/{order_id}/amend")
async def amend_order(request: Request, order_id: str) -> Response:
    def amend(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = LABELS[_lang(req)]
        order = _own_open_order(req, user, order_id)
        if order is None:
            return _not_found(req, user)
        errors: dict[str, str] = {}
        numbers: dict[str, int | None] = {}
        for name in ("qty", "price"):
            try:
                numbers[name] = _int(form.get(name))
            except ValueError:
                errors[name] = t["whole_number"]
        if not errors and numbers["qty"] is None and numbers["price"] is None:
            errors["qty"] = t["amend_help"]
        if errors:
            return _amend_page(req, user, order, form, errors | {"_form": t["error"]}, 422)
        try:
            out = _exchange(req).amend(
                user.actor, order_id, qty=numbers["qty"], price=numbers["price"]
            )
        except TansoError as e:
            where = field_for(e.code, ("qty", "price"))
            return _amend_page(req, user, order, form, {where: e.message}, 422)
        price = out.get("price")
        notice = t["order_amended"].format(
            id=order_id,
            qty=f"{out.get('remaining', out.get('qty', 0)):,}",
            price=f"¥{price:,}" if isinstance(price, int) else "",
        )
        return _orders_page(req, user, notice=notice)

    return await _post(request, amend, Capability.TRADE)


# ---------------------------------------------------------------- retirement notices


@router.get("/retirements", response_class=HTMLResponse)
def retirement_notices(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    page = registry.retirements_page(
        _db(request),
        _reader(user),
        user.participant_id,
        _limit(request),
        before=_query_int(request, "before"),
        after=_query_int(request, "after"),
    )
    older, newer = _cursor_links(request, page)
    return _page(
        request,
        "portal_notices.html",
        user=user,
        notices=page["retirements"],
        older=older,
        newer=newer,
    )


@router.get("/retirements/{retirement_id}", response_class=HTMLResponse)
def retirement_notice(request: Request, retirement_id: str) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    own = registry.list_retirements(_db(request), _reader(user), 100_000)
    notice = next((r for r in own if r["id"] == retirement_id), None)
    if notice is None:
        return _not_found(request, user)
    return _page(request, "portal_notice.html", user=user, r=notice)


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


@router.get("/cash", response_class=HTMLResponse)
def cash_page(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    db, reader = _db(request), _reader(user)
    balances = cash.balances(db, reader, user.participant_id)
    own = {b["id"] for b in balances}
    selected = request.query_params.get("account") or (balances[0]["id"] if balances else "")
    if selected and selected not in own:
        return _not_found(request, user)
    movements = []
    older = newer = None
    if selected:
        rows, older, newer = _offset_page(
            request, lambda n: cash.movements(db, reader, selected, n)
        )
        for m in rows:
            key, shown = _counterparty(user, m["counterparty"])
            movements.append(m | {"cp_key": key, "cp_id": shown})
    return _page(
        request,
        "portal_cash.html",
        user=user,
        balances=balances,
        selected=selected,
        movements=movements,
        older=older,
        newer=newer,
    )


# ---------------------------------------------------------------- API keys (administrators)


def _keys_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    keys = participants.list_api_keys(db, _reader(user), user.participant_id)
    return _page(
        request,
        "portal_keys.html",
        status,
        user,
        keys=keys,
        held=sorted(r.value for r in user.actor.roles),
        values=values or {},
        errors=errors or {},
        created=created,
        notice=notice,
        csrf=user.csrf_token,
    )


@router.get("/keys", response_class=HTMLResponse)
def keys(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    if not user.can(Capability.MANAGE_USERS):
        return _forbidden(request, user, "no_permission")
    return _keys_page(request, user)


def _create_key(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    held = {r.value for r in user.actor.roles}
    wanted = sorted(name[5:] for name in form if name.startswith("role_"))
    label = form.get("label", "").strip()
    t = LABELS[_lang(request)]
    if any(r not in held for r in wanted):
        errors = {"roles": LABELS[_lang(request)]["no_permission"], "_form": t["error"]}
        return _keys_page(request, user, form, errors, status=422)
    try:
        created = participants.create_api_key(
            _db(request), user.actor, user.participant_id, label, wanted or None
        )
    except TansoError as e:
        where = field_for(e.code, ("label", "roles"))
        return _keys_page(request, user, form, {where: e.message}, status=422)
    return _keys_page(request, user, created=created)


@router.post("/keys")
async def create_key(request: Request) -> Response:
    return await _post(request, _create_key, Capability.MANAGE_USERS)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    def revoke(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        db = _db(req)
        own = {k["id"] for k in participants.list_api_keys(db, _reader(user), user.participant_id)}
        if key_id not in own:
            return _not_found(req, user)
        participants.revoke_api_key(db, user.actor, user.participant_id, key_id)
        t = LABELS[_lang(req)]
        return _keys_page(req, user, notice=t["key_revoked"].format(id=key_id))

    return await _post(request, revoke, Capability.MANAGE_USERS)


# ---------------------------------------------------------------- users (administrators)


def _own_users(request: Request, user: PortalUser) -> list[dict[str, Any]]:
    return [
        u
        for u in users.list_users(_db(request), _reader(user), user.participant_id)
        if u["participant_id"] == user.participant_id
    ]


def _users_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
    reset: dict[str, Any] | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "portal_users.html",
        status,
        user,
        people=_own_users(request, user),
        roles=[r.value for r in UserRole],
        values=values or {},
        errors=errors or {},
        notice=notice,
        reset=reset,
        csrf=user.csrf_token,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request) -> Response:
    user = _current(request)
    if user is None:
        return _to_login()
    if not user.can(Capability.MANAGE_USERS):
        return _forbidden(request, user, "no_permission")
    return _users_page(request, user)


def _create_user(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = LABELS[_lang(request)]
    fields = ("email", "display_name", "role", "password")
    errors = {name: t["required"] for name in fields if not form.get(name, "").strip()}
    if form.get("role") and form["role"] not in {r.value for r in UserRole}:
        errors["role"] = t["required"]
    values = {k: v for k, v in form.items() if k != "password"}
    if errors:
        return _users_page(request, user, values, errors | {"_form": t["error"]}, status=422)
    new = NewUser(
        user.participant_id, form["email"], form["display_name"], form["role"], form["password"]
    )
    try:
        created = users.create(_db(request), user.actor, new, as_user=user.id)
    except TansoError as e:
        return _users_page(
            request, user, values, {field_for(e.code, fields): e.message}, status=422
        )
    return _users_page(request, user, notice=t["user_created"].format(email=created["email"]))


@router.post("/users")
async def create_user(request: Request) -> Response:
    return await _post(request, _create_user, Capability.MANAGE_USERS)


@router.post("/users/{user_id}/unlock")
async def unlock_user(request: Request, user_id: str) -> Response:
    def unlock(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        target = next((u for u in _own_users(req, user) if u["id"] == user_id), None)
        if target is None:
            return _not_found(req, user)
        try:
            users.unlock(_db(req), user.actor, user_id, as_user=user.id)
        except TansoError as e:
            return _users_page(req, user, errors={"_form": e.message}, status=409)
        t = LABELS[_lang(req)]
        return _users_page(req, user, notice=t["user_unlocked"].format(email=target["email"]))

    return await _post(request, unlock, Capability.MANAGE_USERS)


def manage_user(
    db: Database,
    by: PortalUser,
    action: str,
    user_id: str,
    form: dict[str, str],
    as_user: str | None,
) -> tuple[str, dict[str, Any] | None] | None:
    """One user action for both users screens: (notice key, the reset answer), or None for an
    unknown action. Raises the service's refusal."""
    db_actor = by.actor
    if action == "role":
        users.set_role(db, db_actor, user_id, form.get("role", ""), as_user=as_user)
        return "role_changed", None
    if action == "reset-password":
        return "", users.reset_password(db, db_actor, user_id, as_user=as_user)
    if action == "totp-off":
        users.disable_totp(db, db_actor, user_id, as_user=as_user)
        return "totp_turned_off", None
    if action == "remove":
        users.remove(db, db_actor, user_id, as_user=as_user)
        return "user_removed", None
    return None


USER_ACTIONS = ("role", "reset-password", "totp-off", "remove")


def _refusal_status(e: TansoError) -> int:
    return 422 if isinstance(e, InvalidInput) else 404 if isinstance(e, NotFound) else 409


@router.post("/users/{user_id}/{action}")
async def user_action(request: Request, user_id: str, action: str) -> Response:
    def act(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        target = next((u for u in _own_users(req, user) if u["id"] == user_id), None)
        if target is None or action not in USER_ACTIONS:
            return _not_found(req, user)
        t = LABELS[_lang(req)]
        try:
            done = manage_user(_db(req), user, action, user_id, form, as_user=user.id)
        except TansoError as e:
            errors = {"_form": e.message, f"u-{user_id}": e.message}
            return _users_page(req, user, errors=errors, status=_refusal_status(e))
        assert done is not None
        key, reset = done
        role = t.get(f"role_{form.get('role', '')}", "")
        notice = t[key].format(email=target["email"], role=role) if key else ""
        return _users_page(req, user, notice=notice, reset=reset)

    return await _post(request, act, Capability.MANAGE_USERS)


# ---------------------------------------------------------------- live book (WebSocket)


async def book_stream(ws: WebSocket) -> None:
    """The market-data stream (the feed behind /v1/stream, same protocol) for a logged-in user:
    its session cookie stands in for the API key that book depth needs. Same-origin only, so
    another site's page cannot open it with the user's cookie."""
    user = users.session_user(ws.app.state.db, ws.cookies.get(SESSION_COOKIE))
    origin = ws.headers.get("origin")
    if user is None or (origin is not None and urlsplit(origin).netloc != ws.headers.get("host")):
        await ws.close(code=4401)
        return
    feed: Feed = ws.app.state.feed
    await ws.accept()
    feed.attach(asyncio.get_running_loop())

    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason)

    sub = feed.subscriber(ws.send_text, close)
    sub.actor = user.actor
    try:
        while not sub.closed:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is not None:
                await sub.handle_text(text)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away, or the feed closed a connection that fell behind
    finally:
        with contextlib.suppress(Exception):
            await sub.stop()


# A plain WebSocket route: the app puts HTTP-only dependencies (request body checks) on this
# router's routes, which a WebSocket cannot satisfy; a plain route is included without them.
router.routes.append(WebSocketRoute("/portal/stream", book_stream, name="portal_stream"))


# ---------------------------------------------------------------- for the other portal modules

page = _page
"""Render a portal template; other modules pass their own ``labels`` (merged over LABELS)."""
current_user = _current
to_login = _to_login
not_found = _not_found
forbidden = _forbidden
post = _post
read_form = _form
reader = _reader
own_accounts = _own_accounts
parse_int = _int
refusal_status = _refusal_status
