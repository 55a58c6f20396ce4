"""Hostile-input fuzzing of the REST API from its own OpenAPI document, with schemathesis.

`.venv/bin/python bench/fuzz.py --requests 10000` (`--backend postgres`, `--seed N`): builds a
fresh database holding participants, credits, cash, resting orders, a trade, an obligation and a
retirement, serves the app in-process (``TestClient``, so the exchange's sequencer runs), and
sends generated requests to every operation of ``app.openapi()``: valid ones (positive) and
invalid ones (negative), each as one of eight callers (a trader, a second participant, a broker
acting for the trader, the operator, no key, two narrower keys of the trader: one with the
``read`` scope only, one with ``read``, ``transfer`` and ``retire``; and a points programme).
Path parameters and id fields of bodies are, half of the time, replaced by ids that exist (the
caller's own, sometimes another participant's), so requests get past "not found" into the
services.

Checks on every answer: no 5xx; the status code, content type, headers and body conform to the
operation's own documented responses; a participant never gets a 2xx for another participant's
id in the path. After the run: `audit.verify` (journal chain, credits and cash rebuilt from the
journal equal the stored ones). Prints requests and status classes per endpoint, then each
distinct failure with a reproducing curl command; exits 1 if anything failed.

Operations are found from the app at run time, so endpoints added later are fuzzed too.
``tests/e2e/test_fuzz.py`` runs the same harness with a few hundred requests.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from sqlalchemy import text

from tanso.api.app import create_app
from tanso.domain.participants import corporate_number_check_digit
from tanso.harness.devserver import ServerProcess
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, cash, participants, registry, taxonomy
from tanso.settings import utc_now
from tanso.store import migrate, repo
from tanso.store.db import Database

PG_BASE = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_fuzz"

CHECKS = [
    getattr(schemathesis.checks, name)
    for name in (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
]

AUTH_HEADERS = {"authorization", "x-api-key", "x-on-behalf-of"}

# Path parameters that name something a participant owns: a 2xx for another's is a leak.
OWNED = {
    "pid",
    "account_id",
    "cash_account_id",
    "order_id",
    "key_id",
    "deal_id",
    "bid_id",
    "quote_id",
    "contract_id",
}


# ---------------------------------------------------------------- the world


@dataclass
class Caller:
    """One identity the fuzzer speaks as: headers, and the ids it owns."""

    name: str
    headers: dict[str, str]
    ids: dict[str, str]


@dataclass
class World:
    db: Database
    client: httpx.Client  # a TestClient (in-process) or a client of a live server
    callers: list[Caller]
    other: dict[str, dict[str, str]]  # per caller name: another participant's ids


def _corporate_number(n: int) -> str:
    base = str(100000000000 + n).zfill(12)
    return f"{corporate_number_check_digit(base)}{base}"


def seed_participants(db: Database) -> dict[str, str]:
    """Participants, keys, credits and cash (through the services) in a bootstrapped database;
    returns the API keys by participant."""
    keys: dict[str, str] = {}
    for n, (pid, roles) in enumerate(
        [("ALPHA", ["trader"]), ("BETA", ["trader"]), ("BROKR", ["broker"]), ("SPARE", ["trader"])]
    ):
        keys[pid] = participants.onboard(
            db,
            SYSTEM,
            participants.NewParticipant(
                f"{pid} 株式会社",
                f"{pid} Corp.",
                "corporation",
                roles,
                _corporate_number(n + 1),
                False,
                pid,
            ),
            "fuzz",
        )
    keys["OPERATOR"] = str(participants.create_api_key(db, SYSTEM, "OPERATOR", "fuzz").key)
    participants.authorise_broker(db, SYSTEM, "ALPHA", "BROKR", True)
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("P0001", "JC", "Fuzz project", "ENERGY_SAVING", "JP")
    )
    cash.deposit(db, SYSTEM, "SPARE", "JPY", 10_000_000, "bank-SPARE")
    for pid, vintage in (("ALPHA", 2021), ("BETA", 2022)):
        registry.issue(
            db,
            SYSTEM,
            registry.NewIssuance("P0001", "ER", str(vintage - 2020), vintage, 5_000, f"{pid}-MAIN"),
        )
        cash.deposit(db, SYSTEM, pid, "JPY", 50_000_000, f"bank-{pid}")
    # SPARE sells to ALPHA on the marketplace, so that neither trader's deal is the other's
    registry.issue(db, SYSTEM, registry.NewIssuance("P0001", "ER", "3", 2023, 100, "SPARE-MAIN"))
    # a removal project whose forward volumes the traders and SPARE list (offtake contracts)
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject("RM001", "JC", "Fuzz removals", "OTHER", "JP", mechanism="removal"),
    )
    # its developers: only an account the registry issued the project's credits into lists it
    for n, pid in enumerate(("SPARE", "ALPHA", "BETA"), 1):
        registry.issue(
            db, SYSTEM, registry.NewIssuance("RM001", "RM", f"9{n}", 2025, 1, f"{pid}-MAIN")
        )
    return keys


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code < 300, (r.request.url, r.status_code, r.text)
    body: dict[str, Any] = r.json()
    return body


def build(db: Database, client: httpx.Client, keys: dict[str, str]) -> World:
    """Market activity over HTTP (the sequencer must run): an instrument, orders, a trade."""
    c = client
    auth = {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}
    _ok(
        c.post(
            "/v1/instruments",
            headers=auth["OPERATOR"],
            json={
                "id": "JC-FZ",
                "name_en": "Fuzz",
                "name_ja": "ファズ",
                "eligibility": {"schemes": ["JC"], "categories": ["ENERGY_SAVING"]},
                "mode": "continuous",
                "reference_price": 2_000,
            },
        )
    )
    _ok(c.post("/v1/instruments/JC-FZ/open", headers=auth["OPERATOR"]))
    order = {"instrument": "JC-FZ", "quantity": 10}
    _ok(c.post("/v1/orders", headers=auth["BETA"], json=order | {"side": "sell", "price": 2_000}))
    a_trade = _ok(
        c.post("/v1/orders", headers=auth["ALPHA"], json=order | {"side": "buy", "price": 2_000})
    )
    a_rest = _ok(
        c.post("/v1/orders", headers=auth["ALPHA"], json=order | {"side": "buy", "price": 1_900})
    )
    b_rest = _ok(
        c.post("/v1/orders", headers=auth["BETA"], json=order | {"side": "sell", "price": 2_100})
    )
    trades = c.get("/v1/trades", headers=auth["ALPHA"])
    assert trades.status_code == 200 and trades.json(), trades.text
    trade: dict[str, Any] = trades.json()[0]
    retirement = _ok(
        c.post(
            "/v1/retirements",
            headers=auth["ALPHA"],
            json={"account_id": "ALPHA-MAIN", "quantity": 5, "purpose": "offset_scope1"},
        )
    )
    spare_key = _ok(c.post("/v1/participants/ALPHA/api-keys", headers=auth["ALPHA"], json={}))
    spare_key_b = _ok(c.post("/v1/participants/BETA/api-keys", headers=auth["BETA"], json={}))
    common = {
        "instrument_id": "JC-FZ",
        "project_id": "P0001",
        "issuance_id": "JC-ER-P0001-1",
        "retirement_id": str(retirement["id"]),
        "trade_id": str(trade["id"]),
        "date": str(trade.get("trade_date") or "2026-01-05"),
        "side": "buy",
        "broker_id": "BROKR",
        "index_id": "JC-FZ",
        "reporting_year": "2025",
    }

    def own(pid: str, order_id: str, key_id: str) -> dict[str, str]:
        return common | {
            "pid": pid,
            "participant_id": pid,
            "account_id": f"{pid}-MAIN",
            "from_account": f"{pid}-MAIN",
            "to_account": "BETA-MAIN" if pid != "BETA" else "ALPHA-MAIN",
            "cash_account_id": f"CASH-{pid}-JPY",
            "order_id": order_id,
            "key_id": key_id,
        }

    alpha = own("ALPHA", str(a_rest["id"]), str(spare_key["id"]))
    beta = own("BETA", str(b_rest["id"]), str(spare_key_b["id"]))
    # the operator acts on the spare participant, so that a generated suspension or change of
    # roles does not take the other callers out of the run
    operator = own("SPARE", str(a_trade["id"]), "0123456789abcdef")
    callers = [
        Caller("trader", auth["ALPHA"], alpha),
        Caller("second", auth["BETA"], beta),
        Caller("broker", auth["BROKR"] | {"X-On-Behalf-Of": "ALPHA"}, alpha),
        Caller("operator", auth["OPERATOR"], operator),
        Caller("anonymous", {}, alpha),
    ]
    # the trader's own narrower keys: one that only reads, one that only moves and retires
    for name, scopes in (("reader", ["read"]), ("mover", ["read", "transfer", "retire"])):
        made = _ok(
            c.post(
                "/v1/participants/ALPHA/api-keys",
                headers=auth["ALPHA"],
                json={"label": f"fuzz {name}", "scopes": scopes},
            )
        )
        callers.append(Caller(name, {"Authorization": f"Bearer {made['key']}"}, alpha))
    other = {c.name: beta for c in callers} | {"second": alpha}
    more(client, auth, alpha, beta)
    offtake(client, auth, alpha, beta)
    notice = market_notice(client, auth)  # a public market notice: anyone may read it
    for ids in (alpha, beta, operator):
        ids.update(notice)
    programme = points_programme(client, auth, alpha, beta)
    if programme is not None:
        callers.append(programme)
        other["programme"] = alpha
    return World(db, client, callers, other)


POINTS_METHOD: dict[str, Any] = {
    "effective_from": "2025-04-01",
    "source": "fuzz",
    "actions": [
        {"code": "cycled_km", "name_en": "km", "name_ja": "km", "unit": "km", "grams_per_unit": 130}
    ],
    "double_counting": {"overlaps": [], "settled": False, "treatment": "fuzz"},
}


def market_notice(c: httpx.Client, auth: dict[str, dict[str, str]]) -> dict[str, str]:
    """A market notice the operator published (public: every caller names it); best effort."""
    r = c.post(
        "/v1/market/notices",
        headers=auth["OPERATOR"],
        json={
            "kind": "holiday",
            "title_en": "Fuzz holiday",
            "title_ja": "休業日",
            "body_en": "Closed.",
            "body_ja": "休業します。",
            "effective_on": "2026-12-31",
        },
    )
    return {"market_notice_id": str(r.json()["id"])} if r.status_code < 300 else {}


def points_programme(
    c: httpx.Client, auth: dict[str, dict[str, str]], alpha: dict[str, str], beta: dict[str, str]
) -> Caller | None:
    """A points programme run by SPARE (PP-FUZZ) with its methodology, a batch of events and an
    open pool, and a caller with SPARE's key that holds the ``points`` scope; the traders' ids
    name the programme too (another participant's: public or 404). Best effort, as ``more``."""
    r = c.post(
        "/v1/points/programmes",
        headers=auth["OPERATOR"],
        json={"id": "PP-FUZZ", "participant_id": "SPARE", "name_en": "Fuzz", "name_ja": "ファズ"},
    )
    if r.status_code >= 300:
        return None
    # made by the operator: SPARE's own key predates its new role, and a key makes no key
    # with more than it holds
    key = c.post("/v1/participants/SPARE/api-keys", headers=auth["OPERATOR"], json={"label": "pt"})
    if key.status_code >= 300:
        return None
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    c.post("/v1/points/PP-FUZZ/methodologies", headers=headers, json=POINTS_METHOD)
    member = "5" * 64
    event = {"event_id": "f1", "member": member, "action": "cycled_km", "quantity": 10}
    batch = c.post(
        "/v1/points/PP-FUZZ/events",
        headers=headers | {"Content-Type": "application/x-ndjson"},
        content=json.dumps(event | {"occurred_on": "2026-01-05"}).encode(),
    )
    pool = c.post("/v1/points/PP-FUZZ/pools", headers=headers, json={"name": "fuzz"})
    ids = {"programme": "PP-FUZZ", "member": member}
    if batch.status_code < 300:
        ids["batch_id"] = str(batch.json()["id"])
    if pool.status_code < 300:
        ids["pool_id"] = str(pool.json()["id"])
    alpha.update(ids)
    beta.update(ids)
    spare = dict(beta) | {"pid": "SPARE", "participant_id": "SPARE", "account_id": "SPARE-MAIN"}
    return Caller("programme", headers, spare)


def more(
    c: httpx.Client, auth: dict[str, dict[str, str]], alpha: dict[str, str], beta: dict[str, str]
) -> None:
    """Ids of the marketplace, sealed-bid auctions and inventories, each participant's own.

    Best effort: an id whose request fails (an endpoint changed or gone) is left out, and
    requests that name it use a missing id instead."""

    def made(method: str, url: str, who: str, body: dict[str, Any]) -> str | None:
        r = c.request(method, url, headers=auth[who], json=body)
        return str(r.json().get("id")) if r.status_code < 300 else None

    window = {"opens_at": "2026-01-05T00:00:00Z", "closes_at": "2026-01-09T00:00:00Z"}
    for pid, ids, issuance in (
        ("ALPHA", alpha, "JC-ER-P0001-1"),
        ("BETA", beta, "JC-ER-P0001-2"),
    ):
        account = f"{pid}-MAIN"
        found = {
            "listing_id": made(
                "POST",
                "/v1/marketplace/listings",
                pid,
                {"account_id": account, "issuance_id": issuance, "price": 2_500, "quantity": 20},
            ),
            "rfq_id": made(
                "POST", "/v1/marketplace/rfqs", pid, {"quantity": 5, "project_id": "P0001"}
            ),
            "auction_id": made(
                "POST",
                "/v1/sealed-auctions",
                pid,
                {"account_id": account, "quantity": 10, "reserve": 1_000} | window,
            ),
        }
        made("PUT", f"/v1/inventories/{pid}/2025", pid, {"scope1": 100})
        ids.update({k: v for k, v in found.items() if v})
    # each participant's deal (ALPHA buys from SPARE, SPARE from BETA: neither deal is the
    # other trader's), offer and bid
    spare_listing = made(
        "POST",
        "/v1/marketplace/listings",
        "SPARE",
        {
            "account_id": "SPARE-MAIN",
            "issuance_id": "JC-ER-P0001-3",
            "price": 2_500,
            "quantity": 20,
        },
    )
    for pid, ids, theirs, buyer, seller in (
        ("ALPHA", alpha, beta, "ALPHA", spare_listing),
        ("BETA", beta, alpha, "SPARE", beta.get("listing_id")),
    ):
        account = f"{pid}-MAIN"
        deal = None
        if seller:
            deal = made(
                "POST",
                f"/v1/marketplace/listings/{seller}/purchases",
                buyer,
                {"quantity": 1, "account_id": f"{buyer}-MAIN"},
            )
        issuance = "JC-ER-P0001-1" if pid == "ALPHA" else "JC-ER-P0001-2"
        found = {
            "deal_id": deal,
            "offer_id": made(
                "POST",
                f"/v1/marketplace/rfqs/{theirs.get('rfq_id', 'X1')}/offers",
                pid,
                {
                    "account_id": account,
                    "issuance_id": issuance,
                    "price": 2_000,
                    "quantity": 5,
                    "expires_at": "2026-01-09T00:00:00Z",
                },
            ),
            "bid_id": made(
                "POST",
                f"/v1/sealed-auctions/{theirs.get('auction_id', 'X1')}/bids",
                pid,
                {"account_id": account, "price": 1_500, "quantity": 2},
            ),
        }
        ids.update({k: v for k, v in found.items() if v})


def offtake(
    c: httpx.Client, auth: dict[str, dict[str, str]], alpha: dict[str, str], beta: dict[str, str]
) -> None:
    """Ids of forward offtake contracts: each trader's own listing of RM001's forward volumes,
    and its quote on SPARE's listing answered by SPARE and signed (a contract between the trader
    and SPARE, so neither trader's quote or contract is the other's). Best effort, as ``more``."""

    def made(url: str, who: str, body: dict[str, Any] | None = None) -> str | None:
        r = c.post(url, headers=auth[who], json=body or {})
        return str(r.json().get("id")) if r.status_code < 300 else None

    fixed = {"kind": "fixed", "price": 30_000}

    def listing(pid: str) -> str | None:
        body = {
            "project_id": "RM001",
            "account_id": f"{pid}-MAIN",
            "vintages": {"2027": 100, "2028": 100},
            "price_rule": fixed,
        }
        return made("/v1/offtake/listings", pid, body)

    spare = listing("SPARE")
    terms = {"price_rule": fixed, "shortfall_rule": "refund", "prepaid_per_tonne": 1_000}
    for pid, ids in (("ALPHA", alpha), ("BETA", beta)):
        found = {"offtake_listing_id": listing(pid), "vintage": "2027"}
        if spare:
            want = {"account_id": f"{pid}-MAIN", "vintages": {"2027": 10, "2028": 10}}
            quote = made(f"/v1/offtake/listings/{spare}/quotes", pid, want)
            if quote:
                found["quote_id"] = quote
                answered = c.post(
                    f"/v1/offtake/quotes/{quote}/terms", headers=auth["SPARE"], json=terms
                )
                if answered.status_code < 300:
                    version = {"terms_version": answered.json()["terms_version"]}
                    r = c.post(f"/v1/offtake/quotes/{quote}/sign", headers=auth[pid], json=version)
                    if r.status_code < 300:
                        found["contract_id"] = str(r.json()["id"])
        ids.update({k: v for k, v in found.items() if v})


# ---------------------------------------------------------------- the run


@dataclass
class Failure:
    endpoint: str
    kind: str
    status: int
    detail: str
    reproduce: str


@dataclass
class Report:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[tuple[str, str], Failure] = field(default_factory=dict)
    seen_failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    audit_ok: bool = False
    audit_problems: list[str] = field(default_factory=list)
    journal_entries: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def ok(self) -> bool:
        return not self.failures and self.audit_ok

    def add_failure(self, f: Failure) -> None:
        key = (f.endpoint, f.kind)
        self.seen_failures[key] += 1
        self.failures.setdefault(key, f)

    def lines(self) -> Iterator[str]:
        width = max((len(e) for e in self.counts), default=10)
        classes = ["2xx", "401", "403", "404", "409", "422", "4xx", "5xx"]
        yield f"{'endpoint':<{width}}  {'total':>6}  " + "  ".join(f"{c:>5}" for c in classes)
        for endpoint in sorted(self.counts):
            c = self.counts[endpoint]
            yield (
                f"{endpoint:<{width}}  {sum(c.values()):>6}  "
                + "  ".join(f"{c.get(k, 0):>5}" for k in classes)
            )
        total: Counter[str] = Counter()
        for c in self.counts.values():
            total.update(c)
        yield (
            f"{'all ' + str(len(self.counts)) + ' endpoints':<{width}}  {self.requests:>6}  "
            + "  ".join(f"{total.get(k, 0):>5}" for k in classes)
        )
        yield ""
        yield f"failures: {sum(self.seen_failures.values())} ({len(self.failures)} distinct)"
        for key, f in sorted(self.failures.items()):
            yield f"- {f.endpoint}: {f.kind} (status {f.status}, seen {self.seen_failures[key]}x)"
            yield "    " + f.detail.strip().replace("\n", "\n    ")[:1500]
            yield "    " + f.reproduce
        yield ""
        yield (
            f"audit verify: {'ok' if self.audit_ok else 'FAILED'} "
            f"({self.journal_entries} journal entries) {'; '.join(self.audit_problems[:5])}"
        )
        yield f"{self.requests} requests in {self.seconds:.1f} s"


def status_class(status: int) -> str:
    if 200 <= status < 300:
        return "2xx"
    if status in (401, 403, 404, 409, 422):
        return str(status)
    return "5xx" if status >= 500 else "4xx"


ID_FIELDS = {
    "pid": "pid",
    "participant_id": "participant_id",
    "account_id": "account_id",
    "from_account": "from_account",
    "to_account": "to_account",
    "cash_account_id": "cash_account_id",
    "order_id": "order_id",
    "key_id": "key_id",
    "instrument": "instrument_id",
    "instrument_id": "instrument_id",
    "project_id": "project_id",
    "issuance_id": "issuance_id",
    "retirement_id": "retirement_id",
    "trade_id": "trade_id",
    "broker_id": "broker_id",
    "date": "date",
    "side": "side",
    "index_id": "index_id",
    "listing_id": "listing_id",
    "rfq_id": "rfq_id",
    "offer_id": "offer_id",
    "deal_id": "deal_id",
    "auction_id": "auction_id",
    "bid_id": "bid_id",
    "reporting_year": "reporting_year",
    "programme": "programme",
    "member": "member",
    "pool_id": "pool_id",
    "batch_id": "batch_id",
    "offtake_listing_id": "offtake_listing_id",
    "quote_id": "quote_id",
    "contract_id": "contract_id",
    "vintage": "vintage",
    "market_notice_id": "market_notice_id",
}


def substitute(case: Any, ids: dict[str, str], rnd: random.Random) -> None:
    """Put real ids into path parameters and id fields of a JSON body, each half of the time."""
    if case.path_parameters:
        for name in list(case.path_parameters):
            known = ids.get(ID_FIELDS.get(name, name))
            if known is not None and rnd.random() < 0.5:
                case.path_parameters[name] = known
    if isinstance(case.body, dict):
        for name in list(case.body):
            known = ids.get(ID_FIELDS.get(name, ""))
            if known is not None and rnd.random() < 0.5:
                case.body[name] = known
    if case.query:
        for name in list(case.query):
            known = ids.get(ID_FIELDS.get(name, ""))
            if known is not None and rnd.random() < 0.5:
                case.query[name] = known


def fuzz(world: World, requests: int, seed_value: int = 0) -> Report:
    """Send about ``requests`` generated requests spread evenly over every operation."""
    schema = schemathesis.openapi.from_dict(world.client.get("/openapi.json").json())
    operations = [r.ok() for r in schema.get_all_operations()]
    report = Report()
    rnd = random.Random(seed_value)
    # the remainder goes one each to the first operations: ``requests`` in all (two at least
    # per operation)
    each, extra = divmod(requests, max(1, len(operations)))
    started = time.perf_counter()
    checked = journal_head(world.db)
    for i, operation in enumerate(operations):
        per_operation = max(2, each + (i < extra))
        fuzz_operation(world, operation, per_operation, seed_value, rnd, report)

        head = journal_head(world.db)
        if head != checked:  # the operation changed something: do the books still balance?
            checked = head
            result = audit.verify(world.db)
            if not result.ok:
                report.add_failure(
                    Failure(
                        f"{operation.method.upper()} {operation.path}",
                        "audit verify failed after this operation's requests",
                        0,
                        "; ".join(result.problems[:5]),
                        f"journal entries {result.entries}",
                    )
                )
    report.seconds = time.perf_counter() - started
    result = audit.verify(world.db)
    report.audit_ok = result.ok
    report.audit_problems = list(result.problems)
    report.journal_entries = result.entries
    return report


def fuzz_operation(
    world: World, operation: Any, examples: int, seed_value: int, rnd: random.Random, report: Report
) -> None:
    """Generated requests for one operation, each as one of the callers."""
    if True:
        endpoint = f"{operation.method.upper()} {operation.path}"
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(seed_value * 7_919 + zlib.crc32(endpoint.encode()))  # a run repeats by --seed
        @given(case=strategy, pick=st.integers(0, 10**9))
        def one(case: Any, pick: int) -> None:
            rnd.seed(seed_value * 1_000_003 + pick)
            caller = world.callers[pick % len(world.callers)]
            foreign = rnd.random() < 0.25 and caller.name != "operator"
            ids = world.other[caller.name] if foreign else caller.ids
            substitute(case, ids, rnd)
            if case.headers and rnd.random() < 0.9:
                # generated credentials would replace the caller's (X-Api-Key wins): keep
                # them one time in ten, as hostile headers of their own
                for name in [n for n in case.headers if n.lower() in AUTH_HEADERS]:
                    del case.headers[name]
            kwargs = case.as_transport_kwargs(
                base_url=str(world.client.base_url).rstrip("/"), headers=caller.headers
            )
            kwargs.pop("cookies", None)
            method, url = kwargs.pop("method"), kwargs.pop("url")
            body_kwargs = {
                k: kwargs[k] for k in ("json", "content", "data", "files") if k in kwargs
            }
            if "data" in body_kwargs and not isinstance(body_kwargs["data"], dict):
                body_kwargs["content"] = body_kwargs.pop("data")
            if "files" in body_kwargs:
                body_kwargs["files"] = sendable_files(body_kwargs["files"])
            request = world.client.build_request(
                method,
                url,
                params=kwargs.get("params"),
                headers={k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
                **body_kwargs,
            )
            request.read()  # a file upload's body is a stream: read once, the checks re-read it
            response = world.client.send(request)
            report.counts[endpoint][status_class(response.status_code)] += 1
            reproduce = f"{caller.name}: {method} {response.request.url}"
            if "json" in body_kwargs:
                reproduce += f" json={str(body_kwargs['json'])[:300]}"
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                for failure in group.exceptions:
                    report.add_failure(
                        Failure(
                            endpoint,
                            type(failure).__name__ + ": " + str(failure.title),
                            response.status_code,
                            str(failure.message)[:800] + "\n" + response.text[:300],
                            reproduce,
                        )
                    )
            except Exception as exc:  # a check that could not run is a finding too
                report.add_failure(
                    Failure(endpoint, type(exc).__name__, response.status_code, str(exc), reproduce)
                )
            if (
                foreign
                and caller.name != "anonymous"
                and 200 <= response.status_code < 300
                and any(
                    case.path_parameters.get(p) == world.other[caller.name].get(p)
                    for p in OWNED & set(case.path_parameters or {})
                )
            ):
                report.add_failure(
                    Failure(
                        endpoint,
                        "another participant's id answered 2xx",
                        response.status_code,
                        response.text[:500],
                        reproduce,
                    )
                )

        one()


def sendable_files(files: Any) -> Any:
    """A generated multipart ``files`` value whose contents can go on the wire: a content that
    is no file (a number, null, a list) is sent as its JSON text, still hostile to the route."""

    def content(value: Any) -> Any:
        return value if isinstance(value, bytes | str) else json.dumps(value).encode()

    def part(value: Any) -> Any:
        if isinstance(value, tuple) and len(value) >= 2:
            return (value[0], content(value[1]), *value[2:])
        return content(value)

    if isinstance(files, dict):
        return {name: part(v) for name, v in files.items()}
    if isinstance(files, list | tuple):
        return [
            (item[0], part(item[1])) if isinstance(item, tuple) and len(item) == 2 else item
            for item in files
        ]
    return files  # None, or something httpx refuses on its own


def journal_head(db: Database) -> int:
    with db.read() as conn:
        row = repo.journal_head(conn)
        return int(row.seq) if row is not None else 0


# ---------------------------------------------------------------- databases and main


@contextmanager
def database(backend: str, clock: Callable[[], str] | None = None) -> Iterator[Database]:
    """A fresh, migrated database; its URL (for a server) is ``db.fuzz_url``."""
    clock = clock or _clock()
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            url = f"sqlite:///{Path(d) / 'fuzz.db'}"
            db = Database(url, clock)
            db.fuzz_url = url  # type: ignore[attr-defined]
            migrate.upgrade(db.engine)
            try:
                yield db
            finally:
                db.dispose()
        return
    from sqlalchemy import create_engine

    admin = create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    db = Database(PG_BASE, clock, pg_schema=PG_SCHEMA)
    db.fuzz_url = f"{PG_BASE}?options=-csearch_path%3D{PG_SCHEMA}"  # type: ignore[attr-defined]
    migrate.upgrade(db.engine)
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def _clock() -> Callable[[], str]:
    """Monday 2026-01-05 09:00 in Tokyo, a microsecond later at each transaction."""
    n = [0]

    def now() -> str:
        n[0] += 1
        i = n[0]
        minutes, seconds, micros = i // 60_000_000 % 60, i // 1_000_000 % 60, i % 1_000_000
        return f"2026-01-05T00:{minutes:02d}:{seconds:02d}.{micros:06d}Z"

    return now


def run(db: Database, requests: int, seed_value: int = 0) -> Report:
    """Seed ``db``, serve the app in-process, fuzz it and verify the journal."""
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    keys = seed_participants(db)
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        world = build(db, client, keys)
        return fuzz(world, requests, seed_value)


def run_live(db: Database, requests: int, seed_value: int = 0) -> Report:
    """The same against `tanso serve` in a child process (uvicorn, real sockets, loopback);
    rate limits off, as the soak has them: this is about input, not about load."""
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    keys = seed_participants(db)
    env = {"TANSO_RATE_LIMIT_KEY_PER_SECOND": "0", "TANSO_RATE_LIMIT_IP_PER_SECOND": "0"}
    server = ServerProcess(db.fuzz_url, Path.cwd(), env=env)  # type: ignore[attr-defined]
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            world = build(db, client, keys)
            return fuzz(world, requests, seed_value)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--live", action="store_true", help="against `tanso serve` in a child process"
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the request log: one line per request otherwise
    if args.live:
        with database(args.backend, utc_now) as db:
            report = run_live(db, args.requests, args.seed)
    else:
        with database(args.backend) as db:
            report = run(db, args.requests, args.seed)
    where = "live server" if args.live else "in-process"
    print(f"backend: {args.backend} ({where}), seed {args.seed}")
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
