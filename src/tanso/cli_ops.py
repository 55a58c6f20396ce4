"""Operations commands (backup, restore) registered on the main `tanso` app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tanso.domain.errors import TansoError
from tanso.services.operations import backup as backups
from tanso.settings import Settings, open_database

out = Console()
err = Console(stderr=True)


def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (a tar file).")],
) -> None:
    """Back up the database (TANSO_DATABASE_URL) to FILE while the server runs: every table in
    one consistent snapshot, with a manifest (revision, row counts, journal head, SHA-256)."""
    db = open_database(Settings())
    try:
        manifest = backups.backup(db, file)
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    head = manifest.journal_head
    rows = sum(manifest.tables.values())
    out.print(
        f"backed up {rows} rows of {len(manifest.tables)} tables at revision "
        f"{manifest.revision}, journal head {head.seq} {head.hash} to {file}"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A backup file written by `tanso backup`.")],
) -> None:
    """Restore FILE into the empty database at TANSO_DATABASE_URL (SQLite or PostgreSQL), then
    verify the journal and every balance; exit 1 if the restored books do not verify."""
    db = open_database(Settings())
    try:
        report = backups.restore(db, file)
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    out.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    if not report.audit_ok:
        err.print("[red]the restored books do not verify[/red]")
        raise typer.Exit(1)
    out.print(f"[green]restored and verified[/green]: journal head {report.journal_seq}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("backup")(backup)
    app.command("restore")(restore)
