"""The demo's removal credits (issue 21, docs/removals.md): what `tanso init --demo` adds last.

- **A biochar project with a buffer and one reversal.** 大洋通商 (TAIYO)'s J-Credit project
  P0964 (AG-004 バイオ炭の農地施用) gets a removal profile (biochar kept in farm soil, the 100
  years of stated permanence AG-004's carbon factor assumes, low reversal risk, a 10% buffer);
  a third round (vintage 2025, 1,200 t) is issued into TAIYO's main account and 120 t of it go
  to the J-Credit buffer pool, SYS-BUFFER-JC; a fire at a storage yard is reported as a
  reversal of 60 t, which the project's own buffer covers.
- **A DACCS developer with a forward offtake.** 苫小牧ダイレクトエアキャプチャー (TOMAKOMAI_DAC,
  invented) captures CO2 from the air and stores it in the saline aquifer of the Tomakomai CCS
  demonstration site (illustrative). Its project P1012 (J-Credit, category "other",
  methodology "DACCS (illustrative)": J-Credit has no DACCS methodology) has a removal profile
  (geological, 10,000 years, no reversal risk, no buffer) and a first pilot round (vintage
  2025). The developer lists forward volumes 2027-2035 on the pre-purchase marketplace;
  三河精機工業 (MIKAWA_SEIKI) requests a quote for 2027-2032, the developer proposes a fixed
  price with a prepayment held in escrow, and the buyer signs. TAIYO lists forward biochar of
  P0964 (2026-2028, floor and cap on the biochar index) that any buyer can ask about.
- **A carbon-negative year.** 株式会社ミナトデザインラボ (MINATO_DESIGN, invented), a small design
  and software studio, records a FY2025 inventory of 98 t-CO2e (Scope 1, 2 and 3), buys 120 t
  of the DAC pilot round and 30 t of P0964 biochar on the marketplace, retires the DAC credits
  for ``neutralisation`` and the biochar as a ``contribution`` (reporting year 2025): its claim
  report says the year is carbon negative, the contribution beside it.

Prices, quantities and the developer are illustrative, not market data. Everything goes through
the services (the operator's work as ``SYSTEM``, each company's with its own key), so every
fact is a journal entry; ids are fixed, only the API key secrets are random.
"""

from __future__ import annotations

import datetime as dt

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.demo.market import DemoParticipant, corporate_number
from tanso.domain import marketplace as mp
from tanso.domain import offtake as ot
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import claims, inventories
from tanso.services.compliance.inventories import Inventory
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.ledger.registry import (
    CreditFilter,
    NewIssuance,
    RetirementRequest,
    Selection,
)
from tanso.services.ledger.taxonomy import NewProject
from tanso.services.removals import offtake, profiles, reversals
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import marketplace as market
from tanso.store import repo
from tanso.store.db import Database

SITE = "http://127.0.0.1:8000"
YEAR = 2025
"""The reporting year of the carbon-negative company's claim."""

# ---------------------------------------------------------------- 1. biochar: buffer, reversal

BIOCHAR_PROJECT = "P0964"
BIOCHAR_OWNER = "TAIYO"
BIOCHAR_PROFILE = Profile(
    "biochar",
    "product",
    100,
    "low",
    10,
    1_000,
    "J-クレジット方法論 AG-004 バイオ炭の農地施用: credits count the carbon still in the soil "
    "after 100 years (the permanence factor of the IPCC 2019 Refinement, Vol. 4 Ch. 2 App. 4). "
    "Reversal risk, the 10-year monitoring and the 10% buffer rate are illustrative (demo).",
)
BIOCHAR_ROUND = NewIssuance(BIOCHAR_PROJECT, "RM", "3", 2025, 1_200, f"{BIOCHAR_OWNER}-MAIN")
REVERSAL_TONNES = 60
REVERSAL_ON = dt.date(2026, 8, 5)
REVERSAL_TEXT = (
    "保管ヤード火災 (illustrative): 山梨県笛吹市の委託先保管ヤードで施用前のバイオ炭約 75 t が"
    "焼失。モニタリング報告で施用済みと計上されていた 60 t-CO2 相当を反転として報告します。"
    " A fire at a contractor's storage yard destroyed biochar that the monitoring report had "
    "counted as applied; 60 t-CO2 are reported as reversed."
)
BIOCHAR_SPOT_PRICE = 18_500
"""Yen per tonne of TAIYO's marketplace listing (illustrative, near the demo's biochar price)."""
BIOCHAR_LISTED = 300

# ---------------------------------------------------------------- 2. DACCS and its offtake

DEVELOPER = DemoParticipant(
    "TOMAKOMAI_DAC",
    "苫小牧ダイレクトエアキャプチャー株式会社",
    "Tomakomai Direct Air Capture K.K.",
    "corporation",
    ("trader",),
    "999933000101",  # invented, office code 9999 33: clear of the other demo participants
)
DAC_PROJECT = NewProject(
    "P1012",
    "JC",
    "Tomakomai direct air capture with geological storage (illustrative)",
    "OTHER",
    "JP",
    mechanism="removal",
    name_ja="苫小牧 大気中CO2直接回収・地中貯留 (DACCS, デモ)",
    region="北海道苫小牧市",
    developer=DEVELOPER.name_ja,
    methodology="DACCS (illustrative): J-Credit has no DACCS methodology yet",
    properties=["future_investment"],
    evaluation_axes=["pioneering_technology", "long_term_offtake"],
)
DAC_PROFILE = Profile(
    "daccs",
    "geological",
    10_000,
    "none",
    30,
    0,
    "Illustrative (demo): an invented developer. CO2 injected into the saline aquifer of the "
    "Tomakomai CCS demonstration site (METI/NEDO and Japan CCS Co. injected about 300,000 t "
    "there in 2016-2019); IPCC SRCCS (2005): appropriately selected and managed geological "
    "reservoirs are likely to retain over 99% of the CO2 over 1,000 years.",
)
DAC_PILOT = NewIssuance(DAC_PROJECT.id, "RM", "1", 2025, 400, f"{DEVELOPER.id}-MAIN")
"""The pilot unit's first round: what the carbon-negative company buys."""
DAC_SPOT_PRICE = 78_000
"""Yen per tonne of the pilot credits on the marketplace (illustrative, about US$500)."""
DAC_LISTED = 250
FORWARD_VOLUMES = {
    2027: 1_000,
    2028: 2_000,
    2029: 4_000,
    2030: 6_000,
    2031: 8_000,
    2032: 10_000,
    2033: 10_000,
    2034: 10_000,
    2035: 10_000,
}
"""Tonnes per vintage the developer offers forward, as its modules come on line."""
DAC_RULE = ot.PriceRule("fixed", price=68_000)
"""Yen per tonne delivered (illustrative): fixed, as long-term DAC offtakes usually are."""
OFFTAKER = "MIKAWA_SEIKI"
OFFTAKE_VOLUMES = {2027: 200, 2028: 400, 2029: 600, 2030: 800, 2031: 800, 2032: 800}
OFFTAKE_TERMS = offtake.Terms(DAC_RULE, "carry_forward", 8_000, "escrow", 10)
"""Fixed price, a shortfall carried to the next vintage, ¥8,000 a tonne prepaid into escrow
(released to the developer with each delivery), priority 10."""
BIOCHAR_FORWARD = {2026: 600, 2027: 800, 2028: 1_000}
BIOCHAR_RULE = ot.PriceRule("floor_cap", floor=15_000, cap=26_000, index="TANSO-AGRI-BIOCHAR")
"""The biochar index's value at delivery, kept between ¥15,000 and ¥26,000 (illustrative)."""

# ---------------------------------------------------------------- 3. a carbon-negative year

COMPANY = DemoParticipant(
    "MINATO_DESIGN",
    "株式会社ミナトデザインラボ",
    "Minato Design Lab Inc.",
    "corporation",
    ("trader",),
    "999934000101",  # invented, office code 9999 34
)
INVENTORY = Inventory(
    scope1=4,
    scope2_location=31,
    scope2_market=12,
    scope3_categories={1: 38, 6: 16, 7: 9},
    purchased_electricity_kwh=71_000,
    note=(
        "横浜・関内オフィス、従業員 38 名。Scope 1 は社用車 1 台、Scope 2 はロケーション基準 "
        "(全国平均係数)、Scope 3 はクラウド・外注 (カテゴリ1)、出張 (6)、通勤 (7)。デモの数値です。"
    ),
)
"""98 t-CO2e in all (Scope 1 + Scope 2 location-based + Scope 3), illustrative."""
NEUTRALISED = 120
CONTRIBUTED = 30
COMPANY_CASH = 15_000_000


def _register(db: Database, p: DemoParticipant, keys: dict[str, str]) -> Actor:
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            p.name_ja,
            p.name_en,
            p.kind,
            list(p.roles),
            corporate_number(p.corporate_base) if p.corporate_base else None,
            p.gx_league,
            p.id,
        ),
    )
    participants.set_status(db, SYSTEM, p.id, "active", "approved: demo market")
    keys[p.id] = participants.create_api_key(db, SYSTEM, p.id, "demo key").key
    return participants.authenticate(db, keys[p.id])


def _actor(db: Database, keys: dict[str, str], pid: str) -> Actor:
    return participants.authenticate(db, keys[pid])


def _biochar(db: Database, taiyo: Actor, occurred: dt.date) -> tuple[str, str, str]:
    """The profile, the round with its buffer share, a spot listing; (issuance, listing,
    the day of the reversal to report) - the reversal itself comes after the sale."""
    profiles.set_profile(db, SYSTEM, BIOCHAR_PROJECT, BIOCHAR_PROFILE, developer_id="TAIYO")
    receipt = registry.issue(db, SYSTEM, BIOCHAR_ROUND)
    terms = mp.ListingTerms(BIOCHAR_SPOT_PRICE, BIOCHAR_LISTED, 10, 10, 0)
    listing = market.create_listing(
        db,
        taiyo,
        market.NewListing(
            BIOCHAR_ROUND.account_id,
            terms,
            issuance_id=receipt.issuance_id,
            note="剪定枝バイオ炭 J-クレジット 2025 年度分 (AG-004, 永続性 100 年)",
        ),
    )
    return receipt.issuance_id, listing.id, occurred.isoformat()


def _developer(db: Database, keys: dict[str, str]) -> tuple[Actor, str, str]:
    """The DAC developer, its project and pilot round, and a spot listing of the pilot credits;
    (the developer, the pilot issuance, the listing)."""
    dev = _register(db, DEVELOPER, keys)
    taxonomy.register_project(db, SYSTEM, DAC_PROJECT)
    profiles.set_profile(db, SYSTEM, DAC_PROJECT.id, DAC_PROFILE, developer_id=DEVELOPER.id)
    pilot = registry.issue(db, SYSTEM, DAC_PILOT)
    listing = market.create_listing(
        db,
        dev,
        market.NewListing(
            DAC_PILOT.account_id,
            mp.ListingTerms(DAC_SPOT_PRICE, DAC_LISTED, 10, 10, 0),
            issuance_id=pilot.issuance_id,
            note="苫小牧 DAC パイロット 2025 年度分: 地中貯留、永続性 10,000 年 (デモ)",
        ),
    )
    return dev, pilot.issuance_id, listing.id


def _offtake(db: Database, dev: Actor, buyer: Actor, taiyo: Actor) -> tuple[offtake.Contract, str]:
    """The forward listings and the manufacturer's signed contract; (contract, biochar listing)."""
    forward = offtake.create_listing(
        db,
        dev,
        offtake.NewListing(
            DAC_PROJECT.id,
            DAC_PILOT.account_id,
            dict(FORWARD_VOLUMES),
            DAC_RULE,
            "苫小牧 DAC: モジュール増設に合わせた 2027〜2035 年度の先渡し (長期オフテイク)。"
            " Forward volumes as the plant's modules come on line (illustrative).",
        ),
    )
    quote = offtake.request_quote(
        db,
        buyer,
        forward.id,
        f"{OFFTAKER}-MAIN",
        dict(OFFTAKE_VOLUMES),
        "2030 年度以降の残余排出の中和に向けて、2027〜2032 年度分の DACCS クレジットを長期で"
        "確保したい (三河精機工業 サステナビリティ推進室)。",
    )
    proposed = offtake.propose_terms(db, dev, quote.id, OFFTAKE_TERMS)
    contract = offtake.sign(db, buyer, quote.id, proposed.terms_version or "")
    biochar = offtake.create_listing(
        db,
        taiyo,
        offtake.NewListing(
            BIOCHAR_PROJECT,
            BIOCHAR_ROUND.account_id,
            dict(BIOCHAR_FORWARD),
            BIOCHAR_RULE,
            "剪定枝バイオ炭 (AG-004) の 2026〜2028 年度分。"
            "価格はバイオ炭指数に下限・上限付きで連動。",
        ),
    )
    return contract, biochar.id


def _carbon_negative(
    db: Database, keys: dict[str, str], dac_listing: str, biochar_listing: str, exchange: Exchange
) -> tuple[Actor, list[str]]:
    """The small company: inventory, purchases, the two retirements; (company, retirement ids)."""
    company = _register(db, COMPANY, keys)
    cash.deposit(db, SYSTEM, COMPANY.id, "JPY", COMPANY_CASH, f"DEMO-BANK-{COMPANY.id}-0001")
    inventories.record(db, company, COMPANY.id, YEAR, INVENTORY)
    account = f"{COMPANY.id}-MAIN"
    for listing, quantity in ((dac_listing, NEUTRALISED), (biochar_listing, CONTRIBUTED)):
        market.buy(db, company, listing, quantity, account, calendar=exchange.calendar)
    done = []
    for project, quantity, purpose, note in (
        (
            DAC_PROJECT.id,
            NEUTRALISED,
            "neutralisation",
            "FY2025 の排出量 (Scope 1・2・3 計 98 t) を上回る耐久的な除去 (DACCS) による中和",
        ),
        (
            BIOCHAR_PROJECT,
            CONTRIBUTED,
            "contribution",
            "国内のバイオ炭農地施用への貢献 (排出量とは相殺しない)",
        ),
    ):
        request = RetirementRequest(
            account,
            Selection(quantity=quantity),
            [purpose],
            COMPANY.name_ja,
            YEAR,
            note,
            credits=CreditFilter(project_id=project),
        )
        done.append(registry.retire(db, company, request).id)
    return company, done


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add the removals demo; returns lines for the summary (the new keys join ``keys``)."""
    day = days[-1]
    clock.set(at_jst(day, 17, 20))
    with db.read() as conn:
        if repo.get_participant(conn, DEVELOPER.id) is not None:
            return ""
        if repo.get_project(conn, BIOCHAR_PROJECT) is None:
            return ""  # not the demo market
    taiyo = _actor(db, keys, BIOCHAR_OWNER)
    occurred = min(REVERSAL_ON, day - dt.timedelta(days=30))
    issuance, biochar_spot, occurred_on = _biochar(db, taiyo, occurred)
    dev, _pilot, dac_spot = _developer(db, keys)
    contract, biochar_forward = _offtake(db, dev, _actor(db, keys, OFFTAKER), taiyo)
    company, retired = _carbon_negative(db, keys, dac_spot, biochar_spot, exchange)
    reversal = reversals.report(
        db,
        SYSTEM,
        reversals.NewReversal(BIOCHAR_PROJECT, REVERSAL_TONNES, "fire", occurred_on, REVERSAL_TEXT),
    )
    record = profiles.project_record(db, BIOCHAR_PROJECT)
    report = claims.report(db, company, COMPANY.id, YEAR)
    negative = next(c for c in report.claims if c.code == "carbon_negative")
    years = [r.vintage for r in contract.schedule]
    return (
        f"Removals: {BIOCHAR_PROJECT} biochar round {issuance} ({BIOCHAR_ROUND.quantity:,} t, "
        f"{record.buffered:,} t to SYS-BUFFER-JC), reversal {reversal.id} of "
        f"{reversal.quantity} t ({reversal.from_project_buffer} t from its own buffer); "
        f"{DAC_PROJECT.id} DACCS of {DEVELOPER.id}: offtake {contract.id} signed by {OFFTAKER} "
        f"({contract.contracted:,} t, {min(years)}-{max(years)}), forward listing "
        f"{biochar_forward} open; {COMPANY.id} FY{YEAR} "
        f"{'carbon negative' if negative.allowed else 'NOT carbon negative'} "
        f"({report.neutralisation.durable} t durable removals neutralised against "
        f"{report.neutralisation.emissions} t emitted, {report.contributed} t contributed; "
        f"{', '.join(retired)})\n"
        f"  public: {SITE}/removals, {SITE}/removals/forward-demand; portal: /portal/offtake "
        "as offtake@tomakomai-dac.example.jp\n"
        f"  claim report: {SITE}/portal/claims?year={YEAR} as "
        "sustainability@minato-design.example.jp"
    )
