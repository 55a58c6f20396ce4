"""The offset claim report: for a participant and a year, what it emitted, reduced itself and
retired, and which claims those figures support (HTML in the portal, PDF, CSV, JSON).

Figures come from the emissions inventory (``services.inventories``), the year's retirements
and their certificates (``services.certificates``), and what each retirement claimed
(``usage_claims``). Which credits count for which purpose and scope is decided by the usage
rules engine (``domain.usage_rules.evaluate`` under the rule set in force on the retirement's
date), never here; ``domain.claims`` turns those verdicts into claims and reasons.

A participant reads its own report; the operator reads any; another participant's report
answers exactly like a missing one. This module never writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from tanso.domain import usage_rules as ur
from tanso.domain.claims import Backing, ScopeFigures, ScopeLine, assess
from tanso.domain.errors import InvalidInput, NotFound
from tanso.services.common import Actor, omitted
from tanso.services.compliance import certificates, inventories, usage
from tanso.services.compliance.certificates import Term
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_usage as u
from tanso.store.db import Database

ELIGIBILITY_KINDS = ("eligible", "deny")
USE_RULES = ("USE-KNOWN", "USE-SCOPE")


# ---------------------------------------------------------------- the rules engine


def _ruleset(conn: Connection, on: dt.date) -> ur.RuleSet | None:
    """The rule set in force on a date (shipped or the operator's), as the usage service says."""
    return usage.ruleset_in_force(conn, on)


def _lot(r: certificates.CertifiedRange, domestic: dict[str, bool]) -> ur.Lot:
    return ur.Lot(
        issuance=r.issuance_id,
        quantity=r.quantity,
        scheme=r.scheme.code,
        category=r.category.code,
        unit=r.unit,
        domestic=domestic.get(r.scheme.code, False),
        properties=tuple(p.code for p in r.properties),
        ca_status=r.ca_status,
        vintage=r.vintage or 0,
    )


def _voluntary_without_ca(lot: ur.Lot) -> bool:
    """A voluntary credit (contribution to the world) without a completed adjustment."""
    return (
        not lot.domestic
        and lot.ca_status != "completed"
        and "domestic_additional" not in lot.properties
    )


def judge(
    rs: ur.RuleSet | None, lots: list[ur.Lot], purpose: str, scope: str | None, year: int, on: Any
) -> tuple[bool, tuple[str, ...]]:
    """Whether the rules admit these credits for this purpose and scope at all (eligibility and
    deny rules; caps are the retirement's business): (admitted, the rule ids that refuse)."""
    if rs is None:
        return False, ("NO-RULESET",)
    kinds = {r.id: r.kind for r in rs.rules}
    use = ur.Use(purpose, year, on, scope if scope in ("1", "2", "3") else None)
    decision = ur.evaluate(rs, lots, use, ur.Context())
    refused = tuple(
        sorted(
            {
                r.rule
                for r in decision.reasons
                if not r.ok
                and r.severity == "refuse"
                and (kinds.get(r.rule) in ELIGIBILITY_KINDS or r.rule in USE_RULES)
            }
        )
    )
    return not refused, refused


# ---------------------------------------------------------------- building the report


def _may_read(conn: Connection, actor: Actor, participant_id: str) -> Any:
    participant = repo.get_participant(conn, participant_id)
    if participant is None or not (actor.is_operator() or actor.participant_id == participant_id):
        # someone else's report answers exactly like a missing one
        raise NotFound(
            "claim_report_not_found", f"There is no claim report of {participant_id[:40]}."
        )
    return participant


def _check_year(year: int) -> None:
    if not 1990 <= year <= 2100:
        raise InvalidInput("invalid_year", "year is a year between 1990 and 2100.")


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name_en: str
    name_ja: str


@dataclass(frozen=True, slots=True)
class Tally:
    """Credits retired of one kind (a scheme, a category, a property, a vintage, a
    corresponding-adjustment status, a unit, an evaluation axis)."""

    code: str
    quantity: int
    name_en: str | None = omitted()
    name_ja: str | None = omitted()
    unit: str | None = omitted()


@dataclass(frozen=True, slots=True)
class Totals:
    emissions: int | None
    own_reductions: int
    residual: int | None
    covered: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Retired:
    total: int
    count: int
    by_scheme: list[Tally]
    by_category: list[Tally]
    by_property: list[Tally]
    by_vintage: list[Tally]
    by_ca_status: list[Tally]
    by_unit: list[Tally]


@dataclass(frozen=True, slots=True)
class ClaimedUse:
    purpose: str
    scope: str
    quantity: int
    tonnes: int


@dataclass(frozen=True, slots=True)
class ClaimedCredits:
    code: str
    scheme: Term
    category: Term
    quantity: int


@dataclass(frozen=True, slots=True)
class ClaimedRetirement:
    id: str
    certificate_id: str
    verify_path: str
    retired_at: str
    quantity: int
    purposes: list[Term]
    beneficiary: str
    uses: list[ClaimedUse]
    schemes: list[str]
    credits: list[ClaimedCredits]


@dataclass(frozen=True, slots=True)
class VoluntaryCredits:
    project_id: str
    project_name: str
    project_name_ja: str
    scheme: Term
    ca_status: str
    evaluation_axes: list[Term]
    quantity: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim the report weighs, with its wording (or its title and the reason it may not be
    made) in English and Japanese."""

    code: str
    allowed: bool
    reason: str
    params: dict[str, Any]
    text_en: str = ""
    reason_en: str = ""
    text_ja: str = ""
    reason_ja: str = ""


@dataclass(frozen=True, slots=True)
class ClaimReport:
    participant: Party
    year: int
    rulesets: list[str]
    inventory: inventories.InventoryView | None
    scopes: list[ScopeLine]
    totals: Totals
    retired: Retired
    retirements: list[ClaimedRetirement]
    voluntary: list[VoluntaryCredits]
    evaluation_axes: list[Tally]
    claims: list[Claim]


_Bucket = dict[str, list[Any]]


def _add(bucket: _Bucket, key: str, item: Any, quantity: int) -> None:
    """Count ``quantity`` toward ``key``; ``item`` (with quantity 0) describes it."""
    bucket.setdefault(key, [item, 0])[1] += quantity


def _items(bucket: _Bucket) -> list[Any]:
    return [replace(item, quantity=q) for item, q in bucket.values()]


def _tally(term: Term, unit: str | None = None) -> Tally:
    return Tally(term.code, 0, term.name_en, term.name_ja, unit)


def report(db: Database, actor: Actor, participant_id: str, year: int) -> ClaimReport:
    """The offset claim report of a participant for a year."""
    _check_year(year)
    with db.read() as conn:
        participant = _may_read(conn, actor, participant_id)
        return build(conn, participant, year)


def build(conn: Connection, participant: Any, year: int) -> ClaimReport:
    """The report, read inside an open connection (the caller checked who may read it)."""
    pid = participant.id
    inv = inventories.inventory(conn, pid, year)
    schemes = {r.code: bool(r.domestic) for r in repo.list_table(conn, t.schemes, t.schemes.c.code)}
    rows = repo.list_table(
        conn, t.retirements, t.retirements.c.journal_seq, participant_id=pid, reporting_year=year
    )
    claimed: dict[str, list[Any]] = defaultdict(list)
    for c in repo.list_table(
        conn, u.usage_claims, u.usage_claims.c.id, participant_id=pid, year=year
    ):
        claimed[c.retirement_id].append(c)

    by: dict[str, _Bucket] = {
        k: {} for k in ("scheme", "category", "property", "vintage", "ca", "unit")
    }
    voluntary: _Bucket = {}
    retirements: list[ClaimedRetirement] = []
    backings: list[Backing] = []
    rulesets: set[str] = set()
    names = certificates.reference_names(conn)
    no_property = Term("", "-", "-")
    for row in rows:
        cert = certificates.certificate_in(conn, row.id, names)
        on = usage.local_date(row.created_at)
        rs = _ruleset(conn, on)
        if rs is not None:
            rulesets.add(rs.label)
        lots = [_lot(r, schemes) for r in cert.ranges]
        ef = rs.emission_factor_g_per_kwh if rs else None
        for r, lot in zip(cert.ranges, lots, strict=True):
            q = r.quantity
            _add(by["scheme"], r.scheme.code, _tally(r.scheme, r.unit), q)
            _add(by["category"], r.category.code, _tally(r.category), q)
            for p in r.properties or [no_property]:
                _add(by["property"], p.code, _tally(p), q)
            _add(by["vintage"], str(r.vintage), Tally(str(r.vintage), 0), q)
            ca = "not_required" if r.ca_declaration == "not_required" else r.ca_status
            _add(by["ca"], ca, Tally(ca, 0), q)
            _add(by["unit"], r.unit, Tally(r.unit, 0), q)
            if not lot.domestic:
                key = r.project_id
                _add(
                    voluntary,
                    key,
                    VoluntaryCredits(
                        key,
                        r.project_name,
                        r.project_name_ja,
                        r.scheme,
                        ca,
                        list(r.evaluation_axes),
                        0,
                    ),
                    q,
                )
        uses = _uses(row, claimed.get(row.id, []), rs, lots, ef)
        for purpose, scope, quantity, tonnes in uses:
            ok, refused_by = judge(rs, lots, purpose, scope, year, on)
            backings.append(
                Backing(
                    row.id,
                    purpose,
                    scope,
                    quantity,
                    tonnes,
                    lots[0].unit if lots else "tCO2",
                    ok,
                    refused_by,
                    any(_voluntary_without_ca(lot) for lot in lots),
                    row.beneficiary,
                )
            )
        retirements.append(
            ClaimedRetirement(
                id=row.id,
                certificate_id=cert.certificate_id,
                verify_path=cert.verify_path,
                retired_at=row.created_at,
                quantity=row.quantity,
                purposes=list(cert.purposes),
                beneficiary=row.beneficiary,
                uses=[ClaimedUse(p, s, q, tn) for p, s, q, tn in uses],
                schemes=sorted({r.scheme.code for r in cert.ranges}),
                credits=_kinds(cert.ranges),
            )
        )
    figures = {
        "1": ScopeFigures("1", inv.scope1 if inv else None, inv.reduction_scope1 if inv else 0),
        "2": ScopeFigures(
            "2", inv.scope2_location if inv else None, inv.reduction_scope2 if inv else 0
        ),
        "3": ScopeFigures("3", inv.scope3 if inv else None, inv.reduction_scope3 if inv else 0),
    }
    lines, verdicts = assess(figures, backings)
    totals = Totals(
        emissions=sum(f.emissions or 0 for f in figures.values()) if inv else None,
        own_reductions=sum(f.own_reductions for f in figures.values()),
        residual=sum(f.residual or 0 for f in figures.values()) if inv else None,
        covered=sum(x.covered for x in lines.values()),
        remaining=sum(x.remaining or 0 for x in lines.values()) if inv else None,
    )
    volunteered: list[VoluntaryCredits] = sorted(_items(voluntary), key=lambda x: x.project_id)
    axes: _Bucket = {}
    for v in volunteered:
        for a in v.evaluation_axes:
            _add(axes, a.code, _tally(a), v.quantity)
    rep = ClaimReport(
        participant=Party(participant.id, participant.name_en, participant.name_ja),
        year=year,
        rulesets=sorted(rulesets),
        inventory=inv,
        scopes=[lines[s] for s in ("1", "2", "3")],
        totals=totals,
        retired=Retired(
            total=sum(r.quantity for r in retirements),
            count=len(retirements),
            by_scheme=_sorted(by["scheme"]),
            by_category=_sorted(by["category"]),
            by_property=_sorted(by["property"]),
            by_vintage=sorted(_items(by["vintage"]), key=lambda x: x.code),
            by_ca_status=_sorted(by["ca"]),
            by_unit=_sorted(by["unit"]),
        ),
        retirements=retirements,
        voluntary=volunteered,
        evaluation_axes=_sorted(axes),
        claims=[],
    )
    claims = [Claim(v.code, v.allowed, v.reason, dict(v.params)) for v in verdicts]
    return replace(rep, claims=[_worded(rep, c) for c in claims])


def _worded(rep: ClaimReport, claim: Claim) -> Claim:
    text_en, reason_en = wording(rep, claim, "en")
    text_ja, reason_ja = wording(rep, claim, "ja")
    return replace(
        claim, text_en=text_en, reason_en=reason_en, text_ja=text_ja, reason_ja=reason_ja
    )


def _kinds(ranges: list[certificates.CertifiedRange]) -> list[ClaimedCredits]:
    """A retirement's credits by scheme and category, for the wording of its claims."""
    out: _Bucket = {}
    for r in ranges:
        key = f"{r.scheme.code}/{r.category.code}"
        _add(out, key, ClaimedCredits(key, r.scheme, r.category, 0), r.quantity)
    return _sorted(out)


def _sorted(bucket: _Bucket) -> list[Any]:
    return sorted(_items(bucket), key=lambda x: (-x.quantity, x.code))


def _uses(
    row: Any, claims: Iterable[Any], rs: ur.RuleSet | None, lots: list[ur.Lot], ef: int | None
) -> list[tuple[str, str, int, int]]:
    """What a retirement claims: (purpose, scope, quantity, tonnes), as recorded when it was
    retired; a retirement made before usage claims were recorded counts for its first purpose
    against the scope the rule set gives that purpose."""
    recorded = [(c.use, c.scope, int(c.quantity), int(c.tonnes)) for c in claims]
    if recorded:
        return recorded
    purpose = row.purposes.split(",")[0]
    spec = rs.uses.get(purpose) if rs else None
    unit = lots[0].unit if lots else "tCO2"
    return [
        (
            purpose,
            spec.scope if spec else "",
            int(row.quantity),
            ur.tonnes_of(unit, int(row.quantity), ef),
        )
    ]


# ---------------------------------------------------------------- wording


LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Offset claim report",
        "year": "Year",
        "participant": "Participant",
        "rulesets": "Usage rules applied",
        "emissions": "Emissions and residual emissions (t-CO2e)",
        "scope": "Scope",
        "scope_1": "Scope 1 (direct)",
        "scope_2": "Scope 2 (indirect, location-based)",
        "scope_3": "Scope 3 (supply chain)",
        "total": "Total",
        "emitted": "Emissions",
        "own_reductions": "Own reductions",
        "residual": "Residual emissions",
        "covered": "Offset by admitted credits",
        "not_admitted": "Claimed with credits the rules do not admit",
        "remaining": "Not covered",
        "no_inventory": "No emissions inventory is recorded for this year.",
        "scope2_market": "Scope 2 market-based",
        "scope3_by_category": "Scope 3 by category",
        "retired": "Credits retired for the year",
        "retired_total": "{quantity} retired in {count} retirements",
        "by_scheme": "By scheme",
        "by_category": "By category",
        "by_property": "By property (a credit may have several)",
        "by_vintage": "By vintage",
        "by_ca_status": "By corresponding adjustment",
        "quantity": "Quantity",
        "retirements": "Retirements and certificates",
        "retirement": "Retirement",
        "retired_at": "Retired at (JST)",
        "purposes": "Purpose",
        "beneficiary": "Beneficiary",
        "certificate": "Certificate",
        "voluntary": "Evaluation axes of voluntary credits",
        "voluntary_none": "No voluntary (international) credits were retired for the year.",
        "project": "Project",
        "axes": "Evaluation axes",
        "claims": "Claims the data supports",
        "claim": "Claim",
        "may": "May claim",
        "may_not": "May not claim",
        "why": "Why not",
        "nothing": "No retirements for this year.",
        "csv": "Download CSV",
        "pdf": "Download PDF",
        "choose_year": "Year",
        "show": "Show",
        "ca_not_required": "not required (domestic)",
        "ca_completed": "completed",
        "ca_pending": "pending",
        "ca_not_started": "not started",
        "ca_unknown": "unknown",
        "footer": "Figures in t-CO2e (kWh certificates in kWh). Offsets cover residual emissions "
        "only (the hierarchy approach); which credits count for which scope is decided by the "
        "usage rules named above.",
        # claims: the wording a claim may use
        "claim_offset_scope1": "{name} offset {tonnes} t-CO2e of its Scope 1 emissions for "
        "{year} ({percent}% of its residual Scope 1 emissions) by retiring {credits}.",
        "claim_offset_scope2": "{name} offset {tonnes} t-CO2e of its Scope 2 emissions for "
        "{year} ({percent}% of its residual Scope 2 emissions) by retiring {credits}.",
        "claim_offset_scope3": "{name} offset {tonnes} t-CO2e of its Scope 3 emissions for "
        "{year} ({percent}% of its residual Scope 3 emissions) by retiring {credits}.",
        "claim_carbon_neutral_scope12": "{name} is carbon neutral for its Scope 1 and 2 "
        "emissions in {year}: after its own reductions, its residual emissions of {residual} "
        "t-CO2e were offset with credits the usage rules admit for those scopes.",
        "claim_carbon_neutral": "{name} is carbon neutral in {year} (Scope 1, 2 and 3): after "
        "its own reductions, its residual emissions of {residual} t-CO2e were offset with "
        "credits the usage rules admit for those scopes.",
        "claim_net_zero": "{name} has reached net zero.",
        "claim_shk_reporting": "Adjusted emissions under the SHK system for FY{year}: {adjusted} "
        "t-CO2e ({emissions} t-CO2e emitted less {tonnes} t retired: {credits}).",
        "claim_gx_ets_surrender": "{name} surrendered {quantity} {unit} of eligible credits "
        "under GX-ETS for FY{year}: {credits}.",
        "claim_re100": "{quantity} {unit} of renewable-power J-Credits retired for RE100 "
        "reporting for {year}: {credits}.",
        "claim_cdp_sbt": "{quantity} {unit} of renewable-energy J-Credits retired for CDP and "
        "SBT reporting for {year}: {credits}.",
        "claim_offset_product": "Carbon-offset product or service ({beneficiaries}): {tonnes} "
        "t-CO2e offset by retiring {credits}.",
        "claim_offset_event": "Carbon-offset event ({beneficiaries}): {tonnes} t-CO2e offset by "
        "retiring {credits}.",
        # the claims by name, where they may not be made
        "title_offset_scope1": "Offset of Scope 1 emissions",
        "title_offset_scope2": "Offset of Scope 2 emissions",
        "title_offset_scope3": "Offset of Scope 3 emissions",
        "title_carbon_neutral_scope12": "Carbon neutral (Scope 1 and 2)",
        "title_carbon_neutral": "Carbon neutral (Scope 1, 2 and 3)",
        "title_net_zero": "Net zero",
        "title_shk_reporting": "SHK adjusted emissions",
        "title_gx_ets_surrender": "GX-ETS surrender",
        "title_re100": "RE100 renewable electricity",
        "title_cdp_sbt": "CDP and SBT renewable energy",
        "title_offset_product": "Carbon-offset product or service",
        "title_offset_event": "Carbon-offset event",
        # reasons a claim may not be made
        "reason_voluntary_without_ca": "{refused} t of the credits are voluntary credits "
        "without a completed corresponding adjustment; they may offset Scope 3 emissions only "
        "(rules: {rules}).",
        "reason_not_eligible": "{refused} t are credits the usage rules do not admit for this "
        "use (rules: {rules}).",
        "reason_no_inventory": "No emissions inventory is recorded for {year}, so there are no "
        "residual emissions to offset against.",
        "reason_exceeds_residual": "{tonnes} t-CO2e claimed but residual emissions are only "
        "{residual} t-CO2e: an offset never exceeds what remains after own reductions.",
        "reason_residual_not_covered": "{remaining} t-CO2e of residual emissions are not "
        "covered by admitted credits.",
        "reason_net_zero_needs_reductions": "Net zero needs deep reductions of the company's own "
        "emissions to a science-based target; credits only neutralise what remains, so "
        "retirements alone never support it.",
    },
    "ja": {
        "title": "オフセット主張レポート",
        "year": "年度",
        "participant": "参加者",
        "rulesets": "適用した活用ルール",
        "emissions": "排出量と残余排出量 (t-CO2e)",
        "scope": "スコープ",
        "scope_1": "Scope 1 (直接排出)",
        "scope_2": "Scope 2 (間接排出、ロケーション基準)",
        "scope_3": "Scope 3 (サプライチェーン)",
        "total": "合計",
        "emitted": "排出量",
        "own_reductions": "自社削減量",
        "residual": "残余排出量",
        "covered": "認められたクレジットによるオフセット",
        "not_admitted": "ルール上認められないクレジットでの主張",
        "remaining": "未充当",
        "no_inventory": "この年度の排出量は登録されていません。",
        "scope2_market": "Scope 2 マーケット基準",
        "scope3_by_category": "Scope 3 カテゴリ別",
        "retired": "この年度に無効化したクレジット",
        "retired_total": "無効化 {count} 件、合計 {quantity}",
        "by_scheme": "制度別",
        "by_category": "区分別",
        "by_property": "性質別 (複数の性質を持つクレジットあり)",
        "by_vintage": "ヴィンテージ別",
        "by_ca_status": "相当調整の状況別",
        "quantity": "数量",
        "retirements": "無効化と証明書",
        "retirement": "無効化番号",
        "retired_at": "無効化日時 (日本時間)",
        "purposes": "用途",
        "beneficiary": "受益者",
        "certificate": "証明書",
        "voluntary": "ボランタリークレジットの評価軸",
        "voluntary_none": "この年度に無効化したボランタリー (海外) クレジットはありません。",
        "project": "プロジェクト",
        "axes": "評価軸",
        "claims": "データが裏付ける主張",
        "claim": "主張",
        "may": "主張できる",
        "may_not": "主張できない",
        "why": "理由",
        "nothing": "この年度の無効化はありません。",
        "csv": "CSV をダウンロード",
        "pdf": "PDF をダウンロード",
        "choose_year": "年度",
        "show": "表示",
        "ca_not_required": "不要 (国内)",
        "ca_completed": "完了",
        "ca_pending": "手続中",
        "ca_not_started": "未着手",
        "ca_unknown": "不明",
        "footer": "単位は t-CO2e (kWh の証書は kWh)。オフセットは残余排出量だけに充当します"
        "(削減優先の考え方)。どのクレジットがどのスコープに使えるかは上記の活用ルールが判断します。",
        "claim_offset_scope1": "{name}は{year}年度の Scope 1 排出量のうち {tonnes} t-CO2e "
        "(残余排出量の {percent}%) を、{credits} の無効化によりオフセットしました。",
        "claim_offset_scope2": "{name}は{year}年度の Scope 2 排出量のうち {tonnes} t-CO2e "
        "(残余排出量の {percent}%) を、{credits} の無効化によりオフセットしました。",
        "claim_offset_scope3": "{name}は{year}年度の Scope 3 排出量のうち {tonnes} t-CO2e "
        "(残余排出量の {percent}%) を、{credits} の無効化によりオフセットしました。",
        "claim_carbon_neutral_scope12": "{name}は{year}年度の Scope 1・2 についてカーボン"
        "ニュートラルです: 自社削減後の残余排出量 {residual} t-CO2e を、活用ルール上認められた"
        "クレジットでオフセットしました。",
        "claim_carbon_neutral": "{name}は{year}年度にカーボンニュートラル (Scope 1・2・3) です: "
        "自社削減後の残余排出量 {residual} t-CO2e を、活用ルール上認められたクレジットで"
        "オフセットしました。",
        "claim_net_zero": "{name}はネットゼロを達成しました。",
        "claim_shk_reporting": "温対法 SHK 制度の{year}年度 調整後排出量: {adjusted} t-CO2e "
        "(排出量 {emissions} t-CO2e から無効化した {tonnes} t を控除: {credits})。",
        "claim_gx_ets_surrender": "{name}は GX-ETS の{year}年度分として適格なクレジット "
        "{quantity} {unit} を償却しました: {credits}。",
        "claim_re100": "RE100 報告のため{year}年度分として再エネ(電力) J-クレジット "
        "{quantity} {unit} を無効化しました: {credits}。",
        "claim_cdp_sbt": "CDP・SBT 報告のため{year}年度分として再エネ J-クレジット "
        "{quantity} {unit} を無効化しました: {credits}。",
        "claim_offset_product": "カーボン・オフセット商品・サービス ({beneficiaries}): "
        "{credits} の無効化により {tonnes} t-CO2e をオフセット。",
        "claim_offset_event": "カーボン・オフセットイベント ({beneficiaries}): "
        "{credits} の無効化により {tonnes} t-CO2e をオフセット。",
        "title_offset_scope1": "Scope 1 排出のオフセット",
        "title_offset_scope2": "Scope 2 排出のオフセット",
        "title_offset_scope3": "Scope 3 排出のオフセット",
        "title_carbon_neutral_scope12": "カーボンニュートラル (Scope 1・2)",
        "title_carbon_neutral": "カーボンニュートラル (Scope 1・2・3)",
        "title_net_zero": "ネットゼロ",
        "title_shk_reporting": "温対法 SHK 調整後排出量",
        "title_gx_ets_surrender": "GX-ETS 償却",
        "title_re100": "RE100 再エネ電力",
        "title_cdp_sbt": "CDP・SBT 再エネ",
        "title_offset_product": "カーボン・オフセット商品・サービス",
        "title_offset_event": "カーボン・オフセットイベント",
        "reason_voluntary_without_ca": "{refused} t は相当調整が完了していないボランタリー"
        "クレジットで、Scope 3 のオフセットにしか使えません (ルール: {rules})。",
        "reason_not_eligible": "{refused} t は活用ルール上この用途に認められないクレジットです"
        " (ルール: {rules})。",
        "reason_no_inventory": "{year}年度の排出量が登録されていないため、オフセットの対象となる"
        "残余排出量がありません。",
        "reason_exceeds_residual": "主張 {tonnes} t-CO2e に対し残余排出量は {residual} t-CO2e "
        "しかありません: オフセットは自社削減後の残余を超えられません。",
        "reason_residual_not_covered": "残余排出量のうち {remaining} t-CO2e が認められた"
        "クレジットで充当されていません。",
        "reason_net_zero_needs_reductions": "ネットゼロには科学的根拠に基づく目標に沿った自社排出"
        "の大幅削減が必要です。クレジットは残余を中和するだけなので、無効化だけでは主張できません。",
    },
}


def fmt(value: Any) -> str:
    """A figure as the wording shows it: thousands separators, lists joined, "" for None."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) or "-"
    return "" if value is None else str(value)


def wording(rep: ClaimReport, claim: Claim, lang: str) -> tuple[str, str]:
    """(the claim's wording, or its title when it may not be made; the reason or "")."""
    labels = LABELS[lang]
    p = rep.participant
    params = {k: fmt(v) for k, v in claim.params.items()}
    params |= {"name": p.name_ja if lang == "ja" else p.name_en, "year": str(rep.year)}
    if claim.params.get("percent") == 0 and claim.params.get("tonnes"):
        params["percent"] = "<1"
    params["credits"] = _credits(rep, claim.params.get("retirements", []), lang)
    if not claim.allowed:
        reason = labels[f"reason_{claim.reason}"].format_map(_Default(params))
        return labels[f"title_{claim.code}"], reason
    return labels[f"claim_{claim.code}"].format_map(_Default(params)), ""


def _credits(rep: ClaimReport, retirement_ids: list[str], lang: str) -> str:
    """Which credits back a claim: scheme and category with quantities, and the certificates."""
    kinds: _Bucket = {}
    for r in rep.retirements:
        if r.id in retirement_ids:
            for k in r.credits:
                _add(kinds, k.code, k, k.quantity)
    if lang == "ja":
        parts = [
            f"{name(k.scheme, lang)} ({name(k.category, lang)}) {k.quantity:,} t"
            for k in _sorted(kinds)
        ]
        text = "、".join(parts)
    else:
        parts = [
            f"{k.quantity:,} t of {name(k.scheme, lang)} ({name(k.category, lang)})"
            for k in _sorted(kinds)
        ]
        text = ", ".join(parts)
    return text + (f" ({', '.join(retirement_ids)})" if retirement_ids else "")


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


def scope_name(scope: str, lang: str) -> str:
    return LABELS[lang].get(f"scope_{scope}", scope)


def ca_name(code: str, lang: str) -> str:
    return LABELS[lang].get(f"ca_{code}", code)


def name(item: Any, lang: str) -> str:
    """An item's name in ``lang`` (a term, a tally, the participant); its code if it has none."""
    named = getattr(item, "name_ja" if lang == "ja" else "name_en", None)
    return str(getattr(item, "code", "")) if named is None else str(named)
