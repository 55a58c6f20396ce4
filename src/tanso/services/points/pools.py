"""From points to tonnes (docs/points.md): members' pledges to pooled retirements, the pool's
retirement with the Merkle root of its shares, members' proofs, small retirements a programme
makes for one member, and credits issued from a programme's verified reductions.

Whole tonnes only leave the registry: a pool retires the whole tonnes of its pledges plus the
fraction the programme carried from its last pool, and carries the new fraction on, so nothing
is rounded away. Pools and members' retirements retire real credits the programme holds (bought
on the market, as Ant Forest plants trees); issuance turns verified reductions into credits only
where the methodology is certified and settles double counting.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, desc, func, select, update

from tanso.domain import points
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.common import Actor, Database, Idem, execute, loader, require
from tanso.services.ledger import registry
from tanso.services.ledger.blocks import Selection
from tanso.services.points import programmes
from tanso.store import bulk
from tanso.store import schema as t
from tanso.store import schema_points as p
from tanso.store.db import Tx

POOL_PURPOSE = "offset_individuals"
MAX_PLEDGES = 100_000


# ---------------------------------------------------------------- pools


@dataclass(frozen=True, slots=True)
class Pool:
    """A pooled retirement, as anyone may see it (never its secret, never its members)."""

    id: str
    programme_id: str
    programme_name_en: str
    programme_name_ja: str
    name: str
    status: str
    members: int
    pledged_grams: int
    carry_in_grams: int | None
    tonnes: int | None
    carry_out_grams: int | None
    retirement_id: str | None
    merkle_root: str | None
    opened_at: str
    retired_at: str | None


def _pool_view(conn: Connection, row: Any) -> Pool:
    prog = programmes.get_row(conn, row.programme_id)
    return Pool(
        id=row.id,
        programme_id=row.programme_id,
        programme_name_en=prog.name_en,
        programme_name_ja=prog.name_ja,
        name=row.name,
        status=row.status,
        members=int(row.members),
        pledged_grams=int(row.pledged_grams),
        carry_in_grams=row.carry_in_grams,
        tonnes=row.tonnes,
        carry_out_grams=row.carry_out_grams,
        retirement_id=row.retirement_id,
        merkle_root=row.merkle_root,
        opened_at=row.opened_at,
        retired_at=row.retired_at,
    )


def _pool_row(conn: Connection, pool_id: str) -> Any:
    return conn.execute(select(p.points_pools).where(p.points_pools.c.id == pool_id)).first()


def _own_pool(conn: Connection, prog: Any, pool_id: str) -> Any:
    row = _pool_row(conn, pool_id)
    if row is None or row.programme_id != prog.id:
        raise NotFound("pool_not_found", f"{prog.id} has no pool {pool_id}.")
    return row


def open_pool(
    db: Database, actor: Actor, programme_id: str, name: str, idem: Idem | None = None
) -> Pool:
    """Open a pool that members may pledge points to (the programme)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("invalid_name", "A pool's name is 1 to 200 characters.")

    def work(tx: Tx) -> Pool:
        prog = programmes.acting_row(tx, actor, programme_id)
        pool_id = f"PL-{tx.next_seq():08d}"
        tx.conn.execute(
            p.points_pools.insert().values(
                id=pool_id,
                programme_id=prog.id,
                name=name,
                status="open",
                salt=secrets.token_hex(32),
                members=0,
                pledged_grams=0,
                opened_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        tx.record(
            "points.pool_opened", actor.label, {"programme": prog.id, "pool": pool_id, "name": name}
        )
        return _pool_view(tx.conn, _pool_row(tx.conn, pool_id))

    return execute(db, actor, idem, work, 201, loader(Pool))


def get_pool(db: Database, pool_id: str) -> Pool:
    """A pool as the public sees it (the verification page): totals and root, no members."""
    with db.read() as conn:
        row = _pool_row(conn, pool_id)
        if row is None:
            raise NotFound("pool_not_found", f"There is no pool {pool_id}.")
        return _pool_view(conn, row)


def list_pools(db: Database, programme_id: str, limit: int = 100) -> list[Pool]:
    with db.read() as conn:
        programmes.get_row(conn, programme_id)
        c = p.points_pools.c
        rows = conn.execute(
            select(p.points_pools)
            .where(c.programme_id == programme_id)
            .order_by(desc(c.journal_seq))
            .limit(limit)
        ).all()
        return [_pool_view(conn, r) for r in rows]


@dataclass(frozen=True, slots=True)
class Pledge:
    member: str
    grams: int


@dataclass(frozen=True, slots=True)
class Pledged:
    pool: Pool
    pledges: int
    grams: int


def _check_pledges(pledges: list[Pledge]) -> dict[str, int]:
    if not pledges:
        raise InvalidInput("no_pledges", "Send at least one pledge.")
    if len(pledges) > MAX_PLEDGES:
        raise InvalidInput(
            "too_many_pledges", f"One request carries at most {MAX_PLEDGES:,} pledges."
        )
    total: dict[str, int] = {}
    for i, pl in enumerate(pledges, start=1):
        if not points.is_member(pl.member):
            raise InvalidInput(
                "invalid_member",
                f"Pledge {i}: member is the programme's keyed hash of its member id "
                "(64 lowercase hex characters).",
            )
        if isinstance(pl.grams, bool) or not isinstance(pl.grams, int) or pl.grams < 1:
            raise InvalidInput("invalid_grams", f"Pledge {i}: grams is a whole number above 0.")
        total[pl.member] = total.get(pl.member, 0) + pl.grams
    return total


def pledge(
    db: Database,
    actor: Actor,
    programme_id: str,
    pool_id: str,
    pledges: list[Pledge],
    idem: Idem | None = None,
) -> Pledged:
    """Members pledge points (grams) to an open pool, all or none: each member's available
    points (earned − pledged − spent) must cover what it pledges."""
    wanted = _check_pledges(pledges)

    def work(tx: Tx) -> Pledged:
        conn = tx.conn
        prog = programmes.acting_row(tx, actor, programme_id)
        pool = _own_pool(conn, prog, pool_id)
        if pool.status != "open":
            raise Conflict("pool_closed", f"Pool {pool_id} is {pool.status}; open a new one.")
        members = sorted(wanted)
        rows = bulk.select_in(
            conn,
            "SELECT member, earned_grams - pledged_grams - spent_grams FROM points_balances "
            "WHERE programme_id = :programme AND member {members}",
            {"programme": prog.id},
            "members",
            members,
        )
        available = {r[0]: int(r[1]) for r in rows}
        short = [m for m in members if available.get(m, 0) < wanted[m]]
        if short:
            m = short[0]
            err = Conflict(
                "insufficient_points",
                f"{len(short):,} of {len(members):,} members lack the points they pledge, so "
                f"nothing was pledged; the first, {m[:12]}…, has {available.get(m, 0):,} g "
                f"available and pledges {wanted[m]:,} g.",
            )
            err.details = [
                {"member": m, "available_grams": available.get(m, 0), "grams": wanted[m]}
                for m in short[:1000]
            ]
            raise err
        bulk.add_to_rows(
            conn,
            "points_balances",
            ("programme_id", "member"),
            ("pledged_grams",),
            [(prog.id, m, wanted[m]) for m in members],
        )
        earlier = bulk.select_in(
            conn,
            "SELECT member FROM points_pledges WHERE pool_id = :pool AND member {members}",
            {"pool": pool_id},
            "members",
            members,
        )
        new_members = len(members) - len(earlier)
        bulk.add_rows(
            conn,
            "points_pledges",
            ("pool_id", "member"),
            ("grams",),
            ("pledged_at",),
            [(pool_id, m, wanted[m], tx.at) for m in members],
        )
        grams = sum(wanted.values())
        c = p.points_pools.c
        conn.execute(
            update(p.points_pools)
            .where(c.id == pool_id)
            .values(members=c.members + new_members, pledged_grams=c.pledged_grams + grams)
        )
        digest = points.content_hash((m, wanted[m]) for m in members)  # type: ignore[misc]
        tx.record(
            "points.pledged",
            actor.label,
            {
                "programme": prog.id,
                "pool": pool_id,
                "members": len(members),
                "grams": grams,
                "content_hash": digest,
            },
        )
        return Pledged(_pool_view(conn, _pool_row(conn, pool_id)), len(members), grams)

    return execute(db, actor, idem, work, 201, loader(Pledged))


def _shares(conn: Connection, pool: Any) -> tuple[list[str], list[int], list[str]]:
    """The pool's members (sorted), their grams and their leaves."""
    c = p.points_pledges.c
    rows = conn.execute(
        select(c.member, c.grams).where(c.pool_id == pool.id).order_by(c.member)
    ).all()
    members = [r.member for r in rows]
    grams = [int(r.grams) for r in rows]
    leaves = [
        points.leaf(points.leaf_salt(pool.salt, m), m, g)
        for m, g in zip(members, grams, strict=True)
    ]
    return members, grams, leaves


def _retire(
    tx: Tx, prog: Any, tonnes: int, beneficiary: str, note: str, choice: CreditChoice
) -> registry.RetirementReceipt:
    """Retire whole tonnes from the programme's holding account, for its members (purpose
    ``offset_individuals``), through the registry's own unit of work."""
    return registry.retire_unit(
        tx,
        Actor(prog.participant_id, frozenset({Role.POINTS_PROGRAMME})),
        registry.RetirementRequest(
            account_id=prog.holding_account,
            selection=Selection(quantity=tonnes),
            purposes=[POOL_PURPOSE],
            beneficiary=beneficiary,
            note=note,
            credits=choice.filter(),
        ),
    )


@dataclass(frozen=True, slots=True)
class PoolRetirement:
    pool: Pool
    retirement: registry.RetirementReceipt


@dataclass(frozen=True, slots=True)
class CreditChoice:
    """Which of the programme's credits a retirement takes (default: the oldest it holds)."""

    project_id: str | None = None
    scheme: str | None = None
    category: str | None = None
    vintage: int | None = None

    def filter(self) -> registry.CreditFilter:
        return registry.CreditFilter(
            scheme=self.scheme,
            category=self.category,
            project_id=self.project_id,
            vintage=self.vintage,
        )


def retire_pool(
    db: Database,
    actor: Actor,
    programme_id: str,
    pool_id: str,
    credits: CreditChoice | None = None,
    idem: Idem | None = None,
) -> PoolRetirement:
    """Retire the whole tonnes of a pool (its pledges and the fraction the programme carried
    from its last pool) from the programme's holding account; the fraction left is carried to
    the next pool. The retirement names the pool and its Merkle root; the pool closes."""
    choice = credits or CreditChoice()

    def work(tx: Tx) -> PoolRetirement:
        conn = tx.conn
        prog = programmes.acting_row(tx, actor, programme_id)
        pool = _own_pool(conn, prog, pool_id)
        if pool.status != "open":
            raise Conflict("pool_closed", f"Pool {pool_id} is already {pool.status}.")
        total = int(pool.pledged_grams) + int(prog.carry_grams)
        tonnes, carry = points.tonnes_and_carry(total)
        if tonnes < 1:
            raise Conflict(
                "pool_below_a_tonne",
                f"Pool {pool_id} holds {int(pool.pledged_grams):,} g pledged and "
                f"{int(prog.carry_grams):,} g carried: {total:,} g, short of one tonne "
                f"(1,000,000 g) by {points.GRAMS_PER_TONNE - total:,} g.",
            )
        _members, _grams, leaves = _shares(conn, pool)
        root = points.merkle_levels(leaves)[-1][0]
        receipt = _retire(
            tx,
            prog,
            tonnes,
            f"Members of {prog.name_en} (points pool {pool_id})",
            f"Pooled retirement {pool_id}; Merkle root of members' shares {root}",
            choice,
        )
        c = p.points_pools.c
        conn.execute(
            update(p.points_pools)
            .where(c.id == pool_id)
            .values(
                status="retired",
                carry_in_grams=int(prog.carry_grams),
                tonnes=tonnes,
                carry_out_grams=carry,
                retirement_id=receipt.id,
                merkle_root=root,
                retired_at=tx.at,
            )
        )
        pc = p.points_programmes.c
        conn.execute(update(p.points_programmes).where(pc.id == prog.id).values(carry_grams=carry))
        tx.record(
            "points.pool_retired",
            actor.label,
            {
                "programme": prog.id,
                "pool": pool_id,
                "members": int(pool.members),
                "pledged_grams": int(pool.pledged_grams),
                "carry_in_grams": int(prog.carry_grams),
                "tonnes": tonnes,
                "carry_out_grams": carry,
                "retirement": receipt.id,
                "merkle_root": root,
            },
        )
        return PoolRetirement(_pool_view(conn, _pool_row(conn, pool_id)), receipt)

    return execute(db, actor, idem, work, 201, loader(PoolRetirement))


@dataclass(frozen=True, slots=True)
class Proof:
    """What a member needs to check its share of a retired pool against the published root."""

    pool_id: str
    member: str
    grams: int
    salt: str
    path: list[points.Step]
    merkle_root: str
    retirement_id: str | None = None
    tonnes: int | None = None
    leaves: int = 0


def proof(db: Database, actor: Actor, programme_id: str, pool_id: str, member: str) -> Proof:
    """A member's proof for a retired pool (the programme gives it to the member)."""
    points.check_member(member)
    with db.read() as conn:
        prog = programmes.own_row(conn, actor, programme_id)
        pool = _own_pool(conn, prog, pool_id)
        if pool.status != "retired":
            raise Conflict(
                "pool_not_retired", f"Pool {pool_id} is {pool.status}: proofs come once it retires."
            )
        members, grams, leaves = _shares(conn, pool)
        try:
            index = members.index(member)
        except ValueError:
            raise NotFound(
                "pledge_not_found", f"This member pledged nothing to {pool_id}."
            ) from None
        levels = points.merkle_levels(leaves)
        return Proof(
            pool_id=pool_id,
            member=member,
            grams=grams[index],
            salt=points.leaf_salt(pool.salt, member),
            path=points.proof(levels, index),
            merkle_root=levels[-1][0],
            retirement_id=pool.retirement_id,
            tonnes=pool.tonnes,
            leaves=len(leaves),
        )


@dataclass(frozen=True, slots=True)
class ProofCheck:
    pool_id: str
    valid: bool
    message: str
    merkle_root: str | None
    grams: int | None = None


def check_proof(db: Database, pool_id: str, body: Any) -> ProofCheck:
    """Check a proof (as `proof` gives it) against the pool's published root: anyone may."""
    pool = get_pool(db, pool_id)
    if pool.merkle_root is None:
        return ProofCheck(pool_id, False, f"Pool {pool_id} has not retired yet.", None)
    try:
        member = points.check_member(body.get("member"))
        grams = body["grams"]
        salt = body["salt"]
        path = [points.Step(str(s["side"]), str(s["hash"])) for s in body.get("path", [])]
        if not isinstance(grams, int) or isinstance(grams, bool) or not isinstance(salt, str):
            raise TypeError
        ok = points.verify(pool.merkle_root, salt, member, grams, path)
    except (AttributeError, KeyError, TypeError, ValueError, InvalidInput):
        return ProofCheck(
            pool_id,
            False,
            "This is not a proof: paste the JSON your programme gave you (member, grams, salt, "
            "path).",
            pool.merkle_root,
        )
    if body.get("pool_id", pool_id) != pool_id:
        return ProofCheck(pool_id, False, "This proof is for another pool.", pool.merkle_root)
    if not ok:
        return ProofCheck(
            pool_id,
            False,
            "The proof does not lead to this pool's published root: the share, the salt or "
            "the path was altered, or it belongs to another pool.",
            pool.merkle_root,
        )
    return ProofCheck(
        pool_id,
        True,
        f"Verified: a share of {grams:,} g is included in pool {pool_id}, which retired "
        f"{pool.tonnes} t ({pool.retirement_id}).",
        pool.merkle_root,
        grams,
    )


# ---------------------------------------------------------------- a member's own retirement


@dataclass(frozen=True, slots=True)
class MemberRetirement:
    member: str
    quantity: int
    paid_with: str
    grams: int
    retirement: registry.RetirementReceipt


def retire_for_member(
    db: Database,
    actor: Actor,
    programme_id: str,
    member: str,
    quantity: int,
    paid_with: str,
    credits: CreditChoice | None = None,
    idem: Idem | None = None,
) -> MemberRetirement:
    """Retire whole tonnes from the programme's account for one member, paid with the
    member's points (1,000,000 g a tonne) or with money the programme took; the retirement
    names the member's hash as beneficiary (verifiable, never identifying)."""
    points.check_member(member)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
        raise InvalidInput(
            "invalid_quantity", "A member's retirement is a whole number of tonnes, 1 to 1,000."
        )
    if paid_with not in ("points", "money"):
        raise InvalidInput("invalid_payment", "paid_with is points or money.")
    choice = credits or CreditChoice()

    def work(tx: Tx) -> MemberRetirement:
        conn = tx.conn
        prog = programmes.acting_row(tx, actor, programme_id)
        grams = quantity * points.GRAMS_PER_TONNE if paid_with == "points" else 0
        bal = programmes.balance_row(conn, prog.id, member)
        if bal is None and paid_with == "points":
            raise NotFound(
                "member_not_found", f"{programme_id} has credited no events to this member."
            )
        if grams:
            available = int(bal.earned_grams - bal.pledged_grams - bal.spent_grams)
            if available < grams:
                raise Conflict(
                    "insufficient_points",
                    f"The member has {available:,} g available; {quantity} t takes {grams:,} g.",
                )
            c = p.points_balances.c
            conn.execute(
                update(p.points_balances)
                .where(c.programme_id == prog.id, c.member == member)
                .values(spent_grams=c.spent_grams + grams)
            )
        receipt = _retire(
            tx,
            prog,
            quantity,
            f"Points member {member} of {prog.id}",
            f"Retired by {prog.name_en} for one member, paid with {paid_with}",
            choice,
        )
        tx.conn.execute(
            p.points_member_retirements.insert().values(
                retirement_id=receipt.id,
                programme_id=prog.id,
                member=member,
                quantity=quantity,
                paid_with=paid_with,
                grams=grams,
                retired_at=tx.at,
            )
        )
        tx.record(
            "points.member_retired",
            actor.label,
            {
                "programme": prog.id,
                "retirement": receipt.id,
                "quantity": quantity,
                "paid_with": paid_with,
                "grams": grams,
            },
        )
        return MemberRetirement(member, quantity, paid_with, grams, receipt)

    return execute(db, actor, idem, work, 201, loader(MemberRetirement))


# ---------------------------------------------------------------- issuance from verified points


@dataclass(frozen=True, slots=True)
class PointsIssuance:
    programme_id: str
    tonnes: int
    grams: int
    evidence: list[dict[str, Any]]
    issuance: registry.IssuanceReceipt
    issued_grams: int
    verified_grams: int


def _issuable(conn: Connection, prog: Any) -> tuple[list[Any], list[Any]]:
    """The programme's verified batches, in the order they were verified: those rated only
    by methodology versions that may be issued (certified, double counting settled), and the
    others."""
    known = {m.version: m for m in programmes.versions(conn, prog.id)}
    c = p.points_batches.c
    rows = conn.execute(
        select(p.points_batches)
        .where(c.programme_id == prog.id, c.verification == "verified", c.grams > 0)
        .order_by(c.verified_at, c.journal_seq)
    ).all()
    good: list[Any] = []
    other: list[Any] = []
    for r in rows:
        used = [known[int(v)] for v in r.versions.split(",") if v]
        (good if all(m.issuable for m in used) else other).append(r)
    return good, other


def _evidence(batches: list[Any], issued: int, upto: int) -> list[Any]:
    """The batches that hold the grams from ``issued`` up to ``upto`` (of their running
    total)."""
    out, running = [], 0
    for r in batches:
        start, running = running, running + int(r.grams)
        if running > issued and start < upto:
            out.append(r)
    return out


def issue(
    db: Database,
    actor: Actor,
    programme_id: str,
    tonnes: int,
    vintage: int | None = None,
    idem: Idem | None = None,
) -> PointsIssuance:
    """Issue credits for a programme's verified reductions (registry operator), into the
    programme's holding account under its project, with the batches as evidence. Only where
    every methodology version that rated them is certified and settles double counting."""
    require(actor, Role.REGISTRY_OPERATOR, "issue credits from a points programme")
    if isinstance(tonnes, bool) or not isinstance(tonnes, int) or tonnes < 1:
        raise InvalidInput("invalid_quantity", "tonnes is a whole number above 0.")

    def work(tx: Tx) -> PointsIssuance:
        conn = tx.conn
        prog = programmes.get_row(conn, programme_id)
        if prog.project_id is None:
            raise Conflict(
                "no_project",
                f"{programme_id} has no registered project to issue under; credits cannot be "
                "issued for its points (it may fund real credits instead).",
            )
        grams = tonnes * points.GRAMS_PER_TONNE
        good, other = _issuable(conn, prog)
        left = sum(int(b.grams) for b in good) - int(prog.issued_grams)
        if grams > left:
            known = {m.version: m for m in programmes.versions(conn, prog.id)}
            blocked = sorted(
                {int(v) for b in other for v in b.versions.split(",") if v}
                - {v for v, m in known.items() if m.issuable}
            )
            why = ""
            if blocked:
                m = known[blocked[0]]
                why = (
                    f" {sum(int(b.grams) for b in other):,} g more are verified under "
                    f"methodology version {m.version}, which "
                    + ("is not certified" if not m.certification else "is certified")
                    + (
                        ""
                        if m.double_counting.settled
                        else " and does not settle double counting with "
                        + (", ".join(m.double_counting.overlaps) or "other inventories")
                    )
                    + ": those reductions cannot be issued as credits; fund and retire real "
                    "credits through a pool instead."
                )
            raise Conflict(
                "double_counting_not_settled"
                if blocked and left < grams
                else "not_enough_verified",
                f"{programme_id} has {max(left, 0):,} g verified under an issuable methodology "
                f"and not yet issued: {max(left, 0) // points.GRAMS_PER_TONNE} whole t, not "
                f"{tonnes}.{why}",
            )
        batches = _evidence(good, int(prog.issued_grams), int(prog.issued_grams) + grams)
        number = conn.execute(
            select(func.count())
            .select_from(t.issuances)
            .where(t.issuances.c.project_id == prog.project_id)
        ).scalar_one()
        year = vintage or int(max(b.last_on for b in batches)[:4])
        receipt = registry.create_issuance(
            tx,
            registry.NewIssuance(
                project_id=prog.project_id,
                credit_type=_credit_type(conn, prog.project_id),
                round=str(int(number) + 1),
                vintage=year,
                quantity=tonnes,
                account_id=prog.holding_account,
            ),
            "issued",
            None,
        )
        evidence = [
            {
                "batch": b.id,
                "content_hash": b.content_hash,
                "grams": int(b.grams),
                "verified_by": b.verified_by,
            }
            for b in batches
        ]
        conn.execute(
            p.points_issuances.insert().values(
                issuance_id=receipt.issuance_id,
                programme_id=prog.id,
                tonnes=tonnes,
                grams=grams,
                evidence=json.dumps(evidence),
                issued_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        c = p.points_programmes.c
        conn.execute(
            update(p.points_programmes)
            .where(c.id == prog.id)
            .values(issued_grams=c.issued_grams + grams)
        )
        view = PointsIssuance(
            programme_id=prog.id,
            tonnes=tonnes,
            grams=grams,
            evidence=evidence,
            issuance=receipt,
            issued_grams=int(prog.issued_grams) + grams,
            verified_grams=int(prog.verified_grams),
        )
        tx.record(
            "points.credits_issued",
            actor.label,
            {
                "programme": prog.id,
                "tonnes": tonnes,
                "grams": grams,
                "evidence": evidence,
                "issuance": receipt.issuance_id,
                "serials": receipt.serials,
                "issue": [[receipt.issuance_id, 1, tonnes, prog.holding_account, "held"]],
            },
        )
        return view

    return execute(db, actor, idem, work, 201, loader(PointsIssuance))


def _credit_type(conn: Connection, project_id: str) -> str:
    """The credit type of the project's earlier issuances."""
    row = conn.execute(
        select(t.issuances.c.credit_type).where(t.issuances.c.project_id == project_id).limit(1)
    ).first()
    if row is not None:
        return str(row.credit_type)
    raise Conflict(
        "no_credit_type",
        f"Project {project_id} has no issuance yet to take its credit type from; issue its "
        "first credits through the registry.",
    )
