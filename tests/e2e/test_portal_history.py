"""The trader's everyday tools in the portal (issue 18, "Tools to build: Trader"): the order
history in every state, trade and settlement history, filtered and paged; CSV downloads of
holdings, orders, trades and cash; holdings valued at reference prices; the indicative auction
price; a confirmation step before an order is cancelled. Both backends (docs/portal-history.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.trading.exchange import Exchange, NewOrder, trade_date
from tanso.store.db import Database
from tests.conftest import add_issuance
from tests.e2e.test_portal import csrf, login, prepare


def trader(pid: str) -> Actor:
    return users.actor_for(users.UserRole.TRADER, pid, frozenset({users.Role.TRADER}))


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


@pytest.fixture
def today(db: Database) -> dt.date:
    """The database clock's day in Japan (the tests' clock, not the wall's)."""
    return trade_date(db.clock())


def exchange(http: TestClient) -> Exchange:
    x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
    return x


def orders_in_every_state(http: TestClient) -> dict[str, str]:
    """ALPHA's orders: filled, partially filled then cancelled, partially filled and open,
    open, cancelled untouched; BETA's open order stays BETA's."""
    x = exchange(http)
    alpha, beta = trader("ALPHA"), trader("BETA")
    ids = {}
    ids["filled"] = x.place(alpha, NewOrder("ES", "sell", 10, 2_000, account_id="ALPHA-MAIN")).id
    x.place(beta, NewOrder("ES", "buy", 10, 2_000, account_id="BETA-MAIN"))
    ids["part_cancelled"] = x.place(
        alpha, NewOrder("ES", "sell", 30, 2_010, account_id="ALPHA-MAIN")
    ).id
    x.place(beta, NewOrder("ES", "buy", 10, 2_010, account_id="BETA-MAIN"))
    x.cancel(alpha, ids["part_cancelled"])
    ids["part_open"] = x.place(alpha, NewOrder("ES", "sell", 20, 2_020, account_id="ALPHA-MAIN")).id
    x.place(beta, NewOrder("ES", "buy", 5, 2_020, account_id="BETA-MAIN"))
    ids["open"] = x.place(alpha, NewOrder("ES", "buy", 7, 1_900, account_id="ALPHA-MAIN")).id
    ids["cancelled"] = x.place(alpha, NewOrder("ES", "buy", 8, 1_910, account_id="ALPHA-MAIN")).id
    x.cancel(alpha, ids["cancelled"])
    ids["beta"] = x.place(beta, NewOrder("ES", "buy", 3, 1_800, account_id="BETA-MAIN")).id
    return ids


def rows(html: str, attr: str = "data-order") -> dict[str, str]:
    return {
        m.group(1): m.group(2) for m in re.finditer(rf'<tr {attr}="([^"]+)"(.*?)</tr>', html, re.S)
    }


def cell(row: str, field: str) -> str:
    m = re.search(rf'data-field="{field}">([^<]*)<', row)
    assert m, (field, row)
    return m.group(1).strip()


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), body[:10]  # the BOM Excel needs for Japanese
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# ---------------------------------------------------------------- order history


def test_the_order_history_shows_every_state_with_quantities_that_add_up(
    portal: TestClient,
) -> None:
    ids = orders_in_every_state(portal)
    login(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/orders/history?lang=en")
    assert page.status_code == 200
    seen = rows(page.text)
    assert ids["beta"] not in seen and set(seen) == {v for k, v in ids.items() if k != "beta"}
    expected = {  # (status, filled, cancelled, remaining)
        "filled": ("filled", "10", "0", "0"),
        "part_cancelled": ("cancelled", "10", "20", "0"),
        "part_open": ("open", "5", "0", "15"),
        "open": ("open", "0", "0", "7"),
        "cancelled": ("cancelled", "0", "8", "0"),
    }
    for key, (status, filled, cancelled, remaining) in expected.items():
        row = seen[ids[key]]
        got = (cell(row, "filled"), cell(row, "cancelled"), cell(row, "remaining"))
        assert got == (filled, cancelled, remaining), key
        assert f'data-status="{status}"' in row, key
    assert "partially filled" in seen[ids["part_cancelled"]]
    assert "partially filled" not in seen[ids["filled"]]
    ja = portal.get("/portal/orders/history?lang=ja").text
    assert "注文履歴" in ja and "一部約定" in ja and "全部約定" in ja


FILTERS = [
    ("status=cancelled", {"part_cancelled", "cancelled"}),
    ("status=partially_filled", {"part_cancelled", "part_open"}),
    ("status=open", {"part_open", "open"}),
    ("status=filled", {"filled"}),
    ("status=expired", set()),
    ("side=buy", {"open", "cancelled"}),
    ("side=sell&status=open", {"part_open"}),
    ("instrument=ES&side=sell", {"filled", "part_cancelled", "part_open"}),
    ("from={today}&to={today}", {"filled", "part_cancelled", "part_open", "open", "cancelled"}),
    ("to={yesterday}", set()),
    ("from={tomorrow}", set()),
]


def test_the_order_history_filters_by_instrument_side_status_and_date(
    portal: TestClient, today: dt.date
) -> None:
    ids = orders_in_every_state(portal)
    login(portal, "trader@alpha.example.jp")
    day = dt.timedelta(days=1)
    for query, keys in FILTERS:
        query = query.format(today=today, yesterday=today - day, tomorrow=today + day)
        page = portal.get(f"/portal/orders/history?{query}")
        assert page.status_code == 200, query
        assert set(rows(page.text)) == {ids[k] for k in keys}, query
        if not keys:
            assert "No orders match." in page.text


def test_the_order_history_pages_with_a_count_and_keeps_its_filter(portal: TestClient) -> None:
    ids = orders_in_every_state(portal)
    login(portal, "trader@alpha.example.jp")
    first = portal.get("/portal/orders/history?limit=2&status=cancelled").text
    assert "Rows 1–2 of 2" in first and 'data-page="older"' not in first
    first = portal.get("/portal/orders/history?limit=2").text
    assert "Rows 1–2 of 5" in first and 'data-page="newer"' not in first
    seen = list(rows(first))
    for n, expected in ((2, "Rows 3–4 of 5"), (4, "Rows 5–5 of 5")):
        older = re.search(r'href="([^"]+)" rel="next" data-page="older"', first)
        assert older, first
        link = older.group(1).replace("&amp;", "&")
        assert "limit=2" in link and f"offset={n}" in link
        first = portal.get(link).text
        assert expected in first and 'data-page="newer"' in first
        seen += list(rows(first))
    assert 'data-page="older"' not in first
    assert sorted(seen) == sorted(v for k, v in ids.items() if k != "beta")  # newest first, once


BAD_FILTERS = [
    ("instrument=NOPE", "instrument", "There is no instrument NOPE", "銘柄 NOPE はありません"),
    ("side=up", "side", "up is not one of the choices: buy, sell", "up は選択肢"),
    ("status=done", "status", "done is not one of the choices: open,", "done は選択肢"),
    ("from=2026-13-01", "from", "2026-13-01 is not a date", "2026-13-01 は日付ではありません"),
    ("to=20261201", "to", "20261201 is not a date: give it as YYYY-MM-DD", "YYYY-MM-DD"),
    ("from=2026-12-05&to=2026-12-01", "to", "The start date 2026-12-05 is after", "開始日"),
    ("offset=-3", "offset", "-3 is not a row position", "0 以上の整数"),
    ("offset=x", "offset", "x is not a row position", "行の位置ではありません"),
    ("offset=" + "9" * 30, "offset", "is not a row position", "行の位置ではありません"),
    ("from=0001-01-01", "from", "0001-01-01 is not a date", "日付ではありません"),
    ("to=9999-12-31", "to", "9999-12-31 is not a date", "日付ではありません"),
]


def test_a_bad_filter_answers_400_with_the_reason_in_the_page_language(
    portal: TestClient,
) -> None:
    login(portal, "trader@alpha.example.jp")
    for path in ("/portal/orders/history", "/portal/orders.csv", "/portal/trades"):
        for query, field, en, ja in BAD_FILTERS:
            if path == "/portal/trades" and field == "status":
                continue  # the trades take no state: ignored (tested below with ob_status)
            r = portal.get(f"{path}?{query}&lang=en")
            assert r.status_code == 400, (path, query)
            assert r.headers["content-type"].startswith("text/html")
            assert f'id="{field}-error"' in r.text and en in r.text.replace("&#39;", "'")
            assert "The filter was not applied" in r.text
            r = portal.get(f"{path}?{query}&lang=ja")
            assert r.status_code == 400 and ja in r.text, (path, query)


# ---------------------------------------------------------------- trades and settlement


def test_trades_and_settlement_obligations_filter_and_page(
    portal: TestClient, today: dt.date
) -> None:
    orders_in_every_state(portal)  # ALPHA sold 10 @ 2,000, 10 @ 2,010, 5 @ 2,020 to BETA
    login(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/trades?lang=en")
    assert page.status_code == 200
    assert len(rows(page.text, "data-trade")) == 3 and len(rows(page.text, "data-obligation")) == 3
    assert 'id="trade-filter"' in page.text and 'id="obligation-filter"' in page.text
    assert rows(portal.get("/portal/trades?side=buy").text, "data-trade") == {}
    assert len(rows(portal.get("/portal/trades?side=sell&instrument=ES").text, "data-trade")) == 3
    tomorrow = today + dt.timedelta(days=1)
    assert rows(portal.get(f"/portal/trades?from={tomorrow}").text, "data-trade") == {}
    paged = portal.get("/portal/trades?limit=2").text
    assert "Rows 1–2 of 3" in paged and len(rows(paged, "data-trade")) == 2
    # settlement: pending until due; filters by status and due date, with their own paging
    pending = portal.get("/portal/trades?ob_status=pending").text
    assert len(rows(pending, "data-obligation")) == 3
    settled = portal.get("/portal/trades?ob_status=settled").text
    assert rows(settled, "data-obligation") == {} and "No settlement obligations." in settled
    assert rows(portal.get(f"/portal/trades?ob_to={today}").text, "data-obligation") == {}
    both = portal.get("/portal/trades?limit=1&ob_limit=1&ob_status=pending&side=sell").text
    older = re.findall(r'href="([^"]+)" rel="next" data-page="older"', both)
    assert any("ob_offset=1" in x and "side=sell" in x for x in older), older
    assert any("offset=1" in x and "ob_status=pending" in x for x in older), older
    bad = portal.get("/portal/trades?ob_status=lost&lang=ja")
    assert bad.status_code == 400 and "lost は選択肢" in bad.text
    assert "決済債務" in bad.text  # the section stays reachable


# ---------------------------------------------------------------- CSV downloads


def test_the_order_and_trade_csv_are_the_users_own_with_the_filters_and_no_formulas(
    portal: TestClient,
) -> None:
    ids = orders_in_every_state(portal)
    exchange(portal).place(
        trader("ALPHA"),
        NewOrder("ES", "buy", 1, 1_500, account_id="ALPHA-MAIN", client_order_id="=1+2"),
    )
    login(portal, "trader@alpha.example.jp")
    page = portal.get("/portal/orders/history?status=cancelled").text
    assert 'href="/portal/orders.csv?status=cancelled"' in page
    r = portal.get("/portal/orders.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = read_csv(r.content)
    header = table[0]
    assert header[:10] == [
        "order_id",
        "instrument",
        "side",
        "type",
        "price",
        "quantity",
        "filled",
        "cancelled",
        "remaining",
        "status",
    ]
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}
    assert ids["beta"] not in by_id and len(by_id) == 6
    part = by_id[ids["part_cancelled"]]
    assert (part["filled"], part["cancelled"], part["remaining"]) == ("10", "20", "0")
    assert "'=1+2" in {row["client_order_id"] for row in by_id.values()}
    filtered = read_csv(portal.get("/portal/orders.csv?status=cancelled").content)
    assert sorted(row[0] for row in filtered[1:]) == sorted(
        [ids["part_cancelled"], ids["cancelled"]]
    )
    trades = read_csv(portal.get("/portal/trades.csv").content)
    assert trades[0][:3] == ["trade_id", "instrument", "side"] and len(trades) == 4
    assert {row[2] for row in trades[1:]} == {"sell"}
    assert len(read_csv(portal.get("/portal/trades.csv?side=buy").content)) == 1
    assert 'href="/portal/trades.csv"' in portal.get("/portal/trades").text


def test_holdings_and_cash_download_as_csv(portal: TestClient) -> None:
    login(portal, "viewer@alpha.example.jp")
    assert (
        'href="/portal/holdings/ALPHA-MAIN.csv"' in portal.get("/portal/holdings/ALPHA-MAIN").text
    )
    table = read_csv(portal.get("/portal/holdings/ALPHA-MAIN.csv").content)
    assert table[0][:6] == [
        "account",
        "serials",
        "issuance_id",
        "serial_start",
        "serial_end",
        "quantity",
    ]
    assert [(r[0], r[5], r[6], r[8]) for r in table[1:]] == [
        ("ALPHA-MAIN", "10000", "held", "ENERGY_SAVING")
    ]
    assert portal.get("/portal/holdings/BETA-MAIN.csv").status_code == 404
    cash_page = portal.get("/portal/cash").text
    link = re.search(r'href="(/portal/cash\.csv\?account=[^"]+)"', cash_page)
    assert link
    cash = read_csv(portal.get(link.group(1)).content)
    assert cash[0][:5] == ["cash_account", "entry", "journal_seq", "moved_at", "amount"]
    assert [r[4] for r in cash[1:]] == ["1000000000"]  # the deposit of prepare()
    assert cash[1][6] == "bank"  # the counterparty as the screen names it
    other = link.group(1).replace("ALPHA", "BETA")
    assert portal.get(other).status_code == 404


# ---------------------------------------------------------------- valuation


def test_holdings_are_valued_at_the_reference_price_and_a_category_without_one_says_so(
    portal: TestClient, db: Database
) -> None:
    """Before any auction the price's date is the day the instrument was listed."""
    add_issuance(db, "ALPHA-MAIN", 40, category="FOREST")
    login(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/holdings/ALPHA-MAIN?lang=en").text
    categories = rows(page, "data-category")
    assert cell(categories["ENERGY_SAVING"], "value") == "20,000,000"  # 10,000 t x ¥2,000
    assert re.search(
        r">2,000</td><td class=\"nowrap\">\d{4}-\d\d-\d\d<", categories["ENERGY_SAVING"]
    )
    assert "No listed instrument trades this category" in categories["FOREST"]
    assert re.search(r'data-field="valuation-total"><strong>20,000,000<', page)
    assert "40 t are in categories without a reference price" in page
    ja = portal.get("/portal/holdings/ALPHA-MAIN?lang=ja").text
    assert "基準値段による評価額" in ja and "基準値段がなく" in ja


def test_the_valuation_follows_the_reference_price_an_auction_sets(
    portal: TestClient, db: Database, today: dt.date
) -> None:
    """A call auction sets the reference price: the value and the price's date follow it."""
    add_issuance(db, "ALPHA-MAIN", 100, category="FOREST")
    x = exchange(portal)
    forest = InstrumentSpec(
        "FO",
        "Forest",
        "森林",
        Eligibility(categories=("FOREST",)),
        mode="call",
        reference_price=9_800,
    )
    x.define_instrument(SYSTEM, forest)
    x.session(SYSTEM, "FO", "open")
    x.place(trader("ALPHA"), NewOrder("FO", "sell", 10, 9_900, account_id="ALPHA-MAIN"))
    x.place(trader("BETA"), NewOrder("FO", "buy", 10, 9_900, account_id="BETA-MAIN"))
    x.session(SYSTEM, "FO", "auction")
    assert x.book(SYSTEM, "FO").reference_price == 9_900
    login(portal, "viewer@alpha.example.jp")
    row = rows(portal.get("/portal/holdings/ALPHA-MAIN").text, "data-category")["FOREST"]
    # the 10 t sold are the seller's until they settle
    assert cell(row, "value") == "990,000" and f">{today}<" in row


# ---------------------------------------------------------------- the orders screen


def test_the_orders_screen_shows_the_indicative_auction_price(portal: TestClient) -> None:
    x = exchange(portal)
    spec = InstrumentSpec(
        "ESC",
        "Energy saving (call)",
        "省エネルギー（板寄せ）",
        Eligibility(categories=("ENERGY_SAVING",)),
        mode="call",
        reference_price=2_000,
    )
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, "ESC", "open")
    x.place(trader("BETA"), NewOrder("ESC", "buy", 100, 2_010, account_id="BETA-MAIN"))
    x.place(trader("ALPHA"), NewOrder("ESC", "sell", 60, 2_000, account_id="ALPHA-MAIN"))
    login(portal, "trader@alpha.example.jp")
    page = portal.get("/portal/orders?lang=en").text
    book = page[page.index('id="book-ESC"') :]
    assert re.search(r'class="indicative-value">¥2,010 × 60<', book), book[:1500]


def test_cancelling_an_order_takes_a_confirmation_step(portal: TestClient) -> None:
    order = exchange(portal).place(
        trader("ALPHA"), NewOrder("ES", "buy", 7, 1_900, account_id="ALPHA-MAIN")
    )
    login(portal, "trader@alpha.example.jp")
    page = portal.get("/portal/orders").text
    assert f'action="/portal/orders/{order.id}/cancel"' not in page  # no one-click cancel
    assert f'href="/portal/orders/{order.id}/cancel" data-confirm="cancel-order"' in page
    confirm = portal.get(f"/portal/orders/{order.id}/cancel?lang=en")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.text and "Yes, cancel the order" in confirm.text
    assert 'id="keep-order"' in confirm.text and 'data-field="remaining">7<' in confirm.text
    assert "はい、注文を取り消す" in portal.get(f"/portal/orders/{order.id}/cancel?lang=ja").text
    assert exchange(portal).book(SYSTEM, "ES").bids  # looking at the step changed nothing
    r = portal.post(f"/portal/orders/{order.id}/cancel", data={"csrf": csrf(portal)})
    assert r.status_code == 200 and f"{order.id}" in r.text and "取り消しました" in r.text
    assert exchange(portal).book(SYSTEM, "ES").bids == []
    assert portal.get(f"/portal/orders/{order.id}/cancel").status_code == 404  # not open now
    theirs = exchange(portal).place(
        trader("BETA"), NewOrder("ES", "buy", 3, 1_800, account_id="BETA-MAIN")
    )
    assert portal.get(f"/portal/orders/{theirs.id}/cancel").status_code == 404
    portal.cookies.clear()
    login(portal, "viewer@alpha.example.jp")
    assert portal.get(f"/portal/orders/{order.id}/cancel").status_code == 403
