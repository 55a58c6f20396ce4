"""Statistics commands, registered on the main `tanso` app as `tanso stats ...`
(docs/statistics.md).

- ``tanso stats fold``: fold the journal entries not yet in the statistics.
- ``tanso stats rebuild``: empty the statistics and fold the whole journal again.
- ``tanso stats check``: compare the stored statistics with the journal folded afresh; exit 1
  on any difference, naming it.
"""

from __future__ import annotations

import typer
from rich.console import Console

from tanso.services.marketdata import stats
from tanso.settings import Settings, open_database

out = Console()
err = Console(stderr=True)

stats_app = typer.Typer(help="The public statistics folded from the journal.")


@stats_app.command("fold")
def fold() -> None:
    """Fold the journal entries after the statistics' cursor."""
    db = open_database(Settings())
    try:
        out.print(f"folded up to journal entry {stats.fold(db)}")
    finally:
        db.dispose()


@stats_app.command("rebuild")
def rebuild() -> None:
    """Empty the statistics and fold the whole journal again."""
    db = open_database(Settings())
    try:
        out.print(f"rebuilt up to journal entry {stats.rebuild(db)}")
    finally:
        db.dispose()


@stats_app.command("check")
def check() -> None:
    """Compare the stored statistics with the whole journal folded afresh."""
    db = open_database(Settings())
    try:
        seq = stats.fold(db)
        stored = stats.stored(db)[1].plain()
        fresh = stats.recompute(db, seq).plain()
        differences = [
            (table, key, stored[table].get(key), fresh[table].get(key))
            for table in fresh
            for key in sorted(set(stored[table]) | set(fresh[table]), key=repr)
            if stored[table].get(key) != fresh[table].get(key)
        ]
        for table, key, have, want in differences[:20]:
            err.print(f"[red]differs[/red] {table} {key}: stored {have}, journal {want}")
        if differences:
            err.print(f"{len(differences)} figures differ; `tanso stats rebuild` folds afresh.")
            raise typer.Exit(1)
        out.print(f"statistics match the journal up to entry {seq}")
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` as ``tanso stats ...``."""
    app.add_typer(stats_app, name="stats")
