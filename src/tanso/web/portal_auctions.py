"""Portal and public pages of sealed-bid auctions (EN/JA).

Participants (`/portal/auctions`): browse scheduled and open auctions, bid, amend and withdraw
while open, see their own bids and awards; sellers offer an auction from a holding account and
clear or cancel their own; operator users may clear or cancel any. The public (`/auctions`,
`/ja/auctions`, no login): the auction calendar and the results with the demand curve as an
inline SVG. Nothing here ever shows a bid to anyone but its bidder: every page reads through
`services.sealed_auctions`, whose views carry no bids, plus `own_bids` of the signed-in user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services.access.users import Capability, PortalUser
from tanso.services.venues import sealed_auctions as sa
from tanso.store.db import Database
from tanso.web import portal, render
from tanso.web.pages import JST, jst
from tanso.web.pages import LABELS as PUBLIC_LABELS

router = APIRouter(include_in_schema=False)

PRICING = ("uniform_lowest_accepted", "uniform_highest_rejected", "pay_as_bid")
MARGINAL = ("time", "pro_rata")
UNDERSUBSCRIBED = ("partial", "cancel")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "sealed_title": "Sealed-bid auctions",
        "sealed_public_title": "Sealed-bid auctions: calendar and results",
        "sealed_intro": "Sellers offer a lot or a portfolio of credits; bids are sealed until "
        "the auction is cleared, when the results and the demand curve are published here.",
        "sealed_calendar": "Auction calendar",
        "sealed_results": "Results",
        "sealed_none": "No auctions yet.",
        "sealed_auction": "Auction",
        "sealed_state": "State",
        "state_scheduled": "Scheduled",
        "state_open": "Open for bids",
        "state_closed": "Closed, awaiting clearing",
        "state_cleared": "Cleared",
        "state_cancelled": "Cancelled",
        "sealed_supply": "Supply (t)",
        "sealed_lot": "Lot (t)",
        "sealed_reserve": "Reserve price",
        "sealed_window": "Bidding window (JST)",
        "sealed_opens": "Opens (JST)",
        "sealed_closes": "Closes (JST)",
        "sealed_pricing": "Pricing",
        "pricing_uniform_lowest_accepted": "Uniform: lowest accepted bid",
        "pricing_uniform_highest_rejected": "Uniform: highest rejected bid",
        "pricing_pay_as_bid": "Pay as bid",
        "sealed_marginal": "Ties at the marginal price",
        "marginal_time": "Earlier bids first",
        "marginal_pro_rata": "Pro rata (seeded draw for leftover lots)",
        "sealed_under": "If undersubscribed",
        "under_partial": "Sell what is bid; the rest unsold",
        "under_cancel": "Sell nothing",
        "sealed_settlement": "Settlement",
        "sealed_settle_days": "Settlement (business days after clearing, 0 = at once)",
        "sealed_seed": "Published seed",
        "sealed_clearing_price": "Clearing price",
        "sealed_sold": "Sold (t)",
        "sealed_unsold": "Unsold (t)",
        "sealed_bidders": "Bidders",
        "sealed_no_price": "none",
        "sealed_demand": "Demand curve",
        "sealed_demand_desc": "Quantity bid at each price or higher (all bids, anonymous); the "
        "vertical line is the supply, the dashed line the reserve price.",
        "sealed_cumulative": "Cumulative (t)",
        "sealed_qty_at": "Bid at this price (t)",
        "sealed_price": "Price (¥/t)",
        "sealed_bid_heading": "Your sealed bid",
        "sealed_bid_note": "A bid reserves price × quantity of your cash until the auction is "
        "cleared. Nobody else sees it before then.",
        "sealed_place": "Send bid",
        "sealed_qty": "Quantity (t)",
        "sealed_account": "Deliver to account",
        "sealed_my_bids": "Your bids",
        "sealed_no_bids": "You have no bids.",
        "sealed_amount": "Cash reserved",
        "sealed_bid_value": "Price × quantity",
        "sealed_award_amount": "Amount",
        "settle_pending": "Pending",
        "settle_settled": "Settled",
        "settle_failed": "Failed",
        "settle_cancelled": "Cancelled",
        "sealed_amend": "Change",
        "sealed_withdraw": "Withdraw",
        "sealed_my_awards": "Your awards",
        "sealed_no_awards": "You have no awards yet.",
        "sealed_settlement_status": "Settlement",
        "sealed_due": "Due",
        "sealed_offer": "Offer an auction",
        "sealed_offer_title": "Title",
        "sealed_quantity": "Quantity (oldest vintage first)",
        "sealed_parts": "Or serial blocks, one per line (a portfolio)",
        "sealed_create": "Offer",
        "sealed_mine": "Auctions you run",
        "sealed_clear": "Clear",
        "sealed_cancel": "Cancel auction",
        "sealed_open_list": "Scheduled and open auctions",
        "sealed_details": "Details",
        "sealed_created": "Auction {id} is offered.",
        "sealed_bid_sent": "Bid {id} is sent and sealed.",
        "sealed_bid_amended": "Bid {id} is changed.",
        "sealed_bid_withdrawn": "Bid {id} is withdrawn.",
        "sealed_cleared": "Auction {id} is cleared.",
        "sealed_cancelled": "Auction {id} is cancelled.",
        "sealed_award": "Award",
        "sealed_status": "Status",
        "bid_open": "Sealed",
        "bid_won": "Won",
        "bid_lost": "Not awarded",
        "bid_withdrawn": "Withdrawn",
        "bid_cancelled": "Auction cancelled",
        "sealed_back": "All auctions",
        "sealed_public_link": "Public results page",
        "sealed_time_hint": "Japan time, e.g. 2026-04-01T10:00",
    },
    "ja": {
        "sealed_title": "入札オークション",
        "sealed_public_title": "入札オークション：日程と結果",
        "sealed_intro": "売り手がクレジットのロットやポートフォリオを出品します。入札は落札処理まで"
        "非公開で、処理後に結果と需要曲線をここに公表します。",
        "sealed_calendar": "オークション日程",
        "sealed_results": "結果",
        "sealed_none": "オークションはまだありません。",
        "sealed_auction": "オークション",
        "sealed_state": "状態",
        "state_scheduled": "開始前",
        "state_open": "入札受付中",
        "state_closed": "締切済み（落札処理待ち）",
        "state_cleared": "落札処理済み",
        "state_cancelled": "中止",
        "sealed_supply": "供給量（t）",
        "sealed_lot": "単位（t）",
        "sealed_reserve": "最低落札価格",
        "sealed_window": "入札期間（日本時間）",
        "sealed_opens": "開始（日本時間）",
        "sealed_closes": "締切（日本時間）",
        "sealed_pricing": "価格決定方式",
        "pricing_uniform_lowest_accepted": "統一価格：最低落札価格",
        "pricing_uniform_highest_rejected": "統一価格：最高不落札価格",
        "pricing_pay_as_bid": "各自の入札価格",
        "sealed_marginal": "限界価格での同値",
        "marginal_time": "先着順",
        "marginal_pro_rata": "数量比例（端数は公表シードで抽選）",
        "sealed_under": "応札不足の場合",
        "under_partial": "応札分を売却、残りは不成立",
        "under_cancel": "全量不成立",
        "sealed_settlement": "決済",
        "sealed_settle_days": "決済（落札処理の何営業日後、0 = 即時）",
        "sealed_seed": "公表シード",
        "sealed_clearing_price": "落札価格",
        "sealed_sold": "落札数量（t）",
        "sealed_unsold": "不成立数量（t）",
        "sealed_bidders": "入札者数",
        "sealed_no_price": "なし",
        "sealed_demand": "需要曲線",
        "sealed_demand_desc": "各価格以上の入札数量の累計（全入札、匿名）。縦線は供給量、"
        "破線は最低落札価格です。",
        "sealed_cumulative": "累計（t）",
        "sealed_qty_at": "この価格の入札（t）",
        "sealed_price": "価格（円/t）",
        "sealed_bid_heading": "入札",
        "sealed_bid_note": "入札すると価格×数量の資金が落札処理まで拘束されます。"
        "それまで他の誰にも見えません。",
        "sealed_place": "入札する",
        "sealed_qty": "数量（t）",
        "sealed_account": "受渡口座",
        "sealed_my_bids": "自社の入札",
        "sealed_no_bids": "入札はありません。",
        "sealed_amount": "拘束資金",
        "sealed_bid_value": "価格×数量",
        "sealed_award_amount": "代金",
        "settle_pending": "決済待ち",
        "settle_settled": "決済済み",
        "settle_failed": "決済不履行",
        "settle_cancelled": "取消",
        "sealed_amend": "変更",
        "sealed_withdraw": "取消",
        "sealed_my_awards": "自社の落札",
        "sealed_no_awards": "落札はまだありません。",
        "sealed_settlement_status": "決済",
        "sealed_due": "決済日",
        "sealed_offer": "オークションを出品",
        "sealed_offer_title": "名称",
        "sealed_quantity": "数量（古いビンテージから）",
        "sealed_parts": "またはシリアル範囲を1行に1つ（ポートフォリオ）",
        "sealed_create": "出品する",
        "sealed_mine": "自社が出品したオークション",
        "sealed_clear": "落札処理",
        "sealed_cancel": "オークション中止",
        "sealed_open_list": "開始前・受付中のオークション",
        "sealed_details": "詳細",
        "sealed_created": "オークション {id} を出品しました。",
        "sealed_bid_sent": "入札 {id} を受け付けました（非公開）。",
        "sealed_bid_amended": "入札 {id} を変更しました。",
        "sealed_bid_withdrawn": "入札 {id} を取り消しました。",
        "sealed_cleared": "オークション {id} の落札処理をしました。",
        "sealed_cancelled": "オークション {id} を中止しました。",
        "sealed_award": "落札",
        "sealed_status": "状態",
        "bid_open": "非公開",
        "bid_won": "落札",
        "bid_lost": "不落札",
        "bid_withdrawn": "取消済み",
        "bid_cancelled": "オークション中止",
        "sealed_back": "オークション一覧",
        "sealed_public_link": "公開結果ページ",
        "sealed_time_hint": "日本時間、例 2026-04-01T10:00",
    },
}


# ---------------------------------------------------------------- the demand curve as SVG

W, H, PAD = 640, 320, 48


def demand_chart(auction: dict[str, Any]) -> dict[str, Any] | None:
    """Coordinates of the demand curve (a descending step line), the supply and the reserve,
    for an inline SVG; None when nothing was bid. Coordinates are drawing units, not money."""
    result = auction.get("result")
    curve = result["demand_curve"] if result else []
    if not curve:
        return None
    max_q = float(max(curve[-1]["cumulative"], auction["supply"])) * 1.1
    prices = [s["price"] for s in curve] + [auction["reserve"]]
    if result and result["clearing_price"] is not None:
        prices.append(result["clearing_price"])
    # the price axis spans the prices bid (not from zero), so that close prices stay apart
    spread = max(max(prices) - min(prices), max(prices) // 10, 1)
    top, low = float(max(prices) + spread * 0.15), float(max(min(prices) - spread * 0.4, 0))

    def x(q: float) -> float:
        return round(float(PAD + (W - 2 * PAD) * q / max_q), 1)

    def y(p: float) -> float:
        return round(float(H - PAD - (H - 2 * PAD) * (p - low) / (top - low)), 1)

    points: list[tuple[float, float]] = []
    prev = 0
    for s in curve:
        points += [(x(prev), y(s["price"])), (x(s["cumulative"]), y(s["price"]))]
        prev = s["cumulative"]
    points.append((x(prev), y(low)))
    ticks: list[tuple[float, int]] = []
    for p in sorted({s["price"] for s in curve} | {auction["reserve"]}, reverse=True):
        if all(abs(y(p) - ty) >= 14 for ty, _p in ticks):  # labels never overlap
            ticks.append((y(p), p))
    return {
        "w": W,
        "h": H,
        "pad": PAD,
        "path": " ".join(f"{px},{py}" for px, py in points),
        "supply_x": x(auction["supply"]),
        "reserve_y": y(auction["reserve"]),
        "clearing_y": y(result["clearing_price"])
        if result and result["clearing_price"] is not None
        else None,
        "price_ticks": [{"y": ty, "label": f"{p:,}"} for ty, p in ticks],
        "qty_ticks": [
            {"x": x(q), "label": f"{q:,}"}
            for q in sorted({auction["supply"], curve[-1]["cumulative"]})
        ],
        "x0": PAD,
        "y0": H - PAD,
    }


# ---------------------------------------------------------------- public pages


def _public(request: Request, lang: Literal["en", "ja"]) -> HTMLResponse:
    db: Database = request.app.state.db
    auctions = sa.list_auctions(db)
    for a in auctions:
        a["chart"] = demand_chart(a)
    html = render(
        "sealed_public.html",
        lang=lang,
        t=PUBLIC_LABELS[lang] | LABELS[lang],
        lang_query="/auctions",  # the language switch leads to /en/auctions and /ja/auctions
        auctions=auctions,
        jst=jst,
    )
    response = HTMLResponse(html)
    response.headers["Content-Language"] = lang
    return response


@router.get("/auctions", response_class=HTMLResponse)
def public_auctions(request: Request) -> HTMLResponse:
    """The public auction calendar and results (English)."""
    return _public(request, "en")


@router.get("/en/auctions", response_class=HTMLResponse)
def public_auctions_en(request: Request) -> HTMLResponse:
    return _public(request, "en")


@router.get("/ja/auctions", response_class=HTMLResponse)
def public_auctions_ja(request: Request) -> HTMLResponse:
    """The public auction calendar and results (Japanese)."""
    return _public(request, "ja")


# ---------------------------------------------------------------- portal pages


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _t(request: Request) -> dict[str, str]:
    lang = portal._lang(request)  # the portal's choice: ?lang=, cookie, Accept-Language
    return portal.LABELS[lang] | LABELS[lang]


def _home(
    request: Request,
    user: PortalUser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    auctions = sa.list_auctions(db)
    # a seller sees all of its own; an operator's user the ones still to run
    mine = [
        a
        for a in sa.own_auctions(db, user.actor)
        if a["seller"] == user.participant_id or a["state"] in ("scheduled", "open", "closed")
    ]
    return portal.page(
        request,
        "sealed_portal.html",
        status,
        user,
        labels=LABELS,
        upcoming=[a for a in auctions if a["state"] in ("scheduled", "open")],
        mine=mine,
        bids=sa.own_bids(db, portal.reader(user)),
        awards=sa.own_awards(db, portal.reader(user)),
        accounts=portal.own_accounts(db, user),
        values=values or {},
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token,
        pricing=PRICING,
        marginal=MARGINAL,
        undersubscribed=UNDERSUBSCRIBED,
    )


def _detail(
    request: Request,
    user: PortalUser,
    auction_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    try:
        auction = sa.get_auction(db, auction_id, user.actor)
    except TansoError:
        return portal.not_found(request, user)
    auction["chart"] = demand_chart(auction)
    return portal.page(
        request,
        "sealed_detail.html",
        status,
        user,
        labels=LABELS,
        a=auction,
        bids=sa.own_bids(db, portal.reader(user), auction_id),
        awards=[w for w in sa.own_awards(db, portal.reader(user)) if w["auction_id"] == auction_id],
        accounts=portal.own_accounts(db, user),
        may_run="seller" in auction,
        values=values or {},
        errors=errors or {},
        notice=notice,
        csrf=user.csrf_token,
    )


@router.get("/portal/auctions", response_class=HTMLResponse)
def portal_auctions(request: Request) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    return _home(request, user)


@router.get("/portal/auctions/{auction_id}", response_class=HTMLResponse)
def portal_auction(request: Request, auction_id: str) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    return _detail(request, user, auction_id)


def _local_time(text: str) -> str:
    """A datetime-local field (Japan time unless it names its zone) as the clock's format."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return sa.timestamp(value)


def _create(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    t = _t(request)
    fields = ("account", "quantity", "parts", "lot", "reserve", "opens_at", "closes_at")
    errors: dict[str, str] = {}
    account = form.get("account", "")
    if account not in {a["id"] for a in portal.own_accounts(_db(request), user)}:
        errors["account"] = t["required"]
    numbers: dict[str, int | None] = {}
    for name in ("quantity", "lot", "reserve", "settlement_days"):
        try:
            numbers[name] = portal.parse_int(form.get(name))
        except ValueError:
            errors[name] = t["whole_number"]
    parts = [p.strip() for p in form.get("parts", "").splitlines() if p.strip()]
    if numbers.get("quantity") is None and not parts:
        errors["quantity"] = t["required"]
    if numbers.get("reserve") is None:
        errors.setdefault("reserve", t["required"])
    times: dict[str, str] = {}
    for name in ("opens_at", "closes_at"):
        try:
            times[name] = _local_time(form.get(name, ""))
        except (ValueError, TansoError):
            errors[name] = t["sealed_time_hint"]
    choices = {
        "pricing": PRICING,
        "marginal": MARGINAL,
        "undersubscribed": UNDERSUBSCRIBED,
    }
    for name, allowed in choices.items():
        if form.get(name) not in allowed:
            errors[name] = t["required"]
    if errors:
        return _home(request, user, form, errors | {"_form": t["error"]}, status=422)
    spec = sa.NewSealedAuction(
        account_id=account,
        opens_at=times["opens_at"],
        closes_at=times["closes_at"],
        reserve=numbers["reserve"] or 0,
        quantity=None if parts else numbers["quantity"],
        parts=tuple(parts),
        title=form.get("title", "")[:200],
        lot=numbers["lot"] or 1,
        pricing=form["pricing"],
        marginal=form["marginal"],
        undersubscribed=form["undersubscribed"],
        settlement_days=numbers["settlement_days"] or 0,
    )
    try:
        out = sa.create(_db(request), user.actor, spec)
    except TansoError as e:
        where = portal.field_for(e.code, fields)
        return _home(request, user, form, {where: e.message, "_form": e.message}, status=422)
    return _home(request, user, notice=t["sealed_created"].format(id=out["id"]))


@router.post("/portal/auctions")
async def create_auction(request: Request) -> Response:
    return await portal.post(request, _create, Capability.TRADE)


@router.post("/portal/auctions/{auction_id}/bids")
async def place_bid(request: Request, auction_id: str) -> Response:
    def bid(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
        t = _t(req)
        errors: dict[str, str] = {}
        values: dict[str, int] = {}
        for name in ("price", "qty"):
            try:
                v = portal.parse_int(form.get(name))
            except ValueError:
                errors[name] = t["whole_number"]
                continue
            if v is None:
                errors[name] = t["required"]
            else:
                values[name] = v
        account = form.get("account", "")
        if account not in {a["id"] for a in portal.own_accounts(_db(req), user)}:
            errors["account"] = t["required"]
        if errors:
            return _detail(req, user, auction_id, form, errors | {"_form": t["error"]}, status=422)
        try:
            out = sa.place_bid(
                _db(req), user.actor, auction_id, account, values["price"], values["qty"]
            )
        except TansoError as e:
            status = portal.refusal_status(e)
            return _detail(req, user, auction_id, form, {"_form": e.message}, status=status)
        return _detail(req, user, auction_id, notice=t["sealed_bid_sent"].format(id=out["id"]))

    return await portal.post(request, bid, Capability.TRADE)


def _bid_action(action: str) -> Any:
    async def handle(request: Request, bid_id: str) -> Response:
        def act(req: Request, user: PortalUser, form: dict[str, str]) -> Response:
            t = _t(req)
            db = _db(req)
            try:
                bid = sa.get_bid(db, portal.reader(user), bid_id)
            except TansoError:
                return portal.not_found(req, user)
            try:
                if action == "amend":
                    price = portal.parse_int(form.get("price"))
                    qty = portal.parse_int(form.get("qty"))
                    sa.amend_bid(db, user.actor, bid_id, price, qty)
                    notice = t["sealed_bid_amended"]
                else:
                    sa.withdraw_bid(db, user.actor, bid_id)
                    notice = t["sealed_bid_withdrawn"]
            except ValueError:
                errors = {"_form": t["whole_number"]}
                return _detail(req, user, bid["auction_id"], errors=errors, status=422)
            except TansoError as e:
                errors = {"_form": e.message}
                status = portal.refusal_status(e)
                return _detail(req, user, bid["auction_id"], errors=errors, status=status)
            return _detail(req, user, bid["auction_id"], notice=notice.format(id=bid_id))

        return await portal.post(request, act, Capability.TRADE)

    return handle


router.add_api_route("/portal/auctions/bids/{bid_id}/amend", _bid_action("amend"), methods=["POST"])
router.add_api_route(
    "/portal/auctions/bids/{bid_id}/withdraw", _bid_action("withdraw"), methods=["POST"]
)


def _run_action(action: str) -> Any:
    async def handle(request: Request, auction_id: str) -> Response:
        def act(req: Request, user: PortalUser, _form: dict[str, str]) -> Response:
            t = _t(req)
            db = _db(req)
            try:
                if action == "clear":
                    sa.clear_auction(db, user.actor, auction_id)
                    notice = t["sealed_cleared"]
                else:
                    sa.cancel(db, user.actor, auction_id)
                    notice = t["sealed_cancelled"]
            except TansoError as e:
                status = portal.refusal_status(e)
                return _detail(req, user, auction_id, errors={"_form": e.message}, status=status)
            return _detail(req, user, auction_id, notice=notice.format(id=auction_id))

        return await portal.post(request, act, Capability.TRADE)

    return handle


router.add_api_route("/portal/auctions/{auction_id}/clear", _run_action("clear"), methods=["POST"])
router.add_api_route(
    "/portal/auctions/{auction_id}/cancel", _run_action("cancel"), methods=["POST"]
)
