"""Points programme commands, registered on the main `tanso` app as `tanso points ...`
(docs/points.md).

- ``tanso points import FILE --programme PP-X [--format csv|jsonl]``: send a file of members'
  events as one batch, acting as the programme's own participant (source ``cli``); prints the
  batch, or every refused line.
- ``tanso points hash --key-file K``: the programme's side: read its member ids from standard
  input, one a line, and print each one's keyed hash (HMAC-SHA256), the only form of a member
  Tanso takes. It reads no database; the ids and the key never leave the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tanso.domain import points
from tanso.domain.errors import TansoError
from tanso.domain.participants import parse_roles
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants
from tanso.services.points import ingest, programmes
from tanso.settings import Settings, open_database

out = Console()
err = Console(stderr=True)

points_app = typer.Typer(help="Points programmes: send members' events, hash member ids.")

MIN_KEY_BYTES = 16
"""A shorter key would let anyone who guesses it link hashes back to member ids."""


def _fail(code: str, message: str) -> typer.Exit:
    err.print(f"[red]{code}[/red]: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _programme_actor(programme_id: str) -> Actor:
    """The programme's own participant, as its API key would act (every scope of its roles)."""
    db = open_database(Settings())
    try:
        pid = programmes.get_programme(db, programme_id).participant_id
        who = participants.get_participant(db, SYSTEM, pid)
        return Actor(pid, frozenset(parse_roles(who.roles)))
    finally:
        db.dispose()


@points_app.command("import")
def import_events(
    file: Annotated[Path, typer.Argument(help="The events: JSON lines, or CSV with a header.")],
    programme: Annotated[str, typer.Option(help="The programme, e.g. PP-ECORIDE.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl (default: from the file's extension)."),
    ] = None,
) -> None:
    """Send FILE as one batch of the programme's events (all or nothing), as the programme."""
    kind = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    if kind not in ("csv", "jsonl"):
        raise _fail("invalid_format", f"--format is csv or jsonl, not {kind!r}.")
    try:
        body = file.read_bytes()
    except OSError as e:
        raise _fail("unreadable", f"{file}: {e.strerror or e}") from None
    try:
        actor = _programme_actor(programme)
    except TansoError as e:
        raise _fail(e.code, e.message) from None
    db = open_database(Settings())
    try:
        batch = ingest.ingest(db, actor, programme, body, kind, "cli")
    except ingest.BatchRefused as e:
        err.print(f"[red]{e.code}[/red]: {e.message}", highlight=False, soft_wrap=True)
        for d in e.details or []:  # each problem names its line (or its event id)
            err.print(f"  {d['code']}: {d['problem']}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except TansoError as e:
        raise _fail(e.code, e.message) from None
    finally:
        db.dispose()
    dated = f" ({batch.first_on} to {batch.last_on})" if batch.first_on else ""
    out.print(
        f"batch {batch.id} of {batch.programme_id}: {batch.events:,} events accepted, "
        f"{batch.duplicates:,} duplicates skipped, {batch.capped:,} capped; "
        f"{batch.grams:,} g CO2 credited{dated}; verification {batch.verification}",
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"content hash {batch.content_hash}", highlight=False, soft_wrap=True)


@points_app.command("hash")
def hash_members(
    key_file: Annotated[
        Path,
        typer.Option(help="The programme's secret key (the file's bytes, less a final newline)."),
    ],
) -> None:
    """Read member ids from standard input, one a line, and print their keyed hashes in order
    (an empty line stays empty, so the output lines up with the input)."""
    try:
        key = key_file.read_bytes()
    except OSError as e:
        raise _fail("unreadable", f"{key_file}: {e.strerror or e}") from None
    key = key.removesuffix(b"\n").removesuffix(b"\r")
    if len(key) < MIN_KEY_BYTES:
        raise _fail(
            "key_too_short",
            f"{key_file} holds {len(key)} bytes; a member key is at least {MIN_KEY_BYTES} "
            "random bytes (e.g. `openssl rand -hex 32 > key`), kept by the programme only.",
        )
    write = sys.stdout.write
    for line in sys.stdin:
        member_id = line.removesuffix("\n").removesuffix("\r")
        write((points.member_hash(key, member_id) if member_id else "") + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` as ``tanso points ...``."""
    app.add_typer(points_app, name="points")
