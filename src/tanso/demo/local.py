"""The demo's local-government credit scheme (自治体クレジット): what `tanso init --demo` adds.

長野県 (Nagano Prefecture, JIS X 0401 code 20) runs a scheme of its own, LGNA, registered by the
registry operator, with three methodologies: forest management (modelled on the prefecture's
real 森林CO2吸収評価認証制度), small solar for own use and EV car sharing (both illustrative).
Three local projects (松本市, 伊那市, 軽井沢町) have credits issued by the prefecture into its own
holding account; the prefecture lists some of each on the marketplace; one demo company buys
forest credits (T+0: they settle at once) and chooses to be named on the scheme's page,
/local/LGNA. Everything goes through the services, so every fact is a journal entry.

The call from the demo builder: ``seed(db, exchange, keys, clock, days)``, after the
marketplace's, like the other venues' demos.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.demo.market import corporate_number
from tanso.domain import marketplace as mp
from tanso.domain.errors import TansoError
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import local_schemes, participants
from tanso.services.ledger.registry import NewIssuance
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import marketplace as market
from tanso.store.db import Database

PREFECTURE = "NAGANO_PREF"
CODE = "LGNA"
ACCOUNT = f"{PREFECTURE}-MAIN"
ILLUSTRATIVE = "TANSO-ILLUSTRATIVE: a demo methodology, not a published one."

METHODOLOGIES: tuple[dict[str, Any], ...] = (
    {
        "code": "FOREST_MGMT",
        "name_en": "Forest management (thinning and planting)",
        "name_ja": "森林整備（間伐・植栽）による吸収",
        "credit_type": "RM",
        "mechanism": "removal",
        "nature": "nature",
        "source_url": "https://www.pref.nagano.lg.jp/shinrin/sangyo/ringyo/seibi/ninsho/index.html",
        "source_text": "長野県 森林CO2吸収評価認証制度",
    },
    {
        "code": "SMALL_SOLAR",
        "name_en": "Small solar power for own use",
        "name_ja": "小規模太陽光発電の自家消費",
        "credit_type": "ER",
        "mechanism": "reduction",
        "nature": "technology",
        "source_text": ILLUSTRATIVE,
    },
    {
        "code": "EV_SHARING",
        "name_en": "EV car sharing replacing petrol cars",
        "name_ja": "EVカーシェアリングによるガソリン車の代替",
        "credit_type": "ER",
        "mechanism": "reduction",
        "nature": "technology",
        "source_text": ILLUSTRATIVE,
    },
)

PROJECTS: tuple[tuple[local_schemes.NewLocalProject, int, int, int], ...] = (
    # project, tonnes issued (vintage 2025), tonnes listed, price (yen/t)
    (
        local_schemes.NewLocalProject(
            "NAFM01",
            "Matsumoto municipal forest thinning",
            "FOREST_MGMT",
            name_ja="松本市 市有林の間伐",
            municipality="松本市",
            developer="松本市・松本広域森林組合 (demo)",
            co_benefits=["biodiversity", "disaster prevention"],
        ),
        1_200,
        600,
        9_000,
    ),
    (
        local_schemes.NewLocalProject(
            "NASOL01",
            "Ina Valley school rooftop solar",
            "SMALL_SOLAR",
            name_ja="伊那市 小中学校の屋根置き太陽光",
            municipality="伊那市",
            developer="伊那市 (demo)",
            co_benefits=["environmental education"],
        ),
        400,
        300,
        3_500,
    ),
    (
        local_schemes.NewLocalProject(
            "NAEV01",
            "Karuizawa EV car sharing",
            "EV_SHARING",
            name_ja="軽井沢町 EVカーシェアリング",
            municipality="軽井沢町",
            developer="軽井沢町・地域交通事業者 (demo)",
            co_benefits=["clean air", "tourism"],
        ),
        250,
        200,
        3_000,
    ),
)
BUYER_QUANTITY = 50


def _register_prefecture(db: Database) -> Actor:
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            "長野県",
            "Nagano Prefecture",
            "local_government",
            ["trader"],
            # invented 法人番号 base of office code 9999 20, clear of the other demo numbers
            corporate_number("999920000101"),
            False,
            PREFECTURE,
        ),
    )
    participants.set_status(db, SYSTEM, PREFECTURE, "active", "approved: demo market")
    local_schemes.register_scheme(
        db,
        SYSTEM,
        local_schemes.NewLocalScheme(
            code=CODE,
            participant_id=PREFECTURE,
            name_en="Nagano community carbon credits",
            name_ja="長野県 地域カーボン・クレジット",
            prefecture="20",
            methodologies=list(METHODOLOGIES),
            proceeds_en=(
                "Proceeds go to thinning and replanting prefectural and municipal forests and "
                "to solar panels on schools and community buildings (demo)."
            ),
            proceeds_ja=(
                "収益は県有林・市町村有林の間伐と植栽、学校や公民館への太陽光パネルの設置に"
                "充てます（デモ）。"
            ),
            url="https://www.pref.nagano.lg.jp/",
        ),
    )
    return Actor(PREFECTURE, frozenset({Role.LOCAL_SCHEME, Role.TRADER}))


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add the local scheme's demo data; returns a line for the summary."""
    clock.set(at_jst(days[-1], 16, 40))
    owner = _register_prefecture(db)
    listings: dict[str, str] = {}
    for project, issued, listed, price in PROJECTS:
        local_schemes.register_project(db, owner, CODE, project)
        credit_type = next(
            m["credit_type"] for m in METHODOLOGIES if m["code"] == project.methodology
        )
        receipt = local_schemes.issue(
            db, owner, CODE, NewIssuance(project.id, credit_type, "1", 2025, issued, ACCOUNT)
        )
        terms = mp.ListingTerms(price, listed, 1, 1, 0)
        new = market.NewListing(
            ACCOUNT, terms, issuance_id=receipt.issuance_id, note="自治体クレジット (demo)"
        )
        listings[project.id] = market.create_listing(db, owner, new).id
    named = ""
    for pid in keys:  # the first demo company that can pay buys forest credits and is named
        if pid in ("OPERATOR", PREFECTURE):
            continue
        buyer = Actor(pid, frozenset({Role.TRADER}))
        try:
            market.buy(
                db,
                buyer,
                listings["NAFM01"],
                BUYER_QUANTITY,
                f"{pid}-MAIN",
                calendar=exchange.calendar,
            )
        except TansoError:
            continue
        local_schemes.set_named(db, buyer, CODE, True)
        named = pid
        break
    total = sum(issued for _, issued, _, _ in PROJECTS)
    return (
        f"Local credits: {CODE} (長野県), {len(PROJECTS)} projects, {total:,} t issued, "
        f"{len(listings)} listings" + (f", {named} named as a buyer" if named else "")
    )
