"""`tanso audit verify`: recompute the hash chain and every balance from the journal alone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tanso.domain.journal import Entry, FoldError, LedgerFold, first_broken_link, merge_runs
from tanso.services.points import audit as points_audit
from tanso.store import repo
from tanso.store.db import Database


@dataclass
class AuditReport:
    """The outcome of a verification; ``ok`` only if the chain and every balance match."""

    entries: int = 0
    head_hash: str | None = None
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problems": self.problems,
        }


def verify(db: Database, max_problems: int = 20) -> AuditReport:
    """Check the journal chain, then fold it and compare with the stored blocks and cash."""
    report = AuditReport()
    fold = LedgerFold()
    with db.read() as conn:
        rows = [
            Entry(r.seq, r.at, r.kind, r.actor, r.payload, r.prev_hash, r.hash)
            for r in repo.journal_entries(conn)
        ]
        report.entries = len(rows)
        broken = first_broken_link(rows)
        if broken:
            report.first_bad_seq = broken[0]
            report.problems.append(f"journal entry {broken[0]}: {broken[1]}")
            return report
        head = repo.journal_head(conn)
        last = rows[-1].hash if rows else None
        report.head_hash = last
        if rows and (head is None or head.seq != rows[-1].seq or head.hash != last):
            report.problems.append("journal head does not point at the last entry")
        for e in rows:
            try:
                fold.apply(json.loads(e.payload))
            except FoldError as err:
                report.first_bad_seq = e.seq
                report.problems.append(f"journal entry {e.seq}: {err}")
                return report
        stored = merge_runs(
            (r.issuance_id, r.serial_start, r.serial_end, (r.account_id, r.status, r.reservation))
            for r in repo.all_blocks(conn)
        )
        expected = fold.holdings()
        for got, want in _zip_all(stored, expected):
            if got != want:
                report.problems.append(
                    f"blocks: stored {_fmt(got)} but the journal gives {_fmt(want)}"
                )
                if len(report.problems) >= max_problems:
                    break
        for acct in repo.cash_accounts_of(conn, None):
            b, r = fold.cash.get(acct.id, 0), fold.cash_reserved.get(acct.id, 0)
            if (acct.balance, acct.reserved) != (b, r):
                report.problems.append(
                    f"cash {acct.id}: stored balance {acct.balance} reserved {acct.reserved} "
                    f"but the journal gives {b} and {r}"
                )
        seen = {a.id for a in repo.cash_accounts_of(conn, None)}
        for acct_id, bal in fold.cash.items():
            if acct_id not in seen and bal:
                report.problems.append(f"cash {acct_id}: missing, the journal gives balance {bal}")
        report.problems.extend(points_audit.problems(conn, ((e.kind, e.payload) for e in rows)))
        for currency_total in _currency_totals(conn):
            if currency_total[1] != 0:
                report.problems.append(
                    f"cash in {currency_total[0]} sums to {currency_total[1]}, not 0"
                )
    return report


def _currency_totals(conn: Any) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for a in repo.cash_accounts_of(conn, None):
        totals[a.currency] = totals.get(a.currency, 0) + a.balance
    return sorted(totals.items())


def _zip_all(a: Any, b: Any) -> Any:
    from itertools import zip_longest

    return zip_longest(a, b)


def _fmt(run: Any) -> str:
    if run is None:
        return "nothing"
    issuance, start, end, (account, status, reservation) = run
    res = f" ({reservation})" if reservation else ""
    return f"{issuance}-{start}-{end} in {account} {status}{res}"
