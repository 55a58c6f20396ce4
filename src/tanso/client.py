"""`tanso.client`: a small Python client for Tanso's REST API (httpx).

    from tanso.client import Client
    with Client("http://127.0.0.1:8000", api_key="tk_...") as c:
        c.holdings("MARUHAMA-MAIN")
        c.place_order("JPX-ENERGY-SAVING", "buy", quantity=100, price=2_000)

Answers come back typed: the same pydantic models the server's OpenAPI document describes
(tanso.api.schemas_*), frozen, with any field the models do not list kept as an extra.
Errors come back as `ApiError` with the server's machine-readable code and message.
"""

from __future__ import annotations

import uuid
from functools import cache
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from tanso.api import schemas_auctions as sa
from tanso.api import schemas_exchange as sx
from tanso.api import schemas_marketplace as sm
from tanso.api import schemas_registry as sr
from tanso.api import schemas_usage as su

M = TypeVar("M", bound=BaseModel)


@cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _one(model: type[M], body: Any) -> M:
    """The answer as its model (validated: a server that breaks its schema is caught here)."""
    return model.model_validate(body)


def _many(model: type[M], body: Any) -> list[M]:
    return _list_of(model).validate_python(body)


class ApiError(Exception):
    """A 4xx or 5xx answer: `status`, `code` and `message` as the server gave them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Client:
    """One participant's (or the public's) connection to a Tanso server."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        *,
        on_behalf_of: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if on_behalf_of:
            headers["X-On-Behalf-Of"] = on_behalf_of
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ plumbing

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request; returns the decoded JSON body or raises ApiError."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        r = self._http.request(method, path, json=json, params=clean, headers=headers)
        if r.status_code >= 400:
            try:
                err = r.json()["error"]
                raise ApiError(r.status_code, err["code"], err["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(r.status_code, "http_error", r.text[:200]) from None
        return r.json()

    def _post(self, path: str, body: dict[str, Any], idempotent: bool = True) -> Any:
        key = str(uuid.uuid4()) if idempotent else None
        return self.request("POST", path, json=_drop_none(body), idempotency_key=key)

    # ------------------------------------------------------------------ registry

    def participants(self) -> list[sr.Participant]:
        return _many(sr.Participant, self.request("GET", "/v1/participants"))

    def accounts(self) -> list[sr.Account]:
        return _many(sr.Account, self.request("GET", "/v1/accounts"))

    def holdings(self, account_id: str, limit: int = 1000) -> sr.Holdings:
        return _one(
            sr.Holdings,
            self.request("GET", f"/v1/accounts/{account_id}/holdings", params={"limit": limit}),
        )

    def transfer(
        self,
        from_account: str,
        to_account: str,
        quantity: int | None = None,
        serials: str | None = None,
    ) -> sr.Transfer:
        return _one(
            sr.Transfer,
            self._post(
                "/v1/transfers",
                {
                    "from_account": from_account,
                    "to_account": to_account,
                    "quantity": quantity,
                    "serials": serials,
                },
            ),
        )

    def retire(
        self,
        account_id: str,
        purpose: str,
        quantity: int | None = None,
        serials: str | None = None,
        beneficiary: str = "",
        reporting_year: int | None = None,
        note: str = "",
        emissions_scope: int | None = None,
        scope3_category: int | None = None,
    ) -> sr.RetirementReceipt:
        return _one(
            sr.RetirementReceipt,
            self._post(
                "/v1/retirements",
                {
                    "account_id": account_id,
                    "purpose": purpose,
                    "quantity": quantity,
                    "serials": serials,
                    "beneficiary": beneficiary,
                    "reporting_year": reporting_year,
                    "note": note,
                    "emissions_scope": emissions_scope,
                    "scope3_category": scope3_category,
                },
            ),
        )

    def retirement(self, retirement_id: str) -> sr.Retirement:
        return _one(sr.Retirement, self.request("GET", f"/v1/retirements/{retirement_id}"))

    def cash(self) -> list[sr.CashBalance]:
        return _many(sr.CashBalance, self.request("GET", "/v1/cash"))

    # ------------------------------------------------------------------ exchange

    def instruments(self) -> list[sx.Instrument]:
        return _many(sx.Instrument, self.request("GET", "/v1/instruments"))

    def book(self, instrument: str, depth: int = 10) -> sx.Book:
        return _one(
            sx.Book,
            self.request("GET", f"/v1/instruments/{instrument}/book", params={"depth": depth}),
        )

    def place_order(
        self,
        instrument: str,
        side: str,
        quantity: int,
        price: int | None = None,
        *,
        type: str = "limit",
        tif: str = "day",
        account_id: str | None = None,
        serials: str | None = None,
        client_order_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> sx.PlacedOrder:
        body = _drop_none(
            {
                "instrument": instrument,
                "side": side,
                "quantity": quantity,
                "price": price,
                "type": type,
                "tif": tif,
                "account_id": account_id,
                "serials": serials,
                "client_order_id": client_order_id,
            }
        )
        return _one(
            sx.PlacedOrder,
            self.request(
                "POST",
                "/v1/orders",
                json=body,
                idempotency_key=idempotency_key or str(uuid.uuid4()),
            ),
        )

    def amend_order(
        self, order_id: str, quantity: int | None = None, price: int | None = None
    ) -> sx.PlacedOrder:
        return _one(
            sx.PlacedOrder,
            self.request(
                "PATCH",
                f"/v1/orders/{order_id}",
                json=_drop_none({"quantity": quantity, "price": price}),
            ),
        )

    def cancel_order(self, order_id: str) -> sx.Order:
        return _one(sx.Order, self.request("DELETE", f"/v1/orders/{order_id}"))

    def orders(self, status: str | None = None) -> list[sx.Order]:
        return _many(sx.Order, self.request("GET", "/v1/orders", params={"status": status}))

    def trades(self) -> list[sx.OwnTrade]:
        return _many(sx.OwnTrade, self.request("GET", "/v1/trades"))

    def run_auction(self, instrument: str) -> sx.SessionChange:
        return _one(
            sx.SessionChange, self.request("POST", f"/v1/instruments/{instrument}/auctions")
        )

    def session(self, instrument: str, action: str) -> sx.SessionChange:
        return _one(
            sx.SessionChange, self.request("POST", f"/v1/instruments/{instrument}/{action}")
        )

    # ------------------------------------------------------------------ settlement

    def settlement_run(self, date: str) -> sx.SettlementRun:
        """Run settlement for a date (operator)."""
        return _one(sx.SettlementRun, self._post("/v1/settlement/runs", {"date": date}))

    def obligations(
        self, status: str | None = None, date: str | None = None
    ) -> list[sx.Obligation]:
        return _many(
            sx.Obligation,
            self.request(
                "GET", "/v1/settlement/obligations", params={"status": status, "date": date}
            ),
        )

    def resolve_obligation(self, deal_id: str, action: str) -> sx.ObligationResolution:
        """Settle a failed obligation later, or cancel its trade (operator)."""
        return _one(
            sx.ObligationResolution,
            self._post(f"/v1/settlement/obligations/{deal_id}/{action}", {}),
        )

    def settlement_report(self, date: str) -> sx.SettlementReport:
        return _one(sx.SettlementReport, self.request("GET", f"/v1/settlement/reports/{date}"))

    def fees(self) -> list[sx.FeeSchedule]:
        return _many(sx.FeeSchedule, self.request("GET", "/v1/fees"))

    def set_fees(self, instrument: str, side: str, **schedule: int) -> sx.FeeSchedule:
        return _one(
            sx.FeeSchedule, self.request("PUT", f"/v1/fees/{instrument}/{side}", json=schedule)
        )

    def cash_deposit(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> sr.CashBalance:
        """Record a bank transfer in (exchange operator)."""
        return _one(
            sr.CashBalance,
            self._post(
                "/v1/cash/deposits",
                {
                    "participant_id": participant_id,
                    "amount": amount,
                    "currency": currency,
                    "external_ref": external_ref,
                },
            ),
        )

    def cash_withdrawal(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> sr.CashBalance:
        return _one(
            sr.CashBalance,
            self._post(
                "/v1/cash/withdrawals",
                {
                    "participant_id": participant_id,
                    "amount": amount,
                    "currency": currency,
                    "external_ref": external_ref,
                },
            ),
        )

    def withdraw_credits(
        self,
        account_id: str,
        external_registry: str,
        external_account: str,
        quantity: int | None = None,
        serials: str | None = None,
    ) -> sr.Withdrawal:
        return _one(
            sr.Withdrawal,
            self._post(
                "/v1/withdrawals",
                {
                    "account_id": account_id,
                    "external_registry": external_registry,
                    "external_account": external_account,
                    "quantity": quantity,
                    "serials": serials,
                },
            ),
        )

    # ------------------------------------------------------------------ public market data

    def market_trades(
        self, instrument: str | None = None, limit: int = 100
    ) -> list[sx.PublicTrade]:
        return _many(
            sx.PublicTrade,
            self.request(
                "GET", "/v1/market/trades", params={"instrument": instrument, "limit": limit}
            ),
        )

    def auctions(self, instrument: str | None = None, limit: int = 100) -> list[sx.AuctionResult]:
        return _many(
            sx.AuctionResult,
            self.request(
                "GET", "/v1/market/auctions", params={"instrument": instrument, "limit": limit}
            ),
        )

    # ------------------------------------------------------------------ marketplace (issue 7)

    def marketplace_listings(self, sort: str = "price", **filters: Any) -> list[sm.Listing]:
        """Open listings; filters: scheme, category, mechanism, nature, vintage_from,
        vintage_to, country, property, price_min, price_max, project, q, mine."""
        return _many(
            sm.Listing,
            self.request("GET", "/v1/marketplace/listings", params={"sort": sort, **filters}),
        )

    def marketplace_listing(self, listing_id: str) -> sm.ListingDetail:
        return _one(sm.ListingDetail, self.request("GET", f"/v1/marketplace/listings/{listing_id}"))

    def marketplace_my_listings(self) -> list[sm.Listing]:
        return _many(sm.Listing, self.request("GET", "/v1/marketplace/listings/mine"))

    def marketplace_project(self, project_id: str) -> sm.MarketplaceProject:
        return _one(
            sm.MarketplaceProject, self.request("GET", f"/v1/marketplace/projects/{project_id}")
        )

    def marketplace_set_profile(self, project_id: str, **profile: Any) -> sm.ProjectProfile:
        """summary_en, summary_ja, ratings [{agency, grade}], documents [{title, url}]."""
        return _one(
            sm.ProjectProfile,
            self.request(
                "PUT",
                f"/v1/marketplace/projects/{project_id}/profile",
                json=profile,
                idempotency_key=str(uuid.uuid4()),
            ),
        )

    def list_credits(
        self,
        account_id: str,
        price: int,
        quantity: int,
        *,
        issuance_id: str | None = None,
        serials: str | None = None,
        min_quantity: int | None = None,
        lot: int | None = None,
        settlement_days: int | None = None,
        expires_at: str | None = None,
        note: str | None = None,
    ) -> sm.Listing:
        """List credits of one issuance on the marketplace; they stay reserved while listed."""
        return _one(
            sm.Listing,
            self._post(
                "/v1/marketplace/listings",
                {
                    "account_id": account_id,
                    "issuance_id": issuance_id,
                    "serials": serials,
                    "price": price,
                    "quantity": quantity,
                    "min_quantity": min_quantity,
                    "lot": lot,
                    "settlement_days": settlement_days,
                    "expires_at": expires_at,
                    "note": note,
                },
            ),
        )

    def amend_listing(
        self, listing_id: str, price: int | None = None, available: int | None = None
    ) -> sm.Listing:
        return _one(
            sm.Listing,
            self.request(
                "PATCH",
                f"/v1/marketplace/listings/{listing_id}",
                json=_drop_none({"price": price, "available": available}),
                idempotency_key=str(uuid.uuid4()),
            ),
        )

    def withdraw_listing(self, listing_id: str) -> sm.Listing:
        return _one(sm.Listing, self._post(f"/v1/marketplace/listings/{listing_id}/withdraw", {}))

    def buy_listing(self, listing_id: str, quantity: int, account_id: str) -> sm.Purchase:
        """Buy at the listed price; returns the deal (settled at once when T+0)."""
        return _one(
            sm.Purchase,
            self._post(
                f"/v1/marketplace/listings/{listing_id}/purchases",
                {"quantity": quantity, "account_id": account_id},
            ),
        )

    def marketplace_deals(self) -> list[sm.Deal]:
        return _many(sm.Deal, self.request("GET", "/v1/marketplace/deals"))

    def request_quote(
        self,
        quantity: int,
        *,
        listing_id: str | None = None,
        project_id: str | None = None,
        note: str | None = None,
    ) -> sm.Rfq:
        return _one(
            sm.Rfq,
            self._post(
                "/v1/marketplace/rfqs",
                {
                    "quantity": quantity,
                    "listing_id": listing_id,
                    "project_id": project_id,
                    "note": note,
                },
            ),
        )

    def rfqs(self, box: str = "out") -> list[sm.Rfq]:
        return _many(sm.Rfq, self.request("GET", "/v1/marketplace/rfqs", params={"box": box}))

    def rfq(self, rfq_id: str) -> sm.Rfq:
        return _one(sm.Rfq, self.request("GET", f"/v1/marketplace/rfqs/{rfq_id}"))

    def cancel_rfq(self, rfq_id: str) -> sm.Rfq:
        return _one(sm.Rfq, self._post(f"/v1/marketplace/rfqs/{rfq_id}/cancel", {}))

    def offer(
        self,
        rfq_id: str,
        account_id: str,
        issuance_id: str,
        price: int,
        quantity: int,
        expires_at: str,
        settlement_days: int | None = None,
    ) -> sm.Offer:
        """Answer an RFQ with a firm offer (credits reserved until it ends)."""
        return _one(
            sm.Offer,
            self._post(
                f"/v1/marketplace/rfqs/{rfq_id}/offers",
                {
                    "account_id": account_id,
                    "issuance_id": issuance_id,
                    "price": price,
                    "quantity": quantity,
                    "expires_at": expires_at,
                    "settlement_days": settlement_days,
                },
            ),
        )

    def accept_offer(self, offer_id: str, account_id: str) -> sm.Purchase:
        return _one(
            sm.Purchase,
            self._post(f"/v1/marketplace/offers/{offer_id}/accept", {"account_id": account_id}),
        )

    def decline_offer(self, offer_id: str) -> sm.Offer:
        return _one(sm.Offer, self._post(f"/v1/marketplace/offers/{offer_id}/decline", {}))

    def withdraw_offer(self, offer_id: str) -> sm.Offer:
        return _one(sm.Offer, self._post(f"/v1/marketplace/offers/{offer_id}/withdraw", {}))

    def marketplace_sweep(self) -> sm.SweepResult:
        """Close expired listings and offers, releasing their credits (operator)."""
        return _one(sm.SweepResult, self._post("/v1/marketplace/sweep", {}, idempotent=False))

    # ------------------------------------------------------------------ sealed-bid auctions

    def sealed_auctions(self, state: str | None = None) -> list[sa.SealedAuction]:
        """The auction calendar (public): terms, state, results once cleared; never a bid."""
        return _many(
            sa.SealedAuction, self.request("GET", "/v1/sealed-auctions", params={"state": state})
        )

    def sealed_auction(self, auction_id: str) -> sa.SealedAuction:
        return _one(sa.SealedAuction, self.request("GET", f"/v1/sealed-auctions/{auction_id}"))

    def sealed_auction_results(self, auction_id: str) -> sa.SealedResults:
        return _one(
            sa.SealedResults, self.request("GET", f"/v1/sealed-auctions/{auction_id}/results")
        )

    def create_sealed_auction(
        self,
        account_id: str,
        *,
        opens_at: str,
        closes_at: str,
        reserve: int,
        quantity: int | None = None,
        parts: list[str] | None = None,
        **settings: Any,
    ) -> sa.SealedAuctionOffered:
        """sm.Offer credits in a sealed-bid auction; settings: title, lot, pricing, marginal,
        undersubscribed, settlement_days, currency, seed."""
        body = {
            "account_id": account_id,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "reserve": reserve,
            "quantity": quantity,
            "parts": parts,
        } | settings
        return _one(sa.SealedAuctionOffered, self._post("/v1/sealed-auctions", body))

    def sealed_bid(
        self, auction_id: str, account_id: str, price: int, quantity: int
    ) -> sa.SealedBid:
        body = {"account_id": account_id, "price": price, "quantity": quantity}
        return _one(sa.SealedBid, self._post(f"/v1/sealed-auctions/{auction_id}/bids", body))

    def amend_sealed_bid(
        self, bid_id: str, price: int | None = None, quantity: int | None = None
    ) -> sa.SealedBid:
        return _one(
            sa.SealedBid,
            self.request(
                "PATCH",
                f"/v1/sealed-auctions/bids/{bid_id}",
                json=_drop_none({"price": price, "quantity": quantity}),
                idempotency_key=str(uuid.uuid4()),
            ),
        )

    def withdraw_sealed_bid(self, bid_id: str) -> sa.SealedBid:
        return _one(sa.SealedBid, self.request("DELETE", f"/v1/sealed-auctions/bids/{bid_id}"))

    def my_sealed_bids(self, auction_id: str | None = None) -> list[sa.SealedBid]:
        return _many(
            sa.SealedBid,
            self.request("GET", "/v1/sealed-auctions/bids", params={"auction_id": auction_id}),
        )

    def my_sealed_awards(self) -> list[sa.Award]:
        return _many(sa.Award, self.request("GET", "/v1/sealed-auctions/awards"))

    def sealed_auction_awards(self, auction_id: str) -> list[sa.Award]:
        return _many(sa.Award, self.request("GET", f"/v1/sealed-auctions/{auction_id}/awards"))

    def clear_sealed_auction(self, auction_id: str) -> sa.Clearing:
        return _one(sa.Clearing, self._post(f"/v1/sealed-auctions/{auction_id}/clear", {}))

    def cancel_sealed_auction(self, auction_id: str) -> sa.OwnSealedAuction:
        return _one(sa.OwnSealedAuction, self._post(f"/v1/sealed-auctions/{auction_id}/cancel", {}))

    # ------------------------------------------------------------------ usage rules, inventories

    def record_inventory(
        self, participant_id: str, year: int, **figures: Any
    ) -> su.InventoryRecord:
        """Record or replace a year's emissions inventory (t-CO2e): scope1, scope2_location,
        scope2_market, scope3_categories={"1": t, ...}, reduction_scope1..3, targets, energy."""
        return _one(
            su.InventoryRecord,
            self.request("PUT", f"/v1/inventories/{participant_id}/{year}", json=figures),
        )

    def inventories(self, participant_id: str) -> list[su.InventoryRecord]:
        return _many(su.InventoryRecord, self.request("GET", f"/v1/inventories/{participant_id}"))

    def inventory(self, participant_id: str, year: int) -> su.InventoryPosition:
        return _one(
            su.InventoryPosition, self.request("GET", f"/v1/inventories/{participant_id}/{year}")
        )

    def import_inventories(self, csv_text: str) -> su.InventoryImport:
        return _one(su.InventoryImport, self._post("/v1/inventories/import", {"csv": csv_text}))

    def evaluate_use(
        self,
        account_id: str,
        purpose: str,
        quantity: int | None = None,
        serials: str | None = None,
        reporting_year: int | None = None,
        emissions_scope: str | None = None,
        scope3_category: int | None = None,
    ) -> su.UseEvaluation:
        """May these credits be used for this purpose? (allowed, reasons, max_quantity)."""
        return _one(
            su.UseEvaluation,
            self.request(
                "POST",
                "/v1/usage/evaluate",
                json=_drop_none(
                    {
                        "account_id": account_id,
                        "purpose": purpose,
                        "quantity": quantity,
                        "serials": serials,
                        "reporting_year": reporting_year,
                        "emissions_scope": emissions_scope,
                        "scope3_category": scope3_category,
                    }
                ),
            ),
        )

    def usage_rulesets(self, date: str | None = None) -> list[su.RuleSet]:
        return _many(su.RuleSet, self.request("GET", "/v1/usage/rulesets", params={"date": date}))

    def usage_ruleset_in_force(self, date: str | None = None) -> su.RuleSetInForce:
        return _one(
            su.RuleSetInForce,
            self.request("GET", "/v1/usage/rulesets/current", params={"date": date}),
        )

    def add_usage_ruleset(self, ruleset: dict[str, Any]) -> su.RuleSet:
        return _one(su.RuleSet, self._post("/v1/usage/rulesets", ruleset))

    # ------------------------------------------------------------------ certificates, claims

    def certificate(self, retirement_id: str) -> su.Certificate:
        """A retirement's certificate and whether its journal entry verifies (public)."""
        return _one(su.Certificate, self.request("GET", f"/v1/certificates/{retirement_id}"))

    def certificate_pdf(self, retirement_id: str, lang: str = "en") -> bytes:
        return self._download(f"/v1/certificates/{retirement_id}.pdf", lang).content

    def claim_report(self, participant_id: str, year: int) -> su.ClaimReport:
        """The offset claim report of a participant (your own; the operator: any) and year."""
        return _one(su.ClaimReport, self.request("GET", f"/v1/claims/{participant_id}/{year}"))

    def claim_report_pdf(self, participant_id: str, year: int, lang: str = "en") -> bytes:
        return self._download(f"/v1/claims/{participant_id}/{year}.pdf", lang).content

    def claim_report_csv(self, participant_id: str, year: int, lang: str = "en") -> str:
        return self._download(f"/v1/claims/{participant_id}/{year}.csv", lang).text

    def _download(self, path: str, lang: str) -> httpx.Response:
        r = self._http.get(path, params={"lang": lang})
        if r.status_code >= 400:
            try:
                err = r.json()["error"]
                raise ApiError(r.status_code, err["code"], err["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(r.status_code, "http_error", r.text[:200]) from None
        return r


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
