"""The standard instruments: one per TSE trading category, with TSE's rules, one per vintage
of GX-ETS allowances from FY2026 on, and one per JCM partner country whose credits the registry
holds (docs/market-rules.md, "JCM instruments")."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tanso.domain.errors import NotFound
from tanso.domain.gx import fiscal_year_of
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.compliance import gx
from tanso.services.trading.exchange import Exchange
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database

JST = ZoneInfo("Asia/Tokyo")

# 基準値段 to start from, after the real market's price levels (MISSION.md): 省エネ about ¥2,000,
# 再エネ(電力) about ¥4,257 (weighted average to 2025-03), 森林 ¥7,000-15,000.
STANDARD_REFERENCE_PRICES: dict[str, int] = {
    "ENERGY_SAVING": 2_000,
    "RE_POWER": 4_257,
    "RE_POWER_BIOMASS": 3_500,
    "RE_HEAT": 3_000,
    "RE_MIXED": 3_200,
    "FOREST": 9_800,
    "AGRI_MIDSEASON": 5_000,
    "AGRI_BIOCHAR": 18_000,
    "OTHER": 2_500,
    "JVER": 3_000,
    "DOMESTIC_CREDIT": 1_500,
    "GX_EXCESS": 3_000,
}

GX_WEEKLY_SESSIONS: dict[str, Any] = {
    "timezone": "Asia/Tokyo",
    "accept": [["08:00", "14:59"]],
    "auctions": ["15:00"],
    "weekdays": [4],
}
"""GX-ETS 超過削減枠 trades once a week, on Fridays at 15:00."""


def standard_instruments(
    db: Database, references: dict[str, int] | None = None
) -> list[InstrumentSpec]:
    """One call-auction instrument per TSE trading category, with TSE's rules; `references`
    gives a category's starting reference price (基準値段), e.g. its last historical price.
    Then one per vintage of GX-ETS allowances, from FY2026 to the fiscal year of the database
    clock's today."""
    specs = []
    with db.read() as conn:
        categories = repo.list_table(conn, t.categories, t.categories.c.code, tse=True)
    for c in categories:
        reference = (references or {}).get(c.code) or STANDARD_REFERENCE_PRICES.get(c.code, 3_000)
        extra: dict[str, Any] = {"sessions": GX_WEEKLY_SESSIONS} if c.code == "GX_EXCESS" else {}
        specs.append(
            InstrumentSpec(
                id=f"JPX-{c.code}".replace("_", "-"),
                name_en=f"{c.name_en}",
                name_ja=c.name_ja,
                eligibility=Eligibility(
                    schemes=(c.scheme,) if c.scheme else (),
                    categories=(c.code,),
                    gx_league_only=c.code == "GX_EXCESS",  # JPX: between GX League members
                ),
                reference_price=reference,
                **extra,
            )
        )
    today = dt.datetime.fromisoformat(db.clock().replace("Z", "+00:00")).astimezone(JST).date()
    return specs + allowance_instruments(today) + jcm_instruments(db, references)


GX_ALLOWANCE_FIRST_VINTAGE = 2026
"""GX-ETS phase 2 (mandatory trading, allowances as registry units) starts with FY2026."""


def allowance_instrument(vintage: int) -> InstrumentSpec:
    """排出枠: the exchange instrument of one vintage (fiscal year) of GX-ETS allowances,
    GX-ALLOW-<vintage>, with TSE's rules like the other standard instruments. It starts from the
    middle of the year's price band (adjustment reference price to reference ceiling price):
    there is no market price yet to start from."""
    try:
        p = gx.prices(vintage)
        reference = (p.floor + p.ceiling) // 2
    except NotFound:  # beyond the published prices and their escalation rule
        reference = STANDARD_REFERENCE_PRICES["GX_EXCESS"]
    return InstrumentSpec(
        id=f"GX-ALLOW-{vintage}",
        name_en=f"GX-ETS allowances FY{vintage}",
        name_ja=f"GX-ETS 排出枠 {vintage}年度",
        eligibility=Eligibility(
            schemes=("GXA",),
            categories=("GX_ALLOWANCE",),
            vintage_from=vintage,
            vintage_to=vintage,
        ),
        reference_price=reference,
    )


def allowance_instruments(today: dt.date) -> list[InstrumentSpec]:
    """One allowance instrument per vintage from FY2026 to the fiscal year of ``today``
    (April to March); none before FY2026."""
    last = fiscal_year_of(today)
    return [allowance_instrument(v) for v in range(GX_ALLOWANCE_FIRST_VINTAGE, last + 1)]


JCM_SCHEME = "JM"
JCM_CATEGORY = "JCM"
JCM_REFERENCE_PRICE = 2_500
"""基準値段 of a new JCM instrument: JCM credits have no exchange price yet; about the level of
the J-Credit 省エネ and その他 categories, whose uses (温対法, GX-ETS) they share."""

JCM_PARTNERS: dict[str, tuple[str, str]] = {
    "MN": ("Mongolia", "モンゴル"),
    "BD": ("Bangladesh", "バングラデシュ"),
    "ET": ("Ethiopia", "エチオピア"),
    "KE": ("Kenya", "ケニア"),
    "MV": ("Maldives", "モルディブ"),
    "VN": ("Viet Nam", "ベトナム"),
    "LA": ("Lao PDR", "ラオス"),
    "ID": ("Indonesia", "インドネシア"),
    "CR": ("Costa Rica", "コスタリカ"),
    "PW": ("Palau", "パラオ"),
    "KH": ("Cambodia", "カンボジア"),
    "MX": ("Mexico", "メキシコ"),
    "SA": ("Saudi Arabia", "サウジアラビア"),
    "CL": ("Chile", "チリ"),
    "MM": ("Myanmar", "ミャンマー"),
    "TH": ("Thailand", "タイ"),
    "PH": ("Philippines", "フィリピン"),
    "SN": ("Senegal", "セネガル"),
    "TN": ("Tunisia", "チュニジア"),
    "AZ": ("Azerbaijan", "アゼルバイジャン"),
    "MD": ("Moldova", "モルドバ"),
    "GE": ("Georgia", "ジョージア"),
    "LK": ("Sri Lanka", "スリランカ"),
    "UZ": ("Uzbekistan", "ウズベキスタン"),
    "PG": ("Papua New Guinea", "パプアニューギニア"),
    "AE": ("United Arab Emirates", "アラブ首長国連邦"),
    "KG": ("Kyrgyz Republic", "キルギス"),
    "KZ": ("Kazakhstan", "カザフスタン"),
    "UA": ("Ukraine", "ウクライナ"),
    "TZ": ("Tanzania", "タンザニア"),
}
"""The JCM partner countries (二国間クレジット制度 パートナー国), in the order of their bilateral
documents, with their names in English and Japanese; a country not in this table is named by
its code."""


def jcm_name(country: str) -> tuple[str, str]:
    """A partner country's names (English, Japanese), or its code twice when unknown."""
    return JCM_PARTNERS.get(country, (country, country))


def jcm_instrument_id(country: str) -> str:
    """The id of a partner country's JCM instrument: ``JCM-VN`` for Viet Nam."""
    return f"JCM-{country}"


def jcm_instrument(country: str, reference: int | None = None) -> InstrumentSpec:
    """二国間クレジット: the instrument of the JCM credits of one partner country, with TSE's rules
    like the other standard instruments. It admits every corresponding adjustment status: the
    status travels with the delivered credits, and the usage rules decide what it allows."""
    en, ja = jcm_name(country)
    return InstrumentSpec(
        id=jcm_instrument_id(country),
        name_en=f"JCM credits {en}",
        name_ja=f"二国間クレジット {ja}",
        eligibility=Eligibility(
            schemes=(JCM_SCHEME,), categories=(JCM_CATEGORY,), countries=(country,)
        ),
        reference_price=reference or JCM_REFERENCE_PRICE,
    )


def jcm_countries(db: Database) -> list[str]:
    """The partner countries of the JCM projects with issued credits, by code (none before the
    JCM scheme has a project with credits)."""
    i, p = t.issuances.c, t.projects.c
    q = (
        select(p.country)
        .distinct()
        .select_from(t.issuances.join(t.projects, i.project_id == p.id))
        .where(p.scheme == JCM_SCHEME, p.category == JCM_CATEGORY)
        .order_by(p.country)
    )
    with db.read() as conn:
        return [str(c) for c in conn.execute(q).scalars()]


def jcm_instruments(db: Database, references: dict[str, int] | None = None) -> list[InstrumentSpec]:
    """One JCM instrument per partner country with credits (JCM-MN, JCM-VN, ...); `references`
    may give one's starting reference price by its instrument id."""
    refs = references or {}
    return [jcm_instrument(c, refs.get(jcm_instrument_id(c))) for c in jcm_countries(db)]


def ensure_standard_instruments(
    db: Database, exchange: Exchange, references: dict[str, int] | None = None
) -> list[str]:
    """List every standard instrument that is not listed yet; returns the ids added."""
    added = []
    with db.read() as conn:
        existing = {r.id for r in repo.list_table(conn, t.instruments, t.instruments.c.id)}
    for spec in standard_instruments(db, references):
        if spec.id not in existing:
            exchange.define_instrument(SYSTEM, spec)
            added.append(spec.id)
    return added
