"""The journal: canonical JSON, the SHA-256 hash chain, and folding entries into balances.

Every state change is one journal entry. An entry's payload states its effects in a fixed form
that this module folds, so that every balance can be rebuilt from the journal alone:

- ``issue``: ``[[issuance, start, end, account, status], ...]`` credits that enter the registry;
- ``moves``: ``[[issuance, start, end, from_account, from_status, to_account, to_status,
  reservation], ...]`` credits that change account or status;
- ``cash``: ``[[currency, from_cash_account, to_cash_account, amount], ...]`` double-entry moves;
- ``cash_reserve``: ``[[cash_account, delta], ...]`` reservation changes (positive reserves).

Everything else in a payload describes the act (who, why, references) and is covered by the hash.

Payload versions: an entry's bytes never change once written (its hash depends on them), so a
payload says which shape it has. Version 1 (no ``"v"`` key, entries written before 0.x renamed
its fields) spells quantities ``qty``, ``min_qty``, ``new_qty`` ...; version 2 (``"v": 2``, written
by every entry since) spells them ``quantity``, ``min_quantity``, ``new_quantity`` ....
``upgrade_payload`` turns any version into the current one; every reader calls it (through
``read_payload``) and nothing that hashes does. The effects above are the same in every version.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64

PAYLOAD_VERSION = 2
"""The shape of the payloads written now; ``upgrade_payload`` reads every earlier one."""


def upgrade_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload in the current shape (a new dict; a current one is returned as it is).

    Version 1 to 2: every key that spells a quantity ``qty`` spells it ``quantity`` (``qty``,
    ``min_qty``, ``new_qty``, ``rfq_qty`` ...), at any depth (commands, events, trades).
    """
    version = payload.get("v", 1)
    if version == PAYLOAD_VERSION:
        return payload
    if not isinstance(version, int) or version > PAYLOAD_VERSION or version < 1:
        raise ValueError(f"unknown journal payload version {version!r}")
    upgraded: dict[str, Any] = _v1_names(payload)
    upgraded["v"] = PAYLOAD_VERSION
    return upgraded


def _v1_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            (k.replace("qty", "quantity") if isinstance(k, str) else k): _v1_names(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_v1_names(v) for v in value]
    return value


def read_payload(text: str) -> dict[str, Any]:
    """A stored payload, decoded and upgraded to the current shape (for readers, never hashing)."""
    payload = json.loads(text)
    if not isinstance(payload, dict):
        raise ValueError("a journal payload is a JSON object")
    return upgrade_payload(payload)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text; floats are refused so no rounding hides in a hash."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_PLAIN = frozenset({str, int, bool, type(None)})


def _refuse_floats(value: Any) -> None:
    """Walk a payload (iteratively: it runs for every journal entry) and refuse any float."""
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind in _PLAIN:
            continue
        if isinstance(v, float):
            raise TypeError("floats are not allowed in journal entries")
        if isinstance(v, dict):
            stack.extend(v)
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)


def entry_hash(prev_hash: str, seq: int, at: str, kind: str, actor: str, payload: str) -> str:
    """hash = sha256(prev_hash + canonical_json([seq, at, kind, actor, payload]))."""
    body = canonical_json([seq, at, kind, actor, json.loads(payload)])
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def canonical_entry_hash(
    prev_hash: str, seq: int, at: str, kind: str, actor: str, payload: str
) -> str:
    """`entry_hash` of a payload that is already canonical JSON (as the writer makes it),
    without parsing it again: the canonical list is its items' canonical texts joined."""
    head = json.dumps([seq, at, kind, actor], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}{head[:-1]},{payload}]".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal row as stored."""

    seq: int
    at: str
    kind: str
    actor: str
    payload: str
    prev_hash: str
    hash: str


def first_broken_link(entries: Iterable[Entry]) -> tuple[int, str] | None:
    """Walk the chain; return (seq, reason) for the first entry that does not verify."""
    prev = GENESIS_HASH
    expected_seq = 1
    for e in entries:
        if e.seq > expected_seq:
            return expected_seq, f"entry {expected_seq} is missing (the next entry is {e.seq})"
        if e.seq != expected_seq:
            return expected_seq, f"sequence number {e.seq} where {expected_seq} was expected"
        if e.prev_hash != prev:
            return e.seq, "prev_hash does not match the hash of the entry before it"
        try:
            h = entry_hash(e.prev_hash, e.seq, e.at, e.kind, e.actor, e.payload)
        except (ValueError, TypeError):
            return e.seq, "payload is not valid canonical JSON"
        if h != e.hash:
            return e.seq, "hash does not match the entry's content"
        prev = e.hash
        expected_seq += 1
    return None


Owner = tuple[str, str, str | None]  # account, status, reservation


class FoldError(Exception):
    """An entry's effects contradict the state built from the entries before it."""


class LedgerFold:
    """Balances rebuilt from journal effects alone: serial ranges per issuance, cash per account."""

    def __init__(self) -> None:
        # issuance -> parallel sorted lists of range starts, and (end, owner) per start
        self._starts: dict[str, list[int]] = defaultdict(list)
        self._ranges: dict[str, dict[int, tuple[int, Owner]]] = defaultdict(dict)
        self.cash: dict[str, int] = defaultdict(int)
        self.cash_reserved: dict[str, int] = defaultdict(int)

    def apply(self, payload: dict[str, Any]) -> None:
        for issuance, start, end, account, status in payload.get("issue", ()):
            self._add(issuance, start, end, (account, status, None))
        for mv in payload.get("moves", ()):
            issuance, start, end, src, src_status, dst, dst_status, reservation = mv
            self._move(issuance, start, end, src, src_status, (dst, dst_status, reservation))
        for _currency, src, dst, amount in payload.get("cash", ()):
            self.cash[src] -= amount
            self.cash[dst] += amount
        for account, delta in payload.get("cash_reserve", ()):
            self.cash_reserved[account] += delta

    def _add(self, issuance: str, start: int, end: int, owner: Owner) -> None:
        if start > end:
            raise FoldError(
                f"serials {issuance}-{start}-{end}: a range cannot end before it starts"
            )
        starts = self._starts[issuance]
        i = bisect.bisect_left(starts, start)
        if i > 0 and self._ranges[issuance][starts[i - 1]][0] >= start:
            raise FoldError(f"serials {issuance}-{start}-{end} issued twice")
        if i < len(starts) and starts[i] <= end:
            raise FoldError(f"serials {issuance}-{start}-{end} issued twice")
        starts.insert(i, start)
        self._ranges[issuance][start] = (end, owner)

    def _move(
        self, issuance: str, start: int, end: int, src: str, src_status: str, owner: Owner
    ) -> None:
        """Move start..end, which may span several neighbouring ranges of the sender."""
        if start > end:
            raise FoldError(
                f"serials {issuance}-{start}-{end}: a range cannot end before it starts"
            )
        starts = self._starts[issuance]
        ranges = self._ranges[issuance]
        i = bisect.bisect_right(starts, start) - 1
        if i < 0:
            raise FoldError(f"serials {issuance}-{start}-{end} moved but never issued")
        j = i
        cursor = starts[i]
        while True:
            lo = starts[j]
            hi, old = ranges[lo]
            if lo != cursor or old[0] != src or old[1] != src_status:
                raise FoldError(
                    f"serials {issuance}-{start}-{end} moved from {src}/{src_status} "
                    f"but the journal puts serial {max(lo, start)} at {old[0]}/{old[1]}"
                )
            if hi >= end:
                break
            cursor = hi + 1
            j += 1
            if j == len(starts):
                raise FoldError(f"serials {issuance}-{start}-{end} moved but never issued")
        first_lo = starts[i]
        first_owner = ranges[first_lo][1]
        last_hi, last_owner = ranges[starts[j]]
        for k in range(j, i - 1, -1):
            del ranges[starts[k]]
            starts.pop(k)
        pieces = (
            (first_lo, start - 1, first_owner),
            (start, end, owner),
            (end + 1, last_hi, last_owner),
        )
        for a, b, o in pieces:
            if a <= b:
                k = bisect.bisect_left(starts, a)
                starts.insert(k, a)
                ranges[a] = (b, o)

    def holdings(self) -> Iterator[tuple[str, int, int, Owner]]:
        """Every range, merged where neighbours share an owner, in issuance and serial order."""
        for issuance in sorted(self._starts):
            ranges = self._ranges[issuance]
            yield from merge_runs(
                (issuance, s, ranges[s][0], ranges[s][1]) for s in self._starts[issuance]
            )


def merge_runs(
    rows: Iterable[tuple[str, int, int, Owner]],
) -> Iterator[tuple[str, int, int, Owner]]:
    """Merge neighbouring ranges of one issuance with one owner (rows sorted by issuance, start)."""
    cur: tuple[str, int, int, Owner] | None = None
    for row in rows:
        if cur and cur[0] == row[0] and cur[2] + 1 == row[1] and cur[3] == row[3]:
            cur = (cur[0], cur[1], row[2], cur[3])
            continue
        if cur:
            yield cur
        cur = row
    if cur:
        yield cur
