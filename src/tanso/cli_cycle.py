"""Project cycle commands, registered on the main `tanso` app as `tanso cycle ...`
(docs/project-cycle.md).

- ``tanso cycle methodologies``: the stored methodology versions and their formulas.
- ``tanso cycle check``: recompute every monitoring report from its stored parameters by its
  methodology version's formula, and check that every issuance from a request issued exactly
  the verified tonnes (the buffer share in the pool, the rest to the developer); exit 1 on any
  difference, naming it.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tanso.services.cycle import integrity
from tanso.services.cycle import methodologies as meth
from tanso.settings import Settings, open_database

out = Console()
err = Console(stderr=True)

cycle_app = typer.Typer(help="The project cycle: methodologies, reports, issuance requests.")


@cycle_app.command("methodologies")
def methodologies() -> None:
    """List the stored methodology versions with their formulas and buffer rates."""
    db = open_database(Settings())
    try:
        table = Table("id", "version", "scheme", "sector", "buffer", "formula")
        for m in meth.list_methodologies(db):
            table.add_row(
                m.id, m.version, m.scheme, m.sector, f"{m.buffer_rate_bp / 100:g}%", m.formula
            )
        out.print(table)
    finally:
        db.dispose()


@cycle_app.command("check")
def check() -> None:
    """Recompute every report's tonnes and every request's issuance; exit 1 on a difference."""
    db = open_database(Settings())
    try:
        found = integrity.check(db)
        for problem in found.problems[:50]:
            err.print(f"[red]differs[/red] {problem}")
        if found.problems:
            err.print(f"{len(found.problems)} differences.")
            raise typer.Exit(1)
        out.print(
            f"{found.reports} monitoring reports recompute to their stored tonnes; "
            f"{found.issuances} issuances from requests issued exactly their verified tonnes"
        )
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` as ``tanso cycle ...``."""
    app.add_typer(cycle_app, name="cycle")
