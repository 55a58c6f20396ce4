"""Local-government credit schemes over REST and on their public pages (issue 20 §2): the
registry operator registers a prefecture's scheme, the prefecture registers a project and issues
its credits with its own key, lists them on the marketplace (found by prefecture), a buyer buys
and chooses to be named; the programme's JSON and its page in English and Japanese show the
projects, the quantities from the registry, the named buyer, the proceeds and the usage rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain import marketplace as mp
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, participants
from tanso.services.venues import marketplace as market
from tanso.store.db import Database
from tests.conftest import add_participant, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCHEME = {
    "code": "LGNA",
    "participant_id": "NAGANO",
    "name_en": "Nagano forest and community credits",
    "name_ja": "長野県 森林・地域クレジット",
    "prefecture": "20",
    "methodologies": [
        {
            "code": "FOREST_MGMT",
            "name_en": "Forest management (thinning)",
            "name_ja": "森林経営（間伐）",
            "credit_type": "RM",
            "mechanism": "removal",
            "nature": "nature",
            "source_url": "https://www.pref.nagano.lg.jp/shinrin/sangyo/ringyo/seibi/ninsho/index.html",
            "source_text": "長野県 森林CO2吸収評価認証制度",
        }
    ],
    "proceeds_en": "Thinning prefectural forests.",
    "proceeds_ja": "県内の森林の間伐に充てます。",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text


@pytest.fixture
def world(db: Database) -> Iterator[dict[str, Any]]:
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            "長野県", "Nagano Prefecture", "local_government", ["trader"], None, False, "NAGANO"
        ),
    )
    participants.set_status(db, SYSTEM, "NAGANO", "active")
    add_participant(db, "BUYER")
    fund(db, "BUYER", 10_000_000)
    key = participants.create_api_key
    keys = {
        "operator": str(key(db, SYSTEM, "OPERATOR", "r", ["registry_operator"]).key),
        "buyer": str(key(db, SYSTEM, "BUYER", "b").key),
    }
    with TestClient(create_app(db)) as http:
        yield {"db": db, "http": http, "keys": keys}


def test_a_prefecture_runs_its_scheme_and_the_programme_shows_it(world: dict[str, Any]) -> None:
    db, http, keys = world["db"], world["http"], world["keys"]
    op, buyer = bearer(keys["operator"]), bearer(keys["buyer"])
    refused(http.post("/v1/local-schemes", headers=buyer, json=SCHEME), 403, "scope_missing")
    r = http.post("/v1/local-schemes", headers=op, json=SCHEME)
    assert r.status_code == 201, r.text
    assert r.json()["prefecture_ja"] == "長野県"
    # the prefecture's key, made after the operator gave it the local_scheme role
    nagano = bearer(str(participants.create_api_key(db, SYSTEM, "NAGANO", "scheme").key))
    project = {
        "id": "NAFM01",
        "name": "Shinshu forest thinning",
        "name_ja": "信州の森の間伐",
        "methodology": "FOREST_MGMT",
        "municipality": "松本市",
    }
    refused(
        http.post("/v1/local-schemes/LGNA/projects", headers=buyer, json=project),
        403,
        "scope_missing",
    )
    r = http.post("/v1/local-schemes/LGNA/projects", headers=nagano, json=project)
    assert r.status_code == 201, r.text
    refused(
        http.post("/v1/local-schemes/LGXX/projects", headers=nagano, json=project),
        404,
        "local_scheme_not_found",
    )
    issuance = {
        "project_id": "NAFM01",
        "credit_type": "RM",
        "round": "1",
        "vintage": 2025,
        "quantity": 300,
        "account_id": "NAGANO-MAIN",
    }
    r = http.post("/v1/local-schemes/LGNA/issuances", headers=nagano, json=issuance)
    assert r.status_code == 201, r.text
    assert r.json()["serials"] == "LGNA-RM-NAFM01-1-1-300"
    refused(
        http.post(
            "/v1/local-schemes/LGNA/issuances",
            headers=nagano,
            json=issuance | {"project_id": "P9999", "round": "2"},
        ),
        404,
        "project_not_found",
    )
    r = http.patch(
        "/v1/local-schemes/LGNA",
        headers=nagano,
        json={"proceeds_en": "Thinning and school forest days."},
    )
    assert r.status_code == 200 and r.json()["proceeds_en"].startswith("Thinning and school")
    refused(
        http.patch("/v1/local-schemes/LGNA", headers=buyer, json={"proceeds_en": "x"}),
        403,
        "scope_missing",
    )

    listing = market.create_listing(
        db,
        participants_actor(db, "NAGANO"),
        market.NewListing(
            "NAGANO-MAIN", mp.ListingTerms(9_000, 100, 1, 1, 0), issuance_id="LGNA-RM-NAFM01-1"
        ),
    )
    found = http.get("/v1/marketplace/listings", params={"prefecture": "20"}).json()
    assert [(x["id"], x["prefecture"], x["municipality"], x["local_scheme"]) for x in found] == [
        (listing.id, "20", "松本市", "LGNA")
    ]
    assert http.get("/v1/marketplace/listings", params={"prefecture": "13"}).json() == []
    refused(
        http.get("/v1/marketplace/listings", params={"prefecture": "99"}), 422, "unknown_prefecture"
    )
    r = http.post(
        f"/v1/marketplace/listings/{listing.id}/purchases",
        headers=buyer,
        json={"quantity": 40, "account_id": "BUYER-MAIN"},
    )
    assert r.status_code == 201, r.text
    r = http.put("/v1/local-schemes/LGNA/naming", headers=buyer, json={"named": True})
    assert r.status_code == 200 and r.json()["named"] is True
    assert http.get("/v1/local-schemes/LGNA/naming", headers=buyer).json()["named"] is True

    page = http.get("/v1/local-schemes/LGNA").json()
    assert page["quantities"] == {"issued": 300, "sold": 40, "retired": 0}
    assert [b["participant_id"] for b in page["buyers"]] == ["BUYER"]
    assert [p["project_id"] for p in http.get("/v1/local-schemes/LGNA/projects").json()] == [
        "NAFM01"
    ]
    assert [s["code"] for s in http.get("/v1/local-schemes", params={"prefecture": "20"}).json()]
    assert http.get("/v1/local-schemes/LGZZ").status_code == 404

    en = http.get("/local/LGNA")
    assert en.status_code == 200 and en.headers["content-language"] == "en"
    for shown in (
        'id="issued"',
        ">300<",
        ">40<",
        'data-buyer="BUYER"',
        "BUYER Corp.",
        "Thinning and school forest days.",
        'data-project="NAFM01"',
        f'data-listing="{listing.id}"',
        'data-rule="LOCAL-NOT-SHK"',
        'data-rule="LOCAL-EVENT-ELIGIBLE" data-allowed="yes"',
        "Nagano",
    ):
        assert shown in en.text, shown
    for ja in (http.get("/local/LGNA?lang=ja"), http.get("/ja/local/LGNA")):
        assert ja.status_code == 200 and ja.headers["content-language"] == "ja"
        assert "長野県 森林・地域クレジット" in ja.text and "収益の使途" in ja.text
        assert "BUYER 株式会社" in ja.text and "県内の森林の間伐に充てます。" in ja.text
    listed = http.get("/ja/local")
    assert 'data-scheme="LGNA"' in listed.text and "自治体クレジット制度" in listed.text
    assert 'data-scheme="LGNA"' in http.get("/local").text
    missing = http.get("/local/LGZZ")
    assert missing.status_code == 404 and 'data-error="local_scheme_not_found"' in missing.text
    # the buyer withdraws its consent: the page no longer names it
    http.put("/v1/local-schemes/LGNA/naming", headers=buyer, json={"named": False})
    assert "BUYER Corp." not in http.get("/local/LGNA").text
    portal = http.get("/portal/marketplace", params={"prefecture": "20"})
    assert f'data-listing="{listing.id}"' in portal.text and 'data-prefecture="20"' in portal.text
    detail = http.get(f"/portal/marketplace/listings/{listing.id}")
    assert 'id="local-scheme" href="/local/LGNA"' in detail.text
    assert audit.verify(db).ok


def participants_actor(db: Database, pid: str) -> Actor:
    """The actor a participant's full key gives (its roles, every scope they allow)."""
    roles = participants.get_participant(db, SYSTEM, pid).roles
    return Actor(pid, frozenset(Role(r) for r in roles))
