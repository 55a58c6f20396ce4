"""The demo market's usage: what `tanso init --demo` adds after the trading history.

Emissions inventories for a food maker, a machinery maker, a steel maker and a chemical maker,
and retirements for several purposes that the usage rules admit (each one has its certificate
at /verify/{id}), so that a newcomer can open a claim report and a verify page at once:

- 富士見食品 (FUJIMI_FOODS), FY2025: Scope 1 and Scope 2 residual emissions offset in full with
  J-Credits of its own project (a new round issued here), business travel (Scope 3 category 6)
  with Verra credits: its report supports "carbon neutral for Scope 1 and 2", not "carbon
  neutral" overall;
- 三河精機 (MIKAWA_SEIKI), FY2025: part of Scope 1 offset with its own boiler project's credits,
  renewable-power J-Credits retired for RE100;
- 北斗製鉄 (HOKUTO_STEEL), FY2024 and FY2025: SHK adjusted emissions and the GX-ETS surrender
  of the trading history; 青葉化学 (AOBA_CHEM), FY2024: its forest-credit Scope 1 offset.

Everything goes through the services (inventories by each company's own key, issuance by the
operator, retirements by the company), so every fact is a journal entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tanso.demo.exchange_days import DemoClock
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import certificates, inventories
from tanso.services.compliance.inventories import Inventory
from tanso.services.ledger import participants, registry
from tanso.services.ledger.registry import NewIssuance, RetirementRequest, Selection
from tanso.services.trading.exchange import Exchange
from tanso.store.db import Database

SITE = "http://127.0.0.1:8000"

INVENTORIES: tuple[tuple[str, int, Inventory], ...] = (
    (
        "FUJIMI_FOODS",
        2025,
        Inventory(
            scope1=3_800,
            scope2_location=4_300,
            scope2_market=3_900,
            scope3_categories={1: 42_000, 4: 6_500, 6: 900, 7: 1_100, 12: 2_300},
            reduction_scope1=300,
            reduction_scope2=400,
            target_scope12=6_000,
            purchased_electricity_kwh=9_900_000,
            note="全 4 工場・本社。Scope 2 は全国平均係数 (ロケーション基準)。",
        ),
    ),
    (
        "FUJIMI_FOODS",
        2024,
        Inventory(
            scope1=4_100,
            scope2_location=4_600,
            scope2_market=4_300,
            scope3_categories={1: 43_500, 4: 6_800, 6: 850, 7: 1_100},
            reduction_scope1=150,
            reduction_scope2=200,
            purchased_electricity_kwh=10_400_000,
        ),
    ),
    (
        "MIKAWA_SEIKI",
        2025,
        Inventory(
            scope1=24_000,
            scope2_location=38_000,
            scope2_market=35_200,
            scope3_categories={1: 120_000, 4: 9_800, 11: 260_000},
            reduction_scope1=1_800,
            reduction_scope2=2_500,
            target_scope12=50_000,
            purchased_electricity_kwh=87_000_000,
            note="岡崎・豊川工場。",
        ),
    ),
    (
        "HOKUTO_STEEL",
        2024,
        Inventory(
            scope1=2_450_000,
            scope2_location=310_000,
            scope2_market=296_000,
            scope3_categories={1: 1_150_000, 4: 86_000},
            reduction_scope1=45_000,
            reduction_scope2=6_000,
            purchased_electricity_kwh=700_000_000,
        ),
    ),
    (
        "HOKUTO_STEEL",
        2025,
        Inventory(
            scope1=2_380_000,
            scope2_location=298_000,
            scope2_market=281_000,
            scope3_categories={1: 1_120_000, 4: 84_000},
            reduction_scope1=60_000,
            reduction_scope2=8_000,
            target_scope12=2_500_000,
            purchased_electricity_kwh=680_000_000,
        ),
    ),
    (
        "AOBA_CHEM",
        2024,
        Inventory(
            scope1=186_000,
            scope2_location=74_000,
            scope2_market=70_500,
            scope3_categories={1: 410_000, 12: 95_000},
            reduction_scope1=4_000,
            reduction_scope2=1_500,
            purchased_electricity_kwh=168_000_000,
        ),
    ),
)

NEW_ISSUANCES = (
    # a third round of Fujimi's own project, a fourth of Mikawa's boiler project
    NewIssuance("P0420", "ER", "3", 2024, 8_000, "FUJIMI_FOODS-MAIN", "2025-09-24"),
    NewIssuance("P0311", "ER", "4", 2024, 20_000, "MIKAWA_SEIKI-MAIN", "2025-06-25"),
)


def _first_block(
    db: Database, actor: Actor, account: str, admits: Callable[[registry.HeldBlock], bool]
) -> registry.HeldBlock | None:
    """The largest held block of the account that ``admits`` (the trading history moves credits
    around, so the demo looks up what is there rather than assuming serials)."""
    blocks = [
        b
        for b in registry.holdings(db, actor, account, limit=10_000).blocks
        if b.status == "held" and admits(b)
    ]
    return max(blocks, key=lambda b: (b.quantity, b.serials), default=None)


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add this capability's demo data; returns a line for the summary (empty: nothing added)."""
    actors = {pid: participants.authenticate(db, keys[pid]) for pid, _, _ in INVENTORIES}
    for pid, year, inv in INVENTORIES:
        inventories.record(db, actors[pid], pid, year, inv)
    for n in NEW_ISSUANCES:
        registry.issue(db, SYSTEM, n)
    fujimi, mikawa = actors["FUJIMI_FOODS"], actors["MIKAWA_SEIKI"]
    done: list[registry.RetirementReceipt] = []

    def retire(who: Actor, sel: Selection, purpose: str, note: str, **kw: Any) -> None:
        beneficiary = {"FUJIMI_FOODS": "富士見食品株式会社", "MIKAWA_SEIKI": "三河精機工業株式会社"}
        account = f"{who.participant_id}-MAIN"
        request = RetirementRequest(
            account, sel, [purpose], beneficiary[who.participant_id], 2025, note, **kw
        )
        done.append(registry.retire(db, who, request))

    retire(
        fujimi,
        Selection(serials="JC-ER-P0420-3-1-3500"),
        "offset_scope1",
        "Scope 1 残余排出 (ボイラー燃料) のオフセット FY2025",
    )
    retire(
        fujimi,
        Selection(serials="JC-ER-P0420-3-3501-7400"),
        "offset_scope2",
        "Scope 2 残余排出 (購入電力) のオフセット FY2025",
    )
    vcs = _first_block(db, fujimi, "FUJIMI_FOODS-MAIN", lambda b: b.scheme == "VCS")
    if vcs is not None:
        start = vcs.serial_start
        end = min(vcs.serial_end, start + 899)
        retire(
            fujimi,
            Selection(serials=f"{vcs.issuance_id}-{start}-{end}"),
            "offset_scope3",
            "Scope 3 カテゴリ6 (出張) のオフセット FY2025",
            scope3_category=6,
        )
    retire(
        mikawa,
        Selection(serials="JC-ER-P0311-4-1-15000"),
        "offset_scope1",
        "Scope 1 残余排出の一部をオフセット (自社ボイラー更新プロジェクト由来)",
    )
    re_power = _first_block(
        db, mikawa, "MIKAWA_SEIKI-MAIN", lambda b: b.category in ("RE_POWER", "RE_POWER_BIOMASS")
    )
    if re_power is not None:
        retire(
            mikawa,
            Selection(serials=re_power.serials),
            "re100",
            "RE100: 豊川工場の購入電力 FY2025",
        )
    # a recorded full audit, so that the /verify pages show one
    audited = certificates.audit(db, SYSTEM)
    first = done[0].id
    return (
        f"usage demo: {len(INVENTORIES)} emissions inventories and {len(done)} more "
        f"retirements, each with its certificate; journal audit: "
        f"{'ok' if audited.ok else 'FAILED'}\n"
        f"  verify a retirement: {SITE}/verify/{first}\n"
        f"  claim report: {SITE}/portal/claims?year=2025\n"
        "    (as sustainability@hokuto-steel.example.jp), or with the FUJIMI_FOODS key:\n"
        f"    GET {SITE}/v1/claims/FUJIMI_FOODS/2025"
    )
