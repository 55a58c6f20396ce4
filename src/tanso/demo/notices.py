"""The demo's market notices and a project update (issue 22, docs/market-notices.md): what
`tanso init --demo` adds after the removals demo.

- **Three market notices** from the operator, in English and Japanese: the year-end holiday
  (年末年始の休業, 31 December to 3 January), a new instrument (the first JCM instrument the
  demo lists, or the first instrument there is), and the market maker programme's call for
  applications for the next fiscal year.
- **One project update.** 大洋通商 (TAIYO), the developer of the biochar project P0964 (named by
  the registry operator; its removal profile names it too), publishes an update on the
  project's page in both languages.

Texts, dates and names are illustrative. Everything goes through the services (the operator's
work as ``SYSTEM``, TAIYO's with its own key), so every fact is a journal entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.domain.market_notices import NoticeText, UpdateText
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, project_updates
from tanso.services.marketdata import market_notices
from tanso.services.trading.exchange import Exchange
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database

SITE = "http://127.0.0.1:8000"
PROJECT = "P0964"
DEVELOPER = "TAIYO"


def _year_end(day: dt.date) -> NoticeText:
    closed = dt.date(day.year, 12, 31)
    reopens = dt.date(day.year + 1, 1, 4)
    return NoticeText(
        kind="holiday",
        title_en=f"Year-end and New Year holiday {day.year}/{day.year + 1}",
        title_ja=f"{day.year}年末・{day.year + 1}年始の休業について",
        body_en=(
            f"The market is closed from {closed:%d %B %Y} to 3 January {day.year + 1}: no "
            "session is held and nothing settles. Trading resumes at 09:00 JST on the first "
            f"business day from {reopens:%d %B %Y}."
        ),
        body_ja=(
            f"{closed.year}年12月31日から{closed.year + 1}年1月3日まで休業します（立会なし、"
            f"決済なし）。{reopens.year}年1月4日以降の最初の営業日の 9:00 から売買を再開します。"
        ),
        effective_on=closed.isoformat(),
        link="/rules",
    )


def _new_instrument(db: Database, day: dt.date) -> NoticeText | None:
    i = t.instruments.c
    with db.read() as conn:
        rows = conn.execute(select(i.id, i.name_en, i.name_ja).order_by(i.id)).all()
    if not rows:
        return None
    row = next((r for r in rows if str(r.id).startswith("JCM")), rows[0])
    return NoticeText(
        kind="new_instrument",
        title_en=f"New instrument: {row.name_en} ({row.id})",
        title_ja=f"新規銘柄の上場：{row.name_ja}（{row.id}）",
        body_en=(
            f"{row.name_en} ({row.id}) is listed on the exchange from {day:%d %B %Y}. Its "
            "eligibility, tick and reference price are on the instrument's page (illustrative)."
        ),
        body_ja=(
            f"{day.year}年{day.month}月{day.day}日から {row.name_ja}（{row.id}）を上場しました。"
            "適格要件、呼値の単位と基準値段は銘柄のページをご覧ください（デモ）。"
        ),
        effective_on=day.isoformat(),
        link="/v1/instruments",
    )


def _market_makers(day: dt.date) -> NoticeText:
    fy = day.year + 1 if day.month >= 4 else day.year
    opens = dt.date(fy, 4, 1)
    return NoticeText(
        kind="market_maker",
        title_en=f"Market maker programme FY{fy}: call for applications",
        title_ja=f"{fy}年度マーケットメイカー制度：参加者の募集",
        body_en=(
            f"The operator invites participants with the trader role to apply as market makers "
            f"for FY{fy}. Obligations (quoting time, maximum spread, minimum size) and the fee "
            f"incentive are as in the rulebook; appointments start on {opens:%d %B %Y}."
        ),
        body_ja=(
            f"{fy}年度のマーケットメイカーを募集します。義務（気配提示時間、最大スプレッド、"
            f"最低数量）と手数料の優遇は業務規程のとおりです。指定は{fy}年4月1日からです。"
        ),
        effective_on=opens.isoformat(),
        link="/v1/market-makers",
    )


UPDATE = UpdateText(
    language="both",
    published_on="",  # the demo's last day
    title_en="Biochar applied on 42 ha of orchards in Yamanashi",
    body_en=(
        "This season's biochar from pruned branches was spread on 42 ha of peach and grape "
        "orchards. Soil samples for the monitoring report are taken in March (illustrative)."
    ),
    title_ja="山梨県の果樹園 42 ha にバイオ炭を施用しました",
    body_ja=(
        "剪定枝から製造した今季のバイオ炭を、桃とぶどうの果樹園 42 ha に施用しました。"
        "モニタリング報告のための土壌採取は 3 月に行います（デモ）。"
    ),
)


def run(db: Database, keys: dict[str, str], clock: DemoClock, days: list[dt.date]) -> str:
    """Publish the demo's notices and project update; a line for the summary ("" if the demo
    market is not there or this ran before)."""
    day = days[-1]
    clock.set(at_jst(day, 17, 30))
    if market_notices.list_notices(db, limit=1):
        return ""
    texts = [_year_end(day), _new_instrument(db, day), _market_makers(day)]
    published = [market_notices.publish(db, SYSTEM, x) for x in texts if x is not None]
    update_line = ""
    with db.read() as conn:
        has_project = repo.get_project(conn, PROJECT) is not None
    if has_project and DEVELOPER in keys:
        project_updates.name_developer(db, SYSTEM, PROJECT, DEVELOPER)
        developer = participants.authenticate(db, keys[DEVELOPER])
        update = dataclasses.replace(UPDATE, published_on=day.isoformat())
        done = project_updates.publish_update(db, developer, PROJECT, update)
        update_line = f"; {DEVELOPER}'s update {done.id} on {PROJECT}"
    return (
        f"Notices: {', '.join(n.id + ' (' + n.kind + ')' for n in published)}{update_line}\n"
        f"  public: {SITE}/notices, {SITE}/ja/notices, Atom {SITE}/notices.atom; "
        "operator: /portal/operator/notices"
    )


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """``run`` with the arguments every demo step of `tanso init --demo` takes."""
    del exchange  # notices move nothing on the exchange
    return run(db, keys, clock, days)
