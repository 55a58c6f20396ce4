"""The demo's points programme (docs/points.md): what `tanso init --demo` adds after the venues.

株式会社エコライド (ECORIDE), a mobility platform, runs PP-ECORIDE, "EcoRide transit &
cycling points": its members earn points (grams of CO2) for transit rides, cycled kilometres,
walking and paperless bills under a published methodology whose double counting is not
settled (the same reductions count in municipal inventories), so the points fund real credits
rather than being issued as credits. The demo has 100,000 members (about 70,000 of them
active) and 120,000 events of the last 60 days, sent as weekly batches through the ingestion
service (plus one long-standing member's daily history since the programme began); the first
two are verified by 国成検証センター (the GX demo's verification body). EcoRide
buys forest J-Credits of 美杉郷森林組合 on the marketplace (a request for quote
answered with a firm offer, delivered at once), retires a first pool of its members' pledges
into them, keeps a second pool open for pledges, and retires one tonne for its long-standing
member, paid with points.

The programme's member key (``KEY``) lives here only: Tanso receives and stores nothing but the
keyed hashes. Everything goes through the services, so every fact is a journal entry; events and
ids are fixed (a seeded generator), only the API key secret is random.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.demo.market import DemoParticipant, corporate_number
from tanso.demo.marketplace import _largest_holding
from tanso.domain import points
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import cash, participants
from tanso.services.points import ingest, pools, programmes
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import marketplace as market
from tanso.store import repo
from tanso.store.db import Database

PLATFORM = DemoParticipant(
    "ECORIDE",
    "株式会社エコライド",
    "EcoRide Inc.",
    "corporation",
    ("trader",),
    "999931000101",  # invented, office code 9999 31: clear of the other demo participants
)
PROGRAMME = "PP-ECORIDE"
NAME_EN = "EcoRide transit & cycling points"
NAME_JA = "エコライド 公共交通・自転車ポイント"
KEY = b"EcoRide demo member key: the programme's own secret, never sent to Tanso"
"""The programme's HMAC key for its member ids (the demo's stand-in for the programme's side)."""
MEMBERS = 100_000
EVENTS = 120_000
DAYS = 60
WEEKS = 8
"""The 60 days arrive as weekly batches (the first week is the oldest)."""
VERIFIED = 2
"""The oldest batches the verification body has verified; the rest await it."""
LOYAL = 42
"""The member (index) who has ridden and cycled every day since the programme began: the one
whose points pay for a tonne of its own."""
VERIFIER = "KOKUSEI_VERIFY"
SUPPLIER_PROJECT = "P0209"
"""美杉郷 forest management (FO-001), whose credits the programme buys and retires."""
CREDITS_BOUGHT = 100
PRICE = 9_800
"""Yen per tonne of the firm offer (illustrative)."""

ACTIONS: list[dict[str, Any]] = [
    {
        "code": "transit_ride",
        "name_en": "Transit ride instead of a car trip",
        "name_ja": "自動車に代えた公共交通の乗車",
        "unit": "ride",
        "grams_per_unit": 550,
        "daily_cap_grams": 2_200,
    },
    {
        "code": "cycled_km",
        "name_en": "Kilometre cycled instead of driven",
        "name_ja": "自動車に代えた自転車走行 (km)",
        "unit": "km",
        "grams_per_unit": 130,
        "daily_cap_grams": 6_500,
    },
    {
        "code": "walking_steps_k",
        "name_en": "1,000 steps walked instead of driving",
        "name_ja": "自動車に代えた徒歩 (1,000 歩)",
        "unit": "1,000 steps",
        "grams_per_unit": 90,
        "daily_cap_grams": 1_800,
    },
    {
        "code": "paperless_bill",
        "name_en": "Paperless monthly bill",
        "name_ja": "紙の請求書の電子化",
        "unit": "bill",
        "grams_per_unit": 20,
    },
]
SOURCE = (
    "EcoRide methodology v1 (demo; illustrative figures). Avoided car travel at 130 g-CO2 per "
    "passenger-km for a private car, against 17 g by rail and 71 g by bus (MLIT, CO2 emissions "
    "of the transport sector, FY2022 per passenger-km, rounded); an average transit trip of 6 km "
    "against a mix of rail and bus (550 g a ride); 1,000 steps taken as 0.7 km not driven; a "
    "paper bill's paper, printing and post as 20 g. Daily caps keep one member's day plausible."
)
METHODOLOGY_OVERLAPS = ["municipal_inventory", "transit_operator_scope3"]
TREATMENT = (
    "Not settled: the same avoided car travel also counts in municipal inventories and in the "
    "transit operators' reporting, so no credits are issued for it. Points are a member's "
    "record of their own actions; what they retire are real credits EcoRide buys (J-Credits of "
    "forest management), in whole tonnes, with the members' shares published as a Merkle root."
)
# weights and the most units an event carries, per action (ride counts, km, 1,000 steps, bills)
MIX = (("transit_ride", 40, 4), ("cycled_km", 30, 15), ("walking_steps_k", 25, 12))
PAPERLESS = 5


def member(n: int) -> str:
    """The keyed hash EcoRide sends for its member number ``n`` (its side of the protocol)."""
    return points.member_hash(KEY, f"ER-{n:07d}")


def _register(db: Database, p: DemoParticipant) -> None:
    number = corporate_number(p.corporate_base) if p.corporate_base else None
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            p.name_ja, p.name_en, p.kind, list(p.roles), number, p.gx_league, p.id
        ),
    )
    participants.set_status(db, SYSTEM, p.id, "active", "approved: demo market")


def _line(eid: str, m: str, action: str, quantity: int, day: dt.date) -> str:
    return (
        f'{{"event_id":"{eid}","member":"{m}","action":"{action}","quantity":{quantity},'
        f'"occurred_on":"{day.isoformat()}"}}'
    )


def _weeks(hashes: list[str], today: dt.date, launch: dt.date) -> list[bytes]:
    """The batches, oldest first: each a week of the last 60 days' events of random members;
    the first also carries the loyal member's daily history from the launch on."""
    rng = random.Random(2026)
    first = today - dt.timedelta(days=DAYS - 1)
    per = EVENTS // WEEKS
    codes = [a for a, _, _ in MIX] + ["paperless_bill"]
    weights = [w for _, w, _ in MIX] + [PAPERLESS]
    most = {a: m for a, _, m in MIX} | {"paperless_bill": 1}
    out = []
    for w in range(WEEKS):
        lo, hi = w * DAYS // WEEKS, (w + 1) * DAYS // WEEKS - 1
        days = [first + dt.timedelta(days=d) for d in range(lo, hi + 1)]
        who = rng.choices(hashes, k=per)
        what = rng.choices(codes, weights=weights, k=per)
        when = rng.choices(days, k=per)
        lines = [
            _line(f"ER{w}-{i:06d}", who[i], what[i], rng.randint(1, most[what[i]]), when[i])
            for i in range(per)
        ]
        if w == 0:
            loyal = hashes[LOYAL]
            day = launch
            while day < first:
                tag = day.strftime("%Y%m%d")
                lines += [
                    _line(f"ERL-{tag}-r", loyal, "transit_ride", 4, day),
                    _line(f"ERL-{tag}-c", loyal, "cycled_km", 12, day),
                    _line(f"ERL-{tag}-w", loyal, "walking_steps_k", 8, day),
                ]
                day += dt.timedelta(days=1)
        out.append("\n".join(lines).encode())
    return out


def _buy_credits(db: Database, buyer: Actor, day: dt.date) -> int:
    """Forest credits for the retirements: a request for quote to the holders of the forest
    project, answered by the largest with a firm offer delivered at once (T+0)."""
    holding = _largest_holding(db, SUPPLIER_PROJECT)
    if holding is None:
        return 0
    seller, account, issuance, held = holding
    quantity = min(CREDITS_BOUGHT, held)
    cash.deposit(db, SYSTEM, PLATFORM.id, "JPY", 5_000_000, f"DEMO-BANK-{PLATFORM.id}-0001")
    rfq = market.create_rfq(
        db,
        buyer,
        quantity,
        project_id=SUPPLIER_PROJECT,
        note="Forest credits for our members' pooled retirements",
    )
    expires = at_jst(day + dt.timedelta(days=7), 15, 0).isoformat()
    offer = market.make_offer(
        db,
        Actor(seller),
        market.NewOffer(rfq.id, account, issuance, PRICE, quantity, expires, settlement_days=0),
    )
    market.accept_offer(db, buyer, offer.id, f"{PLATFORM.id}-MAIN")
    return quantity


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """Add the points programme; returns a line for the summary (its key joins ``keys``)."""
    day = days[-1]
    clock.set(at_jst(day, 17, 0))
    with db.read() as conn:
        if repo.get_participant(conn, PLATFORM.id) is not None:
            return ""
    today = programmes.today(db)
    launch = (today - dt.timedelta(days=420)).replace(day=1)
    _register(db, PLATFORM)
    programmes.register(
        db,
        SYSTEM,
        programmes.NewProgramme(PROGRAMME, PLATFORM.id, NAME_EN, NAME_JA),
    )
    # its key after the registration, so that it holds the points scope the role gives
    keys[PLATFORM.id] = participants.create_api_key(db, SYSTEM, PLATFORM.id, "demo key").key
    actor = participants.authenticate(db, keys[PLATFORM.id])
    programmes.publish_methodology(
        db,
        actor,
        PROGRAMME,
        {
            "effective_from": launch.isoformat(),
            "source": SOURCE,
            "actions": ACTIONS,
            "double_counting": {
                "overlaps": METHODOLOGY_OVERLAPS,
                "settled": False,
                "treatment": TREATMENT,
            },
        },
    )
    bought = _buy_credits(db, actor, day)
    hashes = [member(n) for n in range(MEMBERS)]
    batches = [
        ingest.ingest(db, actor, PROGRAMME, body, "jsonl", "api")
        for body in _weeks(hashes, today, launch)
    ]
    with db.read() as conn:
        verifier = repo.get_participant(conn, VERIFIER)
    if verifier is not None:
        body = Actor(VERIFIER, frozenset({Role.VERIFICATION_BODY}))
        for b in batches[:VERIFIED]:
            ingest.verify_batch(
                db,
                body,
                PROGRAMME,
                b.id,
                ingest.Verification(
                    "verified",
                    "Sampled 200 events against the app's trip logs and the transit operators' "
                    "ticketing data; grams recomputed under methodology version 1.",
                ),
            )
    with db.read() as conn:
        available = {
            m: int(a)
            for m, a in conn.exec_driver_sql(
                "SELECT member, earned_grams - pledged_grams - spent_grams FROM "
                f"points_balances WHERE programme_id = '{PROGRAMME}'"
            )
        }
    retired = ""
    if bought:
        # members pledge all they have, up to the tonnes bought (less the loyal member's one)
        first = _pool(
            db, actor, "Misugi-go forest pool, autumn", hashes[:30_000], available, bought - 2
        )
        done = pools.retire_pool(
            db, actor, PROGRAMME, first.id, pools.CreditChoice(project_id=SUPPLIER_PROJECT)
        )
        pools.retire_for_member(
            db,
            actor,
            PROGRAMME,
            member(LOYAL),
            1,
            "points",
            pools.CreditChoice(project_id=SUPPLIER_PROJECT),
        )
        retired = (
            f"pool {first.id} retired {done.pool.tonnes} t ({done.pool.members:,} members, "
            f"{done.retirement.id}), one member's tonne paid with points; "
        )
    second = _pool(db, actor, "Misugi-go forest pool, winter", hashes[30_000:40_000], available)
    prog = programmes.get_programme(db, PROGRAMME)
    return (
        f"Points: {PROGRAMME}, {prog.members:,} members, {prog.events:,} events in "
        f"{len(batches)} batches ({min(VERIFIED, len(batches)) if verifier else 0} verified); "
        f"{retired}pool {second.id} open ({second.members:,} members pledged)\n"
        f"  public: /points/{PROGRAMME}; portal: /portal/points as points@ecoride.example.jp"
    )


def _pool(
    db: Database,
    actor: Actor,
    name: str,
    who: list[str],
    available: dict[str, int],
    tonnes: int | None = None,
) -> pools.Pool:
    """Open a pool and pledge members' points to it (``available``: what each has): all they
    have while the pool stays under ``tonnes`` (a pool to retire), or half of it (``None``: a
    pool still collecting)."""
    pool = pools.open_pool(db, actor, PROGRAMME, name)
    loyal = member(LOYAL)
    pledges, total = [], 0
    for m in who:
        g = available.get(m, 0) if tonnes is not None else available.get(m, 0) // 2
        if m == loyal or g < 1:
            continue
        if tonnes is not None and total + g > tonnes * points.GRAMS_PER_TONNE:
            break
        pledges.append(pools.Pledge(m, g))
        total += g
    return pools.pledge(db, actor, PROGRAMME, pool.id, pledges).pool
