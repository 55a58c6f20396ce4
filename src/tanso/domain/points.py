"""Behaviour-change points (行動変容ポイント, docs/points.md): the pure rules.

A programme rates its members' everyday actions (a transit ride, a cycled km, a kWh saved) in
grams of CO2 under a versioned methodology; members are only ever the programme's keyed hash of
its own member id. This module parses and rates batches of events, splits grams into whole tonnes
and the fraction carried over, and builds and checks the Merkle tree of a pool's shares. Nothing
here reads a database or a clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tanso.domain.errors import InvalidInput

GRAMS_PER_TONNE = 1_000_000
MAX_EVENTS = 100_000
"""Events one batch may carry."""
MAX_UNITS = 1_000_000
"""Units one event may carry (rides, km, kWh): more is a data error, not a day's action."""

_MEMBER = re.compile(r"[0-9a-f]{64}")
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
FIELDS = ("event_id", "member", "action", "quantity", "occurred_on")
"""The columns of a batch, in the order of the CSV form."""


def is_member(value: object) -> bool:
    """A member as Tanso takes it: 64 lowercase hex characters (an HMAC-SHA256)."""
    return isinstance(value, str) and _MEMBER.fullmatch(value) is not None


def check_member(value: object) -> str:
    if not is_member(value):
        raise InvalidInput(
            "invalid_member",
            "A member is the programme's keyed hash of its own member id: 64 lowercase hex "
            "characters (HMAC-SHA256). Tanso never takes a member's own id, name or address.",
        )
    return str(value)


def member_hash(key: bytes, member_id: str) -> str:
    """What a programme sends as a member: HMAC-SHA256 of its own member id under a key only it
    holds (the programme's side; Tanso never sees ``member_id`` or ``key``)."""
    return hmac.new(key, member_id.encode("utf-8"), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- methodology


@dataclass(frozen=True, slots=True)
class Action:
    code: str
    name_en: str
    name_ja: str
    unit: str
    grams_per_unit: int
    daily_cap_grams: int | None = None
    """At most this many grams a member earns for this action in one day (None: no cap)."""


@dataclass(frozen=True, slots=True)
class DoubleCounting:
    """Where the same reduction may also count, and how the methodology settles it."""

    overlaps: tuple[str, ...]
    """Inventories that may count it too, e.g. ``utility_scope2``, ``municipal_inventory``."""
    settled: bool
    """True only where the methodology's certification settles every overlap, so credits may
    be issued for the reductions; otherwise points fund real credits instead."""
    treatment: str


@dataclass(frozen=True, slots=True)
class Methodology:
    version: int
    effective_from: dt.date
    source: str
    actions: dict[str, Action]
    double_counting: DoubleCounting
    certification: str = ""
    """The certified methodology it follows (e.g. a J-Credit methodology), if any."""

    @property
    def issuable(self) -> bool:
        """Credits may be issued for its reductions: certified and double counting settled."""
        return bool(self.certification) and self.double_counting.settled


def _text(body: dict[str, Any], name: str, limit: int = 500, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        need = "1" if required else "0"
        raise InvalidInput(
            "invalid_methodology", f"{name} is text of {need} to {limit} characters."
        )
    return value.strip()


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            "invalid_methodology", f"{name} is a whole number from {low:,} to {high:,}."
        )
    return value


def parse_action(body: Any) -> Action:
    if not isinstance(body, dict):
        raise InvalidInput("invalid_methodology", "Each action is an object.")
    code = body.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidInput(
            "invalid_methodology",
            "An action's code is 1 to 40 lowercase letters, digits or _, starting with a letter.",
        )
    cap = body.get("daily_cap_grams")
    return Action(
        code=code,
        name_en=_text(body, "name_en", 200),
        name_ja=_text(body, "name_ja", 200),
        unit=_text(body, "unit", 40),
        grams_per_unit=_whole(body.get("grams_per_unit"), f"{code}: grams_per_unit", 1, 10**7),
        daily_cap_grams=None if cap is None else _whole(cap, f"{code}: daily_cap_grams", 1, 10**8),
    )


def parse_methodology(body: Any, version: int) -> Methodology:
    """A methodology as published (JSON), checked; ``version`` is assigned by the registry."""
    if not isinstance(body, dict):
        raise InvalidInput("invalid_methodology", "A methodology is a JSON object.")
    try:
        effective = dt.date.fromisoformat(str(body.get("effective_from", "")))
    except ValueError:
        raise InvalidInput(
            "invalid_methodology", "effective_from is a date such as 2026-04-01."
        ) from None
    actions = body.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 100:
        raise InvalidInput("invalid_methodology", "actions lists 1 to 100 actions.")
    parsed: dict[str, Action] = {}
    for a in actions:
        action = parse_action(a)
        if action.code in parsed:
            raise InvalidInput("invalid_methodology", f"Action {action.code} is listed twice.")
        parsed[action.code] = action
    dc = body.get("double_counting")
    if not isinstance(dc, dict):
        raise InvalidInput(
            "invalid_methodology",
            "double_counting states where the reductions may also count (overlaps), whether "
            "the methodology settles it (settled) and how (treatment).",
        )
    overlaps = dc.get("overlaps", [])
    if not isinstance(overlaps, list) or not all(
        isinstance(o, str) and _CODE.fullmatch(o) for o in overlaps
    ):
        raise InvalidInput(
            "invalid_methodology", "double_counting.overlaps lists codes such as utility_scope2."
        )
    settled = dc.get("settled")
    if not isinstance(settled, bool):
        raise InvalidInput("invalid_methodology", "double_counting.settled is true or false.")
    return Methodology(
        version=version,
        effective_from=effective,
        source=_text(body, "source", 1000),
        actions=parsed,
        double_counting=DoubleCounting(
            tuple(dict.fromkeys(overlaps)), settled, _text(dc, "treatment", 2000)
        ),
        certification=_text(body, "certification", 300, required=False),
    )


def methodology_body(m: Methodology) -> dict[str, Any]:
    """The methodology as stored and answered (the form `parse_methodology` reads)."""
    return {
        "version": m.version,
        "effective_from": m.effective_from.isoformat(),
        "source": m.source,
        "certification": m.certification,
        "actions": [
            {
                "code": a.code,
                "name_en": a.name_en,
                "name_ja": a.name_ja,
                "unit": a.unit,
                "grams_per_unit": a.grams_per_unit,
                "daily_cap_grams": a.daily_cap_grams,
            }
            for a in m.actions.values()
        ],
        "double_counting": {
            "overlaps": list(m.double_counting.overlaps),
            "settled": m.double_counting.settled,
            "treatment": m.double_counting.treatment,
        },
    }


def in_force(versions: Sequence[Methodology], on: dt.date) -> Methodology | None:
    """The version that rates an event of ``on``: the latest effective on or before it."""
    found = None
    for m in versions:
        if m.effective_from <= on and (found is None or m.effective_from >= found.effective_from):
            found = m
    return found


# ---------------------------------------------------------------- batches of events


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    member: str
    action: str
    quantity: int
    occurred_on: str
    grams: int
    """Grams as rated, before any daily cap."""
    version: int


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    code: str
    problem: str
    event_id: str = ""


@dataclass(slots=True)
class Parsed:
    """A batch read and rated: its good events, every bad line, and the repeats within it."""

    lines: int = 0
    events: list[Event] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    repeats: int = 0


def _rows(body: bytes, kind: str) -> Iterable[tuple[int, Any]]:
    """(line number, row) of a JSON-lines or CSV body; a row is a dict, or an error text."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("invalid_encoding", "The batch is not UTF-8 text.") from None
    if kind == "csv":
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != list(FIELDS):
            raise InvalidInput(
                "invalid_header", f"A CSV batch starts with the header {','.join(FIELDS)}."
            )
        for row in reader:
            if not row or row == [""]:
                continue
            if len(row) != len(FIELDS):
                yield reader.line_num, f"has {len(row)} cells, not {len(FIELDS)}"
                continue
            yield reader.line_num, dict(zip(FIELDS, (c.strip() for c in row), strict=True))
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            yield n, "is not a JSON object"
            continue
        yield n, row if isinstance(row, dict) else "is not a JSON object"


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_UNITS else None


def parse_batch(body: bytes, kind: str, versions: Sequence[Methodology], today: dt.date) -> Parsed:
    """Read a batch (``kind`` ``jsonl`` or ``csv``) and rate each event under the methodology in
    force on its date. Every bad line is listed (its number, the event id, what is wrong, never
    the member value itself); an event id seen earlier in the batch is a repeat: the same
    event again is skipped, a different one under the same id is a bad line."""
    out = Parsed()
    seen: dict[str, Event] = {}
    for n, row in _rows(body, kind):
        out.lines += 1
        if out.lines > MAX_EVENTS:
            raise InvalidInput(
                "batch_too_large",
                f"A batch carries at most {MAX_EVENTS:,} events; send more batches.",
            )
        if isinstance(row, str):
            out.bad.append(BadLine(n, "invalid_line", f"Line {n} {row}."))
            continue
        event, bad = _rate(n, row, versions, today)
        if bad is not None:
            out.bad.append(bad)
            continue
        assert event is not None
        earlier = seen.get(event.event_id)
        if earlier is not None:
            if earlier == event:
                out.repeats += 1
            else:
                out.bad.append(
                    BadLine(
                        n,
                        "event_id_reused",
                        f"Line {n}: event {event.event_id} appears earlier in the batch with "
                        "different content.",
                        event.event_id,
                    )
                )
            continue
        seen[event.event_id] = event
        out.events.append(event)
    return out


def _rate(
    n: int,
    row: dict[str, Any],
    versions: Sequence[Methodology],
    today: dt.date,
) -> tuple[Event | None, BadLine | None]:
    """Rate one row; ``days`` caches each date's parse and version in force (a batch spans a
    few days, and this runs for each of up to 100,000 lines)."""
    raw_id = row.get("event_id")
    event_id = raw_id if isinstance(raw_id, str) and _EVENT_ID.fullmatch(raw_id) else ""

    def bad(code: str, problem: str) -> tuple[None, BadLine]:
        return None, BadLine(n, code, f"Line {n}: {problem}", event_id)

    if not event_id:
        return bad(
            "invalid_event_id",
            "event_id is the programme's id of the event: 1 to 64 letters, digits or ._:-",
        )
    missing = [f for f in FIELDS if f not in row]
    if missing:
        return bad("missing_field", f"{', '.join(missing)} missing.")
    if not is_member(row["member"]):
        return bad(
            "invalid_member",
            "member is not a keyed hash (64 lowercase hex characters); send the programme's "
            "HMAC-SHA256 of its member id, never the id itself.",
        )
    quantity = _quantity(row["quantity"])
    if quantity is None:
        return bad("invalid_quantity", f"quantity is a whole number from 1 to {MAX_UNITS:,}.")
    try:
        on = dt.date.fromisoformat(str(row["occurred_on"]))
    except ValueError:
        return bad("invalid_date", "occurred_on is a date such as 2026-11-30.")
    if on > today:
        return bad("future_date", f"occurred_on {on} is after today ({today}).")
    m = in_force(versions, on)
    if m is None:
        first = min((v.effective_from for v in versions), default=None)
        since = f"; the first takes effect on {first}" if first else ""
        return bad("no_methodology", f"no methodology is in force on {on}{since}.")
    action = m.actions.get(str(row["action"]))
    if action is None:
        known = ", ".join(sorted(m.actions))
        return bad(
            "unknown_action",
            f"action {str(row['action'])[:40]!r} is not in methodology version {m.version} "
            f"(in force on {on}); it rates {known}.",
        )
    return (
        Event(
            event_id,
            row["member"],
            action.code,
            quantity,
            on.isoformat(),
            quantity * action.grams_per_unit,
            m.version,
        ),
        None,
    )


def content_hash(events: Iterable[tuple[str, str, str, int, str, int, int]]) -> str:
    """SHA-256 of a batch's accepted events as credited (event id, member, action, quantity,
    date, grams, version), one tab-separated line each, in event id order: what the journal
    records of a batch, so that the stored events can be checked against it (`tanso audit
    verify`, services/points/audit.py)."""
    h = hashlib.sha256()
    for e in events:
        h.update("\t".join(str(v) for v in e).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def tonnes_and_carry(grams: int) -> tuple[int, int]:
    """Whole tonnes of ``grams`` and the grams left over (carried, never rounded away)."""
    return divmod(grams, GRAMS_PER_TONNE)


# ---------------------------------------------------------------- a pool's Merkle tree


def leaf_salt(pool_secret: str, member: str) -> str:
    """A member's salt in one pool: an HMAC of the pool's secret, so that the same member's
    leaves in two pools cannot be linked without the salts each member alone is given."""
    return hmac.new(bytes.fromhex(pool_secret), member.encode(), hashlib.sha256).hexdigest()


def leaf(salt: str, member: str, grams: int) -> str:
    return hashlib.sha256(b"\x00" + f"{salt}:{member}:{grams}".encode()).hexdigest()


def _node(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def merkle_levels(leaves: Sequence[str]) -> list[list[str]]:
    """Every level of the tree, leaves first, root last; an odd node is carried up as it is."""
    if not leaves:
        raise ValueError("a tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        up = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
    return levels


@dataclass(frozen=True, slots=True)
class Step:
    side: str
    """``left`` or ``right``: where the sibling stands."""
    hash: str


def proof(levels: Sequence[Sequence[str]], index: int) -> list[Step]:
    """The siblings from leaf ``index`` up to the root."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(Step("left" if sibling < index else "right", level[sibling]))
        index //= 2
    return path


def verify(root: str, salt: str, member: str, grams: int, path: Sequence[Step]) -> bool:
    """True only if this member's share, salt and path lead to ``root``."""
    h = leaf(salt, member, grams)
    try:
        for step in path:
            if step.side == "left":
                h = _node(step.hash, h)
            elif step.side == "right":
                h = _node(h, step.hash)
            else:
                return False
    except ValueError:  # a sibling that is not hex
        return False
    return hmac.compare_digest(h, root)
