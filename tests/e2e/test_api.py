"""The HTTP API end to end, on SQLite and PostgreSQL: keys, isolation, a journey, hostile input.

Every request goes through ``TestClient(create_app(db))`` with real API keys; the database is the
`db` fixture, so each test runs once per backend.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.errors import NotFound
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import cash, participants, registry
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, corporate_number, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PUBLIC = {
    ("GET", "/v1/schemes"),
    ("GET", "/v1/categories"),
    ("GET", "/v1/purposes"),
    ("GET", "/v1/credit-types"),
    ("GET", "/v1/properties"),
    ("GET", "/v1/projects"),
    ("GET", "/v1/projects/{project_id}"),
    ("GET", "/v1/issuances"),
    ("GET", "/v1/issuances/{issuance_id}"),
    ("GET", "/v1/retirements/{retirement_id}"),
    ("GET", "/v1/journal/head"),
    ("GET", "/healthz"),
}

OPERATOR_ENDPOINTS = [
    "/v1/issuances",
    "/v1/deposits",
    "/v1/redeposits",
    "/v1/cash/deposits",
    "/v1/cash/withdrawals",
    "/v1/participants",
    "/v1/participants/{B}/approve",
    "/v1/participants/{B}/suspend",
    "/v1/freezes",
    "/v1/unfreezes",
    "/v1/schemes",
    "/v1/categories",
    "/v1/projects",
    "/v1/journal",
    "/v1/journal/verify",
    "/v1/participants/{B}/roles",
]


def api_routes(app: FastAPI, *, public: bool | None = None) -> Iterator[tuple[str, str]]:
    """Every (method, path template) the app serves, walking included routers.

    A route is public if the brief's list names it or it is tagged "public" (the convention of
    the route modules, which other capabilities follow).
    """

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for r in routes:
            methods = getattr(r, "methods", None)
            if methods:
                for m in sorted(methods - {"HEAD"}):
                    route = (m, prefix + r.path)
                    is_public = route in PUBLIC or "public" in (getattr(r, "tags", None) or [])
                    if public is None or public == is_public:
                        yield route
            elif hasattr(r, "original_router"):  # FastAPI's included router
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "routes"):
                yield from walk(r.routes, prefix + getattr(r, "path", ""))

    yield from walk(list(app.routes), "")


def fill(path: str, **values: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "X1"), path)


def is_error(resp: Any) -> bool:
    body = resp.json()
    err = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(err, dict)
        and isinstance(err.get("code"), str)
        and bool(err["code"])
        and isinstance(err.get("message"), str)
        and bool(err["message"])
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class World:
    db: Database
    client: TestClient
    op: dict[str, str]
    a: dict[str, str]
    b: dict[str, str]
    a_key_id: str
    b_key_id: str
    a_issuance: str
    b_issuance: str

    def head(self) -> int:
        r = self.client.get("/v1/journal/head")
        assert r.status_code == 200
        return int(r.json()["seq"])

    def holdings(self, account: str, who: dict[str, str]) -> dict[str, Any]:
        r = self.client.get(f"/v1/accounts/{account}/holdings", headers=who)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def make_key(db: Database, pid: str, roles: list[str] | None = None) -> tuple[str, str]:
    out = participants.create_api_key(db, SYSTEM, pid, "test", roles)
    return out.key, out.id


@pytest.fixture
def w(db: Database) -> Iterator[World]:
    add_participant(db, "AA")
    add_participant(db, "BB")
    op_key, _ = make_key(db, "OPERATOR")
    a_key, a_id = make_key(db, "AA")
    b_key, b_id = make_key(db, "BB")
    a_iss = add_issuance(db, "AA-MAIN", 1000, vintage=2021)
    b_iss = add_issuance(db, "BB-MAIN", 500, vintage=2022)
    fund(db, "AA", 1_000_000)
    fund(db, "BB", 2_000_000)
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        yield World(
            db, client, bearer(op_key), bearer(a_key), bearer(b_key), a_id, b_id, a_iss, b_iss
        )


# ---------------------------------------------------------------- (a) authentication


def test_route_walk_finds_every_v1_route_and_the_public_list_is_exact(w: World) -> None:
    app: FastAPI = w.client.app  # type: ignore[assignment]
    routes = set(api_routes(app))
    v1 = {r for r in routes if r[1].startswith("/v1/") or r[1] == "/healthz"}
    assert len(v1) >= 45
    assert v1 >= PUBLIC
    public = set(api_routes(app, public=True))
    assert public >= PUBLIC
    for method, path in sorted(public):
        r = w.client.request(
            method,
            fill(path, project_id="P9", issuance_id="JC-ER-P9-1", retirement_id="RT-00000001"),
        )
        assert r.status_code != 401 and r.status_code < 500, (method, path, r.text[:200])


def _protected(w: World) -> list[tuple[str, str]]:
    app: FastAPI = w.client.app  # type: ignore[assignment]
    out = sorted(r for r in api_routes(app, public=False) if r[1].startswith("/v1/"))
    assert len(out) >= 33
    return out


def _call(w: World, method: str, path: str, headers: dict[str, str] | None) -> Any:
    url = fill(
        path,
        pid="AA",
        key_id=w.a_key_id,
        broker_id="BB",
        account_id="AA-MAIN",
        cash_account_id="CASH-AA-JPY",
    )
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return w.client.request(method, url, **kwargs)


def test_every_protected_route_refuses_a_request_without_a_key(w: World) -> None:
    before = w.head()
    wrong = []
    for method, path in _protected(w):
        r = _call(w, method, path, None)
        if (
            r.status_code != 401
            or not is_error(r)
            or r.json()["error"]["code"] != "missing_api_key"
        ):
            wrong.append((method, path, r.status_code, r.text[:200]))
        elif r.headers.get("www-authenticate") != "Bearer":
            wrong.append((method, path, "no WWW-Authenticate"))
    assert wrong == []
    assert w.head() == before


@pytest.mark.parametrize(
    "header",
    [
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer tk_0123456789abcdef_" + "x" * 43},
        {"Authorization": "Bearer tk_0123456789ABCDEF_" + "x" * 43},
        {"Authorization": "Bearer tk_0123456789abcdef_short"},
        {"Authorization": "Bearer " + "tk_" + "a" * 10_000},
        {"X-Api-Key": "tk_zz"},
    ],
    ids=[
        "empty",
        "garbage",
        "basic",
        "unknown-id",
        "upper-hex",
        "short-secret",
        "10k",
        "x-api-key",
    ],
)
def test_every_protected_route_refuses_a_malformed_key(w: World, header: dict[str, str]) -> None:
    wrong = []
    for method, path in _protected(w):
        r = _call(w, method, path, header)
        if r.status_code != 401 or not is_error(r):
            wrong.append((method, path, r.status_code, r.text[:200]))
    assert wrong == []


def test_every_protected_route_refuses_a_revoked_key_and_a_wrong_secret(w: World) -> None:
    key, key_id = make_key(w.db, "AA")
    assert w.client.get("/v1/accounts", headers=bearer(key)).status_code == 200
    participants.revoke_api_key(w.db, SYSTEM, "AA", key_id)
    tampered = bearer(key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB"))
    op_tampered = {"Authorization": w.op["Authorization"][:-1] + "_"}
    for method, path in _protected(w):
        for headers in (bearer(key), tampered, op_tampered):
            r = _call(w, method, path, headers)
            assert r.status_code == 401 and is_error(r), (method, path, r.text)
            assert r.json()["error"]["code"] == "invalid_api_key"


def test_a_key_revoked_through_the_api_stops_working(w: World) -> None:
    r = w.client.post("/v1/participants/AA/api-keys", json={"label": "laptop"}, headers=w.a)
    assert r.status_code == 201
    key, key_id = r.json()["key"], r.json()["id"]
    assert w.client.get("/v1/accounts", headers=bearer(key)).status_code == 200
    r = w.client.delete(f"/v1/participants/AA/api-keys/{key_id}", headers=w.a)
    assert r.status_code == 200 and r.json()["revoked"] is True
    r = w.client.get("/v1/accounts", headers=bearer(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    listed = w.client.get("/v1/participants/AA/api-keys", headers=w.a).json()
    assert all("secret" not in k and "key" not in k for k in listed)
    assert next(k for k in listed if k["id"] == key_id)["revoked_at"]


# ---------------------------------------------------------------- (b) isolation


def _same_shape(
    w: World,
    method: str,
    theirs: str,
    missing: str,
    body: Any = None,
    secret: str = "",
    missing_secret: str = "",
) -> Any:
    """Another's id must answer exactly like an id that does not exist."""
    kwargs: dict[str, Any] = {"headers": w.a}
    if body is not None:
        kwargs["json"] = body(secret)
    r1 = w.client.request(method, theirs, **kwargs)
    if body is not None:
        kwargs["json"] = body(missing_secret)
    r2 = w.client.request(method, missing, **kwargs)
    assert r1.status_code in (403, 404), (theirs, r1.status_code, r1.text)
    assert r1.status_code == r2.status_code, (theirs, r1.text, r2.text)
    assert is_error(r1) and is_error(r2)
    assert set(r1.json()["error"]) == set(r2.json()["error"])
    t1 = r1.text.replace(secret, "<ID>") if secret else r1.text
    t2 = r2.text.replace(missing_secret, "<ID>") if missing_secret else r2.text
    assert t1 == t2, (t1, t2)
    for leak in ("BB Corp", "BB 株式会社", "BB-MAIN", "CASH-BB-JPY", w.b_issuance, w.b_key_id):
        if leak not in secret:
            assert leak not in r1.text, (theirs, leak, r1.text)
    return r1


def test_another_participants_records_answer_like_missing_ones(w: World) -> None:
    before = w.head()
    for tmpl in (
        "/v1/participants/{}",
        "/v1/participants/{}/api-keys",
        "/v1/participants/{}/brokers",
    ):
        _same_shape(
            w, "GET", tmpl.format("BB"), tmpl.format("NOBODY"), secret="BB", missing_secret="NOBODY"
        )
    _same_shape(
        w,
        "POST",
        "/v1/participants/BB/api-keys",
        "/v1/participants/NOBODY/api-keys",
        body=lambda _s: {"label": "x"},
        secret="BB",
        missing_secret="NOBODY",
    )
    _same_shape(
        w,
        "DELETE",
        f"/v1/participants/BB/api-keys/{w.b_key_id}",
        "/v1/participants/NOBODY/api-keys/0123456789abcdef",
        secret="BB",
        missing_secret="NOBODY",
    )
    _same_shape(
        w,
        "POST",
        "/v1/participants/BB/brokers",
        "/v1/participants/NOBODY/brokers",
        body=lambda _s: {"broker_id": "AA"},
        secret="BB",
        missing_secret="NOBODY",
    )
    _same_shape(
        w,
        "DELETE",
        "/v1/participants/BB/brokers/AA",
        "/v1/participants/NOBODY/brokers/AA",
        secret="BB",
        missing_secret="NOBODY",
    )
    for action in ("approve", "suspend"):
        _same_shape(
            w,
            "POST",
            f"/v1/participants/BB/{action}",
            f"/v1/participants/NOBODY/{action}",
            body=lambda _s: {"reason": "x"},
            secret="BB",
            missing_secret="NOBODY",
        )
    _same_shape(
        w,
        "PUT",
        "/v1/participants/BB/roles",
        "/v1/participants/NOBODY/roles",
        body=lambda _s: {"roles": ["trader"]},
        secret="BB",
        missing_secret="NOBODY",
    )
    _same_shape(
        w,
        "POST",
        "/v1/accounts",
        "/v1/accounts",
        body=lambda s: {"name": "x", "participant_id": s},
        secret="BB",
        missing_secret="NOBODY",
    )
    assert w.client.get("/v1/participants", headers=w.a).json()[0]["id"] == "AA"
    assert len(w.client.get("/v1/participants", headers=w.a).json()) == 1
    assert {a["participant_id"] for a in w.client.get("/v1/accounts", headers=w.a).json()} == {"AA"}
    assert w.head() == before
    assert participants.get_participant(w.db, SYSTEM, "BB").status == "active"


def test_another_participants_account_answers_like_a_missing_one(w: World) -> None:
    before = w.head()
    other, missing = "BB-MAIN", "ZZ-MAIN"
    _same_shape(
        w,
        "GET",
        f"/v1/accounts/{other}/holdings",
        f"/v1/accounts/{missing}/holdings",
        secret=other,
        missing_secret=missing,
    )
    bodies = {
        "/v1/transfers": lambda s: {"from_account": s, "to_account": "AA-MAIN", "quantity": 1},
        "/v1/retirements": lambda s: {"account_id": s, "quantity": 1, "purpose": "offset_scope1"},
        "/v1/cancellations": lambda s: {"account_id": s, "quantity": 1, "reason": "x"},
        "/v1/withdrawals": lambda s: {
            "account_id": s,
            "quantity": 1,
            "external_registry": "X",
            "external_account": "Y",
        },
    }
    for path, body in bodies.items():
        _same_shape(w, "POST", path, path, body=body, secret=other, missing_secret=missing)
    # by serial range too: B's serials named from B's account
    serial = f"{w.b_issuance}-1-10"
    _same_shape(
        w,
        "POST",
        "/v1/transfers",
        "/v1/transfers",
        body=lambda s: {"from_account": s, "to_account": "AA-MAIN", "serials": serial},
        secret=other,
        missing_secret=missing,
    )
    # B's serials named from A's own account: refused without saying where they are
    r = w.client.post(
        "/v1/transfers",
        headers=w.a,
        json={"from_account": "AA-MAIN", "to_account": "BB-MAIN", "serials": serial},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "serials_not_available"
    assert "BB Corp" not in r.text
    assert w.head() == before
    assert w.holdings("BB-MAIN", w.b)["total"] == 500


def test_another_participants_cash_answers_like_missing_cash(w: World) -> None:
    _same_shape(
        w,
        "GET",
        "/v1/cash?participant_id=BB",
        "/v1/cash?participant_id=NOBODY",
        secret="BB",
        missing_secret="NOBODY",
    )
    _same_shape(
        w,
        "GET",
        "/v1/cash/CASH-BB-JPY/movements",
        "/v1/cash/CASH-NOBODY-JPY/movements",
        secret="CASH-BB-JPY",
        missing_secret="CASH-NOBODY-JPY",
    )
    _same_shape(
        w,
        "GET",
        "/v1/cash/SYS-BANK-JPY/movements",
        "/v1/cash/SYS-BANK-XXX/movements",
        secret="SYS-BANK-JPY",
        missing_secret="SYS-BANK-XXX",
    )
    mine = w.client.get("/v1/cash", headers=w.a).json()
    assert [c["id"] for c in mine] == ["CASH-AA-JPY"] and mine[0]["balance"] == 1_000_000
    assert "2000000" not in w.client.get("/v1/cash", headers=w.a).text


def test_another_participants_system_accounts_and_retirements_stay_hidden(w: World) -> None:
    for sys_account in ("SYS-RETIREMENT", "SYS-ESCROW", "SYS-EXTERNAL"):
        _same_shape(
            w,
            "GET",
            f"/v1/accounts/{sys_account}/holdings",
            "/v1/accounts/SYS-NOTHING/holdings",
            secret=sys_account,
            missing_secret="SYS-NOTHING",
        )
    r = w.client.post(
        "/v1/retirements",
        headers=w.b,
        json={"account_id": "BB-MAIN", "quantity": 5, "purpose": "offset_scope1"},
    )
    assert r.status_code == 201
    assert w.client.get("/v1/retirements", headers=w.a).json() == []
    assert len(w.client.get("/v1/retirements", headers=w.b).json()) == 1


def test_cash_reservation_of_another_answers_like_a_missing_one(w: World) -> None:
    cash.reserve(w.db, Actor("BB"), "JPY", 100, "ORD-B-1")
    a = Actor("AA")
    with pytest.raises(NotFound) as theirs:
        cash.release(w.db, a, "ORD-B-1")
    with pytest.raises(NotFound) as missing:
        cash.release(w.db, a, "ORD-NONE")
    assert theirs.value.code == missing.value.code
    assert theirs.value.message.replace("ORD-B-1", "<ID>") == missing.value.message.replace(
        "ORD-NONE", "<ID>"
    )


def test_credit_reservation_of_another_answers_like_a_missing_one(w: World) -> None:
    registry.reserve(w.db, Actor("BB"), "BB-MAIN", registry.Selection(quantity=5), "ORD-B-2")
    a = Actor("AA")
    with pytest.raises(NotFound) as theirs:
        registry.release(w.db, a, "ORD-B-2")
    with pytest.raises(NotFound) as missing:
        registry.release(w.db, a, "ORD-NONE")
    assert theirs.value.code == missing.value.code
    assert "BB-MAIN" not in theirs.value.message


def test_a_trader_cannot_act_on_behalf_of_another(w: World) -> None:
    r = w.client.post(
        "/v1/transfers",
        headers=w.a | {"X-On-Behalf-Of": "BB"},
        json={"from_account": "BB-MAIN", "to_account": "AA-MAIN", "quantity": 1},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_broker"


# ---------------------------------------------------------------- (c) operator endpoints


def _operator_bodies(w: World) -> dict[str, Any]:
    issuance = {
        "project_id": "P9999",
        "credit_type": "ER",
        "round": "1",
        "vintage": 2022,
        "quantity": 10,
        "account_id": "AA-MAIN",
    }
    cash_move = {"participant_id": "AA", "amount": 100, "external_ref": "bank-1"}
    return {
        "/v1/issuances": issuance,
        "/v1/deposits": issuance | {"external_registry": "Verra", "external_ref": "V-1"},
        "/v1/redeposits": {
            "serials": f"{w.a_issuance}-1-5",
            "account_id": "AA-MAIN",
            "external_ref": "R-1",
        },
        "/v1/cash/deposits": cash_move,
        "/v1/cash/withdrawals": cash_move,
        "/v1/participants": {
            "id": "EVIL",
            "name_ja": "悪",
            "name_en": "Evil",
            "kind": "corporation",
            "corporate_number": corporate_number(),
        },
        "/v1/participants/{B}/approve": {"reason": "x"},
        "/v1/participants/{B}/suspend": {"reason": "x"},
        "/v1/participants/{B}/roles": {"roles": ["trader", "registry_operator"]},
        "/v1/freezes": {"serials": f"{w.b_issuance}-1-5", "reason": "x"},
        "/v1/unfreezes": {"serials": f"{w.b_issuance}-1-5", "reason": "x"},
        "/v1/schemes": {
            "code": "ZZ",
            "name_en": "Z",
            "name_ja": "Z",
            "unit": "tCO2",
            "domestic": True,
        },
        "/v1/categories": {"code": "ZZ_CAT", "name_en": "Z", "name_ja": "Z"},
        "/v1/projects": {
            "id": "P9999",
            "scheme": "JC",
            "name": "x",
            "category": "ENERGY_SAVING",
            "country": "JP",
        },
    }


@pytest.mark.parametrize("path", OPERATOR_ENDPOINTS)
def test_a_trader_key_cannot_call_operator_endpoints(w: World, path: str) -> None:
    before = w.head()
    url = path.replace("{B}", "BB")
    body = _operator_bodies(w).get(path)
    if body is None:
        r = w.client.get(url, headers=w.a)
    else:
        method = "PUT" if path.endswith("/roles") else "POST"
        r = w.client.request(method, url, headers=w.a, json=body)
    assert r.status_code == 403, r.text
    assert is_error(r) and r.json()["error"]["code"] in (
        "operator_only",
        "role_required",
        "scope_missing",
    )
    assert w.head() == before
    assert participants.get_participant(w.db, SYSTEM, "AA").roles == ["trader"]


def test_an_operator_key_restricted_to_trader_cannot_issue(w: World) -> None:
    key, _ = make_key(w.db, "OPERATOR", ["exchange_operator"])
    body = _operator_bodies(w)["/v1/issuances"]
    r = w.client.post("/v1/issuances", headers=bearer(key), json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"


# ---------------------------------------------------------------- (d) a full journey


def test_a_participant_from_registration_to_a_public_retirement(w: World) -> None:
    c, op = w.client, w.op
    r = c.post(
        "/v1/participants",
        headers=op,
        json={
            "id": "ACME",
            "name_ja": "アクメ株式会社",
            "name_en": "Acme K.K.",
            "kind": "corporation",
            "corporate_number": corporate_number(),
            "roles": ["trader"],
            "gx_league": True,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["accounts"] == ["ACME-MAIN"]
    r = c.post("/v1/participants/ACME/api-keys", headers=op, json={"label": "acme"})
    assert r.status_code == 201
    acme = bearer(r.json()["key"])
    # pending participants cannot receive issuances
    issuance = {
        "project_id": "FOREST1",
        "credit_type": "RM",
        "round": "1",
        "vintage": 2020,
        "quantity": 300,
        "account_id": "ACME-MAIN",
    }
    r = c.post(
        "/v1/projects",
        headers=op,
        json={
            "id": "FOREST1",
            "scheme": "JC",
            "name": "Shimanto forest",
            "category": "FOREST",
            "country": "JP",
            "mechanism": "removal",
            "nature": "nature",
        },
    )
    assert r.status_code == 201, r.text
    r = c.post("/v1/issuances", headers=op, json=issuance)
    assert r.status_code == 403 and r.json()["error"]["code"] == "participant_not_active"
    r = c.post("/v1/participants/ACME/approve", headers=op, json={"reason": "KYC done"})
    assert r.status_code == 200 and r.json()["status"] == "active"

    r = c.post("/v1/issuances", headers=op, json=issuance)
    assert r.status_code == 201, r.text
    forest = r.json()["issuance_id"]
    assert forest == "JC-RM-FOREST1-1" and r.json()["serials"] == f"{forest}-1-300"
    r = c.post(
        "/v1/projects",
        headers=op,
        json={
            "id": "SOLAR1",
            "scheme": "JC",
            "name": "Solar",
            "category": "RE_POWER",
            "country": "JP",
        },
    )
    assert r.status_code == 201
    r = c.post(
        "/v1/issuances",
        headers=op,
        json={
            "project_id": "SOLAR1",
            "credit_type": "ER",
            "round": "1",
            "vintage": 2023,
            "quantity": 200,
            "account_id": "ACME-MAIN",
        },
    )
    assert r.status_code == 201
    solar = r.json()["issuance_id"]
    assert c.get(f"/v1/issuances/{solar}").json()["vintage"] == 2023

    h = w.holdings("ACME-MAIN", acme)
    assert h["total"] == 500
    assert h["totals"]["scheme"] == {"JC": 500}
    assert h["totals"]["category"] == {"FOREST": 300, "RE_POWER": 200}
    assert h["totals"]["vintage"] == {"2020": 300, "2023": 200}

    # by quantity: oldest vintage first, splitting the forest block
    r = c.post(
        "/v1/transfers",
        headers=acme,
        json={"from_account": "ACME-MAIN", "to_account": "BB-MAIN", "quantity": 350},
    )
    assert r.status_code == 201, r.text
    ranges = r.json()["ranges"]
    assert [(x["serials"], x["vintage"]) for x in ranges] == [
        (f"{forest}-1-300", 2020),
        (f"{solar}-1-50", 2023),
    ]
    # by serial range, both spellings
    r = c.post(
        "/v1/transfers",
        headers=acme,
        json={
            "from_account": "ACME-MAIN",
            "to_account": "AA-MAIN",
            "serial_start": f"{solar}-101",
            "serial_end": f"{solar}-120",
        },
    )
    assert r.status_code == 201 and r.json()["quantity"] == 20, r.text
    r = c.post(
        "/v1/transfers",
        headers=acme,
        json={"from_account": "ACME-MAIN", "to_account": "AA-MAIN", "serials": f"{solar}-110-111"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "serials_not_available"

    r = c.post(
        "/v1/retirements",
        headers=acme,
        json={
            "account_id": "ACME-MAIN",
            "serials": f"{solar}-51-60",
            "purpose": "offset_scope1",
            "beneficiary": "Acme Group",
            "reporting_year": 2025,
            "note": "FY2025 events",
        },
    )
    assert r.status_code == 201, r.text
    retirement = r.json()
    assert retirement["quantity"] == 10 and retirement["journal_hash"]

    public = c.get(f"/v1/retirements/{retirement['id']}")
    assert public.status_code == 200
    p = public.json()
    assert (
        p["quantity"] == 10 and p["beneficiary"] == "Acme Group" and p["retired_by"] == "Acme K.K."
    )
    assert p["purposes"] == ["offset_scope1"] and p["reporting_year"] == 2025
    assert [(x["serials"], x["project_id"], x["vintage"], x["category"]) for x in p["ranges"]] == [
        (f"{solar}-51-60", "SOLAR1", 2023, "RE_POWER")
    ]
    assert p["journal"] == {"seq": retirement["journal_seq"], "hash": retirement["journal_hash"]}
    entry = c.get(f"/v1/journal?after={p['journal']['seq'] - 1}&limit=1", headers=op).json()[0]
    assert entry["hash"] == p["journal"]["hash"] and entry["kind"] == "credits.retired"
    assert "corporate_number" not in public.text

    h = w.holdings("ACME-MAIN", acme)
    assert h["total"] == 500 - 350 - 20 - 10
    assert h["totals"]["status"] == {"held": 120}
    assert h["totals"]["vintage"] == {"2023": 120}
    assert sum(b["quantity"] for b in h["blocks"]) == 120
    hb = w.holdings("BB-MAIN", w.b)
    assert hb["total"] == 500 + 350
    assert hb["totals"]["category"] == {"ENERGY_SAVING": 500, "FOREST": 300, "RE_POWER": 50}
    assert hb["totals"]["vintage"] == {"2020": 300, "2022": 500, "2023": 50}
    assert w.holdings("SYS-RETIREMENT", op)["totals"]["status"] == {"retired": 10}
    assert [x["id"] for x in c.get("/v1/retirements", headers=acme).json()] == [retirement["id"]]

    r = c.get("/v1/journal/verify", headers=op)
    assert r.status_code == 200 and r.json()["ok"] is True, r.json()
    assert r.json()["head_hash"] == c.get("/v1/journal/head").json()["hash"]


def test_a_suspended_participant_keeps_its_credits_but_cannot_move_them(w: World) -> None:
    r = w.client.post("/v1/participants/AA/suspend", headers=w.op, json={"reason": "audit"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    before = w.head()
    r = w.client.post(
        "/v1/transfers",
        headers=w.a,
        json={"from_account": "AA-MAIN", "to_account": "BB-MAIN", "quantity": 1},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "participant_not_active"
    assert w.head() == before
    assert w.holdings("AA-MAIN", w.a)["total"] == 1000


# ---------------------------------------------------------------- (e) idempotency


def test_an_idempotency_key_replays_the_same_answer_and_applies_once(w: World) -> None:
    body = {"from_account": "AA-MAIN", "to_account": "BB-MAIN", "quantity": 7}
    headers = w.a | {"Idempotency-Key": "order-42"}
    before = w.head()
    r1 = w.client.post("/v1/transfers", headers=headers, json=body)
    r2 = w.client.post("/v1/transfers", headers=headers, json=body)
    assert r1.status_code == 201 and r2.status_code == r1.status_code
    assert r1.json() == r2.json()
    assert w.head() == before + 1
    assert w.holdings("AA-MAIN", w.a)["total"] == 993
    r3 = w.client.post("/v1/transfers", headers=headers, json=body | {"quantity": 8})
    assert r3.status_code == 409 and r3.json()["error"]["code"] == "idempotency_key_reused"
    r4 = w.client.post(
        "/v1/retirements",
        headers=headers,
        json={"account_id": "AA-MAIN", "quantity": 1, "purpose": "offset_scope1"},
    )
    assert r4.status_code == 409 and r4.json()["error"]["code"] == "idempotency_key_reused"
    assert w.head() == before + 1
    assert w.holdings("AA-MAIN", w.a)["total"] == 993
    # keys belong to their participant: B may use the same key for its own request
    r5 = w.client.post(
        "/v1/transfers",
        headers=w.b | {"Idempotency-Key": "order-42"},
        json={"from_account": "BB-MAIN", "to_account": "AA-MAIN", "quantity": 1},
    )
    assert r5.status_code == 201 and w.head() == before + 2


def test_an_idempotent_retirement_and_cash_deposit_apply_once(w: World) -> None:
    before = w.head()
    body = {"account_id": "AA-MAIN", "quantity": 3, "purpose": "offset_scope1"}
    rs = [
        w.client.post("/v1/retirements", headers=w.a | {"Idempotency-Key": "ret-1"}, json=body)
        for _ in range(3)
    ]
    assert {r.status_code for r in rs} == {201} and rs[0].json() == rs[2].json()
    deposit = {"participant_id": "AA", "amount": 5000, "external_ref": "bank-99"}
    ds = [
        w.client.post(
            "/v1/cash/deposits", headers=w.op | {"Idempotency-Key": "dep-1"}, json=deposit
        )
        for _ in range(2)
    ]
    assert ds[0].json() == ds[1].json()
    assert w.head() == before + 2
    assert w.client.get("/v1/cash", headers=w.a).json()[0]["balance"] == 1_005_000


@pytest.mark.parametrize("key", ["", "k" * 129, "tab\there"])
def test_a_malformed_idempotency_key_is_refused(w: World, key: str) -> None:
    before = w.head()
    r = w.client.post(
        "/v1/transfers",
        headers=w.a | {"Idempotency-Key": key},
        json={"from_account": "AA-MAIN", "to_account": "BB-MAIN", "quantity": 1},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_idempotency_key"
    assert w.head() == before


# ---------------------------------------------------------------- (f) hostile input

TR = {"from_account": "AA-MAIN", "to_account": "BB-MAIN"}
RT = {"account_id": "AA-MAIN", "purpose": "offset_scope1"}
LONG = "x" * 100_000
UNI = "口座🌏\u202e\u0301"

HOSTILE_BODIES: list[tuple[str, str, Any]] = [
    ("tr-huge", "/v1/transfers", TR | {"quantity": 10**30}),
    ("tr-2^63", "/v1/transfers", TR | {"quantity": 2**63}),
    ("tr-over-max", "/v1/transfers", TR | {"quantity": 10**12 + 1}),
    ("tr-max-unheld", "/v1/transfers", TR | {"quantity": 10**12}),
    ("tr-negative", "/v1/transfers", TR | {"quantity": -5}),
    ("tr-zero", "/v1/transfers", TR | {"quantity": 0}),
    ("tr-float", "/v1/transfers", TR | {"quantity": 1.5}),
    ("tr-nan-string", "/v1/transfers", TR | {"quantity": "NaN"}),
    ("tr-string", "/v1/transfers", TR | {"quantity": "ten"}),
    ("tr-null", "/v1/transfers", TR | {"quantity": None}),
    ("tr-list", "/v1/transfers", TR | {"quantity": [1]}),
    ("tr-object", "/v1/transfers", TR | {"quantity": {"$gt": 0}}),
    ("tr-nothing", "/v1/transfers", TR),
    ("tr-missing-to", "/v1/transfers", {"from_account": "AA-MAIN", "quantity": 1}),
    ("tr-extra", "/v1/transfers", TR | {"quantity": 1, "status": "retired"}),
    ("tr-same", "/v1/transfers", TR | {"to_account": "AA-MAIN", "quantity": 1}),
    ("tr-long-account", "/v1/transfers", TR | {"to_account": LONG, "quantity": 1}),
    ("tr-unicode-account", "/v1/transfers", TR | {"to_account": UNI, "quantity": 1}),
    ("tr-sql-account", "/v1/transfers", TR | {"to_account": "B' OR '1'='1", "quantity": 1}),
    ("tr-serial-long", "/v1/transfers", TR | {"serials": LONG}),
    ("tr-serial-unicode", "/v1/transfers", TR | {"serials": "JC-ER-P０００1-1-1-10"}),
    ("tr-serial-fullwidth-digits", "/v1/transfers", TR | {"serials": "JC-ER-P0001-1-１-１０"}),
    ("tr-serial-reversed", "/v1/transfers", TR | {"serials": "JC-ER-P0001-1-10-1"}),
    ("tr-serial-huge", "/v1/transfers", TR | {"serials": "JC-ER-P0001-1-1-9999999999999"}),
    ("tr-serial-zero", "/v1/transfers", TR | {"serials": "JC-ER-P0001-1-0-10"}),
    ("tr-serial-nul", "/v1/transfers", TR | {"serials": "JC-ER-P0001-1-1-10\x00"}),
    (
        "tr-serial-and-range",
        "/v1/transfers",
        TR | {"serials": "JC-ER-P0001-1-1-10", "serial_start": "JC-ER-P0001-1-1"},
    ),
    ("tr-half-range", "/v1/transfers", TR | {"serial_start": "JC-ER-P0001-1-1"}),
    (
        "tr-range-two-issuances",
        "/v1/transfers",
        TR | {"serial_start": "JC-ER-P0001-1-1", "serial_end": "JC-ER-P0002-1-5"},
    ),
    (
        "tr-quantity-mismatch",
        "/v1/transfers",
        TR | {"serials": "JC-ER-P0001-1-1-10", "quantity": 9},
    ),
    ("rt-no-purpose", "/v1/retirements", {"account_id": "AA-MAIN", "quantity": 1}),
    ("rt-unknown-purpose", "/v1/retirements", RT | {"quantity": 1, "purpose": UNI}),
    ("rt-long-purpose", "/v1/retirements", RT | {"quantity": 1, "purpose": LONG}),
    ("rt-many-purposes", "/v1/retirements", RT | {"quantity": 1, "purposes": ["re100"] * 1000}),
    (
        "rt-mixed-scope",
        "/v1/retirements",
        RT | {"quantity": 1, "purposes": ["offset_scope1", "shk_reporting"]},
    ),
    ("rt-long-note", "/v1/retirements", RT | {"quantity": 1, "note": LONG}),
    ("rt-long-beneficiary", "/v1/retirements", RT | {"quantity": 1, "beneficiary": LONG}),
    ("rt-huge-year", "/v1/retirements", RT | {"quantity": 1, "reporting_year": 10**30}),
    ("rt-string-year", "/v1/retirements", RT | {"quantity": 1, "reporting_year": "2025年"}),
    ("rt-huge", "/v1/retirements", RT | {"quantity": 10**30}),
    ("rt-too-many", "/v1/retirements", RT | {"quantity": 1001}),
    ("cn-no-reason", "/v1/cancellations", {"account_id": "AA-MAIN", "quantity": 1, "reason": ""}),
    (
        "wd-blank-registry",
        "/v1/withdrawals",
        {"account_id": "AA-MAIN", "quantity": 1, "external_registry": " ", "external_account": "x"},
    ),
    ("acct-long-name", "/v1/accounts", {"name": LONG}),
    ("acct-blank-name", "/v1/accounts", {"name": "   "}),
    ("key-long-label", "/v1/participants/AA/api-keys", {"label": LONG}),
    ("key-foreign-role", "/v1/participants/AA/api-keys", {"roles": ["registry_operator"]}),
    ("key-unknown-role", "/v1/participants/AA/api-keys", {"roles": [UNI]}),
    ("broker-not-a-broker", "/v1/participants/AA/brokers", {"broker_id": "BB"}),
    ("json-list", "/v1/transfers", [TR]),
    ("json-null", "/v1/transfers", None),
    ("json-string", "/v1/transfers", "transfer everything"),
    ("json-number", "/v1/transfers", 10**30),
]

OPERATOR_HOSTILE: list[tuple[str, str, Any]] = [
    (
        "iss-huge",
        "/v1/issuances",
        {
            "project_id": "P9",
            "credit_type": "ER",
            "round": "1",
            "vintage": 2022,
            "quantity": 10**30,
            "account_id": "AA-MAIN",
        },
    ),
    (
        "iss-zero",
        "/v1/issuances",
        {
            "project_id": "P9",
            "credit_type": "ER",
            "round": "1",
            "vintage": 2022,
            "quantity": 0,
            "account_id": "AA-MAIN",
        },
    ),
    (
        "iss-vintage",
        "/v1/issuances",
        {
            "project_id": "P9",
            "credit_type": "ER",
            "round": "1",
            "vintage": 10**30,
            "quantity": 1,
            "account_id": "AA-MAIN",
        },
    ),
    (
        "iss-no-project",
        "/v1/issuances",
        {
            "project_id": "NOPE",
            "credit_type": "ER",
            "round": "1",
            "vintage": 2022,
            "quantity": 1,
            "account_id": "AA-MAIN",
        },
    ),
    (
        "iss-bad-round",
        "/v1/issuances",
        {
            "project_id": "P9",
            "credit_type": "ER",
            "round": "-1",
            "vintage": 2022,
            "quantity": 1,
            "account_id": "AA-MAIN",
        },
    ),
    (
        "iss-bad-date",
        "/v1/issuances",
        {
            "project_id": "P9",
            "credit_type": "ER",
            "round": "1",
            "vintage": 2022,
            "quantity": 1,
            "account_id": "AA-MAIN",
            "certified_on": "2024-02-30",
        },
    ),
    (
        "iss-to-system",
        "/v1/issuances",
        {
            "project_id": "P9",
            "credit_type": "ER",
            "round": "1",
            "vintage": 2022,
            "quantity": 1,
            "account_id": "SYS-RETIREMENT",
        },
    ),
    (
        "cash-huge",
        "/v1/cash/deposits",
        {"participant_id": "AA", "amount": 10**30, "external_ref": "x"},
    ),
    (
        "cash-negative",
        "/v1/cash/deposits",
        {"participant_id": "AA", "amount": -1, "external_ref": "x"},
    ),
    (
        "cash-float",
        "/v1/cash/deposits",
        {"participant_id": "AA", "amount": 0.5, "external_ref": "x"},
    ),
    (
        "cash-currency",
        "/v1/cash/deposits",
        {"participant_id": "AA", "amount": 1, "currency": "円円円", "external_ref": "x"},
    ),
    (
        "cash-lower-currency",
        "/v1/cash/deposits",
        {"participant_id": "AA", "amount": 1, "currency": "jpy", "external_ref": "x"},
    ),
    (
        "cash-overdraw",
        "/v1/cash/withdrawals",
        {"participant_id": "AA", "amount": 10**15, "external_ref": "x"},
    ),
    ("cash-nobody", "/v1/cash/deposits", {"participant_id": UNI, "amount": 1, "external_ref": "x"}),
    (
        "part-bad-id",
        "/v1/participants",
        {"id": "a b", "name_ja": "x", "name_en": "x", "kind": "government"},
    ),
    (
        "part-person",
        "/v1/participants",
        {"id": "JOE", "name_ja": "x", "name_en": "x", "kind": "individual"},
    ),
    (
        "part-bad-number",
        "/v1/participants",
        {
            "id": "CO",
            "name_ja": "x",
            "name_en": "x",
            "kind": "corporation",
            "corporate_number": "1234567890123",
        },
    ),
    (
        "part-bad-role",
        "/v1/participants",
        {"id": "CO", "name_ja": "x", "name_en": "x", "kind": "government", "roles": ["root"]},
    ),
    (
        "part-blank-name",
        "/v1/participants",
        {"id": "CO", "name_ja": " ", "name_en": "x", "kind": "government"},
    ),
    ("freeze-bad", "/v1/freezes", {"serials": LONG, "reason": "x"}),
    ("freeze-nothing", "/v1/freezes", {"serials": "JC-ER-NOPE-1-1-10", "reason": "x"}),
    (
        "scheme-bad",
        "/v1/schemes",
        {"code": "zz", "name_en": "Z", "name_ja": "Z", "unit": "tCO2", "domestic": True},
    ),
    (
        "scheme-unit",
        "/v1/schemes",
        {"code": "ZZ", "name_en": "Z", "name_ja": "Z", "unit": "kg", "domestic": True},
    ),
    (
        "scheme-exists",
        "/v1/schemes",
        {"code": "JC", "name_en": "Z", "name_ja": "Z", "unit": "tCO2", "domestic": True},
    ),
    (
        "project-bad",
        "/v1/projects",
        {"id": "p-1", "scheme": "JC", "name": "x", "category": "ENERGY_SAVING", "country": "JP"},
    ),
    (
        "project-no-scheme",
        "/v1/projects",
        {"id": "P77", "scheme": "QQ", "name": "x", "category": "ENERGY_SAVING", "country": "JP"},
    ),
    ("approve-nobody", "/v1/participants/NOBODY/approve", {"reason": "x"}),
    ("suspend-operator", "/v1/participants/OPERATOR/suspend", {"reason": "x"}),
    (
        "redeposit-nothing",
        "/v1/redeposits",
        {"serials": "JC-ER-P0001-1-1-10", "account_id": "AA-MAIN", "external_ref": "x"},
    ),
]


def _check_refused(w: World, r: Any, before: int, a_total: int = 1000) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert is_error(r), r.text[:300]
    assert w.head() == before
    assert w.holdings("AA-MAIN", w.a)["total"] == a_total


@pytest.mark.parametrize(
    ("name", "path", "body"), HOSTILE_BODIES, ids=[c[0] for c in HOSTILE_BODIES]
)
def test_hostile_bodies_are_refused_and_change_nothing(
    w: World, name: str, path: str, body: Any
) -> None:
    before = w.head()
    r = w.client.post(path, headers=w.a, json=body)
    _check_refused(w, r, before)


LAX_INTS: list[tuple[str, Any]] = [
    ("bool", True),
    ("numeric-string", "10"),
]


@pytest.mark.parametrize(("name", "value"), LAX_INTS, ids=[c[0] for c in LAX_INTS])
def test_a_quantity_that_is_not_a_json_integer_is_refused(w: World, name: str, value: Any) -> None:
    before = w.head()
    r = w.client.post("/v1/transfers", headers=w.a, json=TR | {"quantity": value})
    _check_refused(w, r, before)


@pytest.mark.parametrize(
    ("name", "path", "body"), OPERATOR_HOSTILE, ids=[c[0] for c in OPERATOR_HOSTILE]
)
def test_hostile_operator_bodies_are_refused_and_change_nothing(
    w: World, name: str, path: str, body: Any
) -> None:
    if name.startswith("iss-"):
        w.client.post(
            "/v1/projects",
            headers=w.op,
            json={
                "id": "P9",
                "scheme": "JC",
                "name": "x",
                "category": "ENERGY_SAVING",
                "country": "JP",
            },
        )
    before = w.head()
    r = w.client.post(path, headers=w.op, json=body)
    _check_refused(w, r, before)


RAW_BODIES: list[tuple[str, bytes, str]] = [
    ("truncated", b'{"from_account": "AA-MAIN", "to_acc', "application/json"),
    ("empty", b"", "application/json"),
    ("not-json", b"hello", "application/json"),
    (
        "trailing-garbage",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":1}}',
        "application/json",
    ),
    (
        "infinity",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":Infinity}',
        "application/json",
    ),
    (
        "nan",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":NaN}',
        "application/json",
    ),
    (
        "exponent",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":1e400}',
        "application/json",
    ),
    (
        "float-integral",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":1.0e30}',
        "application/json",
    ),
    (
        "huge-int-literal",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":' + b"9" * 5000 + b"}",
        "application/json",
    ),
    ("deep-nesting", b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (
        "duplicate-keys",
        b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":1,"quantity":-1}',
        "application/json",
    ),
    (
        "bad-utf8",
        b'{"from_account":"AA-MAIN\xff\xfe","to_account":"BB-MAIN","quantity":1}',
        "application/json",
    ),
    ("text-plain", b'{"from_account":"AA-MAIN","to_account":"BB-MAIN","quantity":1}', "text/plain"),
    (
        "form",
        b"from_account=AA-MAIN&to_account=BB-MAIN&quantity=1",
        "application/x-www-form-urlencoded",
    ),
    ("multipart", b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
    ("xml", b"<transfer quantity='1'/>", "application/xml"),
]


@pytest.mark.parametrize(("name", "content", "ctype"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES])
def test_malformed_request_bodies_are_refused_and_change_nothing(
    w: World, name: str, content: bytes, ctype: str
) -> None:
    before = w.head()
    r = w.client.post("/v1/transfers", headers=w.a | {"Content-Type": ctype}, content=content)
    _check_refused(w, r, before)


ODD_IDS = [
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%F0%9F%92%A9",
    "%E5%8F%A3%E5%BA%A7",
    "'%20OR%20'1'%3D'1",
    "%25",
    "%FF%FE",
    "AA-MAIN%0A",
    "x" * 60_000,
    "%C0%AE",
    "%E2%80%AE",
    "*",
    "AA-MAIN;DROP%20TABLE%20blocks",
]

ODD_PATHS = [
    "/v1/accounts/{}/holdings",
    "/v1/participants/{}",
    "/v1/participants/{}/api-keys",
    "/v1/participants/{}/brokers",
    "/v1/cash/{}/movements",
    "/v1/projects/{}",
    "/v1/issuances/{}",
    "/v1/retirements/{}",
    "/v1/participants/AA/api-keys/{}",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_path_ids_with_odd_characters_are_refused_and_change_nothing(w: World, path: str) -> None:
    before = w.head()
    wrong = []
    for odd in ODD_IDS:
        for headers in (w.a, w.op):
            r = w.client.get(path.format(odd), headers=headers)
            if not (400 <= r.status_code < 500) or not is_error(r):
                wrong.append((odd[:40], r.status_code, r.text[:200]))
        r = w.client.delete(path.format(odd), headers=w.a) if path.endswith("{}") else None
        if r is not None and not (400 <= r.status_code < 500):
            wrong.append(("DELETE", odd[:40], r.status_code, r.text[:200]))
    assert wrong == []
    assert w.head() == before


@pytest.mark.parametrize("action", ["approve", "suspend", "roles"])
def test_operator_actions_on_odd_participant_ids_are_refused(w: World, action: str) -> None:
    before = w.head()
    for odd in ODD_IDS:
        if action == "roles":
            r = w.client.put(
                f"/v1/participants/{odd}/roles", headers=w.op, json={"roles": ["trader"]}
            )
        else:
            r = w.client.post(
                f"/v1/participants/{odd}/{action}", headers=w.op, json={"reason": "x"}
            )
        assert 400 <= r.status_code < 500 and is_error(r), (odd[:40], r.status_code, r.text[:200])
    assert w.head() == before


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        f"limit={10**30}",
        "limit=1.5",
        "limit=abc",
        "after=-1",
        f"after={10**30}",
        "after=%00",
        "limit=" + "9" * 5000,
        "limit=%EF%BC%91",
    ],
)
def test_odd_query_parameters_are_refused(w: World, query: str) -> None:
    for path in (
        "/v1/accounts/AA-MAIN/holdings",
        "/v1/journal",
        "/v1/retirements",
        "/v1/cash/CASH-AA-JPY/movements",
    ):
        if "after" in query and "journal" not in path and "holdings" not in path:
            continue
        r = w.client.get(f"{path}?{query}", headers=w.op if "journal" in path else w.a)
        assert r.status_code == 422 and is_error(r), (path, query, r.text[:200])


@pytest.mark.parametrize("query", ["participant_id=" + "x" * 60_000, "participant_id=%F0%9F%92%A9"])
def test_odd_cash_participant_filters_are_refused(w: World, query: str) -> None:
    for headers in (w.a, w.op):
        r = w.client.get(f"/v1/cash?{query}", headers=headers)
        assert 400 <= r.status_code < 500 or (r.status_code == 200 and r.json() == []), r.text[:200]


@pytest.mark.parametrize("query", ["project_id=" + "x" * 60_000, "project_id=%F0%9F%92%A9"])
def test_odd_public_filters_never_fail(w: World, query: str) -> None:
    r = w.client.get(f"/v1/issuances?{query}")
    assert (r.status_code == 200 and r.json() == []) or 400 <= r.status_code < 500, r.text[:200]


def test_nul_characters_in_ids_are_refused_and_change_nothing(w: World) -> None:
    before = w.head()
    calls: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", path.format("%00"), who, None) for path in ODD_PATHS for who in (w.a, w.op)
    ] + [
        ("GET", "/v1/retirements/RT-%00", {}, None),
        ("GET", "/v1/projects/P%00", {}, None),
        ("GET", "/v1/issuances?project_id=%00", {}, None),
        ("GET", "/v1/cash?participant_id=%00", w.op, None),
        ("GET", "/v1/cash?participant_id=%00", w.a, None),
        ("DELETE", "/v1/participants/AA/api-keys/%00", w.a, None),
        ("POST", "/v1/transfers", w.a, TR | {"to_account": "BB-MAIN\x00", "quantity": 1}),
        ("POST", "/v1/transfers", w.a, TR | {"from_account": "\x00", "quantity": 1}),
        ("POST", "/v1/retirements", w.a, RT | {"quantity": 1, "purpose": "re100\x00"}),
        ("POST", "/v1/participants/AA/brokers", w.a, {"broker_id": "\x00"}),
        ("POST", "/v1/participants/%00/approve", w.op, {"reason": "x"}),
        ("PUT", "/v1/participants/%00/roles", w.op, {"roles": ["trader"]}),
        (
            "POST",
            "/v1/cash/deposits",
            w.op,
            {"participant_id": "A\x00", "amount": 1, "external_ref": "x"},
        ),
    ]
    wrong = []
    for method, url, headers, body in calls:
        r = w.client.request(method, url, headers=headers, json=body)
        if "?" in url and r.status_code == 200 and r.json() == []:
            continue  # a list filter that matches nothing
        if not (400 <= r.status_code < 500) or not is_error(r):
            wrong.append((method, url, r.status_code))
    assert wrong == []
    assert w.head() == before
    assert w.holdings("AA-MAIN", w.a)["total"] == 1000


def test_unknown_routes_and_methods_answer_with_the_error_shape(w: World) -> None:
    r = w.client.get("/v1/nothing-here", headers=w.a)
    assert r.status_code == 404 and is_error(r)
    r = w.client.delete("/v1/transfers", headers=w.a)
    assert r.status_code == 405 and is_error(r)
    r = w.client.put("/v1/journal/head")
    assert r.status_code == 405 and is_error(r)


# ---------------------------------------------------------------- (g) journal verification


def test_the_operator_verifies_the_journal_over_http(w: World) -> None:
    w.client.post(
        "/v1/transfers",
        headers=w.a,
        json={"from_account": "AA-MAIN", "to_account": "BB-MAIN", "quantity": 10},
    )
    r = w.client.get("/v1/journal/verify", headers=w.op)
    assert r.status_code == 200
    report = r.json()
    assert report["ok"] is True and report["problems"] == []
    assert report["entries"] == w.head()
    assert report["head_hash"] == w.client.get("/v1/journal/head").json()["hash"]
    entries = w.client.get("/v1/journal?limit=10000", headers=w.op).json()
    assert len(entries) == report["entries"]
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(entries))
