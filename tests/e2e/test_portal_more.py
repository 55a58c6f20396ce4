"""More participant screens over HTTP on both backends: transfers, trades and settlement,
amending orders, retirement notices, cash movements, API keys and users.

Every cross-participant test sends the other participant's ids in the URL and in every form
field, and checks that nothing of it is shown or changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.domain.errors import TansoError
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.access.users import NewUser, UserRole
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, registry
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.store.schema_usage import usage_claims
from tests.conftest import add_issuance, add_participant, fund
from tests.e2e.test_portal import PASSWORD, count, csrf, login, prepare


def trader(pid: str) -> Any:
    return users.actor_for(UserRole.TRADER, pid, frozenset({Role.TRADER}))


def exchange(http: TestClient) -> Exchange:
    x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
    return x


class World:
    """What the tests refer to: ALPHA's second account, BETA's ids of every kind."""

    alpha_second: str
    beta_second: str
    alpha_trade: str
    beta_gamma_trade: str
    beta_order: str
    beta_retirement: str
    beta_key: str
    beta_locked_user: str
    settlement_date: str


@pytest.fixture
def world(db: Database) -> World:
    prepare(db)
    add_participant(db, "GAMMA", ["trader"])
    fund(db, "GAMMA", 10**9)
    add_issuance(db, "GAMMA-MAIN", 1_000)
    w = World()
    w.alpha_second = participants.open_account(db, SYSTEM, "Second", "ALPHA").id
    w.beta_second = participants.open_account(db, SYSTEM, "Second", "BETA").id
    b = registry.retire(
        db,
        trader("BETA"),
        registry.RetirementRequest(
            account_id="BETA-MAIN",
            selection=registry.Selection(quantity=7),
            purposes=["offset_scope1"],
            beneficiary="Beta Beneficiary",
            reporting_year=2025,
        ),
    )
    w.beta_retirement = b.id
    w.beta_key = participants.create_api_key(db, SYSTEM, "BETA", "beta program").id
    users.create(
        db, SYSTEM, NewUser("BETA", "locked@beta.example.jp", "B locked", "viewer", PASSWORD)
    )
    for _ in range(users.MAX_FAILED_LOGINS):
        users.login(db, "locked@beta.example.jp", "wrong password!!")
    with db.read() as conn:
        row = conn.execute(
            select(t.users.c.id).where(t.users.c.email == "locked@beta.example.jp")
        ).scalar_one()
    w.beta_locked_user = str(row)
    return w


@pytest.fixture
def portal(db: Database, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(db), follow_redirects=False) as http:
        x = exchange(http)
        # BETA sells to GAMMA (nothing of ALPHA's), BETA sells to ALPHA
        x.place(trader("BETA"), NewOrder("ES", "sell", 10, 2_000, account_id="BETA-MAIN"))
        out = x.place(trader("GAMMA"), NewOrder("ES", "buy", 10, 2_000, account_id="GAMMA-MAIN"))
        world.beta_gamma_trade = out.trades[0].id if out.trades else ""
        x.place(trader("BETA"), NewOrder("ES", "sell", 20, 2_000, account_id="BETA-MAIN"))
        out = x.place(trader("ALPHA"), NewOrder("ES", "buy", 20, 2_000, account_id="ALPHA-MAIN"))
        world.alpha_trade = out.trades[0].id if out.trades else ""
        world.beta_order = x.place(
            trader("BETA"), NewOrder("ES", "buy", 10, 1_500, account_id="BETA-MAIN")
        ).id
        yield http


def journal(db: Database) -> int:
    return count(db, t.journal)


def beta_state(db: Database, w: World) -> tuple[Any, ...]:
    """Everything of BETA's a bad request could change."""
    with db.read() as conn:
        order = conn.execute(
            select(t.orders.c.status, t.orders.c.quantity, t.orders.c.price).where(
                t.orders.c.id == w.beta_order
            )
        ).one()
        key = conn.execute(
            select(t.api_keys.c.revoked_at).where(t.api_keys.c.id == w.beta_key)
        ).scalar()
        locked = conn.execute(
            select(t.users.c.status).where(t.users.c.id == w.beta_locked_user)
        ).scalar()
        n_users = conn.execute(select(t.users.c.id).where(t.users.c.participant_id == "BETA")).all()
    holdings = [
        registry.holdings(db, SYSTEM, a, limit=1).total for a in ("BETA-MAIN", w.beta_second)
    ]
    return (tuple(order), key, locked, len(n_users), holdings)


# ---------------------------------------------------------------- each screen works


def test_transfer_between_own_accounts_by_quantity_and_by_serials(
    portal: TestClient, db: Database, world: World
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    page = portal.get("/portal/transfer")
    assert page.status_code == 200 and world.alpha_second in page.text
    token = csrf(portal, "/portal/transfer")
    r = portal.post(
        "/portal/transfer",
        data={
            "csrf": token,
            "from_account": "ALPHA-MAIN",
            "to_account": world.alpha_second,
            "quantity": "100",
        },
    )
    assert r.status_code == 200 and "Transferred 100 t" in r.text
    ranges = re.findall(r'<li class="code">([^ <]+) \(', r.text)
    assert len(ranges) == 1
    assert registry.holdings(db, SYSTEM, world.alpha_second, limit=1).total == 100
    # back again by serial range
    r = portal.post(
        "/portal/transfer",
        data={
            "csrf": token,
            "from_account": world.alpha_second,
            "to_account": "ALPHA-MAIN",
            "serials": ranges[0],
        },
    )
    assert r.status_code == 200 and "Transferred 100 t" in r.text
    assert registry.holdings(db, SYSTEM, world.alpha_second, limit=1).total == 0
    # errors next to their field, nothing moved
    before = journal(db)
    bad = [
        ({"to_account": "ALPHA-MAIN", "quantity": "5"}, "to_account"),
        ({"to_account": world.alpha_second, "quantity": "lots"}, "quantity"),
        ({"to_account": world.alpha_second}, "quantity"),
        ({"to_account": world.alpha_second, "quantity": "99999999"}, "quantity"),
        ({"to_account": world.alpha_second, "serials": "nonsense"}, "serials"),
    ]
    for data, field in bad:
        r = portal.post(
            "/portal/transfer", data={"csrf": token, "from_account": "ALPHA-MAIN"} | data
        )
        # more than held is a conflict with the state (409), as the API answers it
        assert r.status_code == (409 if data.get("quantity") == "99999999" else 422), data
        assert f'id="{field}-error"' in r.text, (data, r.text)
    assert journal(db) == before
    ja = portal.get("/portal/transfer?lang=ja")
    assert "自社口座間の振替" in ja.text


def test_trades_show_settlement_status_and_date_then_the_serials_received(
    portal: TestClient, db: Database, world: World
) -> None:
    assert world.alpha_trade
    login(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/trades")
    assert page.status_code == 200
    row = re.search(rf'<tr data-trade="{world.alpha_trade}">(.*?)</tr>', page.text, re.S)
    assert row and "pending" in row.group(1)
    date = re.search(r'data-field="settlement_date">(\d{4}-\d\d-\d\d)<', row.group(1))
    assert date
    assert f'data-obligation="{world.alpha_trade}"' in page.text
    settlement.run(db, SYSTEM, dt.date.fromisoformat(date.group(1)), early=True)
    page = portal.get("/portal/trades")
    row = re.search(rf'<tr data-trade="{world.alpha_trade}">(.*?)</tr>', page.text, re.S)
    assert row and "settled" in row.group(1)
    ob = re.search(rf'<tr data-obligation="{world.alpha_trade}">(.*?)</tr>', page.text, re.S)
    assert ob and re.search(r'data-field="serials">[^<]*-\d+-\d+', ob.group(1))
    assert "約定と決済" in portal.get("/portal/trades?lang=ja").text
    assert "決済済" in portal.get("/portal/trades").text


def test_an_open_order_is_amended_in_quantity_and_in_price(
    portal: TestClient, db: Database
) -> None:
    login(portal, "trader@alpha.example.jp")
    token = csrf(portal)
    r = portal.post(
        "/portal/orders",
        data={
            "csrf": token,
            "instrument": "ES",
            "side": "buy",
            "quantity": "30",
            "price": "1800",
            "account": "ALPHA-MAIN",
        },
    )
    m = re.search(r'data-order="([^"]+)"', r.text)
    assert m
    order = m.group(1)
    assert f'href="/portal/orders/{order}/amend"' in r.text
    form = portal.get(f"/portal/orders/{order}/amend")
    assert form.status_code == 200 and 'id="amend-form"' in form.text
    r = portal.post(f"/portal/orders/{order}/amend", data={"csrf": token, "quantity": "20"})
    assert r.status_code == 200 and f"Order {order} amended" in r.text
    r = portal.post(f"/portal/orders/{order}/amend", data={"csrf": token, "price": "1850"})
    assert r.status_code == 200
    with db.read() as conn:
        row = conn.execute(select(t.orders).where(t.orders.c.id == order)).one()
    assert row.price == 1850 and row.status == "open"
    before = journal(db)
    for data, field in (
        ({}, "quantity"),
        ({"quantity": "x"}, "quantity"),
        ({"price": "0"}, "price"),
    ):
        r = portal.post(f"/portal/orders/{order}/amend", data={"csrf": token} | data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, (data, r.text)
    assert journal(db) == before
    assert "訂正" in portal.get(f"/portal/orders/{order}/amend?lang=ja").text
    # a cancelled order cannot be amended
    portal.post(f"/portal/orders/{order}/cancel", data={"csrf": token})
    assert portal.get(f"/portal/orders/{order}/amend").status_code == 404


def test_retirement_notices_link_to_the_public_record(
    portal: TestClient, db: Database, world: World
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    token = csrf(portal, "/portal/retire")
    r = portal.post(
        "/portal/retire",
        data={
            "csrf": token,
            "account": "ALPHA-MAIN",
            "quantity": "12",
            "purpose": "offset_scope1",
            "beneficiary": "Alpha Foods",
            "year": "2025",
        },
    )
    assert r.status_code == 200
    rid = re.search(r'href="/verify/(RT-\d+)"', r.text)
    assert rid
    assert f'href="/verify/{rid.group(1)}"' in portal.get("/portal/retire").text
    notices = portal.get("/portal/retirements")
    assert notices.status_code == 200
    assert f'href="/portal/retirements/{rid.group(1)}"' in notices.text
    assert f'href="/verify/{rid.group(1)}"' in notices.text
    assert world.beta_retirement not in notices.text
    one = portal.get(f"/portal/retirements/{rid.group(1)}")
    assert one.status_code == 200 and "Alpha Foods" in one.text and 'id="lookup-link"' in one.text
    public = portal.get(f"/v1/retirements/{rid.group(1)}")
    assert public.status_code == 200 and public.json()["quantity"] == 12
    assert "無効化通知" in portal.get(f"/portal/retirements/{rid.group(1)}?lang=ja").text


def test_cash_balance_and_movements_keep_the_counterparty_anonymous(
    portal: TestClient, db: Database, world: World
) -> None:
    obligations = settlement.obligations(db, SYSTEM)
    for due in {o.due_date for o in obligations}:
        settlement.run(db, SYSTEM, dt.date.fromisoformat(due), early=True)
    login(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/cash")
    assert page.status_code == 200
    assert 'data-cash="CASH-ALPHA-JPY"' in page.text
    assert re.search(r'data-movement="[^"]+">', page.text)
    assert ">bank<" in page.text and "trade counterparty" in page.text
    assert "BETA" not in page.text and "GAMMA" not in page.text
    assert portal.get("/portal/cash?account=CASH-ALPHA-JPY").status_code == 200
    assert "資金残高と入出金" in portal.get("/portal/cash?lang=ja").text


def test_an_administrator_creates_an_api_key_shown_once_and_revokes_it(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/keys")
    r = portal.post(
        "/portal/keys", data={"csrf": token, "label": "back office", "role_trader": "1"}
    )
    assert r.status_code == 200
    key = re.search(r'id="new-key" class="code" readonly size="60" value="(tk_[^"]+)"', r.text)
    assert key
    actor = participants.authenticate(db, key.group(1))
    assert actor.participant_id == "ALPHA" and actor.roles == frozenset({Role.TRADER})
    listing = portal.get("/portal/keys")
    assert key.group(1) not in listing.text  # shown only once
    key_id = key.group(1).split("_")[1]
    assert f'data-key="{key_id}"' in listing.text and "back office" in listing.text
    # a role the participant does not hold: an error next to the roles
    r = portal.post("/portal/keys", data={"csrf": token, "role_registry_operator": "1"})
    assert r.status_code == 422 and 'id="roles-error"' in r.text
    r = portal.post("/portal/keys", data={"csrf": token, "label": "x" * 300})
    assert r.status_code == 422 and 'id="label-error"' in r.text
    # a read-only key: the scopes ticked, shown in the list; it sees but moves nothing
    r = portal.post("/portal/keys", data={"csrf": token, "label": "auditor", "scope_read": "1"})
    reader = re.search(r'id="new-key" class="code" readonly size="60" value="(tk_[^"]+)"', r.text)
    assert r.status_code == 200 and reader
    assert {s.value for s in participants.authenticate(db, reader.group(1)).granted} == {"read"}
    reader_id = reader.group(1).split("_")[1]
    row = re.search(rf'data-key="{reader_id}">.*?data-field="scopes">([^<]*)<', r.text, re.S)
    assert row and row.group(1) == "read"
    r = portal.post(f"/portal/keys/{key_id}/revoke", data={"csrf": token})
    assert r.status_code == 200 and f"Key {key_id} revoked" in r.text
    with pytest.raises(TansoError):
        participants.authenticate(db, key.group(1))
    assert "API キー" in portal.get("/portal/keys?lang=ja").text


def test_an_administrator_lists_creates_and_unlocks_its_users(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    page = portal.get("/portal/users")
    assert page.status_code == 200 and "viewer@alpha.example.jp" in page.text
    assert "beta" not in page.text.lower()
    token = csrf(portal, "/portal/users")
    new = {"email": "new@alpha.example.jp", "display_name": "New One", "role": "trader"}
    r = portal.post("/portal/users", data={"csrf": token, "password": "short"} | new)
    assert r.status_code == 422 and 'id="password-error"' in r.text
    assert 'value="new@alpha.example.jp"' in r.text and "short" not in r.text.split("<main")[1]
    r = portal.post("/portal/users", data={"csrf": token, "password": PASSWORD} | new)
    assert r.status_code == 200 and "User new@alpha.example.jp created" in r.text
    r = portal.post("/portal/users", data={"csrf": token, "password": PASSWORD} | new)
    assert r.status_code == 409 and 'id="email-error"' in r.text  # taken: a conflict
    r = portal.post(
        "/portal/users", data={"csrf": token, "password": PASSWORD, "email": "", "role": "boss"}
    )
    assert r.status_code == 422
    assert 'id="email-error"' in r.text and 'id="role-error"' in r.text
    assert 'id="display_name-error"' in r.text
    # lock the new user, then unlock it from the screen
    for _ in range(users.MAX_FAILED_LOGINS):
        users.login(db, "new@alpha.example.jp", "wrong password!!")
    page = portal.get("/portal/users")
    uid = re.search(r'data-user="([^"]+)">\s*<th scope="row">new@alpha', page.text)
    assert uid and "locked" in page.text
    r = portal.post(f"/portal/users/{uid.group(1)}/unlock", data={"csrf": token})
    assert r.status_code == 200 and "unlocked" in r.text
    assert users.login(db, "new@alpha.example.jp", PASSWORD).outcome == "ok"
    assert "ユーザーの作成" in portal.get("/portal/users?lang=ja").text


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["viewer", "trader", "account_manager", "administrator"])
def test_each_role_reaches_only_its_screens(
    portal: TestClient, db: Database, world: World, role: str
) -> None:
    alpha_order = (
        exchange(portal)
        .place(trader("ALPHA"), NewOrder("ES", "buy", 5, 1_000, account_id="ALPHA-MAIN"))
        .id
    )
    login(portal, f"{role}@alpha.example.jp")
    token = csrf(portal, "/portal/trades")
    can_trade = role in ("trader", "administrator")
    can_move = role in ("account_manager", "administrator")
    is_admin = role == "administrator"
    for path in ("/portal/trades", "/portal/retirements", "/portal/cash", "/portal/transfer"):
        assert portal.get(path).status_code == 200, path
    assert (portal.get("/portal/keys").status_code == 200) is is_admin
    assert (portal.get("/portal/users").status_code == 200) is is_admin
    assert ('href="/portal/keys"' in portal.get("/portal").text) is is_admin
    assert 'href="/portal/operator"' not in portal.get("/portal").text
    assert (portal.get(f"/portal/orders/{alpha_order}/amend").status_code == 200) is can_trade
    before = (journal(db), count(db, t.api_keys), count(db, t.users))
    moved = portal.post(
        "/portal/transfer",
        data={
            "csrf": token,
            "from_account": "ALPHA-MAIN",
            "to_account": world.alpha_second,
            "quantity": "1",
        },
    )
    assert (moved.status_code == 200) is can_move
    amended = portal.post(
        f"/portal/orders/{alpha_order}/amend", data={"csrf": token, "quantity": "4"}
    )
    assert (amended.status_code == 200) is can_trade
    key = portal.post("/portal/keys", data={"csrf": token, "label": "x"})
    assert (key.status_code == 200) is is_admin
    created = portal.post(
        "/portal/users",
        data={
            "csrf": token,
            "email": f"n-{role}@alpha.example.jp",
            "display_name": "N",
            "role": "viewer",
            "password": PASSWORD,
        },
    )
    assert (created.status_code == 200) is is_admin
    expected = int(can_move) + int(can_trade) + 2 * int(is_admin)
    assert journal(db) == before[0] + expected
    for r in (moved, amended, key, created):
        assert r.status_code in (200, 403)
    if not is_admin:
        assert (count(db, t.api_keys), count(db, t.users)) == before[1:]


# ---------------------------------------------------------------- CSRF


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_new_form_without_a_valid_csrf_token_changes_nothing(
    portal: TestClient, db: Database, world: World, token: str | None
) -> None:
    alpha_order = (
        exchange(portal)
        .place(trader("ALPHA"), NewOrder("ES", "buy", 5, 1_000, account_id="ALPHA-MAIN"))
        .id
    )
    login(portal, "administrator@alpha.example.jp")
    key_id = re.search(
        r"tk_([0-9a-f]+)_",
        portal.post("/portal/keys", data={"csrf": csrf(portal, "/portal/keys")}).text,
    )
    assert key_id
    for _ in range(users.MAX_FAILED_LOGINS):
        users.login(db, "viewer@alpha.example.jp", "wrong password!!")
    viewer = next(u for u in users.list_users(db, SYSTEM, "ALPHA") if u.email.startswith("viewer@"))
    extra = {} if token is None else {"csrf": token}
    forms = [
        (
            "/portal/transfer",
            {"from_account": "ALPHA-MAIN", "to_account": world.alpha_second, "quantity": "5"},
        ),
        (f"/portal/orders/{alpha_order}/amend", {"quantity": "3"}),
        ("/portal/keys", {"label": "sneaky"}),
        (f"/portal/keys/{key_id.group(1)}/revoke", {}),
        (
            "/portal/users",
            {
                "email": "sneaky@alpha.example.jp",
                "display_name": "S",
                "role": "administrator",
                "password": PASSWORD,
            },
        ),
        (f"/portal/users/{viewer.id}/unlock", {}),
    ]
    before = (journal(db), count(db, t.api_keys), count(db, t.users))
    for path, data in forms:
        r = portal.post(path, data=data | extra)
        assert r.status_code == 403, path
        assert "Nothing was changed" in r.text
    assert (journal(db), count(db, t.api_keys), count(db, t.users)) == before
    assert registry.holdings(db, SYSTEM, world.alpha_second, limit=1).total == 0
    with db.read() as conn:
        assert (
            conn.execute(select(t.orders.c.quantity).where(t.orders.c.id == alpha_order)).scalar()
            == 5
        )
        assert (
            conn.execute(
                select(t.api_keys.c.revoked_at).where(t.api_keys.c.id == key_id.group(1))
            ).scalar()
            is None
        )
    assert (
        next(u for u in users.list_users(db, SYSTEM, "ALPHA") if u.id == viewer.id).status
        == "locked"
    )


# ---------------------------------------------------------------- isolation


def test_a_user_never_sees_or_acts_on_another_participants_things(
    portal: TestClient, db: Database, world: World
) -> None:
    assert world.beta_gamma_trade and world.alpha_trade
    before = beta_state(db, world)
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/transfer")
    beta_ids = [
        "BETA",
        world.beta_second,
        world.beta_gamma_trade,
        world.beta_order,
        world.beta_retirement,
        world.beta_key,
        world.beta_locked_user,
        "locked@beta",
    ]
    # every page: nothing of BETA's (ALPHA's own trade with BETA names no counterparty)
    for path in (
        "/portal/trades",
        "/portal/retirements",
        "/portal/cash",
        "/portal/transfer",
        "/portal/keys",
        "/portal/users",
        "/portal/orders",
    ):
        page = portal.get(path)
        assert page.status_code == 200, path
        for beta_id in beta_ids:
            assert beta_id not in page.text, (path, beta_id)
    # BETA's ids in URLs
    for path in (
        f"/portal/orders/{world.beta_order}/amend",
        f"/portal/retirements/{world.beta_retirement}",
        "/portal/cash?account=CASH-BETA-JPY",
        "/portal/cash?account=CASH-GAMMA-JPY",
        "/portal/holdings/" + world.beta_second,
    ):
        assert portal.get(path).status_code == 404, path
    journal_before = journal(db)
    for path, data in (
        (f"/portal/orders/{world.beta_order}/amend", {"quantity": "1", "price": "1"}),
        (f"/portal/keys/{world.beta_key}/revoke", {}),
        (f"/portal/users/{world.beta_locked_user}/unlock", {}),
    ):
        r = portal.post(path, data={"csrf": token} | data)
        assert r.status_code == 404, path
    # BETA's accounts and serials in every field of the transfer form
    beta_serials = registry.holdings(db, SYSTEM, "BETA-MAIN", limit=10).blocks[0].serials
    for data, field in (
        (
            {"from_account": "BETA-MAIN", "to_account": "ALPHA-MAIN", "quantity": "5"},
            "from_account",
        ),
        ({"from_account": "ALPHA-MAIN", "to_account": "BETA-MAIN", "quantity": "5"}, "to_account"),
        (
            {"from_account": world.beta_second, "to_account": "BETA-MAIN", "quantity": "5"},
            "to_account",
        ),
        (
            {
                "from_account": "ALPHA-MAIN",
                "to_account": world.alpha_second,
                "serials": beta_serials,
            },
            "serials",
        ),
        (
            {"from_account": "BETA-MAIN", "to_account": "ALPHA-MAIN", "serials": beta_serials},
            "from_account",
        ),
    ):
        r = portal.post("/portal/transfer", data={"csrf": token} | data)
        # another's serials are refused by the service as not held here (409, as in the API);
        # another's account by the form (422)
        status = 409 if field == "serials" else 422
        assert r.status_code == status and f'id="{field}-error"' in r.text, (data, r.text[-2000:])
    assert journal(db) == journal_before
    # extra fields naming BETA are ignored: the key and the user are ALPHA's
    r = portal.post(
        "/portal/keys",
        data={"csrf": token, "label": "mine", "participant": "BETA", "pid": "BETA"},
    )
    assert r.status_code == 200
    created_key = re.search(r"tk_([0-9a-f]+)_", r.text)
    assert created_key
    assert (
        participants.authenticate(db, r.text[created_key.start() :].split('"')[0]).participant_id
        == "ALPHA"
    )
    r = portal.post(
        "/portal/users",
        data={
            "csrf": token,
            "email": "extra@alpha.example.jp",
            "display_name": "Extra",
            "role": "viewer",
            "password": PASSWORD,
            "participant_id": "BETA",
            "participant": "BETA",
        },
    )
    assert r.status_code == 200
    made = next(u for u in users.list_users(db, SYSTEM, "ALPHA") if u.email.startswith("extra@"))
    assert made.participant_id == "ALPHA"
    assert beta_state(db, world) == before


def test_a_user_of_the_operator_sees_only_its_own_participant_in_the_portal(
    portal: TestClient, db: Database, world: World
) -> None:
    """The operator's actor sees everyone's rows in the services; the portal still scopes."""
    users.create(
        db,
        SYSTEM,
        NewUser("OPERATOR", "admin@operator.example.jp", "Ops", "administrator", PASSWORD),
    )
    before = beta_state(db, world)
    login(portal, "admin@operator.example.jp")
    assert 'href="/portal/operator"' in portal.get("/portal").text
    token = csrf(portal, "/portal/transfer")
    for path in (
        "/portal/trades",
        "/portal/retirements",
        "/portal/cash",
        "/portal/users",
        "/portal/keys",
    ):
        page = portal.get(path)
        assert page.status_code == 200, path
        for other in ("ALPHA", "BETA", "GAMMA", world.beta_retirement, world.beta_key):
            assert other not in page.text, (path, other)
    for path in (
        f"/portal/orders/{world.beta_order}/amend",
        f"/portal/retirements/{world.beta_retirement}",
        "/portal/cash?account=CASH-BETA-JPY",
    ):
        assert portal.get(path).status_code == 404, path
    for path in (
        f"/portal/orders/{world.beta_order}/amend",
        f"/portal/keys/{world.beta_key}/revoke",
        f"/portal/users/{world.beta_locked_user}/unlock",
    ):
        assert portal.post(path, data={"csrf": token, "quantity": "1"}).status_code == 404, path
    assert beta_state(db, world) == before


def test_the_retire_form_passes_the_emissions_scope_to_the_usage_rules(
    portal: TestClient, db: Database, world: World
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    token = csrf(portal, "/portal/retire")
    form = {
        "csrf": token,
        "account": "ALPHA-MAIN",
        "quantity": "5",
        "purpose": "offset_scope1",
        "beneficiary": "Alpha Foods",
        "year": "2025",
    }
    bad = portal.post("/portal/retire", data=form | {"scope": "4"})
    assert bad.status_code == 422 and 'id="scope-error"' in bad.text
    assert portal.post("/portal/retire", data=form | {"scope3_category": "x"}).status_code == 422
    done = portal.post("/portal/retire", data=form | {"scope": "1"})
    assert done.status_code == 200 and re.search(r'href="/verify/(RT-\d+)"', done.text)
    with db.read() as conn:
        claims = conn.execute(select(usage_claims.c.scope)).scalars().all()
    assert "1" in claims
