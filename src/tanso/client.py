"""`tanso.client`: a small Python client for Tanso's REST API (httpx).

    from tanso.client import Client
    with Client("http://127.0.0.1:8000", api_key="tk_...") as c:
        c.holdings("MARUHAMA-MAIN")
        c.place_order("JPX-ENERGY-SAVING", "buy", qty=100, price=2_000)

Errors come back as `ApiError` with the server's machine-readable code and message.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any

import httpx


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

    def participants(self) -> Any:
        return self.request("GET", "/v1/participants")

    def accounts(self) -> Any:
        return self.request("GET", "/v1/accounts")

    def holdings(self, account_id: str, limit: int = 1000) -> Any:
        return self.request("GET", f"/v1/accounts/{account_id}/holdings", params={"limit": limit})

    def transfer(
        self,
        from_account: str,
        to_account: str,
        quantity: int | None = None,
        serials: str | None = None,
    ) -> Any:
        return self._post(
            "/v1/transfers",
            {
                "from_account": from_account,
                "to_account": to_account,
                "quantity": quantity,
                "serials": serials,
            },
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
    ) -> Any:
        return self._post(
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
        )

    def retirement(self, retirement_id: str) -> Any:
        return self.request("GET", f"/v1/retirements/{retirement_id}")

    def cash(self) -> Any:
        return self.request("GET", "/v1/cash")

    # ------------------------------------------------------------------ exchange

    def instruments(self) -> Any:
        return self.request("GET", "/v1/instruments")

    def book(self, instrument: str, depth: int = 10) -> Any:
        return self.request("GET", f"/v1/instruments/{instrument}/book", params={"depth": depth})

    def place_order(
        self,
        instrument: str,
        side: str,
        qty: int,
        price: int | None = None,
        *,
        type: str = "limit",
        tif: str = "day",
        account_id: str | None = None,
        serials: str | None = None,
        client_order_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        body = _drop_none(
            {
                "instrument": instrument,
                "side": side,
                "qty": qty,
                "price": price,
                "type": type,
                "tif": tif,
                "account_id": account_id,
                "serials": serials,
                "client_order_id": client_order_id,
            }
        )
        return self.request(
            "POST", "/v1/orders", json=body, idempotency_key=idempotency_key or str(uuid.uuid4())
        )

    def amend_order(self, order_id: str, qty: int | None = None, price: int | None = None) -> Any:
        return self.request(
            "PATCH", f"/v1/orders/{order_id}", json=_drop_none({"qty": qty, "price": price})
        )

    def cancel_order(self, order_id: str) -> Any:
        return self.request("DELETE", f"/v1/orders/{order_id}")

    def orders(self, status: str | None = None) -> Any:
        return self.request("GET", "/v1/orders", params={"status": status})

    def trades(self) -> Any:
        return self.request("GET", "/v1/trades")

    def run_auction(self, instrument: str) -> Any:
        return self.request("POST", f"/v1/instruments/{instrument}/auctions")

    def session(self, instrument: str, action: str) -> Any:
        return self.request("POST", f"/v1/instruments/{instrument}/{action}")

    # ------------------------------------------------------------------ settlement

    def settlement_run(self, date: str) -> Any:
        """Run settlement for a date (operator)."""
        return self._post("/v1/settlement/runs", {"date": date})

    def obligations(self, status: str | None = None, date: str | None = None) -> Any:
        return self.request(
            "GET", "/v1/settlement/obligations", params={"status": status, "date": date}
        )

    def resolve_obligation(self, trade_id: str, action: str) -> Any:
        """Settle a failed obligation later, or cancel its trade (operator)."""
        return self._post(f"/v1/settlement/obligations/{trade_id}/{action}", {})

    def settlement_report(self, date: str) -> Any:
        return self.request("GET", f"/v1/settlement/reports/{date}")

    def fees(self) -> Any:
        return self.request("GET", "/v1/fees")

    def set_fees(self, instrument: str, side: str, **schedule: int) -> Any:
        return self.request("PUT", f"/v1/fees/{instrument}/{side}", json=schedule)

    def cash_deposit(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> Any:
        """Record a bank transfer in (exchange operator)."""
        return self._post(
            "/v1/cash/deposits",
            {
                "participant_id": participant_id,
                "amount": amount,
                "currency": currency,
                "external_ref": external_ref,
            },
        )

    def cash_withdrawal(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> Any:
        return self._post(
            "/v1/cash/withdrawals",
            {
                "participant_id": participant_id,
                "amount": amount,
                "currency": currency,
                "external_ref": external_ref,
            },
        )

    def withdraw_credits(
        self,
        account_id: str,
        external_registry: str,
        external_account: str,
        quantity: int | None = None,
        serials: str | None = None,
    ) -> Any:
        return self._post(
            "/v1/withdrawals",
            {
                "account_id": account_id,
                "external_registry": external_registry,
                "external_account": external_account,
                "quantity": quantity,
                "serials": serials,
            },
        )

    # ------------------------------------------------------------------ public market data

    def market_trades(self, instrument: str | None = None, limit: int = 100) -> Any:
        return self.request(
            "GET", "/v1/market/trades", params={"instrument": instrument, "limit": limit}
        )

    def auctions(self, instrument: str | None = None, limit: int = 100) -> Any:
        return self.request(
            "GET", "/v1/market/auctions", params={"instrument": instrument, "limit": limit}
        )

    # ------------------------------------------------------------------ marketplace (issue 7)

    def marketplace_listings(self, sort: str = "price", **filters: Any) -> Any:
        """Open listings; filters: scheme, category, mechanism, nature, vintage_from,
        vintage_to, country, property, price_min, price_max, project, q, mine."""
        return self.request("GET", "/v1/marketplace/listings", params={"sort": sort, **filters})

    def marketplace_listing(self, listing_id: str) -> Any:
        return self.request("GET", f"/v1/marketplace/listings/{listing_id}")

    def marketplace_my_listings(self) -> Any:
        return self.request("GET", "/v1/marketplace/listings/mine")

    def marketplace_project(self, project_id: str) -> Any:
        return self.request("GET", f"/v1/marketplace/projects/{project_id}")

    def marketplace_set_profile(self, project_id: str, **profile: Any) -> Any:
        """summary_en, summary_ja, ratings [{agency, grade}], documents [{title, url}]."""
        return self.request(
            "PUT",
            f"/v1/marketplace/projects/{project_id}/profile",
            json=profile,
            idempotency_key=str(uuid.uuid4()),
        )

    def list_credits(
        self,
        account_id: str,
        price: int,
        quantity: int,
        *,
        issuance_id: str | None = None,
        serials: str | None = None,
        min_qty: int | None = None,
        lot: int | None = None,
        settlement_days: int | None = None,
        expires_at: str | None = None,
        note: str | None = None,
    ) -> Any:
        """List credits of one issuance on the marketplace; they stay reserved while listed."""
        return self._post(
            "/v1/marketplace/listings",
            {
                "account_id": account_id,
                "issuance_id": issuance_id,
                "serials": serials,
                "price": price,
                "quantity": quantity,
                "min_qty": min_qty,
                "lot": lot,
                "settlement_days": settlement_days,
                "expires_at": expires_at,
                "note": note,
            },
        )

    def amend_listing(
        self, listing_id: str, price: int | None = None, available: int | None = None
    ) -> Any:
        return self.request(
            "PATCH",
            f"/v1/marketplace/listings/{listing_id}",
            json=_drop_none({"price": price, "available": available}),
            idempotency_key=str(uuid.uuid4()),
        )

    def withdraw_listing(self, listing_id: str) -> Any:
        return self._post(f"/v1/marketplace/listings/{listing_id}/withdraw", {})

    def buy_listing(self, listing_id: str, quantity: int, account_id: str) -> Any:
        """Buy at the listed price; returns the deal (settled at once when T+0)."""
        return self._post(
            f"/v1/marketplace/listings/{listing_id}/purchases",
            {"quantity": quantity, "account_id": account_id},
        )

    def marketplace_deals(self) -> Any:
        return self.request("GET", "/v1/marketplace/deals")

    def request_quote(
        self,
        quantity: int,
        *,
        listing_id: str | None = None,
        project_id: str | None = None,
        note: str | None = None,
    ) -> Any:
        return self._post(
            "/v1/marketplace/rfqs",
            {
                "quantity": quantity,
                "listing_id": listing_id,
                "project_id": project_id,
                "note": note,
            },
        )

    def rfqs(self, box: str = "out") -> Any:
        return self.request("GET", "/v1/marketplace/rfqs", params={"box": box})

    def rfq(self, rfq_id: str) -> Any:
        return self.request("GET", f"/v1/marketplace/rfqs/{rfq_id}")

    def cancel_rfq(self, rfq_id: str) -> Any:
        return self._post(f"/v1/marketplace/rfqs/{rfq_id}/cancel", {})

    def offer(
        self,
        rfq_id: str,
        account_id: str,
        issuance_id: str,
        price: int,
        quantity: int,
        expires_at: str,
        settlement_days: int | None = None,
    ) -> Any:
        """Answer an RFQ with a firm offer (credits reserved until it ends)."""
        return self._post(
            f"/v1/marketplace/rfqs/{rfq_id}/offers",
            {
                "account_id": account_id,
                "issuance_id": issuance_id,
                "price": price,
                "quantity": quantity,
                "expires_at": expires_at,
                "settlement_days": settlement_days,
            },
        )

    def accept_offer(self, offer_id: str, account_id: str) -> Any:
        return self._post(f"/v1/marketplace/offers/{offer_id}/accept", {"account_id": account_id})

    def decline_offer(self, offer_id: str) -> Any:
        return self._post(f"/v1/marketplace/offers/{offer_id}/decline", {})

    def withdraw_offer(self, offer_id: str) -> Any:
        return self._post(f"/v1/marketplace/offers/{offer_id}/withdraw", {})

    def marketplace_sweep(self) -> Any:
        """Close expired listings and offers, releasing their credits (operator)."""
        return self._post("/v1/marketplace/sweep", {}, idempotent=False)

    # ------------------------------------------------------------------ sealed-bid auctions

    def sealed_auctions(self, state: str | None = None) -> Any:
        """The auction calendar (public): terms, state, results once cleared; never a bid."""
        return self.request("GET", "/v1/sealed-auctions", params={"state": state})

    def sealed_auction(self, auction_id: str) -> Any:
        return self.request("GET", f"/v1/sealed-auctions/{auction_id}")

    def sealed_auction_results(self, auction_id: str) -> Any:
        return self.request("GET", f"/v1/sealed-auctions/{auction_id}/results")

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
    ) -> Any:
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
        return self._post("/v1/sealed-auctions", body)

    def sealed_bid(self, auction_id: str, account_id: str, price: int, qty: int) -> Any:
        body = {"account_id": account_id, "price": price, "qty": qty}
        return self._post(f"/v1/sealed-auctions/{auction_id}/bids", body)

    def amend_sealed_bid(
        self, bid_id: str, price: int | None = None, qty: int | None = None
    ) -> Any:
        return self.request(
            "PATCH",
            f"/v1/sealed-auctions/bids/{bid_id}",
            json=_drop_none({"price": price, "qty": qty}),
            idempotency_key=str(uuid.uuid4()),
        )

    def withdraw_sealed_bid(self, bid_id: str) -> Any:
        return self.request("DELETE", f"/v1/sealed-auctions/bids/{bid_id}")

    def my_sealed_bids(self, auction_id: str | None = None) -> Any:
        return self.request("GET", "/v1/sealed-auctions/bids", params={"auction_id": auction_id})

    def my_sealed_awards(self) -> Any:
        return self.request("GET", "/v1/sealed-auctions/awards")

    def sealed_auction_awards(self, auction_id: str) -> Any:
        return self.request("GET", f"/v1/sealed-auctions/{auction_id}/awards")

    def clear_sealed_auction(self, auction_id: str) -> Any:
        return self._post(f"/v1/sealed-auctions/{auction_id}/clear", {})

    def cancel_sealed_auction(self, auction_id: str) -> Any:
        return self._post(f"/v1/sealed-auctions/{auction_id}/cancel", {})

    # ------------------------------------------------------------------ usage rules, inventories

    def record_inventory(self, participant_id: str, year: int, **figures: Any) -> Any:
        """Record or replace a year's emissions inventory (t-CO2e): scope1, scope2_location,
        scope2_market, scope3_categories={"1": t, ...}, reduction_scope1..3, targets, energy."""
        return self.request("PUT", f"/v1/inventories/{participant_id}/{year}", json=figures)

    def inventories(self, participant_id: str) -> Any:
        return self.request("GET", f"/v1/inventories/{participant_id}")

    def inventory(self, participant_id: str, year: int) -> Any:
        return self.request("GET", f"/v1/inventories/{participant_id}/{year}")

    def import_inventories(self, csv_text: str) -> Any:
        return self._post("/v1/inventories/import", {"csv": csv_text})

    def evaluate_use(
        self,
        account_id: str,
        purpose: str,
        quantity: int | None = None,
        serials: str | None = None,
        year: int | None = None,
        emissions_scope: str | None = None,
        scope3_category: int | None = None,
    ) -> Any:
        """May these credits be used for this purpose? (allowed, reasons, max_quantity)."""
        return self.request(
            "POST",
            "/v1/usage/evaluate",
            json=_drop_none(
                {
                    "account_id": account_id,
                    "purpose": purpose,
                    "quantity": quantity,
                    "serials": serials,
                    "year": year,
                    "emissions_scope": emissions_scope,
                    "scope3_category": scope3_category,
                }
            ),
        )

    def usage_rulesets(self, date: str | None = None) -> Any:
        return self.request("GET", "/v1/usage/rulesets", params={"date": date})

    def usage_ruleset_in_force(self, date: str | None = None) -> Any:
        return self.request("GET", "/v1/usage/rulesets/current", params={"date": date})

    def add_usage_ruleset(self, ruleset: dict[str, Any]) -> Any:
        return self._post("/v1/usage/rulesets", ruleset)

    # ------------------------------------------------------------------ certificates, claims

    def certificate(self, retirement_id: str) -> Any:
        """A retirement's certificate and whether its journal entry verifies (public)."""
        return self.request("GET", f"/v1/certificates/{retirement_id}")

    def certificate_pdf(self, retirement_id: str, lang: str = "en") -> bytes:
        return self._download(f"/v1/certificates/{retirement_id}.pdf", lang).content

    def claim_report(self, participant_id: str, year: int) -> Any:
        """The offset claim report of a participant (your own; the operator: any) and year."""
        return self.request("GET", f"/v1/claims/{participant_id}/{year}")

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
