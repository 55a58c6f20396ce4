"""Portal and public pages of the marketplace capability (EN/JA).

Browsing listings and their projects needs no login; buying, listing, requests for quote and
offers need a portal user whose role may trade. Every POST goes through `portal.post` (session,
CSRF token, capability). Someone else's listing, RFQ or offer answers like a missing one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import marketplace as mp
from tanso.domain.errors import TansoError
from tanso.services.access.users import Capability, PortalUser
from tanso.services.ledger import registry, taxonomy
from tanso.services.venues import marketplace as market
from tanso.store.db import Database
from tanso.web import portal
from tanso.web.pages import LANG_COOKIE, choose_lang

router = APIRouter(prefix="/portal/marketplace", include_in_schema=False)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "mp_title": "Marketplace",
        "mp_intro": "Project credits offered at a fixed price. Buy at the listed price or ask "
        "the seller for a quote. Sellers are not named.",
        "mp_browse": "Browse",
        "mp_mine": "My listings",
        "mp_rfqs": "Requests for quote",
        "mp_deals": "Deals",
        "mp_filter": "Filter",
        "mp_apply": "Apply",
        "mp_any": "Any",
        "mp_scheme": "Scheme",
        "mp_category": "Category",
        "mp_mechanism": "Reduction or removal",
        "mp_reduction": "Reduction",
        "mp_removal": "Removal",
        "mp_nature_kind": "Nature or technology",
        "mp_nature": "Nature-based",
        "mp_technology": "Technology",
        "mp_vintage_from": "Vintage from",
        "mp_vintage_to": "Vintage to",
        "mp_country": "Country",
        "mp_property": "Property",
        "mp_price_min": "Price from (¥/t)",
        "mp_price_max": "Price to (¥/t)",
        "mp_sort": "Sort",
        "mp_sort_price": "Price, lowest first",
        "mp_sort_-price": "Price, highest first",
        "mp_sort_vintage": "Vintage, oldest first",
        "mp_sort_-vintage": "Vintage, newest first",
        "mp_sort_newest": "Newest listings",
        "mp_sort_oldest": "Oldest listings",
        "mp_sort_-quantity": "Largest quantity",
        "mp_sort_quantity": "Smallest quantity",
        "mp_hide_mine": "Hide my own listings",
        "mp_no_listings": "No listing matches.",
        "mp_listing": "Listing",
        "mp_project": "Project",
        "mp_available": "Available (t)",
        "mp_min": "Minimum (t)",
        "mp_lot": "Lot (t)",
        "mp_cycle": "Settlement",
        "mp_t_plus": "T+{n}",
        "mp_expires": "Expires (JST)",
        "mp_view": "View",
        "mp_yours": "yours",
        "mp_about": "About the project",
        "mp_methodology": "Methodology",
        "mp_location": "Location",
        "mp_developer": "Developer",
        "mp_co_benefits": "Co-benefits",
        "mp_properties": "Properties (METI paper)",
        "mp_axes": "Evaluation axes",
        "mp_ca": "Corresponding adjustment",
        "mp_ratings": "Ratings",
        "mp_documents": "Documents",
        "mp_none": "None given.",
        "mp_buy": "Buy at the listed price",
        "mp_buy_button": "Buy",
        "mp_to_account": "Into account",
        "mp_total": "Total",
        "mp_login_to_buy": "Log in to buy or ask for a quote.",
        "mp_ask_quote": "Ask the seller for a quote",
        "mp_note": "Note",
        "mp_rfq_qty": "Quantity wanted (t)",
        "mp_send_rfq": "Send request",
        "mp_bought": "Deal {id}: {qty} t for {amount} ({status}, due {due}).",
        "mp_rfq_sent": "Request {id} sent.",
        "mp_new_listing": "List credits",
        "mp_credits": "Credits",
        "mp_list_button": "List",
        "mp_listed": "Listing {id} is open.",
        "mp_withdraw": "Withdraw",
        "mp_withdrawn": "Listing {id} withdrawn; its credits are held again.",
        "mp_no_own": "You have no listings.",
        "mp_no_credits": "You hold no credits to list.",
        "mp_days_help": "Business days after the trade; 0 settles at once.",
        "mp_expires_help": "Optional, e.g. 2026-12-31T15:00:00+09:00.",
        "mp_offer_expires_help": "Required: the offer is firm until then, "
        "e.g. 2026-12-31T15:00:00+09:00.",
        "mp_out": "Requests you sent",
        "mp_in": "Requests you may answer",
        "mp_no_rfqs": "None.",
        "mp_quantity_asked": "Quantity asked (t)",
        "mp_offers": "Offers",
        "mp_offer": "Offer",
        "mp_accept": "Accept",
        "mp_decline": "Decline",
        "mp_cancel_rfq": "Cancel request",
        "mp_make_offer": "Make a firm offer",
        "mp_offer_button": "Send offer",
        "mp_offered": "Offer {id} sent; its credits are reserved until it ends.",
        "mp_accepted": "Offer accepted: deal {id}.",
        "mp_declined": "Offer {id} declined.",
        "mp_offer_withdrawn": "Offer {id} withdrawn.",
        "mp_rfq_cancelled": "Request {id} cancelled.",
        "mp_side": "Side",
        "mp_amount": "Amount",
        "mp_due": "Due",
        "mp_no_deals": "No deals yet.",
        "mp_st_open": "open",
        "mp_st_filled": "filled",
        "mp_st_cancelled": "cancelled",
        "mp_st_accepted": "accepted",
        "mp_st_declined": "declined",
        "mp_st_withdrawn": "withdrawn",
        "mp_st_expired": "expired",
        "mp_st_not_chosen": "not chosen",
        "mp_st_sold_out": "sold out",
        "mp_st_pending": "pending",
        "mp_st_settled": "settled",
        "mp_st_failed": "failed",
        "mp_ca_committed": "committed",
        "mp_ca_not_required": "not required",
        "mp_ca_unknown": "unknown",
        "mp_ca_not_started": "not started",
        "mp_ca_pending": "pending",
        "mp_ca_completed": "completed",
        "mp_ca_declared": "declaration",
        "mp_ca_status": "status",
    },
    "ja": {
        "mp_title": "マーケットプレイス",
        "mp_intro": "プロジェクトのクレジットを固定価格で掲載しています。掲載価格で購入するか、"
        "売り手に見積りを依頼できます。売り手の名前は表示しません。",
        "mp_browse": "一覧",
        "mp_mine": "自社の掲載",
        "mp_rfqs": "見積依頼",
        "mp_deals": "成約",
        "mp_filter": "絞り込み",
        "mp_apply": "適用",
        "mp_any": "指定なし",
        "mp_scheme": "制度",
        "mp_category": "方法論区分",
        "mp_mechanism": "削減・除去",
        "mp_reduction": "削減",
        "mp_removal": "除去",
        "mp_nature_kind": "自然・技術",
        "mp_nature": "自然由来",
        "mp_technology": "技術",
        "mp_vintage_from": "ヴィンテージ (から)",
        "mp_vintage_to": "ヴィンテージ (まで)",
        "mp_country": "国",
        "mp_property": "性質",
        "mp_price_min": "価格の下限 (円/t)",
        "mp_price_max": "価格の上限 (円/t)",
        "mp_sort": "並び順",
        "mp_sort_price": "価格の安い順",
        "mp_sort_-price": "価格の高い順",
        "mp_sort_vintage": "ヴィンテージの古い順",
        "mp_sort_-vintage": "ヴィンテージの新しい順",
        "mp_sort_newest": "新着順",
        "mp_sort_oldest": "掲載の古い順",
        "mp_sort_-quantity": "数量の多い順",
        "mp_sort_quantity": "数量の少ない順",
        "mp_hide_mine": "自社の掲載を除く",
        "mp_no_listings": "該当する掲載はありません。",
        "mp_listing": "掲載",
        "mp_project": "プロジェクト",
        "mp_available": "販売可能数量 (t)",
        "mp_min": "最低数量 (t)",
        "mp_lot": "単位 (t)",
        "mp_cycle": "決済",
        "mp_t_plus": "T+{n}",
        "mp_expires": "掲載期限 (JST)",
        "mp_view": "詳細",
        "mp_yours": "自社",
        "mp_about": "プロジェクトについて",
        "mp_methodology": "方法論",
        "mp_location": "所在地",
        "mp_developer": "事業者",
        "mp_co_benefits": "コベネフィット",
        "mp_properties": "性質 (経済産業省の整理)",
        "mp_axes": "評価軸",
        "mp_ca": "相当調整",
        "mp_ratings": "格付け",
        "mp_documents": "資料",
        "mp_none": "記載なし。",
        "mp_buy": "掲載価格で購入",
        "mp_buy_button": "購入",
        "mp_to_account": "受入口座",
        "mp_total": "合計",
        "mp_login_to_buy": "購入・見積依頼にはログインしてください。",
        "mp_ask_quote": "売り手に見積りを依頼",
        "mp_note": "メモ",
        "mp_rfq_qty": "希望数量 (t)",
        "mp_send_rfq": "依頼を送信",
        "mp_bought": "成約 {id}: {qty} t、{amount} ({status}、決済日 {due})。",
        "mp_rfq_sent": "見積依頼 {id} を送信しました。",
        "mp_new_listing": "クレジットを掲載",
        "mp_credits": "クレジット",
        "mp_list_button": "掲載",
        "mp_listed": "掲載 {id} を公開しました。",
        "mp_withdraw": "取り下げ",
        "mp_withdrawn": "掲載 {id} を取り下げました。クレジットは保有に戻りました。",
        "mp_no_own": "掲載はありません。",
        "mp_no_credits": "掲載できるクレジットを保有していません。",
        "mp_days_help": "約定日から数えた営業日。0 は即時決済。",
        "mp_expires_help": "任意。例: 2026-12-31T15:00:00+09:00",
        "mp_offer_expires_help": "必須。この時刻まで確定価格です。例: 2026-12-31T15:00:00+09:00",
        "mp_out": "送信した見積依頼",
        "mp_in": "回答できる見積依頼",
        "mp_no_rfqs": "ありません。",
        "mp_quantity_asked": "依頼数量 (t)",
        "mp_offers": "提示",
        "mp_offer": "提示",
        "mp_accept": "受諾",
        "mp_decline": "辞退",
        "mp_cancel_rfq": "依頼を取り消す",
        "mp_make_offer": "確定価格を提示",
        "mp_offer_button": "提示を送信",
        "mp_offered": "提示 {id} を送信しました。終了までクレジットを拘束します。",
        "mp_accepted": "提示を受諾しました: 成約 {id}。",
        "mp_declined": "提示 {id} を辞退しました。",
        "mp_offer_withdrawn": "提示 {id} を取り下げました。",
        "mp_rfq_cancelled": "見積依頼 {id} を取り消しました。",
        "mp_side": "売買",
        "mp_amount": "金額",
        "mp_due": "決済日",
        "mp_no_deals": "成約はまだありません。",
        "mp_st_open": "受付中",
        "mp_st_filled": "成約済",
        "mp_st_cancelled": "取消",
        "mp_st_accepted": "受諾",
        "mp_st_declined": "辞退",
        "mp_st_withdrawn": "取り下げ",
        "mp_st_expired": "期限切れ",
        "mp_st_not_chosen": "不採用",
        "mp_st_sold_out": "完売",
        "mp_st_pending": "決済待ち",
        "mp_st_settled": "決済済",
        "mp_st_failed": "決済不能",
        "mp_ca_committed": "確約あり",
        "mp_ca_not_required": "不要",
        "mp_ca_unknown": "不明",
        "mp_ca_not_started": "未着手",
        "mp_ca_pending": "手続中",
        "mp_ca_completed": "完了",
        "mp_ca_declared": "宣言",
        "mp_ca_status": "状況",
    },
}

FILTER_FIELDS = (
    "scheme",
    "category",
    "mechanism",
    "nature",
    "vintage_from",
    "vintage_to",
    "country",
    "property",
    "price_min",
    "price_max",
    "sort",
    "hide_mine",
)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _t(request: Request) -> dict[str, str]:
    lang = choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    return portal.LABELS[lang] | LABELS[lang]


def _page(
    request: Request, template: str, user: PortalUser | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    return portal.page(request, template, status, user, labels=LABELS, **ctx)


def _calendar(request: Request) -> Any:
    exchange = getattr(request.app.state, "exchange", None)
    return exchange.calendar if exchange is not None else None


# ---------------------------------------------------------------- browse


def _names(db: Database) -> dict[str, dict[str, str]]:
    """Display names of categories, properties and evaluation axes by code, per language."""
    out: dict[str, dict[str, str]] = {"en": {}, "ja": {}}
    rows = [*taxonomy.list_categories(db)]
    rows += taxonomy.list_terms(db, "property") + taxonomy.list_terms(db, "evaluation_axis")
    for r in rows:
        out["en"][r["code"]] = r["name_en"]
        out["ja"][r["code"]] = r["name_ja"]
    return out


def _number(value: str | None) -> int | None:
    try:
        return portal.parse_int(value)
    except ValueError:
        return None


@router.get("", response_class=HTMLResponse)
def browse(request: Request) -> Response:
    """Open listings with the filter form (public)."""
    user = portal.current_user(request)
    q = {k: request.query_params.get(k, "") for k in FILTER_FIELDS}
    f = mp.ListingFilter(
        scheme=q["scheme"] or None,
        category=q["category"] or None,
        mechanism=q["mechanism"] or None,
        nature=q["nature"] or None,
        vintage_from=_number(q["vintage_from"]),
        vintage_to=_number(q["vintage_to"]),
        country=q["country"].upper() or None,
        property=q["property"] or None,
        price_min=_number(q["price_min"]),
        price_max=_number(q["price_max"]),
    )
    sort = q["sort"] if q["sort"] in mp.SORTS else "price"
    viewer = portal.reader(user) if user else None
    mine = False if (user and q["hide_mine"]) else None
    listings = market.search_listings(_db(request), viewer, market.Search(f, sort, mine))
    db = _db(request)
    return _page(
        request,
        "marketplace_browse.html",
        user,
        listings=listings,
        values=q | {"sort": sort},
        sorts=mp.SORTS,
        names=_names(db),
        schemes=taxonomy.list_schemes(db),
        categories=taxonomy.list_categories(db),
        properties=taxonomy.list_terms(db, "property"),
    )


# ---------------------------------------------------------------- one listing, buying, RFQ


def _listing_page(
    request: Request,
    user: PortalUser | None,
    listing_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    viewer = portal.reader(user) if user else None
    try:
        listing = market.get_listing(_db(request), viewer, listing_id)
    except TansoError:
        if user is None:
            return portal.page(
                request,
                "portal_message.html",
                404,
                None,
                title_key="not_found",
                text_key="not_found_text",
            )
        return portal.not_found(request, user)
    accounts = portal.own_accounts(_db(request), user) if user else []
    return _page(
        request,
        "marketplace_listing.html",
        user,
        status,
        listing=listing,
        project=listing["project"],
        names=_names(_db(request)),
        accounts=accounts,
        values=values or {},
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token if user else "",
    )


@router.get("/listings/{listing_id}", response_class=HTMLResponse)
def listing(request: Request, listing_id: str) -> Response:
    return _listing_page(request, portal.current_user(request), listing_id)


def _quantity(form: dict[str, str], name: str, t: dict[str, str]) -> tuple[int | None, str]:
    try:
        value = portal.parse_int(form.get(name))
    except ValueError:
        return None, t["whole_number"]
    if value is None:
        return None, t["required"]
    return value, ""


@router.post("/listings/{listing_id}/buy")
async def buy(request: Request, listing_id: str) -> Response:
    def handle(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _t(req)
        qty, err = _quantity(form, "qty", t)
        if qty is None:
            return _listing_page(req, user, listing_id, form, {"qty": err}, status=422)
        try:
            deal = market.buy(
                _db(req),
                user.actor,
                listing_id,
                qty,
                form.get("account", ""),
                calendar=_calendar(req),
            )
        except TansoError as e:
            where = portal.field_for(e.code, ("qty", "account"))
            code = 404 if e.kind == "not_found" else 422
            return _listing_page(req, user, listing_id, form, {where: e.message}, status=code)
        notice = t["mp_bought"].format(
            id=deal["id"],
            qty=deal["quantity"],
            amount=f"¥{deal['amount']:,}",
            status=t["mp_st_" + deal["status"]],
            due=deal["due_date"],
        )
        return _deals_page(req, user, notice=notice)

    return await portal.post(request, handle, Capability.TRADE)


@router.post("/listings/{listing_id}/rfq")
async def ask_quote(request: Request, listing_id: str) -> Response:
    def handle(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _t(req)
        qty, err = _quantity(form, "rfq_qty", t)
        if qty is None:
            return _listing_page(req, user, listing_id, form, {"rfq_qty": err}, status=422)
        try:
            rfq = market.create_rfq(
                _db(req), user.actor, qty, listing_id=listing_id, note=form.get("note", "")
            )
        except TansoError as e:
            return _listing_page(req, user, listing_id, form, {"rfq_qty": e.message}, status=422)
        return _rfqs_page(req, user, notice=t["mp_rfq_sent"].format(id=rfq["id"]))

    return await portal.post(request, handle, Capability.TRADE)


# ---------------------------------------------------------------- my listings


def _credit_choices(db: Database, user: PortalUser) -> list[dict[str, Any]]:
    """Held credits per account and issuance, to list."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for a in portal.own_accounts(db, user):
        h = registry.holdings(db, portal.reader(user), a["id"], limit=10_000)
        for b in h["blocks"]:
            if b["status"] != "held":
                continue
            key = (a["id"], b["issuance_id"])
            c = out.setdefault(
                key,
                {
                    "value": f"{a['id']}|{b['issuance_id']}",
                    "account": a["id"],
                    "issuance": b["issuance_id"],
                    "project": b.get("project_name", ""),
                    "project_id": b.get("project_id", ""),
                    "vintage": b.get("vintage", ""),
                    "qty": 0,
                },
            )
            c["qty"] += b["quantity"]
    return list(out.values())


def _mine_page(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    return _page(
        request,
        "marketplace_mine.html",
        user,
        status,
        listings=market.my_listings(db, portal.reader(user)),
        credits=_credit_choices(db, user),
        values=values or {"settlement_days": "2", "lot": "1"},
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token,
    )


@router.get("/mine", response_class=HTMLResponse)
def mine(request: Request) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    return _mine_page(request, user)


@router.post("/mine")
async def create_listing(request: Request) -> Response:
    def handle(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _t(req)
        errors: dict[str, str] = {}
        numbers: dict[str, int] = {}
        for name, required in (
            ("price", True),
            ("qty", True),
            ("min_qty", False),
            ("lot", False),
            ("settlement_days", False),
        ):
            try:
                value = portal.parse_int(form.get(name))
            except ValueError:
                errors[name] = t["whole_number"]
                continue
            if value is None:
                if required:
                    errors[name] = t["required"]
                continue
            numbers[name] = value
        account, _sep, issuance = form.get("credits", "").partition("|")
        if not issuance:
            errors["credits"] = t["required"]
        if errors:
            return _mine_page(req, user, form, errors | {"_form": t["error"]}, status=422)
        try:
            terms = mp.ListingTerms(
                numbers["price"],
                numbers["qty"],
                numbers.get("min_qty", 0),
                numbers.get("lot", 1),
                numbers.get("settlement_days", mp.DEFAULT_SETTLEMENT_DAYS),
            )
            out = market.create_listing(
                _db(req),
                user.actor,
                market.NewListing(
                    account,
                    terms,
                    issuance_id=issuance,
                    expires_at=form.get("expires_at", "").strip() or None,
                    note=form.get("note", ""),
                ),
            )
        except TansoError as e:
            fields = ("price", "qty", "min_qty", "lot", "settlement_days", "expires_at")
            where = portal.field_for(e.code, fields)
            if e.code.startswith("invalid_") and e.code[8:] in fields:
                where = e.code[8:]
            if "expir" in e.code or "time" in e.code:
                where = "expires_at"
            if "credits" in e.code or "account" in e.code:
                where = "credits"
            return _mine_page(req, user, form, {where: e.message}, status=422)
        return _mine_page(req, user, notice=t["mp_listed"].format(id=out["id"]))

    return await portal.post(request, handle, Capability.TRADE)


@router.post("/mine/{listing_id}/withdraw")
async def withdraw(request: Request, listing_id: str) -> Response:
    def handle(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        try:
            market.withdraw_listing(_db(req), user.actor, listing_id)
        except TansoError as e:
            if e.kind == "not_found":
                return portal.not_found(req, user)
            return _mine_page(req, user, errors={"_form": e.message}, status=409)
        return _mine_page(req, user, notice=_t(req)["mp_withdrawn"].format(id=listing_id))

    return await portal.post(request, handle, Capability.TRADE)


# ---------------------------------------------------------------- requests for quote


def _rfqs_page(
    request: Request,
    user: PortalUser,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    reader = portal.reader(user)
    incoming = market.rfqs(db, reader, "in")
    return _page(
        request,
        "marketplace_rfqs.html",
        user,
        status,
        outgoing=market.rfqs(db, reader, "out"),
        incoming=incoming,
        credits=_credit_choices(db, user) if incoming else [],
        accounts=portal.own_accounts(db, user),
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token,
    )


@router.get("/rfqs", response_class=HTMLResponse)
def rfqs(request: Request) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    return _rfqs_page(request, user)


@router.post("/rfqs/{rfq_id}/offer")
async def make_offer(request: Request, rfq_id: str) -> Response:
    def handle(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _t(req)
        account, _sep, issuance = form.get("credits", "").partition("|")
        try:
            price = portal.parse_int(form.get("price"))
            qty = portal.parse_int(form.get("qty"))
            days = portal.parse_int(form.get("settlement_days")) or 0
        except ValueError:
            return _rfqs_page(req, user, {rfq_id: t["whole_number"]}, status=422)
        if price is None or qty is None or not issuance:
            return _rfqs_page(req, user, {rfq_id: t["error"]}, status=422)
        try:
            out = market.make_offer(
                _db(req),
                user.actor,
                market.NewOffer(
                    rfq_id, account, issuance, price, qty, form.get("expires_at", ""), days
                ),
            )
        except TansoError as e:
            if e.kind == "not_found":
                return portal.not_found(req, user)
            return _rfqs_page(req, user, {rfq_id: e.message}, status=422)
        return _rfqs_page(req, user, notice=t["mp_offered"].format(id=out["id"]))

    return await portal.post(request, handle, Capability.TRADE)


@router.post("/offers/{offer_id}/{action}")
async def offer_action(request: Request, offer_id: str, action: str) -> Response:
    def handle(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _t(req)
        db = _db(req)
        try:
            if action == "accept":
                deal = market.accept_offer(
                    db, user.actor, offer_id, form.get("account", ""), calendar=_calendar(req)
                )
                return _deals_page(req, user, notice=t["mp_accepted"].format(id=deal["id"]))
            if action == "decline":
                market.decline_offer(db, user.actor, offer_id)
                return _rfqs_page(req, user, notice=t["mp_declined"].format(id=offer_id))
            if action == "withdraw":
                market.withdraw_offer(db, user.actor, offer_id)
                return _rfqs_page(req, user, notice=t["mp_offer_withdrawn"].format(id=offer_id))
        except TansoError as e:
            if e.kind == "not_found":
                return portal.not_found(req, user)
            return _rfqs_page(req, user, {"_form": e.message}, status=409)
        return portal.not_found(req, user)

    return await portal.post(request, handle, Capability.TRADE)


@router.post("/rfqs/{rfq_id}/cancel")
async def cancel_rfq(request: Request, rfq_id: str) -> Response:
    def handle(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
        try:
            market.cancel_rfq(_db(req), user.actor, rfq_id)
        except TansoError as e:
            if e.kind == "not_found":
                return portal.not_found(req, user)
            return _rfqs_page(req, user, {"_form": e.message}, status=409)
        return _rfqs_page(req, user, notice=_t(req)["mp_rfq_cancelled"].format(id=rfq_id))

    return await portal.post(request, handle, Capability.TRADE)


# ---------------------------------------------------------------- deals


def _deals_page(request: Request, user: PortalUser, notice: str = "") -> HTMLResponse:
    return _page(
        request,
        "marketplace_deals.html",
        user,
        deals=market.deals(_db(request), portal.reader(user)),
        notice=notice,
    )


@router.get("/deals", response_class=HTMLResponse)
def deals(request: Request) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    return _deals_page(request, user)
