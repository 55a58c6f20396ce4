"""Scopes on API keys and broker mandates (issue 14, findings 1 and 2), on both databases.

Every route of the API names the scope it needs (``tanso.api.deps.needs``); a key carries scopes
within its participant's roles and never makes a key wider than itself; a broker acts for a
client within the client's mandate and never manages the client's keys, brokers or accounts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanso.api.app import create_app
from tanso.api.deps import route_scopes
from tanso.api.scope_table import api_routes, markdown
from tanso.client import ApiError, Client
from tanso.domain.errors import TansoError
from tanso.domain.participants import Role, Scope, scopes_for_roles
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]


def takes_a_key(route: APIRoute) -> bool:
    """Whether the route authenticates a caller at all (directly or through a dependency)."""

    def walk(dependant: Any) -> bool:
        return any(
            getattr(sub.call, "__name__", "") in ("get_actor", "optional_actor") or walk(sub)
            for sub in dependant.dependencies
        )

    return walk(route.dependant)


PUBLIC_CHECKS = {("POST", "/v1/points/pools/{pool_id}/proof-check")}
"""Public POST routes that change nothing: a check computed from the body (a member's Merkle
proof against its pool's published root), which anyone may make without a key."""


def test_every_route_that_takes_a_key_names_its_scope(db: Database) -> None:
    """A /v1 route that changes anything names a scope; a GET that takes a key needs ``read``
    (or, for the few that show more to a key, takes one only optionally)."""
    app = create_app(db)
    unnamed, wrong = [], []
    for method, path, route in api_routes(app):
        if path.startswith("/portal"):
            continue
        scopes = route_scopes(route)
        if (method, path) in PUBLIC_CHECKS:
            assert scopes is None and not takes_a_key(route), (method, path)
            continue
        if method != "GET" and path.startswith("/v1") and scopes is None:
            unnamed.append((method, path))
        if method == "GET" and scopes is not None and scopes != (Scope.READ,):
            wrong.append((method, path, scopes))
        if scopes is None and takes_a_key(route) and method != "GET":
            unnamed.append((method, path))
    assert unnamed == [], f"routes naming no scope (add Depends(needs(...))): {unnamed}"
    assert wrong == [], f"GET routes must need read: {wrong}"


def test_the_route_table_in_docs_security_is_current(db: Database) -> None:
    """docs/security.md carries the table `tanso docs scopes` prints: when a route changes,
    paste the new table in."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = markdown(create_app(db))
    assert table in text, "docs/security.md's route table is stale: run `tanso docs scopes`"


# ---------------------------------------------------------------- a small world


@dataclass
class World:
    db: Database
    client: TestClient
    keys: dict[str, str]

    def head(self) -> int:
        return int(self.client.get("/v1/journal/head").json()["seq"])

    def h(self, name: str, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}", **more}


@pytest.fixture
def w(db: Database) -> Iterator[World]:
    add_participant(db, "ALPHA", ["trader"])
    add_participant(db, "BETA", ["trader"])
    add_participant(db, "BROKR", ["broker", "trader"])
    add_issuance(db, "ALPHA-MAIN", 100)
    fund(db, "ALPHA", 1_000_000)
    key = participants.create_api_key
    keys = {
        "alpha": key(db, SYSTEM, "ALPHA", "full").key,
        "alpha_read": key(db, SYSTEM, "ALPHA", "read", scopes=["read"]).key,
        "brokr": key(db, SYSTEM, "BROKR", "full").key,
        "brokr_broker_only": key(db, SYSTEM, "BROKR", "broker role", ["broker"]).key,
        "operator": key(db, SYSTEM, "OPERATOR", "op").key,
    }
    participants.authorise_broker(db, SYSTEM, "ALPHA", "BROKR", True)
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        yield World(db, c, keys)


def refused(r: Any, code: str) -> bool:
    return r.status_code in (403, 422) and r.json()["error"]["code"] == code


# ---------------------------------------------------------------- finding 1


def test_a_key_makes_keys_only_with_manage_and_never_wider_than_itself(w: World) -> None:
    """Finding 1: a ``broker`` key minted a ``[broker, trader]`` key, which then traded; a key
    without roles minted a full key."""
    url = "/v1/participants/BROKR/api-keys"
    before = w.head()
    r = w.client.post(url, headers=w.h("brokr_broker_only"), json={"roles": ["broker", "trader"]})
    assert refused(r, "role_not_held_by_caller"), r.text
    r = w.client.post(url, headers=w.h("brokr_broker_only"), json={"label": "default"})
    assert r.status_code == 201, r.text
    assert r.json()["roles"] == ["broker"]
    assert set(r.json()["scopes"]) <= {"read", "trade", "transfer", "retire", "manage"}
    minted = r.json()["key"]
    order = {"instrument": "X", "side": "buy", "quantity": 1, "price": 1000}
    o = w.client.post("/v1/orders", headers={"Authorization": f"Bearer {minted}"}, json=order)
    assert o.status_code == 403, o.text  # no trader role, as its maker

    # a read key makes no key at all; a key makes none with a scope it lacks
    r = w.client.post("/v1/participants/ALPHA/api-keys", headers=w.h("alpha_read"), json={})
    assert refused(r, "scope_missing"), r.text
    narrow = w.client.post(
        "/v1/participants/ALPHA/api-keys",
        headers=w.h("alpha"),
        json={"scopes": ["read", "manage"]},
    ).json()
    assert narrow["scopes"] == ["read", "manage"]
    r = w.client.post(
        "/v1/participants/ALPHA/api-keys",
        headers={"Authorization": f"Bearer {narrow['key']}"},
        json={"scopes": ["read", "transfer"]},
    )
    assert refused(r, "scope_not_held"), r.text
    # operate is for operator roles only
    r = w.client.post(
        "/v1/participants/ALPHA/api-keys", headers=w.h("alpha"), json={"scopes": ["operate"]}
    )
    assert refused(r, "scope_not_allowed"), r.text
    assert w.head() == before + 2  # the two keys made, nothing else


def test_a_key_without_roles_no_longer_trades_or_mints_a_full_key(w: World) -> None:
    """Finding 1: a key with ``roles: []`` bought and created listings and minted a full key."""
    r = w.client.post(
        "/v1/participants/ALPHA/api-keys", headers=w.h("alpha"), json={"roles": []}
    ).json()
    bare = {"Authorization": f"Bearer {r['key']}"}
    assert r["roles"] == [] and "trade" not in r["scopes"]
    made = w.client.post("/v1/participants/ALPHA/api-keys", headers=bare, json={}).json()
    assert made["roles"] == [] and "trade" not in made["scopes"]
    listing = {"account_id": "ALPHA-MAIN", "issuance_id": "X", "price": 2_000, "quantity": 1}
    assert refused(
        w.client.post("/v1/marketplace/listings", headers=bare, json=listing), "scope_missing"
    )
    rfq = {"quantity": 5}
    assert refused(w.client.post("/v1/marketplace/rfqs", headers=bare, json=rfq), "scope_missing")


def test_existing_style_keys_keep_every_scope_their_roles_allow(w: World) -> None:
    keys = w.client.get("/v1/participants/ALPHA/api-keys", headers=w.h("alpha")).json()
    full = next(k for k in keys if k["label"] == "full")
    assert full["scopes"] == ["read", "trade", "transfer", "retire", "manage"]
    op = w.client.get("/v1/participants/OPERATOR/api-keys", headers=w.h("operator")).json()
    assert "operate" in op[-1]["scopes"]


# ---------------------------------------------------------------- finding 2


def test_a_broker_acts_within_its_mandate_and_never_manages_its_client(w: World) -> None:
    """Finding 2: with X-On-Behalf-Of a broker transferred, withdrew and cancelled its client's
    credits, opened an account in its name and revoked the client's own key."""
    as_broker = w.h("brokr", **{"X-On-Behalf-Of": "ALPHA"})
    alpha_keys = w.client.get("/v1/participants/ALPHA/api-keys", headers=w.h("alpha")).json()
    before = w.head()
    move = {"from_account": "ALPHA-MAIN", "to_account": "BROKR-MAIN", "quantity": 1}
    takes = {"account_id": "ALPHA-MAIN", "quantity": 1}
    attempts = [
        ("POST", "/v1/transfers", move),
        ("POST", "/v1/withdrawals", takes | {"external_registry": "V", "external_account": "V"}),
        ("POST", "/v1/cancellations", takes | {"reason": "x"}),
        ("POST", "/v1/retirements", takes | {"purpose": "offset_scope1"}),
        ("POST", "/v1/accounts", {"name": "broker's", "participant_id": "ALPHA"}),
        ("DELETE", f"/v1/participants/ALPHA/api-keys/{alpha_keys[0]['id']}", None),
        ("POST", "/v1/participants/ALPHA/api-keys", {"label": "x"}),
        ("POST", "/v1/participants/ALPHA/brokers", {"broker_id": "BROKR"}),
        ("DELETE", "/v1/participants/ALPHA/brokers/BROKR", None),
        ("PUT", "/v1/inventories/ALPHA/2025", {"scope1": 1}),
    ]
    for method, path, body in attempts:
        r = w.client.request(method, path, headers=as_broker, json=body)
        assert refused(r, "scope_missing"), (method, path, r.status_code, r.text)
    assert w.head() == before
    # the service refuses too, whatever the route says
    broker = participants.authenticate(w.db, w.keys["brokr"], "ALPHA")
    for act in (
        lambda: participants.revoke_api_key(w.db, broker, "ALPHA", alpha_keys[0]["id"]),
        lambda: participants.open_account(w.db, broker, "x", "ALPHA"),
        lambda: participants.create_api_key(w.db, broker, "ALPHA", "x"),
        lambda: participants.authorise_broker(w.db, broker, "ALPHA", "BROKR", False),
    ):
        with pytest.raises(TansoError):
            act()
    # it reads what it acts on, and trades (the default mandate)
    assert w.client.get("/v1/accounts/ALPHA-MAIN/holdings", headers=as_broker).status_code == 200

    # the client widens the mandate: transfer and retire, never manage
    r = w.client.post(
        "/v1/participants/ALPHA/brokers",
        headers=w.h("alpha"),
        json={"broker_id": "BROKR", "scopes": ["trade", "manage"]},
    )
    assert refused(r, "scope_not_delegable"), r.text
    r = w.client.post(
        "/v1/participants/ALPHA/brokers",
        headers=w.h("alpha"),
        json={"broker_id": "BROKR", "scopes": ["trade", "transfer"]},
    )
    assert r.status_code == 200 and r.json()["scopes"] == ["trade", "transfer"], r.text
    listed = w.client.get("/v1/participants/ALPHA/brokers", headers=w.h("alpha")).json()
    assert listed[0]["scopes"] == ["trade", "transfer"]
    move["to_account"] = "ALPHA-MAIN"
    r = w.client.post(
        "/v1/accounts", headers=w.h("alpha"), json={"name": "second", "participant_id": "ALPHA"}
    )
    move["to_account"] = r.json()["id"]
    r = w.client.post("/v1/transfers", headers=as_broker, json=move)
    assert r.status_code == 201, r.text
    r = w.client.post("/v1/retirements", headers=as_broker, json=takes | {"purpose": "x"})
    assert refused(r, "scope_missing"), r.text
    # every act names both
    entries = w.client.get("/v1/journal?limit=10000", headers=w.h("operator")).json()
    moved = [e for e in entries if e["kind"] == "credits.transferred"]
    assert moved[-1]["actor"] == "BROKR for ALPHA"


def test_a_broker_key_bounds_what_a_mandate_grants(w: World) -> None:
    """Scopes acting for a client are the key's scopes within the mandate's."""
    participants.authorise_broker(w.db, SYSTEM, "ALPHA", "BROKR", True, scopes=["trade", "retire"])
    read_only = participants.create_api_key(w.db, SYSTEM, "BROKR", "r", scopes=["read"]).key
    actor = participants.authenticate(w.db, read_only, "ALPHA")
    assert actor.granted == frozenset({Scope.READ})
    actor = participants.authenticate(w.db, w.keys["brokr"], "ALPHA")
    assert actor.granted == frozenset({Scope.READ, Scope.TRADE, Scope.RETIRE})


# ---------------------------------------------------------------- a read key moves nothing


def fill(path: str) -> str:
    ids = {"pid": "ALPHA", "participant_id": "ALPHA", "account_id": "ALPHA-MAIN"}
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "X1"), path)


def test_a_read_key_changes_nothing_on_any_route(w: World) -> None:
    """Every route of the app (generated): a ``read`` key is refused with ``scope_missing``
    wherever the route needs another scope, and the journal does not move."""
    app: FastAPI = w.client.app  # type: ignore[assignment]
    before = w.head()
    wrong = []
    called = 0
    for method, path, route in api_routes(app):
        scopes = route_scopes(route)
        if method == "GET" or not path.startswith("/v1"):
            continue
        called += 1
        r = w.client.request(method, fill(path), headers=w.h("alpha_read"), json={})
        if scopes is not None and Scope.READ not in scopes and not refused(r, "scope_missing"):
            wrong.append((method, path, r.status_code, r.text[:120]))
    assert called >= 50
    assert wrong == []
    assert w.head() == before


# ---------------------------------------------------------------- property


SCOPE_SETS = st.none() | st.lists(st.sampled_from([s.value for s in Scope]), max_size=6)
ROLE_SETS = st.none() | st.lists(st.sampled_from(["trader", "broker", "market_maker"]), max_size=3)
steps = st.lists(st.tuples(st.integers(0, 50), ROLE_SETS, SCOPE_SETS), min_size=1, max_size=8)
_participants = iter(range(10_000))


@settings(
    max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    roles=st.lists(st.sampled_from(["trader", "broker", "market_maker"]), max_size=3),
    root_scopes=SCOPE_SETS,
    plan=steps,
)
def test_no_key_ever_holds_a_scope_its_creator_lacked(
    db: Database, roles: list[str], root_scopes: list[str] | None, plan: list[Any]
) -> None:
    """Random sequences of key creation with random roles and scopes: every key made holds only
    scopes (and roles) its creator held, and none is made by a key without ``manage``."""
    pid = f"PK{next(_participants)}"
    add_participant(db, pid, roles or ["trader"])
    allowed = scopes_for_roles(Role(r) for r in roles or ["trader"])
    picked = None if root_scopes is None else [s for s in root_scopes if Scope(s) in allowed]
    root = participants.create_api_key(db, SYSTEM, pid, "root", scopes=picked)
    keys = [root.key]
    for pick, want_roles, want_scopes in plan:
        creator = participants.authenticate(db, keys[pick % len(keys)])
        try:
            made = participants.create_api_key(
                db, creator, pid, "k", want_roles, scopes=want_scopes
            )
        except TansoError:
            continue
        assert creator.may(Scope.MANAGE)
        assert {Scope(s) for s in made.scopes} <= creator.granted
        assert set(made.roles) <= {r.value for r in creator.roles}
        assert participants.authenticate(db, made.key).granted <= creator.granted
        keys.append(made.key)


def test_the_client_makes_scoped_keys_and_mandates(w: World) -> None:
    transport = w.client._transport  # type: ignore[attr-defined]
    with Client("http://testserver", w.keys["alpha"], transport=transport) as alpha:
        made = alpha.create_api_key("ALPHA", "reports", scopes=["read"])
        assert made.scopes == ["read"] and made.key.startswith("tk_")
        assert [k.scopes for k in alpha.api_keys("ALPHA") if k.id == made.id] == [["read"]]
        change = alpha.authorise_broker("ALPHA", "BROKR", scopes=["trade", "retire"])
        assert change.authorised and change.scopes == ["trade", "retire"]
        assert alpha.brokers("ALPHA")[0].scopes == ["trade", "retire"]
        assert not alpha.revoke_broker("ALPHA", "BROKR").authorised
        assert alpha.revoke_api_key("ALPHA", made.id).revoked
    with Client("http://testserver", made.key, transport=transport) as reader:
        with pytest.raises(ApiError) as refusal:
            reader.create_api_key("ALPHA")
        assert refusal.value.status == 401  # revoked above
