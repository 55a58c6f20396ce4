"""Opening holding accounts, paging long lists and the list of past transfers in the portal
(both backends): newest first, older and newer links, only the participant's own rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, registry
from tanso.services.trading.exchange import NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import fund
from tests.e2e.test_portal import csrf, login, prepare


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def accounts_of(db: Database, pid: str) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(t.accounts.c.id, t.accounts.c.name).where(
                    t.accounts.c.participant_id == pid, t.accounts.c.kind == "holding"
                )
            ).all()
        )


def test_an_account_manager_opens_another_holding_account(portal: TestClient, db: Database) -> None:
    login(portal, "account_manager@alpha.example.jp")
    token = csrf(portal, "/portal")
    r = portal.post("/portal/accounts", data={"csrf": token, "name": "Scope 3 desk"})
    assert r.status_code == 200
    opened = [a for a in accounts_of(db, "ALPHA") if a.name == "Scope 3 desk"]
    assert len(opened) == 1 and f"Account {opened[0].id} (Scope 3 desk) opened." in r.text
    assert f'data-account="{opened[0].id}"' in r.text
    with db.read() as conn:
        entry = conn.execute(select(t.journal).order_by(t.journal.c.seq.desc()).limit(1)).one()
    assert entry.kind == "account.opened" and "(user " in entry.actor
    # the new account is usable at once: a transfer into it
    r = portal.post(
        "/portal/transfer",
        data={
            "csrf": token,
            "from_account": "ALPHA-MAIN",
            "to_account": opened[0].id,
            "quantity": "3",
        },
    )
    assert r.status_code == 200
    assert registry.holdings(db, SYSTEM, opened[0].id, limit=1).total == 3


def test_an_account_name_is_required_and_the_error_is_beside_the_field(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal")
    before = accounts_of(db, "ALPHA")
    r = portal.post("/portal/accounts", data={"csrf": token, "name": "  "})
    assert r.status_code == 422 and 'id="name-error"' in r.text
    r = portal.post("/portal/accounts?lang=ja", data={"csrf": token, "name": "x" * 201})
    assert r.status_code == 422 and 'id="name-error"' in r.text and "保有口座の追加開設" in r.text
    assert accounts_of(db, "ALPHA") == before


def test_viewers_and_traders_cannot_open_accounts_nor_without_a_token(
    portal: TestClient, db: Database
) -> None:
    before = accounts_of(db, "ALPHA"), accounts_of(db, "BETA")
    for role in ("viewer", "trader"):
        http = TestClient(portal.app, follow_redirects=False)
        login(http, f"{role}@alpha.example.jp")
        assert 'action="/portal/accounts"' not in http.get("/portal").text
        token = csrf(http, "/portal/orders")
        r = http.post("/portal/accounts", data={"csrf": token, "name": "Mine"})
        assert r.status_code == 403
    login(portal, "administrator@alpha.example.jp")
    for sent in ({}, {"csrf": ""}, {"csrf": "forged"}):
        r = portal.post("/portal/accounts", data=sent | {"name": "Mine"})
        assert r.status_code == 403
    # a participant field naming BETA is ignored: the account is always the user's own
    token = csrf(portal, "/portal")
    r = portal.post("/portal/accounts", data={"csrf": token, "name": "Own", "participant": "BETA"})
    assert r.status_code == 200
    assert accounts_of(db, "BETA") == before[1]
    assert len(accounts_of(db, "ALPHA")) == len(before[0]) + 1


def page_ids(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]+)"', html)


def test_past_transfers_are_listed_newest_first_and_paged(portal: TestClient, db: Database) -> None:
    second = participants.open_account(db, SYSTEM, "Second", "ALPHA").id
    beta_second = participants.open_account(db, SYSTEM, "Second", "BETA").id
    registry.transfer(db, SYSTEM, "BETA-MAIN", beta_second, registry.Selection(quantity=1))
    made = [
        registry.transfer(db, SYSTEM, "ALPHA-MAIN", second, registry.Selection(quantity=n)).id
        for n in range(1, 8)
    ]
    login(portal, "viewer@alpha.example.jp")
    first = portal.get("/portal/transfer?limit=3")
    assert first.status_code == 200
    assert page_ids(first.text, "data-transfer") == made[::-1][:3]
    older = re.search(r'href="(/portal/transfer\?[^"]*before=[^"]+)"', first.text)
    assert older
    second_page = portal.get(older.group(1).replace("&amp;", "&"))
    assert page_ids(second_page.text, "data-transfer") == made[::-1][3:6]
    newer = re.search(r'href="(/portal/transfer\?[^"]*after=[^"]+)"', second_page.text)
    assert newer
    back = portal.get(newer.group(1).replace("&amp;", "&"))
    assert page_ids(back.text, "data-transfer") == made[::-1][:3]
    everything = portal.get("/portal/transfer?limit=100").text
    assert page_ids(everything, "data-transfer") == made[::-1]
    assert beta_second not in everything and "BETA" not in everything


def walk(http: TestClient, url: str, attribute: str) -> tuple[list[str], list[list[str]]]:
    """Follow the older links from ``url`` to the end, then the newer links back: every row id
    on the way down, and the pages seen on the way back."""
    seen: list[str] = []
    pages: list[str] = []
    while True:
        html = http.get(url).text
        pages.append(url)
        seen += page_ids(html, attribute)
        older = re.search(r'href="([^"]+)" rel="next" data-page="older"', html)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
    back: list[list[str]] = []
    while True:
        newer = re.search(r'href="([^"]+)" rel="prev" data-page="newer"', html)
        if newer is None:
            break
        html = http.get(newer.group(1).replace("&amp;", "&")).text
        back.append(page_ids(html, attribute))
    return seen, back


def test_trades_are_paged_newest_first(portal: TestClient, db: Database) -> None:
    x = portal.app.state.exchange  # type: ignore[attr-defined]
    beta = Actor("BETA", frozenset({Role.TRADER}))
    alpha = Actor("ALPHA", frozenset({Role.TRADER}))
    made = []
    for n in range(1, 6):
        x.place(beta, NewOrder("ES", "sell", n, 2_000, account_id="BETA-MAIN"))
        out = x.place(alpha, NewOrder("ES", "buy", n, 2_000, account_id="ALPHA-MAIN"))
        made.append(out.trades[0].id)
    login(portal, "viewer@alpha.example.jp")
    seen, back = walk(portal, "/portal/trades?limit=2", "data-trade")
    assert seen == made[::-1]
    assert back == [made[::-1][2:4], made[::-1][0:2]]


def test_retirement_notices_are_paged_newest_first(portal: TestClient, db: Database) -> None:
    alpha = Actor("ALPHA", frozenset({Role.TRADER}))
    made = [
        registry.retire(
            db,
            alpha,
            registry.RetirementRequest(
                "ALPHA-MAIN", registry.Selection(quantity=n), purposes=["offset_scope1"]
            ),
        ).id
        for n in range(1, 6)
    ]
    registry.retire(
        db,
        Actor("BETA"),
        registry.RetirementRequest(
            "BETA-MAIN", registry.Selection(quantity=1), purposes=["offset_scope1"]
        ),
    )
    login(portal, "viewer@alpha.example.jp")
    seen, back = walk(portal, "/portal/retirements?limit=2", "data-retirement")
    assert seen == made[::-1]
    assert back == [made[::-1][2:4], made[::-1][0:2]]


def test_cash_movements_are_paged_newest_first(portal: TestClient, db: Database) -> None:
    for n in range(1, 6):
        fund(db, "ALPHA", n)
    login(portal, "viewer@alpha.example.jp")
    account = re.search(r'data-cash="([^"]+)"', portal.get("/portal/cash").text)
    assert account
    seen, back = walk(portal, f"/portal/cash?account={account.group(1)}&limit=2", "data-movement")
    assert len(seen) == 6 and len(set(seen)) == 6  # the first funding and five more
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)
    assert back[-1] == seen[:2]
    # another participant's cash account is not found, paged or not
    beta = "CASH-BETA-JPY"
    assert portal.get(f"/portal/cash?account={beta}&offset=2").status_code == 404


def test_the_first_accounts_name_is_in_the_pages_language(portal: TestClient) -> None:
    """The journeys found 「ALPHA-MAIN Main holding account」 on Japanese pages."""
    login(portal, "trader@alpha.example.jp")
    ja = portal.get("/portal?lang=ja").text
    assert "メイン保有口座" in ja and "Main holding account" not in ja
    assert "Main holding account" in portal.get("/portal?lang=en").text
