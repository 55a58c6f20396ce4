"""The demo market's marketplace: what `tanso init --demo` adds after the trading history.

A few project profiles (summary, ratings, documents; illustrative, not real ratings), listings of
project credits by the participants that hold them, and one request for quote answered with a
firm offer. Everything goes through the marketplace service, so it is journaled and audited like
any other activity.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import func, select

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.domain import marketplace as mp
from tanso.domain.errors import TansoError
from tanso.services.common import Actor
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import marketplace as market
from tanso.store import schema as t
from tanso.store.db import Database

PROFILES: dict[str, market.Profile] = {
    "4812": market.Profile(
        "Native reforestation of degraded pasture in Minas Gerais: mixed Atlantic Forest "
        "species, planted with local nurseries.",
        "ミナスジェライス州の荒廃牧草地に在来種を植林する再造林プロジェクト。"
        "地元の苗畑と協力しています。",
        (("Illustrative rating agency", "A"),),
        (("Project description (illustrative)", "https://example.org/tanso-demo/4812-pdd.pdf"),),
    ),
    "5203": market.Profile(
        "Direct air capture with permanent mineral storage in basalt.",
        "大気中の CO2 を直接回収し、玄武岩に鉱物として恒久的に貯留します。",
        (("Illustrative rating agency", "AA"),),
        (("Monitoring report (illustrative)", "https://example.org/tanso-demo/5203-mr.pdf"),),
    ),
    "B0012": market.Profile(
        "Eelgrass and seaweed beds restored with the local fishing cooperative.",
        "地元漁協と共にアマモ場・藻場を再生するブルーカーボンのプロジェクトです。",
        (),
        (("Project plan (illustrative)", "https://example.org/tanso-demo/b0012-plan.pdf"),),
    ),
    "GS11872": market.Profile(
        "Efficient cookstoves that cut firewood use and indoor smoke in Rwandan households.",
        "ルワンダの家庭で薪の使用と室内の煙を減らす高効率かまどの普及。",
        (("Illustrative rating agency", "BBB"),),
        (),
    ),
}
LISTINGS: tuple[tuple[str, int, int, int, int], ...] = (
    # project, price (yen/t), share of the holder's credits in %, lot, settlement days
    ("4812", 4_800, 40, 10, 2),
    ("4957", 2_900, 30, 50, 2),
    ("5203", 52_000, 50, 1, 0),
    ("B0012", 12_000, 50, 1, 2),
    ("GS11872", 1_900, 40, 100, 2),
    ("VN091", 2_300, 30, 10, 2),
)


def _largest_holding(db: Database, project: str) -> tuple[str, str, str, int] | None:
    """(participant, account, issuance, quantity held) of the largest held stock of a project."""
    b, i, a = t.blocks.c, t.issuances.c, t.accounts.c
    quantity = func.sum(b.serial_end - b.serial_start + 1)
    q = (
        select(a.participant_id, b.account_id, b.issuance_id, quantity.label("quantity"))
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id).join(t.accounts, b.account_id == a.id)
        )
        .where(i.project_id == project, b.status == "held", a.kind == "holding")
        .group_by(a.participant_id, b.account_id, b.issuance_id)
        .order_by(quantity.desc(), b.issuance_id)
        .limit(1)
    )
    with db.read() as conn:
        row = conn.execute(q).first()
    return (row[0], row[1], row[2], int(row[3])) if row else None


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add this capability's demo data; returns a line for the summary (empty: nothing added)."""
    clock.set(at_jst(days[-1], 16, 30))
    sellers: dict[str, tuple[str, str, str, int]] = {}
    listed = 0
    for project, price, share, lot, settlement_days in LISTINGS:
        holding = _largest_holding(db, project)
        if holding is None:
            continue
        pid, account, issuance, held = holding
        quantity = held * share // 100 // lot * lot
        if quantity < lot:
            continue
        seller = Actor(pid)
        if project in PROFILES:
            market.set_profile(db, seller, project, PROFILES[project])
        terms = mp.ListingTerms(price, quantity, lot, lot, settlement_days)
        market.create_listing(db, seller, market.NewListing(account, terms, issuance_id=issuance))
        sellers[project] = (pid, account, issuance, held - quantity)
        listed += 1
    rfqs = 0
    if "5203" in sellers:
        seller_id, account, issuance, left = sellers["5203"]
        expires = at_jst(days[-1] + dt.timedelta(days=30), 15, 0).isoformat()
        for buyer in (pid for pid in keys if pid not in ("OPERATOR", seller_id)):
            try:
                rfq = market.create_rfq(
                    db, Actor(buyer), 50, project_id="5203", note="FY2026 removal portfolio"
                )
            except TansoError:
                continue  # a participant still awaiting approval cannot ask
            # if the seller's whole stock is listed, the request stays unanswered
            with contextlib.suppress(TansoError):
                market.make_offer(
                    db,
                    Actor(seller_id),
                    market.NewOffer(rfq.id, account, issuance, 49_000, min(50, left), expires),
                )
            rfqs = 1
            break
    if not listed:
        return ""
    return (
        f"Marketplace: {len(PROFILES)} project profiles, {listed} listings, "
        f"{rfqs} request for quote"
    )
