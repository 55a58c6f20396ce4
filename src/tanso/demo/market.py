"""The demo market that ``tanso init --demo`` loads: participants, projects, credits, cash, history.

It is modelled on the TSE carbon credit market: trading houses, utilities, manufacturers, a
forest owners' cooperative and a local government, two brokers and a market maker; J-Credits in
every TSE category, legacy J-VER and domestic credits, GX-ETS excess reductions, JCM credits with
corresponding adjustments, Verra and Gold Standard credits, a J-Blue credit and a local-government
credit, and a Singapore trading house, registered by its LEI, that buys JCM credits. Every company
is fictional and every 法人番号 and LEI is invented (valid check digits, nothing more).

This module writes only through the public service functions, so every demo fact is a journal
entry and ``tanso audit verify`` passes afterwards. The operator's work (registration, issuance,
deposits, bank transfers) is done as ``SYSTEM``; what a company does with its own credits
(transfers, retirements, cancellations, withdrawals) is done with that company's own API key, so
the journal and the public retirement notices name the company that acted. Ids and data are
fixed; the only randomness is the API key secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from tanso.domain.errors import Conflict
from tanso.domain.participants import corporate_number_check_digit, lei_check_digits
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.ledger.registry import NewIssuance, RetirementRequest, Selection
from tanso.services.ledger.taxonomy import NewProject
from tanso.store import repo
from tanso.store.db import Database

# ---------------------------------------------------------------- participants


@dataclass(frozen=True, slots=True)
class DemoParticipant:
    id: str
    name_ja: str
    name_en: str
    kind: str
    roles: tuple[str, ...]
    corporate_base: str | None
    """The 12-digit base of the invented 法人番号; the check digit is computed."""
    gx_league: bool = False
    active: bool = True
    lei_base: str | None = None
    """The 18-character base of the invented LEI of a company from abroad; the check digits are
    computed."""
    country: str = "JP"
    name_local: str | None = None


def corporate_number(base12: str) -> str:
    """法人番号: the check digit followed by the 12-digit base."""
    return f"{corporate_number_check_digit(base12)}{base12}"


def lei(base18: str) -> str:
    """An LEI: the 18-character base followed by its two check digits (ISO 17442)."""
    return f"{base18}{lei_check_digits(base18)}"


TRADER = ("trader",)
# Invented bases start 9999, an office code we use only to stay clear of real companies' numbers.
PARTICIPANTS: tuple[DemoParticipant, ...] = (
    # 総合商社-like trading houses: mixed stocks of every kind of credit
    DemoParticipant(
        "MARUHAMA",
        "丸浜商事株式会社",
        "Maruhama Corporation",
        "corporation",
        TRADER,
        "999901000101",
        gx_league=True,
    ),
    DemoParticipant(
        "TOKAI",
        "東海物産株式会社",
        "Tokai Bussan Co., Ltd.",
        "corporation",
        TRADER,
        "999901000102",
        gx_league=True,
    ),
    DemoParticipant(
        "TAIYO",
        "大洋通商株式会社",
        "Taiyo Tsusho Corporation",
        "corporation",
        TRADER,
        "999901000103",
        gx_league=True,
    ),
    # 電力会社: renewable power credits of their own and of residential solar programmes
    DemoParticipant(
        "KANTO_EP",
        "関東中央電力株式会社",
        "Kanto Chuo Electric Power Co., Inc.",
        "corporation",
        TRADER,
        "999901000201",
        gx_league=True,
    ),
    DemoParticipant(
        "SETOUCHI_EP",
        "瀬戸内電力株式会社",
        "Setouchi Electric Power Co., Inc.",
        "corporation",
        TRADER,
        "999901000202",
        gx_league=True,
    ),
    # manufacturers: large emitters in the GX League, and a food maker outside it
    DemoParticipant(
        "HOKUTO_STEEL",
        "北斗製鉄株式会社",
        "Hokuto Steel Corporation",
        "corporation",
        TRADER,
        "999901000301",
        gx_league=True,
    ),
    DemoParticipant(
        "MIKAWA_SEIKI",
        "三河精機工業株式会社",
        "Mikawa Seiki Kogyo Co., Ltd.",
        "corporation",
        TRADER,
        "999901000302",
        gx_league=True,
    ),
    DemoParticipant(
        "AOBA_CHEM",
        "青葉化学工業株式会社",
        "Aoba Chemical Industries Co., Ltd.",
        "corporation",
        TRADER,
        "999901000303",
        gx_league=True,
    ),
    DemoParticipant(
        "FUJIMI_FOODS",
        "富士見食品株式会社",
        "Fujimi Foods Co., Ltd.",
        "corporation",
        TRADER,
        "999901000304",
    ),
    # 森林組合 and a coastal city: forest, J-Blue and local-government credits
    DemoParticipant(
        "MISUGI_FOC",
        "美杉郷森林組合",
        "Misugi-go Forest Owners' Cooperative",
        "association",
        TRADER,
        "999905000401",
    ),
    DemoParticipant("SHIOMI_CITY", "潮見市", "Shiomi City", "local_government", TRADER, None),
    # intermediaries: brokers and the market maker (FY2025 programme)
    DemoParticipant(
        "HIBIYA_SEC",
        "日比谷カーボン証券株式会社",
        "Hibiya Carbon Securities Co., Ltd.",
        "corporation",
        ("broker", "trader"),
        "999901000501",
    ),
    DemoParticipant(
        "KABUTOCHO_GB",
        "兜町グリーンブローカーズ株式会社",
        "Kabutocho Green Brokers Co., Ltd.",
        "corporation",
        ("broker", "trader"),
        "999901000502",
    ),
    DemoParticipant(
        "YAESU_LP",
        "八重洲リクイディティ・パートナーズ株式会社",
        "Yaesu Liquidity Partners Co., Ltd.",
        "corporation",
        ("trader", "market_maker"),
        "999901000601",
    ),
    # a trading house from abroad: no 法人番号, its LEI (invented bases start 9999, no real LOU's
    # prefix) and its name in Chinese, as registered in Singapore
    DemoParticipant(
        "STRAITS_MT",
        "ストレイツ・メリディアン・トレーディング",
        "Straits Meridian Trading Pte. Ltd.",
        "corporation",
        TRADER,
        None,
        lei_base="999900STRAITSMT001",
        country="SG",
        name_local="海峡子午贸易私人有限公司",
    ),
    # an applicant still waiting for the operator's approval
    DemoParticipant(
        "SHONAN_GE",
        "湘南グリーンエナジー株式会社",
        "Shonan Green Energy K.K.",
        "corporation",
        TRADER,
        "999901000701",
        active=False,
    ),
)

BROKER_AUTHORISATIONS: tuple[tuple[str, str], ...] = (
    ("FUJIMI_FOODS", "HIBIYA_SEC"),
    ("MIKAWA_SEIKI", "HIBIYA_SEC"),
    ("AOBA_CHEM", "KABUTOCHO_GB"),
)

DEPARTMENT_ACCOUNTS: dict[str, tuple[str, str]] = {
    # key: (owner, account name); several holding accounts per company since 2023-10
    "MARUHAMA_VOLUNTARY": ("MARUHAMA", "環境ソリューション本部 ボランタリークレジット口座"),
    "HOKUTO_GX": ("HOKUTO_STEEL", "GX推進部 GX-ETS 償却準備口座"),
}

CASH_DEPOSITS: tuple[tuple[str, int], ...] = (
    # JPY, integers: margin for buying at TSE price levels (¥2,000 to ¥15,000 a tonne)
    ("MARUHAMA", 500_000_000),
    ("TOKAI", 300_000_000),
    ("TAIYO", 250_000_000),
    ("KANTO_EP", 200_000_000),
    ("SETOUCHI_EP", 100_000_000),
    ("HOKUTO_STEEL", 800_000_000),
    ("MIKAWA_SEIKI", 120_000_000),
    ("AOBA_CHEM", 150_000_000),
    ("FUJIMI_FOODS", 60_000_000),
    ("SHIOMI_CITY", 20_000_000),
    ("HIBIYA_SEC", 50_000_000),
    ("KABUTOCHO_GB", 30_000_000),
    ("YAESU_LP", 400_000_000),
    ("STRAITS_MT", 80_000_000),
)

# ---------------------------------------------------------------- projects

JA = "JP"
PROJECTS: tuple[NewProject, ...] = (
    # J-Credit, one or more in every TSE category (methodology codes of the J-Credit scheme)
    NewProject(
        "P0311",
        "JC",
        "Mikawa Seiki Okazaki plant: high-efficiency boiler replacement",
        "ENERGY_SAVING",
        JA,
        name_ja="三河精機工業 岡崎工場 高効率ボイラー更新",
        region="愛知県",
        developer="三河精機工業株式会社",
        methodology="EN-S-001 ボイラーの導入",
    ),
    NewProject(
        "P0457",
        "JC",
        "SME energy-saving equipment programme (Kanto and Chubu)",
        "ENERGY_SAVING",
        JA,
        name_ja="中小企業等の省エネ設備導入プログラム(関東・中部)",
        region="東京都ほか",
        developer="丸浜商事株式会社",
        methodology="EN-S-002 ヒートポンプの導入 / EN-S-019 照明設備の導入",
    ),
    NewProject(
        "P0502",
        "JC",
        "Residential rooftop solar programme",
        "RE_POWER",
        JA,
        name_ja="住宅用太陽光発電設備による CO2 削減プログラム",
        region="関東地方",
        developer="関東中央電力株式会社",
        methodology="EN-R-002 太陽光発電設備の導入",
    ),
    NewProject(
        "P0618",
        "JC",
        "Setouchi Tamashima mega-solar power plant",
        "RE_POWER",
        JA,
        name_ja="瀬戸内 玉島メガソーラー発電所",
        region="岡山県",
        developer="瀬戸内電力株式会社",
        methodology="EN-R-002 太陽光発電設備の導入",
    ),
    NewProject(
        "P0733",
        "JC",
        "Setouchi woody biomass power station (thinned timber)",
        "RE_POWER_BIOMASS",
        JA,
        name_ja="瀬戸内 木質バイオマス発電所(間伐材利用)",
        region="広島県",
        developer="瀬戸内電力株式会社",
        methodology="EN-R-001 バイオマス固形燃料(木質バイオマス)による代替",
    ),
    NewProject(
        "P0745",
        "JC",
        "Wood-chip boilers for hot-spring inns and public baths",
        "RE_HEAT",
        JA,
        name_ja="温泉旅館・公衆浴場への木質チップボイラー導入",
        region="三重県",
        developer="美杉郷森林組合",
        methodology="EN-R-001 バイオマス固形燃料(木質バイオマス)による代替",
    ),
    NewProject(
        "P0812",
        "JC",
        "Woody biomass combined heat and power at an industrial park",
        "RE_MIXED",
        JA,
        name_ja="工業団地 木質バイオマス熱電併給",
        region="栃木県",
        developer="関東中央電力株式会社",
        methodology="EN-R-001 / EN-S-007 コージェネレーションの導入",
    ),
    NewProject(
        "P0209",
        "JC",
        "Misugi-go forest management (thinning and long rotation)",
        "FOREST",
        JA,
        name_ja="美杉郷 森林経営活動(間伐・長伐期化)",
        region="三重県",
        developer="美杉郷森林組合",
        methodology="FO-001 森林経営活動",
        mechanism="removal",
        nature="nature",
    ),
    NewProject(
        "P0888",
        "JC",
        "Shiomi city-owned forest management",
        "FOREST",
        JA,
        name_ja="潮見市 市有林の森林経営活動",
        region="広島県",
        developer="潮見市",
        methodology="FO-001 森林経営活動",
        mechanism="removal",
        nature="nature",
    ),
    NewProject(
        "P0951",
        "JC",
        "Extended mid-season drainage in paddy rice (Tohoku programme)",
        "AGRI_MIDSEASON",
        JA,
        name_ja="水稲栽培における中干し期間の延長(東北プログラム)",
        region="宮城県・山形県・秋田県",
        developer="東海物産株式会社",
        methodology="AG-005 水稲栽培における中干し期間の延長",
        nature="nature",
    ),
    NewProject(
        "P0964",
        "JC",
        "Biochar from pruned orchard branches applied to farmland",
        "AGRI_BIOCHAR",
        JA,
        name_ja="剪定枝由来バイオ炭の農地施用",
        region="山梨県・長野県",
        developer="大洋通商株式会社",
        methodology="AG-004 バイオ炭の農地施用",
        mechanism="removal",
    ),
    NewProject(
        "P0420",
        "JC",
        "Amino-acid balanced feed for pigs and broilers",
        "OTHER",
        JA,
        name_ja="豚・ブロイラーへのアミノ酸バランス改善飼料の給餌",
        region="鹿児島県・宮崎県",
        developer="富士見食品株式会社",
        methodology="AG-001 牛・豚・ブロイラーへのアミノ酸バランス改善飼料の給餌",
    ),
    # legacy schemes, still traded at TSE
    NewProject(
        "V0107",
        "JV",
        "Misugi-go forest absorption (J-VER)",
        "JVER",
        JA,
        name_ja="美杉郷 間伐促進型森林吸収プロジェクト(J-VER)",
        region="三重県",
        developer="美杉郷森林組合",
        methodology="R001 間伐促進型",
        mechanism="removal",
        nature="nature",
    ),
    NewProject(
        "K1842",
        "KC",
        "Boiler fuel switch at a dairy plant (Domestic Credit)",
        "DOMESTIC_CREDIT",
        JA,
        name_ja="乳製品工場のボイラー燃料転換(国内クレジット)",
        region="北海道",
        developer="丸浜商事株式会社",
        methodology="方法論 001",
    ),
    # GX-ETS phase 1: an over-achiever's excess reduction (超過削減枠)
    NewProject(
        "G0042",
        "GX",
        "Aoba Chemical excess reduction, GX League phase 1",
        "GX_EXCESS",
        JA,
        name_ja="青葉化学工業 GXリーグ第1フェーズ 超過削減枠",
        region="千葉県",
        developer="青葉化学工業株式会社",
        methodology="GX-ETS 第1フェーズ 目標超過達成",
    ),
    # JCM (二国間クレジット制度)
    NewProject(
        "VN091",
        "JM",
        "High-efficiency refrigeration at a seafood plant in Ho Chi Minh City",
        "JCM",
        "VN",
        name_ja="ホーチミン市 水産加工工場への高効率冷凍機導入",
        region="Ho Chi Minh City",
        developer="丸浜商事株式会社",
        methodology="VN_AM007",
        evaluation_axes=["japanese_technology", "japanese_investment"],
    ),
    NewProject(
        "ID094",
        "JM",
        "Rooftop solar at an industrial estate near Jakarta",
        "JCM",
        "ID",
        name_ja="ジャカルタ近郊工業団地 屋根置き太陽光発電",
        region="West Java",
        developer="大洋通商株式会社",
        methodology="ID_AM015",
        evaluation_axes=["japanese_investment", "energy_mix"],
    ),
    NewProject(
        "TH097",
        "JM",
        "Waste heat recovery at a chemical plant in Rayong",
        "JCM",
        "TH",
        name_ja="ラヨーン県 化学工場 廃熱回収発電",
        region="Rayong",
        developer="青葉化学工業株式会社",
        methodology="TH_AM019",
        evaluation_axes=["japanese_technology", "japanese_investment"],
    ),
    NewProject(
        "MN093",
        "JM",
        "Solar power plant on the outskirts of Ulaanbaatar",
        "JCM",
        "MN",
        name_ja="ウランバートル近郊 太陽光発電所",
        region="Tuv Province",
        developer="東海物産株式会社",
        methodology="MN_AM003",
        evaluation_axes=["japanese_investment"],
    ),
    # J-Blue and local government
    NewProject(
        "B0012",
        "JB",
        "Shiomi Bay eelgrass and seaweed bed restoration",
        "BLUE_CARBON",
        JA,
        name_ja="潮見湾 アマモ場・藻場の再生",
        region="広島県",
        developer="潮見市・潮見漁業協同組合",
        methodology="JBE ブルーカーボン算定ガイドライン",
        mechanism="removal",
        nature="nature",
        co_benefits=["fisheries", "biodiversity"],
    ),
    NewProject(
        "L0003",
        "LG",
        "Shiomi LED street lights and public-building retrofit",
        "LOCAL_GOVERNMENT",
        JA,
        name_ja="潮見市 防犯灯LED化・公共施設省エネ改修",
        region="広島県",
        developer="潮見市",
        methodology="自治体クレジット算定要領",
    ),
    # voluntary credits deposited from Verra and Gold Standard
    NewProject(
        "4812",
        "VCS",
        "Rio Verde native reforestation (ARR)",
        "VOLUNTARY_NATURE",
        "BR",
        name_ja="リオ・ヴェルデ 在来種再植林",
        region="Minas Gerais",
        developer="Rio Verde Florestas Ltda.",
        methodology="VM0047 Afforestation, Reforestation and Revegetation",
        mechanism="removal",
        nature="nature",
        evaluation_axes=["japanese_investment", "long_term_offtake", "japanese_technology"],
        co_benefits=["biodiversity", "water"],
    ),
    NewProject(
        "4957",
        "VCS",
        "Central Kalimantan peat swamp forest conservation (REDD+)",
        "VOLUNTARY_NATURE",
        "ID",
        name_ja="中部カリマンタン 泥炭湿地林保全(REDD+)",
        region="Central Kalimantan",
        developer="PT Gambut Lestari",
        methodology="VM0007 REDD+ Methodology Framework",
        nature="nature",
        evaluation_axes=["japanese_technology"],
        co_benefits=["biodiversity"],
    ),
    NewProject(
        "5203",
        "VCS",
        "Nordic direct air capture with geological storage",
        "VOLUNTARY_TECH",
        "IS",
        name_ja="北欧 直接空気回収・地中貯留(DACCS)",
        region="Reykjanes",
        developer="Nordic Air Removal hf.",
        methodology="DACCS with mineral storage",
        mechanism="removal",
        evaluation_axes=["pioneering_technology", "japanese_investment", "long_term_offtake"],
    ),
    NewProject(
        "GS11872",
        "GS",
        "Efficient cookstoves for households in Rwanda",
        "VOLUNTARY_TECH",
        "RW",
        name_ja="ルワンダ 家庭用高効率調理コンロ",
        region="Southern Province",
        developer="Inzu Clean Cooking Ltd.",
        methodology="GS TPDDTEC",
        co_benefits=["health", "gender"],
    ),
    NewProject(
        "GS12650",
        "GS",
        "Biochar from cocoa husks in Ghana",
        "VOLUNTARY_TECH",
        "GH",
        name_ja="ガーナ カカオ殻由来バイオ炭",
        region="Ashanti",
        developer="Kumasi Carbon Farms Ltd.",
        methodology="GS Methodology for Biochar",
        mechanism="removal",
        evaluation_axes=["long_term_offtake"],
        co_benefits=["soil", "livelihoods"],
    ),
)

# ---------------------------------------------------------------- issuances


@dataclass(frozen=True, slots=True)
class DemoIssuance:
    project: str
    credit_type: str
    round: str
    vintage: int
    quantity: int
    account: str
    certified_on: str
    ca_declaration: str = "not_required"
    ca_status: str = "not_started"
    external: tuple[str, str] | None = None
    """(external registry, its reference) for credits deposited from another registry."""


def _main(pid: str) -> str:
    return f"{pid}-MAIN"


MARUHAMA_VOLUNTARY = "@MARUHAMA_VOLUNTARY"
"""Stands for the department account, whose id the registry assigns when it is opened."""

VERRA = "Verra Registry"
GOLD = "Gold Standard Impact Registry"
ISSUANCES: tuple[DemoIssuance, ...] = (
    DemoIssuance("P0311", "ER", "1", 2016, 4_200, _main("MIKAWA_SEIKI"), "2017-06-21"),
    DemoIssuance("P0311", "ER", "2", 2019, 6_800, _main("MIKAWA_SEIKI"), "2020-07-15"),
    DemoIssuance("P0311", "ER", "3", 2022, 5_300, _main("MIKAWA_SEIKI"), "2023-06-28"),
    DemoIssuance("P0457", "ER", "1", 2018, 12_400, _main("MARUHAMA"), "2019-03-27"),
    DemoIssuance("P0457", "ER", "2", 2021, 18_600, _main("MARUHAMA"), "2022-03-30"),
    DemoIssuance("P0457", "ER", "3", 2023, 9_900, _main("MARUHAMA"), "2024-03-27"),
    DemoIssuance("P0502", "ER", "1", 2017, 31_000, _main("KANTO_EP"), "2018-07-25"),
    DemoIssuance("P0502", "ER", "2", 2020, 42_500, _main("KANTO_EP"), "2021-07-28"),
    DemoIssuance("P0502", "ER", "3", 2023, 38_200, _main("KANTO_EP"), "2024-07-24"),
    DemoIssuance("P0618", "ER", "1", 2019, 8_400, _main("SETOUCHI_EP"), "2020-03-25"),
    DemoIssuance("P0618", "ER", "2", 2022, 11_700, _main("SETOUCHI_EP"), "2023-03-29"),
    DemoIssuance("P0618", "ER", "3", 2024, 6_300, _main("SETOUCHI_EP"), "2025-03-26"),
    DemoIssuance("P0733", "ER", "1", 2021, 24_800, _main("SETOUCHI_EP"), "2022-11-30"),
    DemoIssuance("P0733", "ER", "2", 2023, 19_600, _main("SETOUCHI_EP"), "2024-11-27"),
    DemoIssuance("P0745", "ER", "1", 2020, 1_850, _main("MISUGI_FOC"), "2021-06-30"),
    DemoIssuance("P0745", "ER", "2", 2023, 2_240, _main("MISUGI_FOC"), "2024-06-26"),
    DemoIssuance("P0812", "ER", "1", 2022, 7_600, _main("KANTO_EP"), "2023-09-27"),
    DemoIssuance("P0209", "FM", "1", 2015, 3_420, _main("MISUGI_FOC"), "2016-11-30"),
    DemoIssuance("P0209", "FM", "2", 2019, 5_180, _main("MISUGI_FOC"), "2020-11-25"),
    DemoIssuance("P0209", "FM", "3", 2023, 4_760, _main("MISUGI_FOC"), "2024-11-27"),
    DemoIssuance("P0888", "FM", "1", 2021, 2_130, _main("SHIOMI_CITY"), "2022-12-21"),
    DemoIssuance("P0951", "ER", "1", 2023, 46_300, _main("TOKAI"), "2024-08-28"),
    DemoIssuance("P0951", "ER", "2", 2024, 58_900, _main("TOKAI"), "2025-08-27"),
    DemoIssuance("P0964", "RM", "1", 2023, 860, _main("TAIYO"), "2024-05-29"),
    DemoIssuance("P0964", "RM", "2", 2024, 1_420, _main("TAIYO"), "2025-05-28"),
    DemoIssuance("P0420", "ER", "1", 2020, 3_300, _main("FUJIMI_FOODS"), "2021-09-29"),
    DemoIssuance("P0420", "ER", "2", 2022, 4_150, _main("FUJIMI_FOODS"), "2023-09-27"),
    DemoIssuance("V0107", "FM", "1", 2013, 2_600, _main("MISUGI_FOC"), "2014-03-26"),
    DemoIssuance("K1842", "ER", "1", 2013, 15_000, _main("MARUHAMA"), "2013-12-18"),
    DemoIssuance("G0042", "ER", "1", 2023, 85_000, _main("AOBA_CHEM"), "2024-10-30"),
    # JCM: corresponding adjustment committed for vintages under the Paris Agreement (2021-)
    DemoIssuance("VN091", "ER", "1", 2019, 6_200, _main("MARUHAMA"), "2020-10-14"),
    DemoIssuance(
        "VN091", "ER", "2", 2022, 9_400, _main("MARUHAMA"), "2023-10-11", "committed", "completed"
    ),
    DemoIssuance(
        "ID094", "ER", "1", 2023, 14_600, _main("TAIYO"), "2024-09-18", "committed", "completed"
    ),
    DemoIssuance(
        "TH097", "ER", "1", 2022, 9_800, _main("AOBA_CHEM"), "2023-12-13", "committed", "pending"
    ),
    DemoIssuance(
        "MN093", "ER", "1", 2021, 11_800, _main("TOKAI"), "2022-09-21", "committed", "completed"
    ),
    DemoIssuance(
        "MN093", "ER", "2", 2024, 7_300, _main("TOKAI"), "2025-09-17", "committed", "not_started"
    ),
    DemoIssuance("B0012", "RM", "1", 2023, 310, _main("SHIOMI_CITY"), "2024-02-28"),
    DemoIssuance("L0003", "ER", "1", 2022, 540, _main("SHIOMI_CITY"), "2023-05-31"),
    # deposited from external registries (invented serial references)
    DemoIssuance(
        "4812",
        "RM",
        "1",
        2021,
        12_000,
        MARUHAMA_VOLUNTARY,
        "2022-08-16",
        "unknown",
        external=(
            VERRA,
            "VCU 14377-581220034-581232033-VCS-VCU-1047-VER-BR-14-4812-01012021-31122021-0",
        ),
    ),
    DemoIssuance(
        "4812",
        "RM",
        "2",
        2022,
        15_500,
        MARUHAMA_VOLUNTARY,
        "2023-08-22",
        "unknown",
        external=(
            VERRA,
            "VCU 15820-602114871-602130370-VCS-VCU-1047-VER-BR-14-4812-01012022-31122022-0",
        ),
    ),
    DemoIssuance(
        "4957",
        "ER",
        "1",
        2019,
        30_000,
        _main("TAIYO"),
        "2020-12-03",
        external=(
            VERRA,
            "VCU 10094-412500001-412530000-VCS-VCU-997-VER-ID-14-4957-01012019-31122019-1",
        ),
    ),
    DemoIssuance(
        "5203",
        "RM",
        "1",
        2024,
        500,
        MARUHAMA_VOLUNTARY,
        "2025-04-09",
        "unknown",
        external=(
            VERRA,
            "VCU 17611-701000001-701000500-VCS-VCU-1601-VER-IS-5-5203-01012024-31122024-0",
        ),
    ),
    DemoIssuance(
        "GS11872",
        "ER",
        "1",
        2020,
        20_000,
        _main("TAIYO"),
        "2021-06-10",
        external=(GOLD, "GS1-1-RW-GS11872-12-2020-23991-1-20000"),
    ),
    DemoIssuance(
        "GS12650",
        "RM",
        "1",
        2023,
        3_000,
        MARUHAMA_VOLUNTARY,
        "2024-07-02",
        "unknown",
        external=(GOLD, "GS1-1-GH-GS12650-16-2023-27514-1-3000"),
    ),
)


def _serials(issuance: str, start: int, end: int) -> Selection:
    return Selection(serials=f"{issuance}-{start}-{end}")


# ---------------------------------------------------------------- loading


def load(db: Database) -> dict[str, str]:
    """Load the demo market into a bootstrapped database; returns {participant id: API key}."""
    with db.read() as conn:
        if repo.get_participant(conn, PARTICIPANTS[0].id) is not None:
            raise Conflict(
                "demo_already_loaded",
                "The demo market is already loaded; start from an empty database: "
                "`tanso init --demo --reset` deletes this SQLite file and loads it again.",
            )
    keys = _participants(db)
    actors = {pid: participants.authenticate(db, key) for pid, key in keys.items()}
    accounts = _accounts(db, actors)
    _projects_and_issuances(db, accounts)
    for pid, amount in CASH_DEPOSITS:
        cash.deposit(db, SYSTEM, pid, "JPY", amount, f"DEMO-BANK-{pid}-0001")
    _history(db, actors, keys, accounts)
    return keys


def _participants(db: Database) -> dict[str, str]:
    keys: dict[str, str] = {}
    for p in PARTICIPANTS:
        number = corporate_number(p.corporate_base) if p.corporate_base else None
        participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                p.name_ja,
                p.name_en,
                p.kind,
                list(p.roles),
                number,
                p.gx_league,
                p.id,
                lei=lei(p.lei_base) if p.lei_base else None,
                country=p.country,
                name_local=p.name_local,
            ),
        )
        if p.active:
            participants.set_status(db, SYSTEM, p.id, "active", "approved: demo market")
        keys[p.id] = participants.create_api_key(db, SYSTEM, p.id, "demo key").key
    for client, broker in BROKER_AUTHORISATIONS:
        participants.authorise_broker(db, SYSTEM, client, broker, True)
    return keys


def _accounts(db: Database, actors: dict[str, Actor]) -> dict[str, str]:
    """Open the department accounts; returns their ids by key (the registry numbers them)."""
    opened: dict[str, str] = {}
    for key, (owner, name) in DEPARTMENT_ACCOUNTS.items():
        opened[key] = participants.open_account(db, actors[owner], name).id
    return opened


def _projects_and_issuances(db: Database, accounts: dict[str, str]) -> None:
    for p in PROJECTS:
        taxonomy.register_project(db, SYSTEM, p)
    for i in ISSUANCES:
        account = accounts[i.account[1:]] if i.account.startswith("@") else i.account
        n = NewIssuance(
            i.project,
            i.credit_type,
            i.round,
            i.vintage,
            i.quantity,
            account,
            i.certified_on,
            i.ca_declaration,
            i.ca_status,
        )
        if i.external is None:
            registry.issue(db, SYSTEM, n)
        else:
            registry.deposit(db, SYSTEM, n, *i.external)


def _history(
    db: Database, actors: dict[str, Actor], keys: dict[str, str], accounts: dict[str, str]
) -> None:
    """Trades settled bilaterally, then retirements, a cancellation and a withdrawal.

    Each company moves its own credits with its own key; comments give the credits moved.
    """
    a = actors
    hokuto_gx = accounts["HOKUTO_GX"]
    voluntary = accounts["MARUHAMA_VOLUNTARY"]

    def transfer(seller: str, to_account: str, sel: Selection) -> None:
        registry.transfer(db, a[seller], _main(seller), to_account, sel)

    def retire(
        who: Actor,
        account: str,
        sel: Selection,
        purpose: str,
        beneficiary: str,
        year: int,
        note: str,
    ) -> None:
        request = RetirementRequest(account, sel, [purpose], beneficiary, year, note)
        registry.retire(db, who, request)

    # transfers: by serial range where the buyer wants particular credits, else oldest first
    transfer("MARUHAMA", _main("HOKUTO_STEEL"), _serials("JC-ER-P0457-2", 1, 8_000))
    transfer("KANTO_EP", _main("MIKAWA_SEIKI"), _serials("JC-ER-P0502-2", 1, 3_000))
    transfer("MISUGI_FOC", _main("MARUHAMA"), Selection(quantity=2_600))  # J-VER 2013
    transfer("MISUGI_FOC", _main("AOBA_CHEM"), Selection(quantity=1_200))  # forest 2015
    transfer("AOBA_CHEM", hokuto_gx, _serials("GX-ER-G0042-1", 1, 30_000))
    transfer("TOKAI", hokuto_gx, _serials("JM-ER-MN093-1", 1, 5_000))
    transfer("SETOUCHI_EP", _main("TOKAI"), Selection(quantity=6_000))  # mega-solar 2019
    transfer("KANTO_EP", _main("YAESU_LP"), Selection(quantity=10_000))  # residential solar 2017
    transfer("MARUHAMA", _main("YAESU_LP"), _serials("JC-ER-P0457-1", 1, 5_000))
    transfer("TAIYO", _main("FUJIMI_FOODS"), Selection(quantity=4_000))  # VCS REDD+ 2019
    transfer("SETOUCHI_EP", _main("MARUHAMA"), _serials("JC-ER-P0733-1", 1, 4_000))
    transfer("MISUGI_FOC", _main("TAIYO"), _serials("JC-FM-P0209-2", 1, 1_500))
    transfer("TAIYO", _main("STRAITS_MT"), _serials("JM-ER-ID094-1", 12_601, 14_600))  # JCM

    # retirements (無効化) for several purposes
    retire(
        a["HOKUTO_STEEL"],
        _main("HOKUTO_STEEL"),
        Selection(quantity=8_000),
        "shk_reporting",
        "北斗製鉄株式会社",
        2024,
        "温対法 調整後温室効果ガス排出量 FY2024",
    )
    retire(
        a["KANTO_EP"],
        _main("KANTO_EP"),
        Selection(quantity=20_000),
        "shk_reporting",
        "関東中央電力株式会社",
        2023,
        "調整後排出係数の算定(小売電気事業者)FY2023",
    )
    retire(
        a["MIKAWA_SEIKI"],
        _main("MIKAWA_SEIKI"),
        _serials("JC-ER-P0502-2", 1, 3_000),
        "re100",
        "三河精機工業株式会社",
        2024,
        "RE100: 岡崎工場の購入電力 FY2024",
    )
    retire(
        a["AOBA_CHEM"],
        _main("AOBA_CHEM"),
        Selection(quantity=1_200),
        "offset_scope1",
        "青葉化学工業株式会社 千葉事業所",
        2024,
        "Scope 1 残余排出のオフセット(森林吸収)",
    )
    fujimi_by_broker = participants.authenticate(db, keys["HIBIYA_SEC"], "FUJIMI_FOODS")
    retire(
        fujimi_by_broker,
        _main("FUJIMI_FOODS"),
        Selection(quantity=2_500),
        "offset_scope3",
        "富士見食品株式会社",
        2024,
        "Scope 3 カテゴリ1(原材料調達)のオフセット",
    )
    retire(
        a["HOKUTO_STEEL"],
        hokuto_gx,
        Selection(quantity=5_000),
        "gx_ets_surrender",
        "北斗製鉄株式会社",
        2025,
        "GXリーグ第1フェーズ 目標達成のための償却(JCM)",
    )
    retire(
        a["HOKUTO_STEEL"],
        hokuto_gx,
        Selection(quantity=30_000),
        "gx_ets_surrender",
        "北斗製鉄株式会社",
        2025,
        "GXリーグ第1フェーズ 目標達成のための償却(超過削減枠)",
    )
    retire(
        a["SHIOMI_CITY"],
        _main("SHIOMI_CITY"),
        _serials("JB-RM-B0012-1", 1, 45),
        "offset_event",
        "潮見みなと花火大会 2024 実行委員会",
        2024,
        "花火大会の CO2 排出をブルーカーボンでオフセット",
    )
    retire(
        a["TAIYO"],
        _main("TAIYO"),
        _serials("GS-ER-GS11872-1", 1, 1_000),
        "offset_scope3",
        "大洋通商株式会社",
        2024,
        "Scope 3 カテゴリ6(出張)のオフセット",
    )
    retire(
        a["TOKAI"],
        _main("TOKAI"),
        _serials("JC-ER-P0951-1", 1, 500),
        "offset_product",
        "東海物産株式会社",
        2024,
        "カーボン・オフセット米(中干し延長)",
    )

    # 取消: JCM credits cancelled towards Japan's NDC, never to be used by a company
    registry.cancel(
        db,
        a["TAIYO"],
        _main("TAIYO"),
        _serials("JM-ER-ID094-1", 1, 1_000),
        "JCM 日本政府の NDC 達成のための取消",
    )
    # Verra credits sent back to the trading house's account in the Verra registry
    registry.withdraw(
        db,
        a["MARUHAMA"],
        voluntary,
        Selection(quantity=2_000),
        VERRA,
        "Maruhama Corporation, Verra account 4471-0082",
    )
