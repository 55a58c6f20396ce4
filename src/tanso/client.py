"""`tanso.client`: a small Python client for Tanso's REST API (httpx).

    from tanso.client import Client
    with Client("http://127.0.0.1:8000", api_key="tk_...") as c:
        c.holdings("MARUHAMA-MAIN")
        c.place_order("JPX-ENERGY-SAVING", "buy", quantity=100, price=2_000)

Answers come back typed and frozen: the use case's own dataclass where the server builds its
answer model from one (tanso.api.schemas.answer), else the pydantic model the OpenAPI document
describes (tanso.api.schemas_*). Either is validated as it arrives; a field the type does not
know is dropped by a dataclass and kept as an extra by a model.
Errors come back as `ApiError` with the server's machine-readable code and message.
"""

from __future__ import annotations

import uuid
from functools import cache
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx
from pydantic import TypeAdapter

from tanso.api import schemas_exchange as sx
from tanso.api import schemas_marketplace as sm
from tanso.api import schemas_registry as sr
from tanso.api import schemas_usage as su
from tanso.services.clearing import settlement
from tanso.services.compliance import certificates, usage
from tanso.services.ledger import cash as cash_ledger
from tanso.services.ledger import participants as parties
from tanso.services.ledger import registry
from tanso.services.trading import exchange
from tanso.services.venues import marketplace
from tanso.services.venues import sealed_auctions as sealed

T = TypeVar("T")


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _one(kind: type[T], body: Any) -> T:
    """The answer as its type (validated: a server that breaks its schema is caught here)."""
    return cast(T, _adapter(cast(Any, kind)).validate_python(body))


def _many(kind: type[T], body: Any) -> list[T]:
    return cast(list[T], _adapter(list[kind]).validate_python(body))  # type: ignore[valid-type]


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

    def participants(self) -> list[parties.Participant]:
        return _many(parties.Participant, self.request("GET", "/v1/participants"))

    def accounts(self) -> list[parties.Account]:
        return _many(parties.Account, self.request("GET", "/v1/accounts"))

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
    ) -> registry.Transfer:
        return _one(
            registry.Transfer,
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
    ) -> registry.RetirementReceipt:
        return _one(
            registry.RetirementReceipt,
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

    def cash(self) -> list[cash_ledger.CashAccount]:
        return _many(cash_ledger.CashAccount, self.request("GET", "/v1/cash"))

    # ------------------------------------------------------------------ exchange

    def instruments(self) -> list[exchange.Instrument]:
        return _many(exchange.Instrument, self.request("GET", "/v1/instruments"))

    def book(self, instrument: str, depth: int = 10) -> exchange.Book:
        return _one(
            exchange.Book,
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

    def cancel_order(self, order_id: str) -> exchange.Order:
        return _one(exchange.Order, self.request("DELETE", f"/v1/orders/{order_id}"))

    def orders(self, status: str | None = None) -> list[exchange.Order]:
        return _many(exchange.Order, self.request("GET", "/v1/orders", params={"status": status}))

    def trades(self) -> list[exchange.OwnTrade]:
        return _many(exchange.OwnTrade, self.request("GET", "/v1/trades"))

    def run_auction(self, instrument: str) -> sx.SessionChange:
        return _one(
            sx.SessionChange, self.request("POST", f"/v1/instruments/{instrument}/auctions")
        )

    def session(self, instrument: str, action: str) -> sx.SessionChange:
        return _one(
            sx.SessionChange, self.request("POST", f"/v1/instruments/{instrument}/{action}")
        )

    # ------------------------------------------------------------------ settlement

    def settlement_run(self, date: str) -> settlement.Run:
        """Run settlement for a date (operator)."""
        return _one(settlement.Run, self._post("/v1/settlement/runs", {"date": date}))

    def obligations(
        self, status: str | None = None, date: str | None = None
    ) -> list[settlement.ObligationView]:
        return _many(
            settlement.ObligationView,
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

    def settlement_report(self, date: str) -> settlement.Report:
        return _one(settlement.Report, self.request("GET", f"/v1/settlement/reports/{date}"))

    def fees(self) -> list[settlement.Fees]:
        return _many(settlement.Fees, self.request("GET", "/v1/fees"))

    def set_fees(self, instrument: str, side: str, **schedule: int) -> settlement.Fees:
        return _one(
            settlement.Fees, self.request("PUT", f"/v1/fees/{instrument}/{side}", json=schedule)
        )

    def cash_deposit(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> cash_ledger.CashAccount:
        """Record a bank transfer in (exchange operator)."""
        return _one(
            cash_ledger.CashAccount,
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
    ) -> cash_ledger.CashAccount:
        return _one(
            cash_ledger.CashAccount,
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
    ) -> registry.Withdrawal:
        return _one(
            registry.Withdrawal,
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
    ) -> list[exchange.PublicTrade]:
        return _many(
            exchange.PublicTrade,
            self.request(
                "GET", "/v1/market/trades", params={"instrument": instrument, "limit": limit}
            ),
        )

    def auctions(
        self, instrument: str | None = None, limit: int = 100
    ) -> list[exchange.AuctionResult]:
        return _many(
            exchange.AuctionResult,
            self.request(
                "GET", "/v1/market/auctions", params={"instrument": instrument, "limit": limit}
            ),
        )

    # ------------------------------------------------------------------ marketplace (issue 7)

    def marketplace_listings(
        self, sort: str = "price", **filters: Any
    ) -> list[marketplace.Listing]:
        """Open listings; filters: scheme, category, mechanism, nature, vintage_from,
        vintage_to, country, property, price_min, price_max, project, q, mine."""
        return _many(
            marketplace.Listing,
            self.request("GET", "/v1/marketplace/listings", params={"sort": sort, **filters}),
        )

    def marketplace_listing(self, listing_id: str) -> marketplace.Listing:
        return _one(
            marketplace.Listing, self.request("GET", f"/v1/marketplace/listings/{listing_id}")
        )

    def marketplace_my_listings(self) -> list[marketplace.Listing]:
        return _many(marketplace.Listing, self.request("GET", "/v1/marketplace/listings/mine"))

    def marketplace_project(self, project_id: str) -> sm.MarketplaceProject:
        return _one(
            sm.MarketplaceProject, self.request("GET", f"/v1/marketplace/projects/{project_id}")
        )

    def marketplace_set_profile(
        self, project_id: str, **profile: Any
    ) -> marketplace.ProjectProfile:
        """summary_en, summary_ja, ratings [{agency, grade}], documents [{title, url}]."""
        return _one(
            marketplace.ProjectProfile,
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
    ) -> marketplace.Listing:
        """List credits of one issuance on the marketplace; they stay reserved while listed."""
        return _one(
            marketplace.Listing,
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
    ) -> marketplace.Listing:
        return _one(
            marketplace.Listing,
            self.request(
                "PATCH",
                f"/v1/marketplace/listings/{listing_id}",
                json=_drop_none({"price": price, "available": available}),
                idempotency_key=str(uuid.uuid4()),
            ),
        )

    def withdraw_listing(self, listing_id: str) -> marketplace.Listing:
        return _one(
            marketplace.Listing, self._post(f"/v1/marketplace/listings/{listing_id}/withdraw", {})
        )

    def buy_listing(self, listing_id: str, quantity: int, account_id: str) -> marketplace.Purchase:
        """Buy at the listed price; returns the deal (settled at once when T+0)."""
        return _one(
            marketplace.Purchase,
            self._post(
                f"/v1/marketplace/listings/{listing_id}/purchases",
                {"quantity": quantity, "account_id": account_id},
            ),
        )

    def marketplace_deals(self) -> list[marketplace.Deal]:
        return _many(marketplace.Deal, self.request("GET", "/v1/marketplace/deals"))

    def request_quote(
        self,
        quantity: int,
        *,
        listing_id: str | None = None,
        project_id: str | None = None,
        note: str | None = None,
    ) -> marketplace.Rfq:
        return _one(
            marketplace.Rfq,
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

    def rfqs(self, box: str = "out") -> list[marketplace.Rfq]:
        return _many(
            marketplace.Rfq, self.request("GET", "/v1/marketplace/rfqs", params={"box": box})
        )

    def rfq(self, rfq_id: str) -> marketplace.Rfq:
        return _one(marketplace.Rfq, self.request("GET", f"/v1/marketplace/rfqs/{rfq_id}"))

    def cancel_rfq(self, rfq_id: str) -> marketplace.Rfq:
        return _one(marketplace.Rfq, self._post(f"/v1/marketplace/rfqs/{rfq_id}/cancel", {}))

    def offer(
        self,
        rfq_id: str,
        account_id: str,
        issuance_id: str,
        price: int,
        quantity: int,
        expires_at: str,
        settlement_days: int | None = None,
    ) -> marketplace.Offer:
        """Answer an RFQ with a firm offer (credits reserved until it ends)."""
        return _one(
            marketplace.Offer,
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

    def accept_offer(self, offer_id: str, account_id: str) -> marketplace.Purchase:
        return _one(
            marketplace.Purchase,
            self._post(f"/v1/marketplace/offers/{offer_id}/accept", {"account_id": account_id}),
        )

    def decline_offer(self, offer_id: str) -> marketplace.Offer:
        return _one(marketplace.Offer, self._post(f"/v1/marketplace/offers/{offer_id}/decline", {}))

    def withdraw_offer(self, offer_id: str) -> marketplace.Offer:
        return _one(
            marketplace.Offer, self._post(f"/v1/marketplace/offers/{offer_id}/withdraw", {})
        )

    def marketplace_sweep(self) -> marketplace.Swept:
        """Close expired listings and offers, releasing their credits (operator)."""
        return _one(marketplace.Swept, self._post("/v1/marketplace/sweep", {}, idempotent=False))

    # ------------------------------------------------------------------ sealed-bid auctions

    def sealed_auctions(self, state: str | None = None) -> list[sealed.Auction]:
        """The auction calendar (public): terms, state, results once cleared; never a bid."""
        return _many(
            sealed.Auction,
            self.request("GET", "/v1/sealed-auctions", params={"state": state}),
        )

    def sealed_auction(self, auction_id: str) -> sealed.Auction:
        return _one(sealed.Auction, self.request("GET", f"/v1/sealed-auctions/{auction_id}"))

    def sealed_auction_results(self, auction_id: str) -> sealed.Results:
        return _one(
            sealed.Results,
            self.request("GET", f"/v1/sealed-auctions/{auction_id}/results"),
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
    ) -> sealed.OfferedAuction:
        """Offer credits in a sealed-bid auction; settings: title, lot, pricing, marginal,
        undersubscribed, settlement_days, currency, seed."""
        body = {
            "account_id": account_id,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "reserve": reserve,
            "quantity": quantity,
            "parts": parts,
        } | settings
        return _one(sealed.OfferedAuction, self._post("/v1/sealed-auctions", body))

    def sealed_bid(self, auction_id: str, account_id: str, price: int, quantity: int) -> sealed.Bid:
        body = {"account_id": account_id, "price": price, "quantity": quantity}
        return _one(sealed.Bid, self._post(f"/v1/sealed-auctions/{auction_id}/bids", body))

    def amend_sealed_bid(
        self, bid_id: str, price: int | None = None, quantity: int | None = None
    ) -> sealed.Bid:
        return _one(
            sealed.Bid,
            self.request(
                "PATCH",
                f"/v1/sealed-auctions/bids/{bid_id}",
                json=_drop_none({"price": price, "quantity": quantity}),
                idempotency_key=str(uuid.uuid4()),
            ),
        )

    def withdraw_sealed_bid(self, bid_id: str) -> sealed.Bid:
        return _one(sealed.Bid, self.request("DELETE", f"/v1/sealed-auctions/bids/{bid_id}"))

    def my_sealed_bids(self, auction_id: str | None = None) -> list[sealed.Bid]:
        return _many(
            sealed.Bid,
            self.request("GET", "/v1/sealed-auctions/bids", params={"auction_id": auction_id}),
        )

    def my_sealed_awards(self) -> list[sealed.Award]:
        return _many(sealed.Award, self.request("GET", "/v1/sealed-auctions/awards"))

    def sealed_auction_awards(self, auction_id: str) -> list[sealed.Award]:
        return _many(sealed.Award, self.request("GET", f"/v1/sealed-auctions/{auction_id}/awards"))

    def clear_sealed_auction(self, auction_id: str) -> sealed.Clearing:
        return _one(sealed.Clearing, self._post(f"/v1/sealed-auctions/{auction_id}/clear", {}))

    def cancel_sealed_auction(self, auction_id: str) -> sealed.Auction:
        return _one(sealed.Auction, self._post(f"/v1/sealed-auctions/{auction_id}/cancel", {}))

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

    def usage_rulesets(self, date: str | None = None) -> list[usage.RuleSetView]:
        return _many(
            usage.RuleSetView, self.request("GET", "/v1/usage/rulesets", params={"date": date})
        )

    def usage_ruleset_in_force(self, date: str | None = None) -> usage.RuleSetView:
        return _one(
            usage.RuleSetView,
            self.request("GET", "/v1/usage/rulesets/current", params={"date": date}),
        )

    def add_usage_ruleset(self, ruleset: dict[str, Any]) -> usage.RuleSetView:
        return _one(usage.RuleSetView, self._post("/v1/usage/rulesets", ruleset))

    # ------------------------------------------------------------------ certificates, claims

    def certificate(self, retirement_id: str) -> certificates.Certificate:
        """A retirement's certificate and whether its journal entry verifies (public)."""
        return _one(
            certificates.Certificate, self.request("GET", f"/v1/certificates/{retirement_id}")
        )

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
