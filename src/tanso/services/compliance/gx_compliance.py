"""GX-ETS surrenders, reference ceiling payments, compliance status and the public register
(docs/gx-ets.md). A fiscal year (年度) runs from April to March.

Allowances surrendered move to the entity's compliance account for good; credits surrendered
are a retirement for ``gx_ets_surrender`` through the usage-rules engine, which holds the 10%
cap against the verified emissions; a ceiling payment moves cash to the scheme's account. The
compliance status is computed from those rows (never stored), so it always equals its
recomputation from the journal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from tanso.domain import usage_rules as ur
from tanso.domain.csv_cells import neutralise
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.escrow import cash_account_id
from tanso.domain.instruments import Eligibility
from tanso.domain.participants import OPERATOR_PARTICIPANT
from tanso.domain.registry import BlockStatus
from tanso.services.common import (
    Actor,
    Database,
    Idem,
    execute,
    loader,
    own_account,
    plain,
    require_active,
)
from tanso.services.compliance import inventories, usage
from tanso.services.compliance.gx import prices
from tanso.services.compliance.gx_cycle import (
    ALLOWANCE_SCHEME,
    CURRENCY,
    SCHEME_CASH,
    accounts_of,
    check_year,
    may_see,
    require_covered,
)
from tanso.services.compliance.usage import JST
from tanso.services.ledger import registry
from tanso.services.ledger.blocks import Selection, credit_ranges, move, plan
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_gx as g
from tanso.store import schema_usage as u
from tanso.store.db import Tx

KINDS = ("allowances", "credits")


# ---------------------------------------------------------------- the position


@dataclass(frozen=True, slots=True)
class Compliance:
    """A covered entity's position for a fiscal year (April to March), in t-CO2 and yen."""

    participant_id: str
    fiscal_year: int
    allocated: int
    reported_emissions: int | None
    verified_emissions: int | None
    """Only a figure a verification body confirmed counts (None until then)."""
    verification: str
    surrendered_allowances: int
    surrendered_credits: int
    ceiling_quantity: int
    """Tonnes covered by paying the reference ceiling price instead of allowances."""
    ceiling_paid: int
    shortfall: int | None
    """Verified emissions not yet covered (None until verified)."""
    status: str
    """``open``; ``compliant`` once verified emissions are covered; ``non_compliant`` when the
    deadline passed without that."""
    deadline: str
    """The surrender deadline (the date allowances must be held by)."""
    held_allowances: int
    """Allowances in the holding account that count for this year (banking: earlier vintages)."""
    credit_cap_percent: int | None
    """The share of verified emissions credits may cover (the usage rules' cap, 10%)."""
    credit_cap: int | None
    """The most tonnes of credits that count: that share of verified emissions."""
    credits_headroom: int | None
    ceiling_price: int
    shortfall_cost_at_ceiling: int | None
    non_compliance_charge: int | None
    """What the shortfall would be charged after the deadline (the rule set's multiple of the
    ceiling price per tonne)."""


def _sum(conn: Connection, table: Any, column: str, pid: str, fy: int, **where: Any) -> int:
    c = table.c
    q = select(func.coalesce(func.sum(c[column]), 0)).where(
        c.participant_id == pid, c.fiscal_year == fy, *[c[k] == v for k, v in where.items()]
    )
    return int(conn.execute(q).scalar_one())


def credits_surrendered(conn: Connection, pid: str, fy: int, deadline: dt.date) -> int:
    """Tonnes of credits retired for ``gx_ets_surrender`` toward the fiscal year by its
    deadline (end of the day, JST): the usage claims the rules engine recorded, for a surrender
    of credits or a retirement for that use. A later retirement no longer counts."""
    c, r = u.usage_claims.c, t.retirements.c
    cutoff = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(), JST)
    q = (
        select(func.coalesce(func.sum(c.tonnes), 0))
        .select_from(u.usage_claims.join(t.retirements, c.retirement_id == r.id))
        .where(
            c.participant_id == pid,
            c.reporting_year == fy,
            c.use == registry.GX_SURRENDER,
            r.created_at < cutoff.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        )
    )
    return int(conn.execute(q).scalar_one())


def credit_cap_percent(conn: Connection, fy: int, today: dt.date) -> int | None:
    """The share of verified emissions credits may cover: the usage rules' share cap for
    ``gx_ets_surrender`` in the fiscal year (the one the engine enforces), None without one."""
    rs = usage.ruleset_in_force(conn, today)
    if rs is None:
        return None
    use = ur.Use(registry.GX_SURRENDER, fy, today)
    caps = [x.percent for x in rs.rules if x.kind == "share_cap" and x.applies(use)]
    return min(caps, default=None)


def _usable(fy: int, borrowing: bool) -> Eligibility:
    """Allowances that count for a fiscal year: its vintage and earlier (banking), and the next
    year's only where the rule set allows borrowing."""
    return Eligibility(schemes=(ALLOWANCE_SCHEME,), vintage_to=fy + 1 if borrowing else fy)


def position(conn: Connection, pid: str, fy: int, today: dt.date) -> Compliance:
    rules = check_year(fy)
    require_covered(conn, pid, fy)
    inv = inventories.inventory(conn, pid, fy)
    verified = inv.scope1 if inv is not None and inv.verification == "verified" else None
    allowances = _sum(conn, g.gx_surrenders, "quantity", pid, fy, kind="allowances")
    credits = credits_surrendered(conn, pid, fy, rules.surrender_deadline)
    ceiling_q = _sum(conn, g.gx_payments, "quantity", pid, fy)
    shortfall = None if verified is None else max(0, verified - allowances - credits - ceiling_q)
    if shortfall == 0:
        status = "compliant"
    elif today > rules.surrender_deadline:
        status = "non_compliant"
    else:
        status = "open"
    accounts = accounts_of(conn, pid)
    held = 0
    if accounts is not None:
        blocks = repo.blocks_in_account(
            conn,
            accounts.holding_account,
            BlockStatus.HELD,
            eligibility=_usable(fy, rules.borrowing),
        )
        held = sum(b.quantity for b in blocks)
    percent = credit_cap_percent(conn, fy, today)
    cap = None if verified is None or percent is None else verified * percent // 100
    price = prices(fy).ceiling
    return Compliance(
        participant_id=pid,
        fiscal_year=fy,
        allocated=_sum(conn, g.gx_allocations, "quantity", pid, fy),
        reported_emissions=None if inv is None or inv.verification == "unverified" else inv.scope1,
        verified_emissions=verified,
        verification="not_reported" if inv is None else inv.verification,
        surrendered_allowances=allowances,
        surrendered_credits=credits,
        ceiling_quantity=ceiling_q,
        ceiling_paid=_sum(conn, g.gx_payments, "amount", pid, fy),
        shortfall=shortfall,
        status=status,
        deadline=rules.surrender_deadline.isoformat(),
        held_allowances=held,
        credit_cap_percent=percent,
        credit_cap=cap,
        credits_headroom=None if cap is None else max(0, cap - credits),
        ceiling_price=price,
        shortfall_cost_at_ceiling=None if shortfall is None else shortfall * price,
        non_compliance_charge=(
            None
            if shortfall is None
            else shortfall * price * rules.non_compliance_charge_percent // 100
        ),
    )


def _today(db: Database) -> dt.date:
    return usage.local_date(db.clock())


def compliance(db: Database, actor: Actor, pid: str, fy: int) -> Compliance:
    """The entity's position for a fiscal year (the entity itself, operators, verifiers)."""
    may_see(actor, pid)
    with db.read() as conn:
        return position(conn, pid, fy, _today(db))


def _outstanding(tx: Tx, pid: str, fy: int, quantity: int, what: str) -> Compliance:
    """The position, refusing an act that the verified emissions do not call for."""
    pos = position(tx.conn, pid, fy, usage.local_date(tx.at))
    if pos.verified_emissions is None:
        raise Conflict(
            "emissions_not_verified",
            f"The FY{fy} emissions of {pid} are {pos.verification.replace('_', ' ')}; "
            f"{what} counts only against verified emissions.",
        )
    if usage.local_date(tx.at) > dt.date.fromisoformat(pos.deadline):
        raise Conflict(
            "deadline_passed",
            f"The FY{fy} surrender deadline was {pos.deadline}; {what} no longer counts.",
        )
    assert pos.shortfall is not None
    if quantity > pos.shortfall:
        raise Conflict(
            "exceeds_obligation",
            f"{what.capitalize()} of {quantity:,} t exceeds what FY{fy} still calls for: "
            f"{pos.verified_emissions:,} t verified, {pos.shortfall:,} t outstanding.",
        )
    return pos


# ---------------------------------------------------------------- surrenders


@dataclass(frozen=True, slots=True)
class Surrender:
    """Units surrendered toward a fiscal year's obligation, for good."""

    id: str
    participant_id: str
    fiscal_year: int
    kind: str
    quantity: int
    account_id: str
    ranges: list[Any]
    ref: str
    """For credits, the retirement (無効化) that took them (its certificate and usage claim)."""
    surrendered_at: str
    compliance: Compliance


def surrender(
    db: Database,
    actor: Actor,
    pid: str,
    fy: int,
    kind: str,
    account_id: str,
    sel: Selection,
    idem: Idem | None = None,
) -> Surrender:
    """Surrender allowances (to the compliance account) or credits (a retirement for
    ``gx_ets_surrender``, within the 10% cap) toward a fiscal year, from the entity's own
    account; never more than the verified emissions still call for."""
    if kind not in KINDS:
        raise InvalidInput("invalid_kind", "kind is allowances or credits.")
    if actor.participant_id != pid:
        raise NotFound("not_covered", f"There is no GX-ETS entity {pid} you may act for.")
    rules = check_year(fy)
    sel.range()  # a malformed selection is refused before anything is read

    def work(tx: Tx) -> Surrender:
        conn = tx.conn
        require_active(conn, actor)
        require_covered(conn, pid, fy)
        if tx.ledger is not None:  # read from the database: the memory is written out first
            tx.ledger.flush()
            tx.ledger.forget()
        if kind == "allowances":
            row = own_account(conn, actor, account_id, write=True)
            accounts = accounts_of(conn, pid)
            if accounts is None or row.kind != "holding":
                raise NotFound("account_not_found", f"There is no holding account {account_id}.")
            pieces = _allowances(conn, account_id, sel, fy, rules.borrowing)
            quantity = sum(p.quantity for p in pieces)
            _outstanding(tx, pid, fy, quantity, "a surrender of allowances")
            sid = f"GS-{tx.next_seq():08d}"
            moves = move(
                tx, pieces, accounts.compliance_account, BlockStatus.RETIRED, "surrender", sid
            )
            ranges, ref = credit_ranges(pieces), sid
        else:
            named = sel.range()
            quantity_hint = sel.quantity or (named.quantity if named is not None else 0)
            _outstanding(tx, pid, fy, quantity_hint, "a surrender of credits")
            receipt = registry.retire_unit(
                tx,
                actor,
                registry.RetirementRequest(
                    account_id=account_id,
                    selection=sel,
                    purposes=[registry.GX_SURRENDER],
                    reporting_year=fy,
                    emissions_scope="1",
                    note=f"GX-ETS FY{fy} surrender",
                ),
            )
            sid, ref, ranges, moves = f"GS-{tx.next_seq():08d}", receipt.id, receipt.ranges, []
            quantity = receipt.quantity
        repo.insert_row(
            conn,
            g.gx_surrenders,
            id=sid,
            participant_id=pid,
            fiscal_year=fy,
            kind=kind,
            quantity=quantity,
            ref=ref,
            surrendered_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        view = Surrender(
            id=sid,
            participant_id=pid,
            fiscal_year=fy,
            kind=kind,
            quantity=quantity,
            account_id=account_id,
            ranges=list(ranges),
            ref=ref,
            surrendered_at=tx.at,
            compliance=position(conn, pid, fy, usage.local_date(tx.at)),
        )
        payload = plain(view)
        tx.record("gx.surrendered", actor.label, payload | ({"moves": moves} if moves else {}))
        return view

    return execute(db, actor, idem, work, 201, loader(Surrender), sequenced=True)


def _allowances(
    conn: Connection, account_id: str, sel: Selection, fy: int, borrowing: bool
) -> list[Any]:
    """The allowances a surrender takes: of a vintage that counts for the year (oldest first)."""
    try:
        return plan(conn, account_id, sel, eligibility=_usable(fy, borrowing))
    except Conflict as e:
        if e.code != "credits_not_eligible":
            raise
        later = "" if borrowing else " (or later: borrowing is not allowed)"
        raise Conflict(
            "not_usable_allowances",
            f"Only GX-ETS allowances of vintage FY{fy} or earlier count for FY{fy}{later}; "
            f"{sel.serials or sel.serial_start} is not one.",
        ) from None


# ---------------------------------------------------------------- ceiling payments


@dataclass(frozen=True, slots=True)
class CeilingPayment:
    """The reference ceiling price paid per tonne instead of surrendering allowances."""

    id: str
    participant_id: str
    fiscal_year: int
    quantity: int
    price: int
    amount: int
    paid_at: str
    compliance: Compliance


def pay_ceiling(
    db: Database, actor: Actor, pid: str, fy: int, quantity: int, idem: Idem | None = None
) -> CeilingPayment:
    """Pay the fiscal year's reference ceiling price (参考上限取引価格) for ``quantity`` tonnes
    from the entity's yen cash account to the scheme's account; it counts as compliance."""
    if actor.participant_id != pid:
        raise NotFound("not_covered", f"There is no GX-ETS entity {pid} you may act for.")
    check_year(fy)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidInput("invalid_quantity", "quantity is a whole number of tonnes above 0.")
    price = prices(fy).ceiling

    def work(tx: Tx) -> CeilingPayment:
        conn = tx.conn
        require_active(conn, actor)
        require_covered(conn, pid, fy)
        _outstanding(tx, pid, fy, quantity, "a ceiling payment")
        amount = quantity * price
        src = cash_account_id(pid, CURRENCY)
        if repo.get_cash_account(conn, src) is None:
            raise Conflict("insufficient_cash", f"{pid} has no yen cash account to pay from.")
        repo.ensure_cash_account(conn, SCHEME_CASH, OPERATOR_PARTICIPANT, CURRENCY, "scheme")
        pid_ = f"GP-{tx.next_seq():08d}"
        try:
            repo.move_cash(
                conn, tx.next_seq(), CURRENCY, src, SCHEME_CASH, amount, "gx_ceiling", pid_
            )
        except Conflict:
            row = repo.get_cash_account(conn, src)
            free = 0 if row is None else int(row.balance) - int(row.reserved)
            raise Conflict(
                "insufficient_cash",
                f"Paying the ceiling price for {quantity:,} t costs ¥{amount:,} "
                f"({quantity:,} t × ¥{price:,}); {pid} has ¥{free:,} available.",
            ) from None
        repo.insert_row(
            conn,
            g.gx_payments,
            id=pid_,
            participant_id=pid,
            fiscal_year=fy,
            quantity=quantity,
            price=price,
            amount=amount,
            paid_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        view = CeilingPayment(
            id=pid_,
            participant_id=pid,
            fiscal_year=fy,
            quantity=quantity,
            price=price,
            amount=amount,
            paid_at=tx.at,
            compliance=position(conn, pid, fy, usage.local_date(tx.at)),
        )
        tx.record(
            "gx.ceiling_paid",
            actor.label,
            plain(view) | {"cash": [[CURRENCY, src, SCHEME_CASH, amount]]},
        )
        return view

    return execute(db, actor, idem, work, 201, loader(CeilingPayment), sequenced=True)


# ---------------------------------------------------------------- the public register


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """What the public register shows of a covered entity's fiscal year, as ETS registries
    publish: nothing about holdings, trades or cash beyond the ceiling payments."""

    participant_id: str
    name_en: str
    name_ja: str
    sectors: list[str]
    allocated: int
    verified_emissions: int | None
    surrendered_allowances: int
    surrendered_credits: int
    ceiling_quantity: int
    status: str


REGISTER_COLUMNS = [
    "fiscal_year",
    "participant_id",
    "name_en",
    "name_ja",
    "sectors",
    "allocated",
    "verified_emissions",
    "surrendered_allowances",
    "surrendered_credits",
    "ceiling_quantity",
    "status",
]


def register(db: Database, fy: int) -> list[RegisterRow]:
    """The public register of a fiscal year (April to March): every covered entity."""
    check_year(fy)
    today = _today(db)
    with db.read() as conn:
        c = g.gx_covered.c
        rows = conn.execute(
            select(g.gx_covered).where(c.fiscal_year == fy).order_by(c.participant_id)
        ).all()
        out = []
        for r in rows:
            p = repo.get_participant(conn, r.participant_id)
            pos = position(conn, r.participant_id, fy, today)
            out.append(
                RegisterRow(
                    participant_id=r.participant_id,
                    name_en=p.name_en if p else r.participant_id,
                    name_ja=p.name_ja if p else r.participant_id,
                    sectors=json.loads(r.sectors),
                    allocated=pos.allocated,
                    verified_emissions=pos.verified_emissions,
                    surrendered_allowances=pos.surrendered_allowances,
                    surrendered_credits=pos.surrendered_credits,
                    ceiling_quantity=pos.ceiling_quantity,
                    status=pos.status,
                )
            )
        return out


def register_csv(fy: int, rows: list[RegisterRow]) -> str:
    """The register as CSV: a header row, then one row per covered entity."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(REGISTER_COLUMNS)
    for r in rows:
        d = plain(r) | {"fiscal_year": fy, "sectors": ";".join(r.sectors)}
        w.writerow(["" if d[k] is None else neutralise(d[k]) for k in REGISTER_COLUMNS])
    return out.getvalue()
