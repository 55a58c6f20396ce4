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

import base64
import uuid
from functools import cache
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx
from pydantic import TypeAdapter

from tanso.api import schemas_exchange as sx
from tanso.services import disputes, notices, surveillance
from tanso.services import market_makers as mm
from tanso.services.clearing import settlement
from tanso.services.compliance import certificates, claims, usage
from tanso.services.compliance import inventories as emissions
from tanso.services.cycle import accreditation, issuance_requests, monitoring, plans
from tanso.services.cycle import evidence as cycle_evidence
from tanso.services.cycle import methodologies as cycle_meth
from tanso.services.ledger import cash as cash_ledger
from tanso.services.ledger import participants as parties
from tanso.services.ledger import registry
from tanso.services.ledger.project_updates import Developer, ProjectUpdate
from tanso.services.marketdata.market_notices import MarketNotice
from tanso.services.removals import offtake
from tanso.services.removals import profiles as removal_profiles
from tanso.services.trading import bust_requests, exchange, void_auction
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
        return _checked(
            self._http.request(method, path, json=json, params=clean, headers=headers)
        ).json()

    def _get(self, model: type[T], path: str, /, **params: Any) -> T:
        """GET one answer of ``model`` (parameters that are None are left out)."""
        return _one(model, self.request("GET", path, params=params))

    def _get_list(self, model: type[T], path: str, /, **params: Any) -> list[T]:
        """GET a list of ``model``."""
        return _many(model, self.request("GET", path, params=params))

    def _send(
        self, model: type[T], method: str, path: str, json: Any = None, *, key: str | None = None
    ) -> T:
        """Send ``json`` as it is (with the idempotency ``key`` if given); the answer as
        ``model``."""
        return _one(model, self.request(method, path, json=json, idempotency_key=key))

    def _post(
        self,
        model: type[T],
        path: str,
        body: dict[str, Any],
        *,
        idempotent: bool = True,
        idempotency_key: str | None = None,
    ) -> T:
        """POST ``body`` without its None fields, idempotent under ``idempotency_key`` or a new
        key (unless not ``idempotent``); the answer as ``model``."""
        key = idempotency_key or (_new_key() if idempotent else None)
        return self._send(model, "POST", path, _drop_none(body), key=key)

    # ------------------------------------------------------------------ registry

    def participants(self) -> list[parties.Participant]:
        return self._get_list(parties.Participant, "/v1/participants")

    def accounts(self) -> list[parties.Account]:
        return self._get_list(parties.Account, "/v1/accounts")

    def holdings(self, account_id: str, limit: int = 1000) -> registry.Holdings:
        return self._get(registry.Holdings, f"/v1/accounts/{account_id}/holdings", limit=limit)

    def transfer(
        self,
        from_account: str,
        to_account: str,
        quantity: int | None = None,
        serials: str | None = None,
    ) -> registry.Transfer:
        body = {
            "from_account": from_account,
            "to_account": to_account,
            "quantity": quantity,
            "serials": serials,
        }
        return self._post(registry.Transfer, "/v1/transfers", body)

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
        body = {
            "account_id": account_id,
            "purpose": purpose,
            "quantity": quantity,
            "serials": serials,
            "beneficiary": beneficiary,
            "reporting_year": reporting_year,
            "note": note,
            "emissions_scope": emissions_scope,
            "scope3_category": scope3_category,
        }
        return self._post(registry.RetirementReceipt, "/v1/retirements", body)

    def retirement(self, retirement_id: str) -> registry.RetirementNotice:
        return self._get(registry.RetirementNotice, f"/v1/retirements/{retirement_id}")

    def cash(self) -> list[cash_ledger.CashAccount]:
        return self._get_list(cash_ledger.CashAccount, "/v1/cash")

    # ------------------------------------------------------------------ keys and brokers

    def api_keys(self, participant_id: str) -> list[parties.ApiKey]:
        return self._get_list(parties.ApiKey, f"/v1/participants/{participant_id}/api-keys")

    def create_api_key(
        self,
        participant_id: str,
        label: str = "",
        *,
        roles: list[str] | None = None,
        scopes: list[str] | None = None,
    ) -> parties.NewApiKey:
        """A new key for the participant, within this key's roles and scopes (``manage``); its
        secret (``key``) is in this answer only."""
        body = {"label": label, "roles": roles, "scopes": scopes}
        path = f"/v1/participants/{participant_id}/api-keys"
        return self._post(parties.NewApiKey, path, body, idempotent=False)

    def revoke_api_key(self, participant_id: str, key_id: str) -> parties.ApiKeyRevocation:
        path = f"/v1/participants/{participant_id}/api-keys/{key_id}"
        return self._send(parties.ApiKeyRevocation, "DELETE", path)

    def brokers(self, participant_id: str) -> list[parties.BrokerAuthorisation]:
        path = f"/v1/participants/{participant_id}/brokers"
        return self._get_list(parties.BrokerAuthorisation, path)

    def authorise_broker(
        self, participant_id: str, broker_id: str, *, scopes: list[str] | None = None
    ) -> parties.BrokerChange:
        """Let a broker act for the participant within a mandate: ``scopes`` of trade (the
        default), transfer, retire."""
        body = {"broker_id": broker_id, "scopes": scopes}
        path = f"/v1/participants/{participant_id}/brokers"
        return self._post(parties.BrokerChange, path, body)

    def revoke_broker(self, participant_id: str, broker_id: str) -> parties.BrokerChange:
        path = f"/v1/participants/{participant_id}/brokers/{broker_id}"
        return self._send(parties.BrokerChange, "DELETE", path)

    # ------------------------------------------------------------------ exchange

    def instruments(self) -> list[exchange.Instrument]:
        return self._get_list(exchange.Instrument, "/v1/instruments")

    def book(self, instrument: str, depth: int = 10) -> exchange.Book:
        return self._get(exchange.Book, f"/v1/instruments/{instrument}/book", depth=depth)

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
    ) -> exchange.PlacedOrder:
        body = {
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
        return self._post(exchange.PlacedOrder, "/v1/orders", body, idempotency_key=idempotency_key)

    def amend_order(
        self, order_id: str, quantity: int | None = None, price: int | None = None
    ) -> exchange.PlacedOrder:
        body = _drop_none({"quantity": quantity, "price": price})
        return self._send(exchange.PlacedOrder, "PATCH", f"/v1/orders/{order_id}", body)

    def cancel_order(self, order_id: str) -> exchange.Order:
        return self._send(exchange.Order, "DELETE", f"/v1/orders/{order_id}")

    def orders(self, status: str | None = None) -> list[exchange.Order]:
        return self._get_list(exchange.Order, "/v1/orders", status=status)

    def trades(self) -> list[exchange.OwnTrade]:
        return self._get_list(exchange.OwnTrade, "/v1/trades")

    def bust_trade(self, trade_id: str, reason_code: str, note: str = "") -> exchange.Bust:
        """Cancel a trade that has not settled (operator): reason_code erroneous_order,
        system_fault, dispute_ruling or other."""
        body = {"reason_code": reason_code, "note": note}
        return self._send(exchange.Bust, "POST", f"/v1/trades/{trade_id}/bust", body)

    def void_auction(
        self, instrument: str, auction_id: int, reason_code: str, note: str = ""
    ) -> void_auction.AuctionVoid:
        """Void the latest call auction of an instrument before it settles (operator):
        `auction_id` is the auction's `seq` in `auctions`."""
        body = {"reason_code": reason_code, "note": note}
        path = f"/v1/instruments/{instrument}/auctions/{auction_id}/void"
        return self._send(void_auction.AuctionVoid, "POST", path, body)

    def request_bust(
        self, trade_id: str, reason_code: str, note: str = ""
    ) -> bust_requests.BustRequest:
        """Ask the operator to bust a trade of yours within the rulebook's window: reason_code
        erroneous_order, system_fault or other."""
        body = {"reason_code": reason_code, "note": note}
        path = f"/v1/trades/{trade_id}/bust-requests"
        return self._post(bust_requests.BustRequest, path, body)

    def list_bust_requests(self, state: str | None = None) -> list[bust_requests.BustRequest]:
        """Requests to bust a trade: yours (the operator: everyone's), newest first."""
        return self._get_list(bust_requests.BustRequest, "/v1/trades/bust-requests", state=state)

    def grant_bust_request(self, trade_id: str, note: str = "") -> bust_requests.BustRequest:
        """Grant the pending request to bust a trade (operator): the trade is busted."""
        path = f"/v1/trades/bust-requests/{trade_id}/grant"
        return self._post(bust_requests.BustRequest, path, {"note": note})

    def refuse_bust_request(self, trade_id: str, note: str) -> bust_requests.BustRequest:
        """Refuse the pending request to bust a trade (operator), saying why."""
        path = f"/v1/trades/bust-requests/{trade_id}/refuse"
        return self._post(bust_requests.BustRequest, path, {"note": note})

    def list_notices(self, unread: bool = False) -> list[notices.Notice]:
        """Your notices (お知らせ), newest first, with their texts in English and Japanese."""
        return self._get_list(notices.Notice, "/v1/notices", unread=unread or None)

    def read_notice(self, notice_id: str) -> notices.Notice:
        """Mark a notice of yours read."""
        return self._post(notices.Notice, f"/v1/notices/{notice_id}/read", {})

    def surveillance_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        from_date: str | None = None,
        to_date: str | None = None,
        participant: str | None = None,
        limit: int = 100,
    ) -> list[surveillance.Alert]:
        """Surveillance alerts, newest first, filtered (exchange operator only)."""
        params: dict[str, Any] = {"state": state, "rule": rule, "from": from_date, "to": to_date}
        params |= {"participant": participant, "limit": limit}
        return self._get_list(surveillance.Alert, "/v1/surveillance/alerts", **params)

    def surveillance_alert(self, alert_id: int) -> surveillance.AlertDetail:
        """One alert with its evidence and audit trail (exchange operator only)."""
        return self._get(surveillance.AlertDetail, f"/v1/surveillance/alerts/{alert_id}")

    def work_alert(self, alert_id: int, action: str, note: str = "") -> surveillance.AlertDetail:
        """Review, dismiss or escalate an alert (``action``), with a note (dismiss and escalate
        need one); exchange operator only."""
        path = f"/v1/surveillance/alerts/{alert_id}/{action}"
        return self._send(surveillance.AlertDetail, "POST", path, {"note": note})

    def surveillance_scan(self, from_date: str, to_date: str) -> surveillance.Scan:
        """Run the surveillance rules over the trade dates from ``from_date`` to ``to_date``."""
        body = {"from": from_date, "to": to_date}
        return self._send(surveillance.Scan, "POST", "/v1/surveillance/scan", body)

    def set_participant_attributes(
        self, pid: str, *, gx_league: bool | None = None, corporate_group: str | None = None
    ) -> parties.Participant:
        """Record a participant's GX League membership and corporate group (operator)."""
        body: dict[str, Any] = {}
        if gx_league is not None:
            body["gx_league"] = gx_league
        if corporate_group is not None:
            body["corporate_group"] = corporate_group
        return self._send(parties.Participant, "PATCH", f"/v1/participants/{pid}", body)

    def market_makers(self) -> list[mm.ProgrammeView]:
        """Every market-maker programme and who makes markets in it (public)."""
        return self._get_list(mm.ProgrammeView, "/v1/market-makers")

    def define_mm_programme(self, **terms: Any) -> mm.ProgrammeView:
        """Define a market-maker programme (operator): id, instrument, name_en, name_ja, starts,
        ends, window_from, window_to, max_spread, min_quantity, min_presence_pct,
        incentive_per_day."""
        return self._send(mm.ProgrammeView, "POST", "/v1/market-makers/programmes", terms)

    def appoint_market_maker(self, programme_id: str, pid: str) -> mm.Appointment:
        path = f"/v1/market-makers/programmes/{programme_id}/appointments"
        return self._send(mm.Appointment, "POST", path, {"participant_id": pid})

    def mm_compliance(
        self, pid: str, start: str, end: str, instrument: str | None = None
    ) -> list[mm.Compliance]:
        """A market maker's compliance day by day (the market maker itself, or the operator)."""
        path = f"/v1/market-makers/{pid}/compliance"
        params = {"from": start, "to": end, "instrument": instrument}
        return _many(mm.Compliance, self.request("GET", path, params=params))

    def run_auction(self, instrument: str) -> exchange.SessionChange:

        return self._send(exchange.SessionChange, "POST", f"/v1/instruments/{instrument}/auctions")

    def session(self, instrument: str, action: str) -> exchange.SessionChange:
        return self._send(exchange.SessionChange, "POST", f"/v1/instruments/{instrument}/{action}")

    # ------------------------------------------------------------------ settlement

    def settlement_run(self, date: str, *, early: bool = False) -> settlement.Run:
        """Run settlement for a date (operator); `early` settles a date after today's business
        date (an override the run's entry records)."""
        body: dict[str, Any] = {"date": date} | ({"early": True} if early else {})
        return self._post(settlement.Run, "/v1/settlement/runs", body)

    def obligations(
        self, status: str | None = None, date: str | None = None
    ) -> list[settlement.ObligationView]:
        return self._get_list(
            settlement.ObligationView, "/v1/settlement/obligations", status=status, date=date
        )

    def resolve_obligation(self, deal_id: str, action: str) -> sx.ObligationResolution:
        """Settle a failed obligation later, or cancel its trade (operator)."""
        path = f"/v1/settlement/obligations/{deal_id}/{action}"
        return self._post(sx.ObligationResolution, path, {})

    def settlement_report(self, date: str) -> settlement.Report:
        return self._get(settlement.Report, f"/v1/settlement/reports/{date}")

    def fees(self) -> list[settlement.Fees]:
        return self._get_list(settlement.Fees, "/v1/fees")

    def set_fees(self, instrument: str, side: str, **schedule: int) -> settlement.Fees:
        return self._send(settlement.Fees, "PUT", f"/v1/fees/{instrument}/{side}", schedule)

    def cash_deposit(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> cash_ledger.CashAccount:
        """Record a bank transfer in (exchange operator)."""
        return self._cash_movement("deposits", participant_id, amount, external_ref, currency)

    def cash_withdrawal(
        self, participant_id: str, amount: int, external_ref: str, currency: str = "JPY"
    ) -> cash_ledger.CashAccount:
        return self._cash_movement("withdrawals", participant_id, amount, external_ref, currency)

    def _cash_movement(
        self, kind: str, participant_id: str, amount: int, external_ref: str, currency: str
    ) -> cash_ledger.CashAccount:
        body = {
            "participant_id": participant_id,
            "amount": amount,
            "currency": currency,
            "external_ref": external_ref,
        }
        return self._post(cash_ledger.CashAccount, f"/v1/cash/{kind}", body)

    def withdraw_credits(
        self,
        account_id: str,
        external_registry: str,
        external_account: str,
        quantity: int | None = None,
        serials: str | None = None,
    ) -> registry.Withdrawal:
        body = {
            "account_id": account_id,
            "external_registry": external_registry,
            "external_account": external_account,
            "quantity": quantity,
            "serials": serials,
        }
        return self._post(registry.Withdrawal, "/v1/withdrawals", body)

    # ------------------------------------------------------------------ public market data

    def market_trades(
        self, instrument: str | None = None, limit: int = 100
    ) -> list[exchange.PublicTrade]:
        return self._get_list(
            exchange.PublicTrade, "/v1/market/trades", instrument=instrument, limit=limit
        )

    def auctions(
        self, instrument: str | None = None, limit: int = 100
    ) -> list[exchange.AuctionResult]:
        return self._get_list(
            exchange.AuctionResult, "/v1/market/auctions", instrument=instrument, limit=limit
        )

    # ------------------------------------------------------------------ marketplace (issue 7)

    def marketplace_listings(
        self, sort: str = "price", **filters: Any
    ) -> list[marketplace.Listing]:
        """Open listings; filters: scheme, category, mechanism, nature, vintage_from,
        vintage_to, country, property, price_min, price_max, project, q, mine."""
        return self._get_list(marketplace.Listing, "/v1/marketplace/listings", sort=sort, **filters)

    def marketplace_listing(self, listing_id: str) -> marketplace.Listing:
        return self._get(marketplace.Listing, f"/v1/marketplace/listings/{listing_id}")

    def marketplace_my_listings(self) -> list[marketplace.Listing]:
        return self._get_list(marketplace.Listing, "/v1/marketplace/listings/mine")

    def marketplace_project(self, project_id: str) -> marketplace.MarketplaceProject:
        return self._get(marketplace.MarketplaceProject, f"/v1/marketplace/projects/{project_id}")

    def marketplace_set_profile(
        self, project_id: str, **profile: Any
    ) -> marketplace.ProjectProfile:
        """summary_en, summary_ja, ratings [{agency, grade}], documents [{title, url}]."""
        path = f"/v1/marketplace/projects/{project_id}/profile"
        return self._send(marketplace.ProjectProfile, "PUT", path, profile, key=_new_key())

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
        body = {
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
        }
        return self._post(marketplace.Listing, "/v1/marketplace/listings", body)

    def amend_listing(
        self, listing_id: str, price: int | None = None, available: int | None = None
    ) -> marketplace.Listing:
        path = f"/v1/marketplace/listings/{listing_id}"
        body = _drop_none({"price": price, "available": available})
        return self._send(marketplace.Listing, "PATCH", path, body, key=_new_key())

    def withdraw_listing(self, listing_id: str) -> marketplace.Listing:
        return self._post(
            marketplace.Listing, f"/v1/marketplace/listings/{listing_id}/withdraw", {}
        )

    def buy_listing(self, listing_id: str, quantity: int, account_id: str) -> marketplace.Purchase:
        """Buy at the listed price; returns the deal (settled at once when T+0)."""
        path = f"/v1/marketplace/listings/{listing_id}/purchases"
        return self._post(
            marketplace.Purchase, path, {"quantity": quantity, "account_id": account_id}
        )

    def marketplace_deals(self) -> list[marketplace.Deal]:
        return self._get_list(marketplace.Deal, "/v1/marketplace/deals")

    def request_quote(
        self,
        quantity: int,
        *,
        listing_id: str | None = None,
        project_id: str | None = None,
        note: str | None = None,
    ) -> marketplace.Rfq:
        body = {
            "quantity": quantity,
            "listing_id": listing_id,
            "project_id": project_id,
            "note": note,
        }
        return self._post(marketplace.Rfq, "/v1/marketplace/rfqs", body)

    def rfqs(self, box: str = "out") -> list[marketplace.Rfq]:
        return self._get_list(marketplace.Rfq, "/v1/marketplace/rfqs", box=box)

    def rfq(self, rfq_id: str) -> marketplace.Rfq:
        return self._get(marketplace.Rfq, f"/v1/marketplace/rfqs/{rfq_id}")

    def cancel_rfq(self, rfq_id: str) -> marketplace.Rfq:
        return self._post(marketplace.Rfq, f"/v1/marketplace/rfqs/{rfq_id}/cancel", {})

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
        body = {
            "account_id": account_id,
            "issuance_id": issuance_id,
            "price": price,
            "quantity": quantity,
            "expires_at": expires_at,
            "settlement_days": settlement_days,
        }
        return self._post(marketplace.Offer, f"/v1/marketplace/rfqs/{rfq_id}/offers", body)

    def accept_offer(self, offer_id: str, account_id: str) -> marketplace.Purchase:
        path = f"/v1/marketplace/offers/{offer_id}/accept"
        return self._post(marketplace.Purchase, path, {"account_id": account_id})

    def decline_offer(self, offer_id: str) -> marketplace.Offer:
        return self._post(marketplace.Offer, f"/v1/marketplace/offers/{offer_id}/decline", {})

    def withdraw_offer(self, offer_id: str) -> marketplace.Offer:
        return self._post(marketplace.Offer, f"/v1/marketplace/offers/{offer_id}/withdraw", {})

    def marketplace_sweep(self) -> marketplace.Swept:
        """Close expired listings and offers, releasing their credits (operator)."""
        return self._post(marketplace.Swept, "/v1/marketplace/sweep", {}, idempotent=False)

    # ------------------------------------------------------------------ sealed-bid auctions

    def sealed_auctions(self, state: str | None = None) -> list[sealed.Auction]:
        """The auction calendar (public): terms, state, results once cleared; never a bid."""
        return self._get_list(sealed.Auction, "/v1/sealed-auctions", state=state)

    def sealed_auction(self, auction_id: str) -> sealed.Auction:
        return self._get(sealed.Auction, f"/v1/sealed-auctions/{auction_id}")

    def sealed_auction_results(self, auction_id: str) -> sealed.Results:
        return self._get(sealed.Results, f"/v1/sealed-auctions/{auction_id}/results")

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
        return self._post(sealed.OfferedAuction, "/v1/sealed-auctions", body)

    def sealed_bid(self, auction_id: str, account_id: str, price: int, quantity: int) -> sealed.Bid:
        body = {"account_id": account_id, "price": price, "quantity": quantity}
        return self._post(sealed.Bid, f"/v1/sealed-auctions/{auction_id}/bids", body)

    def amend_sealed_bid(
        self, bid_id: str, price: int | None = None, quantity: int | None = None
    ) -> sealed.Bid:
        path = f"/v1/sealed-auctions/bids/{bid_id}"
        body = _drop_none({"price": price, "quantity": quantity})
        return self._send(sealed.Bid, "PATCH", path, body, key=_new_key())

    def withdraw_sealed_bid(self, bid_id: str) -> sealed.Bid:
        return self._send(sealed.Bid, "DELETE", f"/v1/sealed-auctions/bids/{bid_id}")

    def my_sealed_bids(self, auction_id: str | None = None) -> list[sealed.Bid]:
        return self._get_list(sealed.Bid, "/v1/sealed-auctions/bids", auction_id=auction_id)

    def my_sealed_awards(self) -> list[sealed.Award]:
        return self._get_list(sealed.Award, "/v1/sealed-auctions/awards")

    def sealed_auction_awards(self, auction_id: str) -> list[sealed.Award]:
        return self._get_list(sealed.Award, f"/v1/sealed-auctions/{auction_id}/awards")

    def clear_sealed_auction(self, auction_id: str) -> sealed.Clearing:
        return self._post(sealed.Clearing, f"/v1/sealed-auctions/{auction_id}/clear", {})

    def cancel_sealed_auction(self, auction_id: str) -> sealed.Auction:
        return self._post(sealed.Auction, f"/v1/sealed-auctions/{auction_id}/cancel", {})

    # ------------------------------------------------------------------ usage rules, inventories

    def record_inventory(
        self, participant_id: str, year: int, **figures: Any
    ) -> emissions.InventoryView:
        """Record or replace a year's emissions inventory (t-CO2e): scope1, scope2_location,
        scope2_market, scope3_categories={"1": t, ...}, reduction_scope1..3, targets, energy."""
        path = f"/v1/inventories/{participant_id}/{year}"
        return self._send(emissions.InventoryView, "PUT", path, figures)

    def inventories(self, participant_id: str) -> list[emissions.InventoryView]:
        return self._get_list(emissions.InventoryView, f"/v1/inventories/{participant_id}")

    def inventory(self, participant_id: str, year: int) -> emissions.InventoryPosition:
        return self._get(emissions.InventoryPosition, f"/v1/inventories/{participant_id}/{year}")

    def import_inventories(
        self, csv_text: str | bytes, *, filename: str = "inventories.csv"
    ) -> emissions.InventoryImport:
        """Upload an inventory CSV (text, or the bytes of a UTF-8 file): every row or none."""
        data = csv_text.encode("utf-8") if isinstance(csv_text, str) else csv_text
        answer = self._http.post(
            "/v1/inventories/import",
            files={"file": (filename, data, "text/csv")},
            headers={"Idempotency-Key": _new_key()},
        )
        return _one(emissions.InventoryImport, _checked(answer).json())

    def evaluate_use(
        self,
        account_id: str,
        purpose: str,
        quantity: int | None = None,
        serials: str | None = None,
        reporting_year: int | None = None,
        emissions_scope: str | None = None,
        scope3_category: int | None = None,
    ) -> usage.UseEvaluation:
        """May these credits be used for this purpose? (allowed, reasons, max_quantity)."""
        body = {
            "account_id": account_id,
            "purpose": purpose,
            "quantity": quantity,
            "serials": serials,
            "reporting_year": reporting_year,
            "emissions_scope": emissions_scope,
            "scope3_category": scope3_category,
        }
        return self._post(usage.UseEvaluation, "/v1/usage/evaluate", body, idempotent=False)

    def usage_rulesets(self, date: str | None = None) -> list[usage.RuleSetView]:
        return self._get_list(usage.RuleSetView, "/v1/usage/rulesets", date=date)

    def usage_ruleset_in_force(self, date: str | None = None) -> usage.RuleSetView:
        return self._get(usage.RuleSetView, "/v1/usage/rulesets/current", date=date)

    def add_usage_ruleset(self, ruleset: dict[str, Any]) -> usage.RuleSetView:
        return self._post(usage.RuleSetView, "/v1/usage/rulesets", ruleset)

    # ------------------------------------------------------------------ certificates, claims

    def certificate(self, retirement_id: str) -> certificates.Certificate:
        """A retirement's certificate and whether its journal entry verifies (public)."""
        return self._get(certificates.Certificate, f"/v1/certificates/{retirement_id}")

    def certificate_pdf(self, retirement_id: str, lang: str = "en") -> bytes:
        return self._download(f"/v1/certificates/{retirement_id}.pdf", lang).content

    def claim_report(self, participant_id: str, year: int) -> claims.ClaimReport:
        """The offset claim report of a participant (your own; the operator: any) and year."""
        return self._get(claims.ClaimReport, f"/v1/claims/{participant_id}/{year}")

    def claim_report_pdf(self, participant_id: str, year: int, lang: str = "en") -> bytes:
        return self._download(f"/v1/claims/{participant_id}/{year}.pdf", lang).content

    def claim_report_csv(self, participant_id: str, year: int, lang: str = "en") -> str:
        return self._download(f"/v1/claims/{participant_id}/{year}.csv", lang).text

    # ------------------------------------------------------------------ disputes (紛争処理)

    def open_dispute(
        self,
        kind: str,
        subject_id: str,
        summary: str,
        *,
        claimed_amount: int = 0,
        claimed_quantity: int = 0,
        currency: str = "JPY",
    ) -> disputes.Dispute:
        """Open a dispute about a trade, obligation, deal, award, delivery or registry action."""
        body = {
            "kind": kind,
            "subject_id": subject_id,
            "summary": summary,
            "claimed_amount": claimed_amount,
            "claimed_quantity": claimed_quantity,
            "currency": currency,
        }
        return self._post(disputes.Dispute, "/v1/disputes", body)

    def list_disputes(self, state: str | None = None) -> list[disputes.Dispute]:
        """Your disputes (the operator: everyone's), newest first."""
        return self._get_list(disputes.Dispute, "/v1/disputes", state=state)

    def dispute(self, dispute_id: str) -> disputes.Dispute:
        """One dispute with its history and evidence."""
        return self._get(disputes.Dispute, f"/v1/disputes/{dispute_id}")

    def respond_to_dispute(self, dispute_id: str, text: str) -> disputes.Dispute:
        return self._post(disputes.Dispute, f"/v1/disputes/{dispute_id}/respond", {"text": text})

    def withdraw_dispute(self, dispute_id: str, reason: str = "") -> disputes.Dispute:
        path = f"/v1/disputes/{dispute_id}/withdraw"
        return self._post(disputes.Dispute, path, {"reason": reason})

    def attach_evidence(
        self, dispute_id: str, file_name: str, media_type: str, content: bytes
    ) -> disputes.Evidence:
        """Attach a file (sent as base64); served back only to you and the operator."""
        import base64

        body = {
            "file_name": file_name,
            "media_type": media_type,
            "content_base64": base64.b64encode(content).decode("ascii"),
        }
        return self._post(disputes.Evidence, f"/v1/disputes/{dispute_id}/evidence", body)

    def evidence(self, dispute_id: str, evidence_id: str) -> bytes:
        """An evidence file's bytes (your own upload, or any as the operator)."""
        path = f"/v1/disputes/{dispute_id}/evidence/{evidence_id}"
        return _checked(self._http.get(path)).content

    def review_dispute(self, dispute_id: str, note: str = "") -> disputes.Dispute:
        """Take a dispute under review (operator)."""
        return self._post(disputes.Dispute, f"/v1/disputes/{dispute_id}/review", {"note": note})

    def decide_dispute(
        self,
        dispute_id: str,
        outcome: str,
        decision: str,
        remedies: list[dict[str, Any]] | None = None,
    ) -> disputes.Dispute:
        """Decide a dispute under review (operator): outcome upheld, partly_upheld or rejected,
        with remedies such as ``{"kind": "compensation", "payer": "counterparty",
        "amount": 10000}``."""
        body = {"outcome": outcome, "decision": decision, "remedies": remedies or []}
        return self._post(disputes.Dispute, f"/v1/disputes/{dispute_id}/decide", body)

    def close_dispute(self, dispute_id: str, note: str = "") -> disputes.Dispute:
        return self._post(disputes.Dispute, f"/v1/disputes/{dispute_id}/close", {"note": note})

    def dispute_summary(self, year: int) -> disputes.Summary:
        """The public yearly summary of disputes by kind and outcome (no names)."""
        return self._get(disputes.Summary, "/v1/disputes/summary", calendar_year=year)

    # ------------------------------------------------------------------ removals

    def set_removal_profile(
        self,
        project_id: str,
        pathway: str,
        storage: str,
        permanence_years: int,
        reversal_risk: str,
        monitoring_years: int,
        buffer_rate_bp: int,
        source: str = "",
        developer_id: str | None = None,
    ) -> removal_profiles.RemovalProfile:
        """Record a removal project's profile (registry operator); ``buffer_rate_bp`` in basis
        points (1000 = 10%); ``developer_id`` names the participant that may list its forward
        volumes before any issuance."""
        body = {
            "pathway": pathway,
            "storage": storage,
            "permanence_years": permanence_years,
            "reversal_risk": reversal_risk,
            "monitoring_years": monitoring_years,
            "buffer_rate_bp": buffer_rate_bp,
            "source": source,
            "developer_id": developer_id,
        }
        return self._send(
            removal_profiles.RemovalProfile,
            "PUT",
            f"/v1/projects/{project_id}/removal-profile",
            _drop_none(body),
            key=_new_key(),
        )

    def report_reversal(
        self, project_id: str, quantity: int, cause: str, occurred_on: str, description: str = ""
    ) -> removal_profiles.ReversalView:
        """Report a reversal and have it compensated from the buffer pool (registry operator)."""
        body = {
            "quantity": quantity,
            "cause": cause,
            "occurred_on": occurred_on,
            "description": description,
        }
        return self._post(
            removal_profiles.ReversalView, f"/v1/projects/{project_id}/reversals", body
        )

    def removal_record(self, project_id: str) -> removal_profiles.ProjectRecord:
        """A removal project's public record: profile, buffer contributions, reversals."""
        return self._get(removal_profiles.ProjectRecord, f"/v1/removals/projects/{project_id}")

    def buffer_pools(self) -> list[removal_profiles.Pool]:
        return self._get_list(removal_profiles.Pool, "/v1/removals/buffer-pools")

    def reversals(self, limit: int = 200) -> list[removal_profiles.ReversalView]:
        return self._get_list(removal_profiles.ReversalView, "/v1/removals/reversals", limit=limit)

    # ------------------------------------------------------------------ forward offtake

    def offtake_listings(self) -> list[offtake.Listing]:
        """Open listings of removal projects' forward volumes (public)."""
        return self._get_list(offtake.Listing, "/v1/offtake/listings")

    def offtake_listing(self, listing_id: str) -> offtake.Listing:
        return self._get(offtake.Listing, f"/v1/offtake/listings/{listing_id}")

    def list_forward_volumes(
        self,
        project_id: str,
        account_id: str,
        vintages: dict[int, int],
        price_rule: dict[str, Any],
        note: str = "",
    ) -> offtake.Listing:
        """List forward volumes per vintage (the developer); ``price_rule`` as the API takes
        it, e.g. ``{"kind": "fixed", "price": 50000}``."""
        body = {
            "project_id": project_id,
            "account_id": account_id,
            "vintages": {str(k): v for k, v in vintages.items()},
            "price_rule": price_rule,
            "note": note,
        }
        return self._post(offtake.Listing, "/v1/offtake/listings", body)

    def withdraw_offtake_listing(self, listing_id: str) -> offtake.Listing:
        return self._post(offtake.Listing, f"/v1/offtake/listings/{listing_id}/withdraw", {})

    def request_offtake_quote(
        self, listing_id: str, account_id: str, vintages: dict[int, int], message: str = ""
    ) -> offtake.Quote:
        """Ask a listing's developer for terms on tonnes per vintage (the buyer)."""
        body = {
            "account_id": account_id,
            "vintages": {str(k): v for k, v in vintages.items()},
            "message": message,
        }
        return self._post(offtake.Quote, f"/v1/offtake/listings/{listing_id}/quotes", body)

    def offtake_quotes(self) -> list[offtake.Quote]:
        return self._get_list(offtake.Quote, "/v1/offtake/quotes")

    def offtake_quote(self, quote_id: str) -> offtake.Quote:
        return self._get(offtake.Quote, f"/v1/offtake/quotes/{quote_id}")

    def propose_offtake_terms(
        self,
        quote_id: str,
        price_rule: dict[str, Any],
        shortfall_rule: str,
        prepaid_per_tonne: int = 0,
        prepayment_mode: str = "escrow",
        priority: int = 100,
    ) -> offtake.Quote:
        """Answer a quote with terms (the developer)."""
        body = {
            "price_rule": price_rule,
            "shortfall_rule": shortfall_rule,
            "prepaid_per_tonne": prepaid_per_tonne,
            "prepayment_mode": prepayment_mode,
            "priority": priority,
        }
        return self._post(offtake.Quote, f"/v1/offtake/quotes/{quote_id}/terms", body)

    def sign_offtake(self, quote_id: str, terms_version: str) -> offtake.Contract:
        """Sign the proposed terms as read (the quote's ``terms_version``; 409 terms_changed
        if the developer proposed others since): the contract is active."""
        body = {"terms_version": terms_version}
        return self._post(offtake.Contract, f"/v1/offtake/quotes/{quote_id}/sign", body)

    def offtake_contracts(self) -> list[offtake.Contract]:
        return self._get_list(offtake.Contract, "/v1/offtake/contracts")

    def offtake_contract(self, contract_id: str) -> offtake.Contract:
        """A contract with its schedule of deliveries and payments (parties only)."""
        return self._get(offtake.Contract, f"/v1/offtake/contracts/{contract_id}")

    def deliver_offtake(self, contract_id: str, vintage: int, quantity: int) -> offtake.Delivered:
        """Deliver outstanding or replacement tonnes from the developer's account."""
        path = f"/v1/offtake/contracts/{contract_id}/vintages/{vintage}/deliveries"
        return self._post(offtake.Delivered, path, {"quantity": quantity})

    def close_offtake_vintage(self, contract_id: str, vintage: int) -> offtake.VintageClosed:
        """Close a vintage: its shortfall follows the contract's rule."""
        path = f"/v1/offtake/contracts/{contract_id}/vintages/{vintage}/close"
        return self._post(offtake.VintageClosed, path, {})

    def forward_demand(self) -> offtake.ForwardDemand:
        """Tonnes contracted, delivered and outstanding per pathway and vintage (public)."""
        return self._get(offtake.ForwardDemand, "/v1/removals/forward-demand")

    # ------------------------------------------------------------------ market notices

    def publish_market_notice(
        self,
        kind: str,
        title_en: str,
        title_ja: str,
        body_en: str,
        body_ja: str,
        effective_on: str,
        link: str | None = None,
    ) -> MarketNotice:
        """Publish a market notice in English and Japanese (the operator)."""
        body = {
            "kind": kind,
            "title_en": title_en,
            "title_ja": title_ja,
            "body_en": body_en,
            "body_ja": body_ja,
            "effective_on": effective_on,
            "link": link,
        }
        return self._send(
            MarketNotice, "POST", "/v1/market/notices", _drop_none(body), key=_new_key()
        )

    def withdraw_market_notice(self, notice_id: str, reason: str) -> MarketNotice:
        """Withdraw (correct) a market notice with the reason (the operator)."""
        path = f"/v1/market/notices/{notice_id}/withdraw"
        return self._send(MarketNotice, "POST", path, {"reason": reason}, key=_new_key())

    def market_notices(
        self, kind: str | None = None, start: str | None = None, end: str | None = None
    ) -> list[MarketNotice]:
        """Market notices, newest first (public); ``start``/``end`` bound the effective date."""
        params = {"kind": kind, "from": start, "to": end}
        return self._get_list(MarketNotice, "/v1/market/notices", **_drop_none(params))

    def name_project_developer(self, project_id: str, participant_id: str) -> Developer:
        """Name the participant that develops a project (registry operator)."""
        path = f"/v1/projects/{project_id}/developer"
        return self._send(Developer, "PUT", path, {"participant_id": participant_id})

    def publish_project_update(
        self,
        project_id: str,
        language: str,
        published_on: str,
        title_en: str = "",
        body_en: str = "",
        title_ja: str = "",
        body_ja: str = "",
    ) -> ProjectUpdate:
        """Publish an update on a project's page (its developer)."""
        body = {
            "language": language,
            "published_on": published_on,
            "title_en": title_en,
            "body_en": body_en,
            "title_ja": title_ja,
            "body_ja": body_ja,
        }
        path = f"/v1/projects/{project_id}/updates"
        return self._send(ProjectUpdate, "POST", path, body, key=_new_key())

    def project_updates(self, project_id: str) -> list[ProjectUpdate]:
        """A project's updates from its developer, newest first (public)."""
        return self._get_list(ProjectUpdate, f"/v1/projects/{project_id}/updates")

    # ------------------------------------------------------------------ the project cycle

    def methodologies(self, scheme: str | None = None) -> list[cycle_meth.MethodologyView]:
        """Every methodology version with its parameters, formula and buffer rate (public)."""
        return self._get_list(cycle_meth.MethodologyView, "/v1/methodologies", scheme=scheme)

    def accredit(
        self,
        participant_id: str,
        scheme: str,
        sector: str,
        valid_from: str,
        valid_to: str | None = None,
    ) -> accreditation.Accreditation:
        """Accredit a verification body for a scheme and sector (registry operator)."""
        body = {
            "participant_id": participant_id,
            "scheme": scheme,
            "sector": sector,
            "valid_from": valid_from,
            "valid_to": valid_to,
        }
        return self._post(accreditation.Accreditation, "/v1/accreditations", body)

    def draft_plan(self, **plan: Any) -> plans.Plan:
        """Draft a project plan as its developer (the fields of ``POST /v1/project-plans``)."""
        return self._post(plans.Plan, "/v1/project-plans", plan)

    def project_plan(self, plan_id: str) -> plans.Plan:
        """A plan with its comments, documents and validation."""
        return self._get(plans.Plan, f"/v1/project-plans/{plan_id}")

    def plan_step(self, plan_id: str, step: str, **body: Any) -> plans.Plan:
        """Take a step of a plan: ``submit`` (validator_id), ``start-validation``,
        ``validation`` (opinion, findings, statement), ``register``, ``reject`` or ``withdraw``
        (reason); each by its role."""
        return self._post(plans.Plan, f"/v1/project-plans/{plan_id}/{step}", body)

    def submit_monitoring_report(
        self,
        project_id: str,
        period_start: str,
        period_end: str,
        verifier_id: str,
        parameters: dict[str, str | list[str]],
    ) -> monitoring.Report:
        """Submit a monitoring report for a period (the project's developer)."""
        body = {
            "period_start": period_start,
            "period_end": period_end,
            "verifier_id": verifier_id,
            "parameters": parameters,
        }
        path = f"/v1/projects/{project_id}/monitoring-reports"
        return self._post(monitoring.Report, path, body)

    def attach_report_evidence(
        self, report_id: str, kind: str, file_name: str, media_type: str, content: bytes
    ) -> cycle_evidence.Evidence:
        """Attach evidence to a report before its verification (the developer)."""
        body = {
            "kind": kind,
            "file_name": file_name,
            "media_type": media_type,
            "content_base64": base64.b64encode(content).decode("ascii"),
        }
        path = f"/v1/monitoring-reports/{report_id}/evidence"
        return self._post(cycle_evidence.Evidence, path, body)

    def monitoring_report(self, report_id: str) -> monitoring.Report:
        """A report: public once verified, before that its parties'."""
        return self._get(monitoring.Report, f"/v1/monitoring-reports/{report_id}")

    def verify_report(
        self,
        report_id: str,
        verified_tonnes: int,
        statement: str,
        findings: str = "",
        parameters: dict[str, str | list[str]] | None = None,
    ) -> monitoring.Report:
        """Verify a report, once (the verification body it names); ``parameters``: corrected
        ones, whose formula gives ``verified_tonnes``."""
        body = {
            "verified_tonnes": verified_tonnes,
            "findings": findings,
            "statement": statement,
            "parameters": parameters,
        }
        path = f"/v1/monitoring-reports/{report_id}/verification"
        return self._post(monitoring.Report, path, body)

    def request_issuance(
        self, report_id: str, account_id: str, quantity: int | None = None
    ) -> issuance_requests.IssuanceRequest:
        """Ask for a verified report's credits (the developer)."""
        body = {"report_id": report_id, "account_id": account_id, "quantity": quantity}
        return self._post(issuance_requests.IssuanceRequest, "/v1/issuance-requests", body)

    def decide_issuance_request(
        self, request_id: str, approve: bool, reason: str = ""
    ) -> issuance_requests.IssuanceRequest:
        """Approve (issue) or reject (with the reason) a request (registry operator)."""
        if approve:
            path = f"/v1/issuance-requests/{request_id}/approve"
            return self._post(issuance_requests.IssuanceRequest, path, {})
        path = f"/v1/issuance-requests/{request_id}/reject"
        return self._post(issuance_requests.IssuanceRequest, path, {"reason": reason})

    def _download(self, path: str, lang: str) -> httpx.Response:
        return _checked(self._http.get(path, params={"lang": lang}))


def _checked(r: httpx.Response) -> httpx.Response:
    """The answer, or its 4xx/5xx as ApiError with the server's code and message."""
    if r.status_code >= 400:
        try:
            err = r.json()["error"]
            raise ApiError(r.status_code, err["code"], err["message"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(r.status_code, "http_error", r.text[:200]) from None
    return r


def _new_key() -> str:
    return str(uuid.uuid4())


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
