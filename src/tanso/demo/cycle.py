"""The demo's project cycle (issue 23, docs/project-cycle.md): what `tanso init --demo` adds
after the venues' demos.

- **Two verification bodies.** 日本森林認証審査機構 (JFA_VERIFY, "Japan Forest Assurance") is
  accredited for J-Credit forestry, ときわ環境審査 (TOKIWA_VERIFY) for J-Credit forestry and
  agriculture. Both are invented.
- **A forest project through the whole cycle.** 土佐奥嶺森林組合 (OKUMINE_FOC, an invented forest
  owners' cooperative in 高知県) drafts plan P1027 under J-Credit FO-001 3.0 (森林経営活動):
  606 ha of スギ and ヒノキ in 14 compartments (林小班) of the upper Niyodo basin, with its
  plan document and compartment register. It names JFA_VERIFY, which validates it (positive);
  the operator registers it. Two monitoring reports follow, each for a fiscal year (April to
  March), with the stem volume growth of every compartment as its measurement series, the
  plot measurements as a CSV and a Sentinel-2 NDVI series as satellite data. JFA_VERIFY
  verifies the first at the full claim; TOKIWA_VERIFY verifies the second lower, after a
  remeasurement of one compartment's plots. Each verified report is issued from by an
  approved request (FO-001 has no buffer) into the cooperative's account.
- **A biochar project under validation.** 株式会社みちのく炭素農法 (MICHINOKU_AGRI, invented)
  submits plan P1035 under J-Credit AG-004 1.0 (バイオ炭の農地施用): rice husk biochar applied
  to paddy-rotation fields in 秋田県 and 山形県, with its plan and the biochar's laboratory
  analysis. TOKIWA_VERIFY has started the validation; there is no opinion yet.

The steps happen on plausible business days before the demo's history (the forest plan
about three years before it, the reports after the fiscal years they cover, the biochar
plan in the weeks before): the services date every step by the business clock, so the clock
is set back to each step's day while it runs, then handed back. Those journal entries come
after the history's in sequence but carry their own, earlier, times. Everything goes through
the services (the operator's work as ``SYSTEM``, each company's as itself), so every fact is a
journal entry; the project ids are fixed, the report, request and issuance ids random. Names,
places, areas and figures are illustrative.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from decimal import Decimal

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.demo.market import DemoParticipant, corporate_number
from tanso.domain import methodologies as md
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.cycle import accreditation, issuance_requests, monitoring, plans
from tanso.services.cycle import methodologies as meth
from tanso.services.ledger import participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import repo
from tanso.store.db import Database

SITE = "http://127.0.0.1:8000"

# ---------------------------------------------------------------- who

JFA = DemoParticipant(
    "JFA_VERIFY",
    "一般社団法人日本森林認証審査機構",
    "Japan Forest Assurance",
    "association",
    ("verification_body",),
    "999935000101",  # invented, office code 9999 35: clear of the other demo participants
)
TOKIWA = DemoParticipant(
    "TOKIWA_VERIFY",
    "ときわ環境審査株式会社",
    "Tokiwa Environmental Assurance Co., Ltd.",
    "corporation",
    ("verification_body",),
    "999935000102",
)
FOREST_OWNER = DemoParticipant(
    "OKUMINE_FOC",
    "土佐奥嶺森林組合",
    "Tosa Okumine Forest Owners' Cooperative",
    "association",
    ("trader",),
    "999935000201",
)
BIOCHAR_OWNER = DemoParticipant(
    "MICHINOKU_AGRI",
    "株式会社みちのく炭素農法",
    "Michinoku Carbon Farming K.K.",
    "corporation",
    ("trader",),
    "999935000202",
)
ACCREDITED = ((JFA, ("forestry",)), (TOKIWA, ("forestry", "agriculture")))
"""The bodies' J-Credit accreditations (scheme JC), by sector."""

# ---------------------------------------------------------------- the forest project

FOREST_PROJECT = "P1027"
FOREST_PLAN = plans.NewPlan(
    name="Upper Niyodo cedar and cypress forest management (Tosa Okumine)",
    name_ja="土佐奥嶺 仁淀川上流 スギ・ヒノキ人工林の森林経営活動",
    category="FOREST",
    country="JP",
    methodology_id="FO-001",
    methodology_version="3.0",
    description=(
        "土佐奥嶺森林組合が森林経営計画 (高知県 吾川郡, 計画期間 5 年) に基づき、組合員所有の"
        "スギ・ヒノキ人工林 606 ha (14 林小班, 林齢 36〜63 年) で間伐と長伐期化を進め、成長量に"
        "よる吸収を FO-001 で算定します。係数はスギの値 (拡大係数 1.23, 地下部比率 0.25, 容積密度 "
        "0.314, 炭素含有率 0.51) をヒノキにも用います (ヒノキの容積密度 0.407 より小さく保守的)。"
        " Thinning and long rotation on 606 ha of planted Japanese cedar and cypress in 14 "
        "compartments of the upper Niyodo basin, under a five-year forest management plan; "
        "removals are the compartments' stem volume growth, converted with the cedar factors "
        "(conservative for cypress). Illustrative (demo)."
    ),
    expected_tonnes_per_year=4_600,
    id=FOREST_PROJECT,
    region="高知県吾川郡",
    nature="nature",
    co_benefits=["biodiversity", "water"],
)
FACTORS = {
    "bef": "1.23",
    "root_shoot_ratio": "0.25",
    "wood_density": "0.314",
    "carbon_fraction": "0.51",
}
"""スギ (Cryptomeria japonica) factors of Japan's National Inventory Report, for every
compartment."""


@dataclass(frozen=True, slots=True)
class Compartment:
    """A 林小班 of the forest: species, area, age at the first period's start, stock per ha,
    and the stem volume growth per ha of each fiscal year."""

    id: str
    species: str
    area_ha: Decimal
    age: int
    stock_per_ha: Decimal
    growth_per_ha: tuple[Decimal, Decimal]
    plots: int


def _c(cid: str, species: str, area: str, age: int, stock: int, g1: str, g2: str) -> Compartment:
    plots = max(3, math.ceil(Decimal(area) / 12))  # a 0.04 ha plot per 12 ha or part
    return Compartment(
        cid, species, Decimal(area), age, Decimal(stock), (Decimal(g1), Decimal(g2)), plots
    )


COMPARTMENTS = (
    _c("12-い", "スギ", "48.2", 46, 412, "9.8", "9.6"),
    _c("12-ろ", "スギ", "36.5", 52, 455, "9.1", "9.0"),
    _c("13-い", "ヒノキ", "52.0", 41, 318, "7.4", "7.3"),
    _c("13-は", "スギ", "29.8", 58, 498, "8.3", "8.2"),
    _c("14-い", "ヒノキ", "61.3", 47, 352, "6.9", "6.8"),
    _c("14-ろ", "スギ", "44.0", 39, 361, "10.6", "10.4"),
    _c("15-い", "スギ", "57.6", 55, 471, "8.7", "8.6"),
    _c("15-に", "ヒノキ", "33.1", 63, 401, "6.1", "6.0"),
    _c("16-い", "スギ", "40.9", 44, 398, "10.1", "9.9"),
    _c("16-ろ", "ヒノキ", "38.4", 50, 369, "6.6", "6.5"),
    _c("17-い", "スギ", "51.7", 61, 512, "7.9", "7.8"),
    _c("17-は", "スギ", "27.3", 36, 334, "11.2", "11.0"),
    _c("18-い", "ヒノキ", "45.5", 43, 331, "7.2", "7.1"),
    _c("18-ろ", "スギ", "39.8", 49, 437, "9.4", "9.3"),
)
REMEASURED = "15-い"
REMEASURED_GROWTH = Decimal("7.9")
"""The second year's growth per ha of compartment 15-い after the verifier's remeasurement of
its plots (the developer's figure is 8.6)."""

# ---------------------------------------------------------------- the biochar project

BIOCHAR_PROJECT = "P1035"
BIOCHAR_PLAN = plans.NewPlan(
    name="Rice husk biochar on paddy-rotation fields (Akita and Yamagata)",
    name_ja="もみ殻バイオ炭の農地施用 (秋田県・山形県 水田転作畑)",
    category="AGRI_BIOCHAR",
    country="JP",
    methodology_id="AG-004",
    methodology_version="1.0",
    description=(
        "県内 3 か所のライスセンターで出るもみ殻を連続式炭化炉 (450〜550 ℃) でバイオ炭にし、"
        "契約農家 42 戸の水田転作畑 (大豆・そば) 約 380 ha に 10a あたり 0.4〜0.6 t 施用します。"
        "炭素含有率はロットごとの分析値、100 年後の残存率は 2019 年改良 IPCC ガイドラインの"
        "既定値 (高温炭化 0.89) を用います。 Rice husks from three rice centres are carbonised "
        "at 450-550 °C and applied to about 380 ha of upland-rotated paddy fields of 42 contract "
        "farmers; carbon content per production lot, permanence factor of the IPCC 2019 "
        "Refinement. Illustrative (demo)."
    ),
    expected_tonnes_per_year=520,
    id=BIOCHAR_PROJECT,
    region="秋田県・山形県",
    nature="technology",
)
BIOCHAR_LOTS = (
    ("L2026-01", "大潟ライスセンター", "2026-07-08", "44.8", "0.31", "9.2"),
    ("L2026-02", "大潟ライスセンター", "2026-07-22", "46.1", "0.29", "8.7"),
    ("L2026-03", "横手ライスセンター", "2026-08-05", "43.5", "0.33", "10.4"),
    ("L2026-04", "庄内ライスセンター", "2026-08-19", "45.2", "0.30", "9.8"),
    ("L2026-05", "横手ライスセンター", "2026-09-02", "44.1", "0.32", "9.5"),
)
"""(lot, plant, produced, organic carbon %, H/Corg molar ratio, moisture %) of the trial lots."""


# ---------------------------------------------------------------- the timeline


def _business_day(day: dt.date) -> dt.date:
    """``day``, or the next Japanese business day."""
    cal = japan_calendar()
    while not cal.is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def last_period_end(first_day: dt.date) -> dt.date:
    """The end (31 March) of the second monitored fiscal year: the latest one that ended at
    least 170 days before the demo's history, so that its report is verified and issued from
    before it."""
    end = dt.date(first_day.year, 3, 31)
    while (first_day - end).days < 170:
        end = dt.date(end.year - 1, 3, 31)
    return end


REPORT_STEPS = {"submitted": 75, "verified": 130, "requested": 137, "approved": 151}
"""Days after its period's end on which a report is submitted, verified, requested from and
issued from (the next business day if that is none)."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """The days of the demo's cycle steps, all before the history's first day."""

    bodies: dt.date
    developer: dt.date
    drafted: dt.date
    submitted: dt.date
    validation_started: dt.date
    validated: dt.date
    registered: dt.date
    periods: tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]
    biochar_drafted: dt.date
    biochar_submitted: dt.date
    biochar_validation_started: dt.date

    @staticmethod
    def before(first_day: dt.date) -> Timeline:
        end2 = last_period_end(first_day)
        end1 = dt.date(end2.year - 1, 3, 31)
        start1 = dt.date(end1.year - 1, 4, 1)

        def back(day: dt.date, days: int) -> dt.date:
            return _business_day(day - dt.timedelta(days=days))

        # the biochar plan in the last weeks before the history, after the forest's last step
        issued = _business_day(end2 + dt.timedelta(days=REPORT_STEPS["approved"]))
        start = _business_day(max(issued + dt.timedelta(days=1), first_day - dt.timedelta(days=62)))
        span = first_day - start

        return Timeline(
            bodies=back(start1, 320),
            developer=back(start1, 240),
            drafted=back(start1, 200),
            submitted=back(start1, 189),
            validation_started=back(start1, 175),
            validated=back(start1, 110),
            registered=back(start1, 85),
            periods=((start1, end1), (end1 + dt.timedelta(days=1), end2)),
            biochar_drafted=start,
            biochar_submitted=_business_day(start + span * 1 // 4),
            biochar_validation_started=_business_day(start + span * 3 // 5),
        )


# ---------------------------------------------------------------- evidence files


def _csv(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def growth_series(year: int, corrected: bool = False) -> list[str]:
    """Stem volume growth per compartment (m3, one decimal) of fiscal year ``year`` (0 or 1);
    ``corrected``: with the verifier's remeasured compartment."""
    out = []
    for c in COMPARTMENTS:
        per_ha = REMEASURED_GROWTH if corrected and c.id == REMEASURED else c.growth_per_ha[year]
        out.append(str((c.area_ha * per_ha).quantize(Decimal("0.1"))))
    return out


def measurements_csv(year: int, period: tuple[dt.date, dt.date]) -> bytes:
    """The plot-based stock of every compartment at the period's start and end."""
    rows: list[tuple[object, ...]] = []
    growth = growth_series(year)
    for c, g in zip(COMPARTMENTS, growth, strict=True):
        start = c.area_ha * (c.stock_per_ha + sum(c.growth_per_ha[:year], Decimal(0)))
        start = start.quantize(Decimal("0.1"))
        end = start + Decimal(g)
        rows.append((c.id, c.species, c.area_ha, c.age + year, c.plots, start, end, g, period[1]))
    return _csv(
        (
            "compartment",
            "species",
            "area_ha",
            "stand_age",
            "plots",
            "stem_volume_start_m3",
            "stem_volume_end_m3",
            "stem_volume_growth_m3",
            "period_end",
        ),
        rows,
    )


def ndvi_csv(period: tuple[dt.date, dt.date]) -> bytes:
    """Monthly median NDVI per compartment over the period (Sentinel-2 L2A, 10 m): evergreen
    conifers, a little lower in winter, cypress a shade below cedar."""
    rows: list[tuple[object, ...]] = []
    month = period[0].replace(day=1)
    while month <= period[1]:
        season = math.cos((month.month - 8) / 12 * 2 * math.pi)  # greenest in August
        scenes = 2 if month.month in (6, 7) else 4  # the rainy season's clouds
        for i, c in enumerate(COMPARTMENTS):
            base = 0.79 if c.species == "スギ" else 0.77
            value = base + 0.045 * season + ((i * 7) % 5 - 2) * 0.004
            rows.append((month.strftime("%Y-%m"), c.id, f"{value:.3f}", scenes))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return _csv(("month", "compartment", "ndvi_median", "cloud_free_scenes"), rows)


def compartments_csv() -> bytes:
    return _csv(
        ("compartment", "species", "area_ha", "stand_age", "stock_m3_per_ha", "plots"),
        [(c.id, c.species, c.area_ha, c.age, c.stock_per_ha, c.plots) for c in COMPARTMENTS],
    )


def biochar_csv() -> bytes:
    return _csv(
        ("lot", "plant", "produced", "organic_carbon_pct", "h_corg_molar", "moisture_pct"),
        list(BIOCHAR_LOTS),
    )


def plan_document(title: str, lines: list[str]) -> tuple[str, str, bytes]:
    """A plan document as (file name, media type, bytes): a one-page PDF, or the same text as a
    text file where the PDF font is not installed."""
    from tanso.web.documents import pdf

    try:
        from reportlab.lib.styles import ParagraphStyle

        regular, _ = pdf.fonts()
        head = ParagraphStyle("head", fontName=regular, fontSize=14, leading=20, spaceAfter=8)
        body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=14, spaceAfter=4)
        story = [pdf.paragraph(title, head)] + [pdf.paragraph(line, body) for line in lines]
        return "project-plan.pdf", "application/pdf", pdf.a4_pdf(story, title)
    except pdf.FontMissing:
        text = "\n".join([title, "", *lines]) + "\n"
        return "project-plan.txt", "text/plain", text.encode("utf-8")


def forest_plan_lines() -> list[str]:
    area = sum(c.area_ha for c in COMPARTMENTS)
    species = [c.species for c in COMPARTMENTS]
    return [
        "プロジェクト実施者: 土佐奥嶺森林組合 (Tosa Okumine Forest Owners' Cooperative)",
        "方法論: J-クレジット FO-001 森林経営活動 3.0",
        f"対象森林: 高知県吾川郡 仁淀川上流 {len(COMPARTMENTS)} 林小班, {area} ha "
        f"(スギ {species.count('スギ')}, ヒノキ {species.count('ヒノキ')}), "
        "森林経営計画の認定を受けた組合員所有林",
        "活動: 計画期間中の間伐 (本数率 25〜30 %), 主伐の先送り (長伐期化), 作業道の維持",
        "算定: 林小班ごとの幹材積成長量 × 拡大係数 × (1 + 地下部比率) × 容積密度 × 炭素含有率 "
        "× 44/12. 係数はスギの値 (保守的).",
        "モニタリング: 毎年度、12 ha あたり 1 か所の 0.04 ha 固定プロットで毎木調査 (胸高直径・"
        "樹高)。Sentinel-2 の NDVI で被害・伐採の有無を月次で確認。",
        "永続性: 森林経営計画 (5 年) の継続と森林法の伐採届による管理。FO-001 のためバッファーは"
        "ありません。",
        "This document is illustrative (Tanso demo): the cooperative, the compartments and the "
        "figures are invented.",
    ]


def biochar_plan_lines() -> list[str]:
    return [
        "プロジェクト実施者: 株式会社みちのく炭素農法 (Michinoku Carbon Farming K.K.)",
        "方法論: J-クレジット AG-004 バイオ炭の農地施用 1.0",
        "原料: 大潟・横手・庄内のライスセンターで発生するもみ殻 (年間約 2,600 t)",
        "炭化: 連続式炭化炉 2 基 (450〜550 ℃)、ロットごとに有機炭素含有率と H/Corg を分析",
        "施用: 契約農家 42 戸の水田転作畑 約 380 ha に 10a あたり 0.4〜0.6 t",
        "算定: 圃場ごとの施用量 × 炭素含有率 × 100 年後の炭素残存率 (0.89) × 44/12",
        "This document is illustrative (Tanso demo): the company, the fields and the figures are "
        "invented.",
    ]


# ---------------------------------------------------------------- the steps


def _register(db: Database, p: DemoParticipant) -> Actor:
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            p.name_ja,
            p.name_en,
            p.kind,
            list(p.roles),
            corporate_number(p.corporate_base) if p.corporate_base else None,
            id=p.id,
        ),
    )
    participants.set_status(db, SYSTEM, p.id, "active", "approved: demo market")
    return Actor(p.id, frozenset(Role(r) for r in p.roles))


def _forest_report(
    db: Database,
    clock: DemoClock,
    owner: Actor,
    verifier: Actor,
    year: int,
    period: tuple[dt.date, dt.date],
) -> tuple[monitoring.Report, issuance_requests.IssuanceRequest]:
    """One fiscal year's report with its evidence, verified, requested from and issued from."""

    def on(step: str, hour: int) -> None:
        day = _business_day(period[1] + dt.timedelta(days=REPORT_STEPS[step]))
        clock.set(at_jst(day, hour, 0))

    on("submitted", 10)
    params: dict[str, object] = {"stem_volume_growth_m3": growth_series(year), **FACTORS}
    report = monitoring.submit(
        db,
        owner,
        FOREST_PROJECT,
        monitoring.NewReport(
            period[0].isoformat(), period[1].isoformat(), verifier.participant_id, params
        ),
    )
    fy = period[0].year
    for kind, name, content in (
        ("measurement", f"stem-volume-FY{fy}.csv", measurements_csv(year, period)),
        ("satellite_data", f"ndvi-sentinel2-FY{fy}.csv", ndvi_csv(period)),
    ):
        monitoring.attach(db, owner, report.id, kind, name, "text/csv", content)
    on("verified", 15)
    corrected = None
    if year == 0:
        verified = report.claimed_tonnes
        findings = ""
        statement = (
            f"FY{fy} の吸収量 {verified:,} t-CO2 は FO-001 3.0 に従って算定され、重要な虚偽記載は"
            "ありません (合理的保証)。 Reasonable assurance: the removals are fairly stated."
        )
    else:
        with db.read() as conn:
            m = meth.methodology(conn, FOREST_PLAN.methodology_id, FOREST_PLAN.methodology_version)
        corrected = {"stem_volume_growth_m3": growth_series(year, corrected=True), **FACTORS}
        verified = md.tonnes(m, corrected)
        findings = (
            f"林小班 {REMEASURED} の固定プロット 5 か所を立会い再測定: 幹材積成長量は 1 ha あたり "
            f"{REMEASURED_GROWTH} m3 (報告値 8.6 m3)。同小班の成長量を修正し、"
            f"{report.claimed_tonnes - verified:,} t-CO2 を減じました。 Compartment {REMEASURED}: "
            "plots remeasured with the verifier present; growth corrected to "
            f"{REMEASURED_GROWTH} m3/ha."
        )
        statement = (
            f"修正後の FY{fy} の吸収量 {verified:,} t-CO2 について、重要な虚偽記載はありません "
            "(合理的保証)。 Reasonable assurance on the corrected removals."
        )
    monitoring.verify(db, verifier, report.id, verified, findings, statement, None, corrected)
    on("requested", 10)
    request = issuance_requests.request(
        db, owner, report.id, f"{FOREST_OWNER.id}-MAIN", quantity=verified
    )
    on("approved", 14)
    done = issuance_requests.approve(db, SYSTEM, request.id)
    return monitoring.get(db, None, report.id), done


def _forest(db: Database, clock: DemoClock, t: Timeline) -> list[str]:
    """The forest project from draft to two issuances; lines for the summary."""
    clock.set(at_jst(t.developer, 9, 30))
    owner = _register(db, FOREST_OWNER)
    clock.set(at_jst(t.drafted, 10, 0))
    plans.create(db, owner, FOREST_PLAN)
    name, media_type, content = plan_document(FOREST_PLAN.name_ja, forest_plan_lines())
    plans.attach(db, owner, FOREST_PROJECT, "document", name, media_type, content)
    plans.attach(
        db, owner, FOREST_PROJECT, "measurement", "compartments.csv", "text/csv", compartments_csv()
    )
    clock.set(at_jst(t.submitted, 11, 0))
    plans.submit(db, owner, FOREST_PROJECT, JFA.id)
    jfa = Actor(JFA.id, frozenset({Role.VERIFICATION_BODY}))
    clock.set(at_jst(t.validation_started, 10, 0))
    plans.start_validation(db, jfa, FOREST_PROJECT)
    clock.set(at_jst(t.validated, 16, 0))
    plans.validate(
        db,
        jfa,
        FOREST_PROJECT,
        "positive",
        "是正処置要求 2 件 (対象林小班の境界図の更新、プロット配置の無作為化) は対応済み。 Two "
        "corrective action requests (compartment boundary map, random plot layout) closed.",
        "本プロジェクト計画は J-クレジット FO-001 3.0 の適用条件と算定方法に適合していると"
        "判断します。 The plan meets the applicability conditions and the calculation of "
        "FO-001 3.0.",
    )
    clock.set(at_jst(t.registered, 14, 0))
    plans.register(db, SYSTEM, FOREST_PROJECT)
    tokiwa = Actor(TOKIWA.id, frozenset({Role.VERIFICATION_BODY}))
    lines = []
    for year, (period, verifier) in enumerate(zip(t.periods, (jfa, tokiwa), strict=True)):
        report, request = _forest_report(db, clock, owner, verifier, year, period)
        assert report.verification is not None
        lines.append(
            f"report {report.id} FY{period[0].year} {report.claimed_tonnes:,} t claimed, "
            f"{report.verification.verified_tonnes:,} t verified by {verifier.participant_id}, "
            f"issuance {request.issuance_id}"
        )
    return lines


def _biochar(db: Database, clock: DemoClock, t: Timeline) -> None:
    """The biochar plan, submitted and taken up by its validation body."""
    clock.set(at_jst(t.biochar_drafted, 9, 30))
    owner = _register(db, BIOCHAR_OWNER)
    clock.set(at_jst(t.biochar_drafted, 10, 0))
    plans.create(db, owner, BIOCHAR_PLAN)
    name, media_type, content = plan_document(BIOCHAR_PLAN.name_ja, biochar_plan_lines())
    plans.attach(db, owner, BIOCHAR_PROJECT, "document", name, media_type, content)
    plans.attach(
        db, owner, BIOCHAR_PROJECT, "measurement", "biochar-analysis.csv", "text/csv", biochar_csv()
    )
    clock.set(at_jst(t.biochar_submitted, 11, 0))
    plans.submit(db, owner, BIOCHAR_PROJECT, TOKIWA.id)
    clock.set(at_jst(t.biochar_validation_started, 10, 0))
    plans.start_validation(
        db, Actor(TOKIWA.id, frozenset({Role.VERIFICATION_BODY})), BIOCHAR_PROJECT
    )


def run(db: Database, days: list[dt.date]) -> str:
    """Add the project cycle's demo before the history of ``days``; a line for the summary
    ("" if it ran before). The database's clock is set back for the steps and handed back."""
    with db.read() as conn:
        if repo.get_participant(conn, FOREST_OWNER.id) is not None:
            return ""
    t = Timeline.before(days[0])
    clock = DemoClock(at_jst(t.bodies, 9, 0))
    business_clock = db.clock
    db.clock = clock
    try:
        for body, sectors in ACCREDITED:
            _register(db, body)
            for sector in sectors:
                accreditation.grant(db, SYSTEM, body.id, "JC", sector, t.bodies.isoformat())
        reports = _forest(db, clock, t)
        _biochar(db, clock, t)
    finally:
        db.clock = business_clock
    return (
        f"project cycle: {FOREST_PROJECT} forest (FO-001) of {FOREST_OWNER.id} validated by "
        f"{JFA.id}, registered {t.registered}; " + "; ".join(reports) + f"; {BIOCHAR_PROJECT} "
        f"biochar (AG-004) of {BIOCHAR_OWNER.id} under validation by {TOKIWA.id}\n"
        f"  public: {SITE}/projects/{FOREST_PROJECT}, {SITE}/projects/plans/{BIOCHAR_PROJECT}, "
        f"{SITE}/methodologies/FO-001"
    )


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """``run`` with the arguments every demo step of `tanso init --demo` takes."""
    del exchange, keys, clock  # its own participants, no trading, its own past days
    return run(db, days)
