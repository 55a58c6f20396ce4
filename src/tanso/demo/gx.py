"""The demo's GX-ETS, FY2026 (April 2026 to March 2027): what `tanso init --demo` adds.

Ten covered entities across the sectors (steel, cement, paper, chemicals, refining and power by
benchmark; glass, automotive, non-ferrous metals and food by grandfathering), with direct CO2
emissions from 0.13 to 19 Mt; their allocations, emissions reported and verified by a
registration verification body (登録確認機関), allowances surrendered, and the surplus offered
on the exchange (GX-ALLOW-2026). One entity, 白嶺セメント (SHIRANE_CEMENT), emits more than it
was allocated: it surrenders what it holds and stays short, with a bid resting on the exchange.
疾風硝子 (HAYATE_GLASS) covers its shortfall with J-Credits of its own project (within the 10%
cap) and pays the reference ceiling price for the rest. 桜木食品 (SAKURAGI_FOODS) has reported
its emissions; they await the verification body.

Demo simplification: the demo runs during FY2026, before any FY2026 emissions could really be
reported (due 2027-09-30) or allowances surrendered (by 2028-01-31); it records each entity's
expected emissions as reported and verified, and the surrenders, now.

Two steps, so that allowances trade in the history at the exchange's ordinary call auctions
(11:30 and 15:00) and never in a special session: ``prepare`` runs before the history days
(participants, allocations, emissions, surrenders, and the sellers' standing asks, good till
cancelled), the history's buyers lift those asks; ``seed`` runs after it and reports. The new
participants' keys join the demo's after the other venues are seeded, so that the trading
history and the sealed-bid auctions keep to the demo's original participants. Everything goes
through the services; every fact is a journal entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.demo.market import DemoParticipant, corporate_number
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import gx_compliance, gx_cycle
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.ledger.blocks import Selection
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import allowance_instrument
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database

FISCAL_YEAR = 2026
INSTRUMENT = f"GX-ALLOW-{FISCAL_YEAR}"
ROLES = ("trader",)


@dataclass(frozen=True, slots=True)
class CoveredDemo:
    """A covered entity of the demo: who, where, how it is allocated, what it emits, and what
    it offers on the exchange (tonnes and yen per tonne) or bids for."""

    participant: DemoParticipant
    sector: str
    facility: str
    method: str
    inputs: dict[str, Any]
    emissions: int
    """Expected direct CO2 emissions of FY2026, t-CO2 (reported and verified in the demo)."""
    ask: tuple[int, int] | None = None
    bid: tuple[int, int] | None = None


def _p(pid: str, ja: str, en: str, n: int) -> DemoParticipant:
    # invented 法人番号 bases of office code 9999 07, clear of the other demo participants'
    return DemoParticipant(pid, ja, en, "corporation", ROLES, f"9999070001{n:02d}")


VERIFIER = DemoParticipant(
    "KOKUSEI_VERIFY",
    "国成検証センター株式会社",
    "Kokusei Verification Centre Co., Ltd.",
    "corporation",
    ("verification_body",),
    "999907000100",
)

COVERED: tuple[CoveredDemo, ...] = (
    CoveredDemo(
        _p("KAMINE_STEEL", "上峰製鉄株式会社", "Kamine Steel Corporation", 1),
        "steel",
        "君ヶ浜製鉄所",
        "benchmark",
        {"sector": "steel", "production": 8_500_000},
        16_050_000,
        ask=(150_000, 2_450),
    ),
    CoveredDemo(
        _p("SHIRANE_CEMENT", "白嶺セメント株式会社", "Shirane Cement Co., Ltd.", 2),
        "cement",
        "白嶺工場",
        "benchmark",
        {"sector": "cement", "production": 6_200_000},
        5_150_000,
        bid=(20_000, 2_300),
    ),
    CoveredDemo(
        _p("OKUMA_PAPER", "大隈製紙株式会社", "Okuma Paper Mfg. Co., Ltd.", 3),
        "paper",
        "大隈工場",
        "benchmark",
        {"sector": "paper", "production": 2_400_000},
        1_208_000,
        ask=(60_000, 2_520),
    ),
    CoveredDemo(
        _p("MINATO_CHEM", "湊化学工業株式会社", "Minato Chemical Industries, Ltd.", 4),
        "chemicals",
        "湊エチレンセンター",
        "benchmark",
        {"sector": "chemicals", "production": 1_150_000},
        1_241_000,
    ),
    CoveredDemo(
        _p("SETO_REFINING", "瀬戸石油精製株式会社", "Seto Oil Refining Co., Ltd.", 5),
        "refining",
        "瀬戸製油所",
        "benchmark",
        {"sector": "refining", "production": 14_000_000},
        301_500,
    ),
    CoveredDemo(
        _p("HIBIKI_POWER", "響電力株式会社", "Hibiki Electric Power Co., Inc.", 6),
        "power",
        "響火力発電所",
        "benchmark",
        {"sector": "power", "production": 52_000_000},
        19_020_000,
        ask=(100_000, 2_400),
    ),
    CoveredDemo(
        _p("HAYATE_GLASS", "疾風硝子株式会社", "Hayate Glass Co., Ltd.", 7),
        "glass",
        "疾風硝子 千葉工場",
        "grandfathering",
        {"base_emissions": 420_000},
        440_000,
    ),
    CoveredDemo(
        _p("TSURUGI_MOTORS", "剣自動車株式会社", "Tsurugi Motor Corporation", 8),
        "automotive",
        "剣自動車 本社工場",
        "grandfathering",
        {"base_emissions": 1_150_000},
        1_112_000,
    ),
    CoveredDemo(
        _p("MIKUNI_METALS", "三国非鉄金属株式会社", "Mikuni Non-Ferrous Metals Co., Ltd.", 9),
        "non_ferrous_metals",
        "三国製錬所",
        "grandfathering",
        {"base_emissions": 760_000},
        739_000,
    ),
    CoveredDemo(
        _p("SAKURAGI_FOODS", "桜木食品工業株式会社", "Sakuragi Food Industries Co., Ltd.", 10),
        "food",
        "桜木食品 北上工場",
        "grandfathering",
        {"base_emissions": 132_000},
        126_500,
    ),
)
SHORT = "SHIRANE_CEMENT"
PENDING = "SAKURAGI_FOODS"
"""The entity whose reported emissions still await the verification body."""
MIXED = "HAYATE_GLASS"
"""The entity that covers its emissions three ways: allowances, J-Credits from its own
energy-saving project (within the 10% cap), and the reference ceiling price for the rest."""
MIXED_CREDITS = 20_000
BIDDER_CASH = 100_000_000
"""Yen the short entity deposits for its bid."""


def _register(db: Database, p: DemoParticipant) -> tuple[str, Actor]:
    number = corporate_number(p.corporate_base) if p.corporate_base else None
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            p.name_ja, p.name_en, p.kind, list(p.roles), number, p.gx_league, p.id
        ),
    )
    participants.set_status(db, SYSTEM, p.id, "active", "approved: demo market")
    key = participants.create_api_key(db, SYSTEM, p.id, "demo key").key
    return key, participants.authenticate(db, key)


def prepare(
    db: Database, exchange: Exchange, clock: DemoClock, days: list[dt.date]
) -> dict[str, str]:
    """Before the history: the covered entities and the verification body, FY2026's cycle up
    to the surrenders, and the sellers' standing asks on GX-ALLOW-2026 (its session opened for
    them on the first history day). Returns the new participants' API keys."""
    clock.set(at_jst(days[0], 8, 30))
    keys: dict[str, str] = {}
    actors: dict[str, Actor] = {}
    for p in (VERIFIER, *(c.participant for c in COVERED)):
        keys[p.id], actors[p.id] = _register(db, p)
    verifier = actors[VERIFIER.id]
    for c in COVERED:
        pid = c.participant.id
        gx_cycle.cover(db, SYSTEM, pid, FISCAL_YEAR, [c.sector], [c.facility])
        gx_cycle.allocate(db, SYSTEM, pid, FISCAL_YEAR, c.method, c.inputs)
        gx_cycle.report_emissions(
            db, actors[pid], pid, FISCAL_YEAR, c.emissions, "Demo: expected FY2026 emissions."
        )
        if pid == PENDING:
            continue  # reported; the verification body has it on its screen
        gx_cycle.verify_emissions(db, verifier, pid, FISCAL_YEAR, "verified")
        held = gx_compliance.compliance(db, actors[pid], pid, FISCAL_YEAR).held_allowances
        gx_compliance.surrender(
            db,
            actors[pid],
            pid,
            FISCAL_YEAR,
            "allowances",
            f"{pid}-GX",
            Selection(quantity=min(held, c.emissions)),
        )
    _cover_the_rest(db, actors[MIXED])
    with db.read() as conn:
        listed = repo.get_by_id(conn, t.instruments, INSTRUMENT) is not None
    if not listed:
        exchange.define_instrument(SYSTEM, allowance_instrument(FISCAL_YEAR))
    exchange.session(SYSTEM, INSTRUMENT, "open")
    cash.deposit(db, SYSTEM, SHORT, "JPY", BIDDER_CASH, f"DEMO-BANK-{SHORT}-0001")
    for c in COVERED:
        pid = c.participant.id
        for side, order in (("sell", c.ask), ("buy", c.bid)):
            if order is not None:
                quantity, price = order
                exchange.place(
                    actors[pid],
                    NewOrder(INSTRUMENT, side, quantity, price, tif="gtc", account_id=f"{pid}-GX"),
                )
    return keys


def _cover_the_rest(db: Database, entity: Actor) -> None:
    """The mixed entity's shortfall after its allowances: J-Credits of its own furnace project,
    then the reference ceiling price for what remains."""
    pid = entity.participant_id
    project = "HAYATEES1"
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(
            project,
            "JC",
            "Hayate Glass furnace waste-heat recovery",
            "ENERGY_SAVING",
            "JP",
            name_ja="疾風硝子 溶解炉排熱回収",
            region="千葉県",
            developer="疾風硝子株式会社",
        ),
    )
    registry.issue(
        db, SYSTEM, registry.NewIssuance(project, "ER", "1", 2024, MIXED_CREDITS, f"{pid}-MAIN")
    )
    gx_compliance.surrender(
        db, entity, pid, FISCAL_YEAR, "credits", f"{pid}-MAIN", Selection(quantity=MIXED_CREDITS)
    )
    rest = gx_compliance.compliance(db, entity, pid, FISCAL_YEAR)
    assert rest.shortfall and rest.shortfall_cost_at_ceiling
    cash.deposit(db, SYSTEM, pid, "JPY", rest.shortfall_cost_at_ceiling, f"DEMO-BANK-{pid}-0001")
    gx_compliance.pay_ceiling(db, entity, pid, FISCAL_YEAR, rest.shortfall)


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """After the history: a line for the summary (the cycle itself was set up by `prepare`)."""
    covered = gx_cycle.list_covered(db, FISCAL_YEAR)
    if not covered:
        return ""
    short = [
        r
        for r in gx_compliance.register(db, FISCAL_YEAR)
        if r.status != "compliant" and r.verified_emissions
    ]
    pending = len(gx_cycle.awaiting_verification(db, SYSTEM))
    tr = t.trades.c
    with db.read() as conn:
        traded, volume = conn.execute(
            select(func.count(), func.coalesce(func.sum(tr.quantity), 0)).where(
                tr.instrument_id == INSTRUMENT
            )
        ).one()
    names = ", ".join(r.participant_id for r in short) or "none"
    return (
        f"GX-ETS demo: FY{FISCAL_YEAR}, {len(covered)} covered entities with verified "
        f"emissions (demo: expected figures; {pending} awaiting verification); short of "
        f"allowances: {names}; {int(traded)} "
        f"trades, {int(volume):,} t on {INSTRUMENT}\n"
        f"  register: GET /v1/gx/register/{FISCAL_YEAR} (page: /gx/register/{FISCAL_YEAR})\n"
        "  portal: /portal/gx as gx@shirane-cement.example.jp (the short entity), "
        "/portal/gx/verifications as verifier@kokusei.example.jp"
    )
