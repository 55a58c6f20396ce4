"""The operator's everyday tools (issue 18): a confirmation step before opening, closing, halting
or resuming a session, a settlement run, a trade bust and a cancelled obligation; the settlement
lists paged 50 a page with their counts; the journal as sentences in the page's language with
the raw JSON one click away. Over HTTP on both backends, in English and Japanese."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web.i18n import texts
from tanso.web.operator.journal_entries import describe, when
from tests.e2e.test_operator_portal import (
    as_operator,
    cross,
    exchange,
    head,
    journal_kinds,
    portal,
)

__all__ = ["portal"]  # the fixture, shared with the operator screens' tests

INSTRUMENTS = "/portal/operator/instruments/ES"


def phase(http: TestClient) -> str:
    return exchange(http).book(SYSTEM, "ES").phase


# ---------------------------------------------------------------- confirmation


@pytest.mark.parametrize(
    ("action", "before", "after", "consequence"),
    [
        ("halt", None, "halted", "Halting stops matching and order entry on ES (Energy saving)"),
        ("resume", "halt", "open", "Resuming returns ES (Energy saving) to the phase"),
        ("close", None, "closed", "Closing ends the session of ES (Energy saving) now"),
        ("open", "close", "open", "Opening starts order entry on ES (Energy saving) now"),
    ],
    ids=["halt", "resume", "close", "open"],
)
def test_a_session_action_without_confirmation_shows_its_consequence_and_changes_nothing(
    portal: TestClient,
    db: Database,
    action: str,
    before: str | None,
    after: str,
    consequence: str,
) -> None:
    csrf = as_operator(portal)
    if before is not None:
        exchange(portal).session(SYSTEM, "ES", before)
    phase_before, entries = phase(portal), head(db)
    r = portal.post(f"{INSTRUMENTS}/{action}", data={"csrf": csrf})
    assert r.status_code == 200
    assert consequence in html.unescape(r.text)
    assert f'action="{INSTRUMENTS}/{action}"' in r.text
    assert (
        '<button type="submit" name="confirm" value="1"' in r.text and ">Confirm</button>" in r.text
    )
    assert re.search(
        r'<a href="/portal/operator/instruments#instrument-ES"[^>]*>Cancel</a>', r.text
    )
    assert phase(portal) == phase_before and head(db) == entries  # nothing happened
    r = portal.post(f"{INSTRUMENTS}/{action}", data={"csrf": csrf, "confirm": "1"})
    assert r.status_code == 200 and phase(portal) == after
    assert journal_kinds(db, entries) == [f"exchange.{action}"]


def test_the_confirmation_step_speaks_japanese_and_an_unknown_instrument_needs_none(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    r = portal.post(f"{INSTRUMENTS}/halt?lang=ja", data={"csrf": csrf})
    assert r.status_code == 200
    assert "ES を売買停止しますか？" in r.text and "売買再開まで停止します" in r.text
    assert ">確定する</button>" in r.text and ">キャンセル</a>" in r.text
    assert phase(portal) == "open"
    # nothing to confirm about what does not exist: the refusal comes at once
    r = portal.post("/portal/operator/instruments/NOPE/halt", data={"csrf": csrf})
    assert r.status_code == 409 and 'id="confirm"' not in r.text and "NOPE" in r.text
    # running an auction now stays one step (it is what the market does at set times)
    cross(portal, 30)
    r = portal.post(f"{INSTRUMENTS}/auction?lang=en", data={"csrf": csrf})
    assert r.status_code == 200 and "trades: 1." in r.text


def test_a_settlement_run_is_confirmed_with_the_date_and_how_many_obligations_are_due(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    cross(portal, 30, 20)
    out = exchange(portal).session(SYSTEM, "ES", "auction")
    due = out.trades[0].settlement_date
    # a malformed date is refused at once: there is nothing to confirm
    r = portal.post("/portal/operator/settlement/run", data={"csrf": csrf, "date": "soon"})
    assert r.status_code == 422 and 'id="date-error"' in r.text
    # so is a date after today's business date without "Settle early"
    r = portal.post("/portal/operator/settlement/run", data={"csrf": csrf, "date": due})
    assert r.status_code == 409 and 'id="confirm"' not in r.text
    assert "is after today's business date" in html.unescape(r.text)
    entries = head(db)
    form = {"csrf": csrf, "date": due, "early": "1"}
    r = portal.post("/portal/operator/settlement/run", data=form)
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert f"Run settlement for {due}?" in text
    assert f"every pending obligation due on or before {due} (2 now)" in text
    assert "obligations not yet due settle early" in text
    assert '<input type="hidden" name="date" value="' + due + '">' in r.text
    assert '<input type="hidden" name="early" value="1">' in r.text
    assert head(db) == entries
    assert {o.status for o in settlement.obligations(db, SYSTEM)} == {"pending"}
    r = portal.post("/portal/operator/settlement/run", data=form | {"confirm": "1"})
    assert r.status_code == 200 and f"Settlement for {due}: 2 settled, 0 failed." in r.text
    assert "settlement.run" in journal_kinds(db, entries)


def test_a_bust_and_a_cancelled_obligation_are_confirmed_first(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    cross(portal, 30, 20)
    out = exchange(portal).session(SYSTEM, "ES", "auction")
    ids = sorted(tr.id for tr in out.trades)
    bust = f"/portal/operator/trades/{ids[0]}/bust"
    entries = head(db)
    form = {"csrf": csrf, "reason_code": "erroneous_order", "note": "fat finger"}
    r = portal.post(bust, data=form)
    assert r.status_code == 200
    assert f"Bust the trade {ids[0]}?" in r.text and "reason: Erroneous order" in r.text
    assert '<input type="hidden" name="note" value="fat finger">' in r.text
    assert head(db) == entries
    r = portal.post(bust, data=form | {"confirm": "1"})
    assert r.status_code == 200 and f"Trade {ids[0]} busted:" in r.text
    # a reason the service refuses is refused at once, not confirmed
    r = portal.post(bust, data={"csrf": csrf, "reason_code": "whim"})
    assert r.status_code == 422 and "reason_code is one of" in r.text
    # a failed obligation's cancellation
    participants.set_status(db, SYSTEM, "ALPHA", "suspended")  # the buyer cannot settle
    due = dt.date.fromisoformat(out.trades[0].settlement_date)
    settlement.run(db, SYSTEM, due, early=True)
    participants.set_status(db, SYSTEM, "ALPHA", "active")
    assert {o.deal_id: o.status for o in settlement.obligations(db, SYSTEM, "failed")} == {
        ids[1]: "failed"
    }
    cancel = f"/portal/operator/settlement/obligations/{ids[1]}/cancel"
    entries = head(db)
    r = portal.post(cancel, data={"csrf": csrf})
    assert r.status_code == 200 and f"Cancel the trade {ids[1]}?" in r.text
    assert head(db) == entries
    r = portal.post(cancel, data={"csrf": csrf, "confirm": "1"})
    assert r.status_code == 200 and f"Obligation of {ids[1]}: cancelled" in r.text
    assert "settlement.cancelled" in journal_kinds(db, entries)


# ---------------------------------------------------------------- paging of the settlement lists


def _obligations(db: Database, status: str, n: int, start: int = 0) -> None:
    rows = [
        {
            "deal_id": f"T{status[0].upper()}{i:04d}",
            "status": status,
            "buyer_id": "ALPHA",
            "seller_id": "BETA",
            "buyer_account": "ALPHA-MAIN",
            "seller_account": "BETA-MAIN",
            "currency": "JPY",
            "amount": 2_000 * (i + 1),
            "quantity": i + 1,
            "due_date": f"2026-02-{1 + i % 28:02d}",
            "credit_reservation": f"R-C-{status}-{i}",
            "cash_reservation": f"R-M-{status}-{i}",
            "settled_at": f"2026-02-01T00:{i // 60:02d}:{i % 60:02d}Z"
            if status == "settled"
            else None,
        }
        for i in range(start, start + n)
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(t.settlement_obligations), rows)


def _runs(db: Database, n: int) -> None:
    rows = [
        {
            "date": f"2026-01-{1 + i % 28:02d}",
            "at": f"2026-01-01T00:00:{i % 60:02d}Z",
            "actor": f"RUN{i:03d}",
            "settled": i,
            "failed": 0,
            "cash_moved": 0,
            "credits_moved": 0,
            "fees": 0,
        }
        for i in range(n)
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(t.settlement_runs), rows)


def _rows(page: str, table: str) -> list[str]:
    body = re.search(rf'<table class="prices" id="{table}">.*?</table>', page, re.S)
    return re.findall(r'data-obligation="([^"]+)"', body.group(0)) if body else []


def test_the_settlement_lists_are_paged_fifty_a_page_with_their_counts(
    portal: TestClient, db: Database
) -> None:
    as_operator(portal)
    _obligations(db, "pending", 120)
    _obligations(db, "failed", 3)
    _obligations(db, "settled", 51)
    _runs(db, 55)
    r = portal.get("/portal/operator/settlement")
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert "Pending obligations" in text and "(120)" in text and "(51)" in text and "(55)" in text
    assert len(_rows(r.text, "pending")) == 50 and len(_rows(r.text, "failed")) == 3
    assert len(_rows(r.text, "settled")) == 50
    pending = re.search(r'<nav class="pager"[^>]*id="pending-pager".*?</nav>', r.text, re.S)
    assert pending
    assert "1–50 of 120" in pending.group(0) and "Page 1 of 3" in pending.group(0)
    assert 'href="/portal/operator/settlement?pending_page=2" rel="next"' in pending.group(0)
    assert 'rel="prev"' not in pending.group(0)
    # the next due first; the newest settled first; the newest run first
    assert _rows(r.text, "pending")[0] == "TP0000"
    assert _rows(r.text, "settled")[0] == "TS0050"
    assert r.text.count("<td>RUN") == 50 and "<td>RUN054</td>" in r.text
    # the last page of one list keeps the other lists' pages in its links
    r = portal.get("/portal/operator/settlement?pending_page=3&runs_page=2")
    assert r.status_code == 200
    assert len(_rows(r.text, "pending")) == 20 and "101–120 of 120" in html.unescape(r.text)
    assert "<td>RUN004</td>" in r.text and r.text.count("<td>RUN") == 5
    prev = html.unescape(re.findall(r'href="([^"]*)" rel="prev"', r.text)[0])
    assert prev == "/portal/operator/settlement?pending_page=2&runs_page=2"
    # past the end: an empty page that leads back, not an error
    r = portal.get("/portal/operator/settlement?settled_page=9")
    assert r.status_code == 200 and "None on this page." in r.text
    assert 'href="/portal/operator/settlement?settled_page=2" rel="prev"' in r.text
    ja = portal.get("/portal/operator/settlement?lang=ja&pending_page=2")
    assert "120 件中 51–100 件" in ja.text and "3 ページ中 2 ページ目" in ja.text


def test_a_bad_page_number_answers_a_clear_400_page(portal: TestClient, db: Database) -> None:
    as_operator(portal)
    for value in ["0", "-1", "abc", "1.5", "２", "100001", "9" * 40]:
        r = portal.get("/portal/operator/settlement", params={"failed_page": value})
        assert r.status_code == 400, value
        text = html.unescape(r.text)
        assert 'id="bad-query"' in text, value
        assert "failed_page is a page number from 1 to 100,000" in text, value
        assert 'href="/portal/operator/settlement"' in r.text
    r = portal.get("/portal/operator/settlement", params={"runs_page": " ", "junk": "x"})
    assert r.status_code == 200  # blank: the first page; another parameter: ignored


# ---------------------------------------------------------------- the journal as sentences


def test_the_journal_reads_as_sentences_with_the_raw_json_one_click_away(
    portal: TestClient, db: Database
) -> None:
    as_operator(portal)
    cross(portal, 30)
    exchange(portal).session(SYSTEM, "ES", "auction")
    r = portal.get("/portal/operator/journal")
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert re.search(
        r"\d\d:\d\d:\d\d JST · Order O\d+ placed by BETA: sell 100 t ES at ¥1,900", text
    )
    assert re.search(r"Order O\d+ placed by ALPHA: buy 30 t ES at ¥2,000", text)
    assert "Auction of ES: 30 t at ¥1,900; trades: 1" in text
    assert "Session of ES opened by SYSTEM" in text
    # a kind without a sentence of its own: the generic one, never a failure
    assert re.search(r"user\.logged_in by user:U-[0-9A-F]+@OPERATOR", text)
    # the raw entry, one click away
    first = re.search(r'<tr data-seq="(\d+)">.*?</tr>', r.text, re.S)
    assert first and "<details><summary>JSON</summary>" in first.group(0)
    shown = re.search(r'<pre class="code" data-field="json">(.*?)</pre>', first.group(0), re.S)
    assert shown and isinstance(json.loads(html.unescape(shown.group(1))), dict)
    # the filters and their paging stay
    r = portal.get("/portal/operator/journal?kind=exchange.order")
    kinds = re.findall(r'<td class="code">([a-z_.]+)</td>', r.text)
    assert kinds and set(kinds) == {"exchange.order"}
    ja = html.unescape(portal.get("/portal/operator/journal?lang=ja").text)
    assert re.search(r"注文 O\d+（BETA）: ES 100 t を ¥1,900 で売り", ja)
    assert "ES の板寄せ: ¥1,900 で 30 t、約定 1 件" in ja


def test_an_entry_a_sentence_cannot_read_falls_back_to_the_generic_sentence() -> None:
    t = texts("en", "portal", "operator")
    assert describe("exchange.order", "ALPHA", '{"v": 2}', t, "en") == "exchange.order by ALPHA"
    assert describe("exchange.order", "ALPHA", "not json", t, "en") == "exchange.order by ALPHA"
    assert describe("exchange.order", "ALPHA", "[1, 2]", t, "en") == "exchange.order by ALPHA"
    assert describe("no.such", "X", "{}", texts("ja", "portal", "operator"), "ja") == "no.such（X）"
    run = {"date": "2026-01-13", "settled": 2, "failed": 1, "cash_moved": 1_000_000}
    run |= {"credits_moved": 500, "fees": 0, "early": True}
    assert describe("settlement.run", "OPERATOR", json.dumps(run), t, "en") == (
        "Settlement run for 2026-01-13: 2 settled, 1 failed; ¥1,000,000 and 500 t moved"
        " (early, by the operator's override)"
    )
    assert when("2026-01-13T00:00:01.5Z") == "09:00:01 JST"
