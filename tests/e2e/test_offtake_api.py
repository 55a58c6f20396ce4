"""Forward offtake contracts over HTTP (issue 21 §2): a developer lists forward volumes, a buyer
requests a quote and signs the developer's terms through `tanso.client`, an issuance delivers;
the same journey through the portal's forms in English and Japanese; another participant gets
404 for a contract; the forward demand is public (API and page), with no names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.domain.removals import Profile
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, registry, taxonomy
from tanso.services.removals import offtake, profiles
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.e2e.test_portal import PASSWORD, login, prepare

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
FIXED = {"kind": "fixed", "price": 40_000}


@pytest.fixture
def world(db: Database) -> Iterator[dict[str, Any]]:
    prepare(db)  # ALPHA and BETA with cash and portal users of every role
    add_participant(db, "DEVCO")
    users.create(db, SYSTEM, NewUser("DEVCO", "trader@devco.example.jp", "Dev", "trader", PASSWORD))
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(
            "DAC9", "JC", "Direct air capture 9", "OTHER", "JP", mechanism="removal"
        ),
    )
    profiles.set_profile(
        db, SYSTEM, "DAC9", Profile("daccs", "geological", 10_000, "none", 30, 0, "test")
    )
    # the pilot round makes DEVCO the project's developer (docs/offtake.md)
    registry.issue(db, SYSTEM, registry.NewIssuance("DAC9", "RM", "90", 2020, 5, "DEVCO-MAIN"))
    keys = {
        pid: participants.create_api_key(db, SYSTEM, pid).key for pid in ("DEVCO", "ALPHA", "BETA")
    }
    with TestClient(create_app(db), follow_redirects=False) as http:
        transport = http._transport  # type: ignore[attr-defined]
        clients = {
            pid: Client("http://testserver", key, transport=transport) for pid, key in keys.items()
        }
        yield {"db": db, "http": http, **clients}
    report = audit.verify(db)
    assert report.ok, report.problems


def test_a_forward_contract_through_the_client_is_delivered_on_issuance(
    world: dict[str, Any],
) -> None:
    dev, alpha, beta = world["DEVCO"], world["ALPHA"], world["BETA"]
    listing = dev.list_forward_volumes("DAC9", "DEVCO-MAIN", {2027: 500, 2028: 500}, FIXED)
    assert listing.removal.pathway == "daccs" and listing.seller_account == "DEVCO-MAIN"
    public = world["http"].get(f"/v1/offtake/listings/{listing.id}").json()
    assert public.get("seller_account") is None  # the public sees no account
    assert [x.id for x in beta.offtake_listings()] == [listing.id]
    quote = alpha.request_offtake_quote(listing.id, "ALPHA-MAIN", {2027: 200}, "for 2030 targets")
    with pytest.raises(ApiError) as refused:
        alpha.propose_offtake_terms(quote.id, FIXED, "refund")
    assert (refused.value.status, refused.value.code) == (403, "developer_only")
    stale = dev.propose_offtake_terms(quote.id, FIXED, "refund", prepaid_per_tonne=4_000)
    proposed = dev.propose_offtake_terms(quote.id, FIXED, "refund", prepaid_per_tonne=5_000)
    assert proposed.terms_version and proposed.terms_version != stale.terms_version
    with pytest.raises(ApiError) as changed:
        alpha.sign_offtake(quote.id, stale.terms_version or "")
    assert (changed.value.status, changed.value.code) == (409, "terms_changed")
    with pytest.raises(ApiError) as refused:
        beta.list_forward_volumes("DAC9", "BETA-MAIN", {2027: 5}, FIXED)
    assert (refused.value.status, refused.value.code) == (403, "not_the_developer")
    contract = alpha.sign_offtake(quote.id, proposed.terms_version)
    assert (contract.status, contract.prepayment, contract.contracted) == ("active", 1_000_000, 200)
    with pytest.raises(ApiError) as hidden:
        beta.offtake_contract(contract.id)
    assert (hidden.value.status, hidden.value.code) == (404, "contract_not_found")
    with pytest.raises(ApiError) as hidden:
        beta.offtake_quote(quote.id)
    assert hidden.value.status == 404
    receipt = registry.issue(
        world["db"], SYSTEM, registry.NewIssuance("DAC9", "RM", "1", 2027, 150, "DEVCO-MAIN")
    )
    assert receipt.delivered == 150
    view = alpha.offtake_contract(contract.id)
    (row,) = view.schedule
    assert (row.delivered, row.outstanding, row.paid) == (150, 50, 150 * 35_000)
    closed = dev.close_offtake_vintage(contract.id, 2027)
    assert (closed.shortfall, closed.refund) == (50, 250_000)
    assert alpha.offtake_contract(contract.id).status == "completed"
    demand = beta.forward_demand()
    assert [
        (r.pathway, r.vintage, r.contracted, r.delivered, r.outstanding) for r in demand.rows
    ] == [("daccs", 2027, 200, 150, 0)]
    anonymous = world["http"].get("/v1/removals/forward-demand")
    assert anonymous.status_code == 200 and "ALPHA" not in anonymous.text
    for path, words in (
        ("/removals/forward-demand", "Forward demand for removals"),
        ("/ja/removals/forward-demand", "除去系クレジットの将来需要"),
    ):
        page = world["http"].get(path)
        assert page.status_code == 200 and words in page.text
        assert 'data-pathway="daccs"' in page.text and "ALPHA" not in page.text


def _csrf(http: TestClient, path: str) -> str:
    m = CSRF_RE.search(http.get(path).text)
    assert m, path
    return m.group(1)


def test_the_portal_lists_quotes_signs_and_shows_the_schedule_in_both_languages(
    world: dict[str, Any],
) -> None:
    http: TestClient = world["http"]
    listing = world["DEVCO"].list_forward_volumes("DAC9", "DEVCO-MAIN", {2027: 300}, FIXED)
    assert http.get("/portal/offtake").status_code == 303  # a login first
    login(http, "trader@alpha.example.jp")
    page = http.get("/portal/offtake")
    assert page.status_code == 200 and f'data-listing="{listing.id}"' in page.text
    assert "Direct air capture" in page.text and "Pre-purchase marketplace" in page.text
    ja = http.get("/portal/offtake?lang=ja")
    assert "事前購入マーケット" in ja.text and "見積を依頼" in ja.text
    token = _csrf(http, "/portal/offtake")
    bad = http.post(
        f"/portal/offtake/listings/{listing.id}/quote",
        data={"csrf": token, "vintages": "2027", "account": "ALPHA-MAIN"},
    )
    assert bad.status_code == 422 and "年:数量" in bad.text  # the Japanese cookie stays
    sent = http.post(
        f"/portal/offtake/listings/{listing.id}/quote",
        data={"csrf": token, "vintages": "2027:100", "account": "ALPHA-MAIN", "message": "hi"},
    )
    assert sent.status_code == 200
    (quote,) = world["ALPHA"].offtake_quotes()
    http.cookies.clear()
    login(http, "trader@devco.example.jp")
    token = _csrf(http, "/portal/offtake/mine?lang=en")
    terms = {
        "csrf": token,
        "kind": "fixed",
        "price": "45000",
        "shortfall_rule": "carry_forward",
        "mode": "escrow",
    }
    # 0 is refused with the field's message, never taken for the default
    for field, words in (("priority", "priority is 1"), ("multiplier_bp", "multiplier_bp is 1")):
        zero = http.post(f"/portal/offtake/quotes/{quote.id}/terms", data={**terms, field: "0"})
        assert zero.status_code == 422 and words in zero.text, field
    proposed = http.post(
        f"/portal/offtake/quotes/{quote.id}/terms",
        data={
            "csrf": token,
            "kind": "fixed",
            "price": "45000",
            "shortfall_rule": "carry_forward",
            "prepaid_per_tonne": "0",
            "mode": "escrow",
            "priority": "10",
        },
    )
    assert proposed.status_code == 200 and f"Terms for quote {quote.id}" in proposed.text
    http.cookies.clear()
    login(http, "trader@alpha.example.jp")
    token = _csrf(http, "/portal/offtake/mine")
    mine = http.get("/portal/offtake/mine").text
    version = offtake.get_quote(world["db"], SYSTEM, quote.id).terms_version
    assert f'name="terms_version" value="{version}"' in mine
    stale = http.post(
        f"/portal/offtake/quotes/{quote.id}/sign", data={"csrf": token, "terms_version": "old"}
    )
    assert stale.status_code == 409 and "changed since you read them" in stale.text
    signed = http.post(
        f"/portal/offtake/quotes/{quote.id}/sign", data={"csrf": token, "terms_version": version}
    )
    assert signed.status_code == 200 and 'id="schedule"' in signed.text
    (contract,) = world["ALPHA"].offtake_contracts()
    en = http.get(f"/portal/offtake/contracts/{contract.id}?lang=en")
    assert "Schedule of deliveries and payments" in en.text and 'data-vintage="2027"' in en.text
    ja = http.get(f"/portal/offtake/contracts/{contract.id}?lang=ja")
    assert "引渡しと支払の予定" in ja.text
    # a vintage no query can hold is refused on the form (422), never a 500
    token = _csrf(http, f"/portal/offtake/contracts/{contract.id}?lang=en")
    for action, data in (("close", {}), ("deliver", {"quantity": "1"})):
        huge = http.post(
            f"/portal/offtake/contracts/{contract.id}/{action}",
            data={"csrf": token, "vintage": "99999999999999999999", **data},
        )
        assert huge.status_code == 422 and "from 2000 to 2100" in huge.text, action
    http.cookies.clear()
    login(http, "trader@beta.example.jp")
    assert http.get(f"/portal/offtake/contracts/{contract.id}").status_code == 404
