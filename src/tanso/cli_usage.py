"""Usage-rule and inventory commands, registered on the main `tanso` app as `tanso usage ...`.

- ``tanso usage rulesets [--date D]``: every rule set, marking the one in force.
- ``tanso usage show [--date D]``: the rule set in force, as JSON.
- ``tanso usage add FILE``: add (or replace from its effective date) a rule set (operator).
- ``tanso usage check FILE``: validate a rule set file without storing it.
- ``tanso usage import-inventories FILE``: import emissions inventories from CSV (as operator).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tanso.domain import usage_rules as ur
from tanso.domain.errors import TansoError
from tanso.services.common import SYSTEM, plain
from tanso.services.compliance import inventories, usage
from tanso.settings import Settings, open_database

out = Console()
err = Console(stderr=True)

usage_app = typer.Typer(help="Usage rules (what credits may be used for) and inventories.")

DateOption = Annotated[str | None, typer.Option(help="A date such as 2026-04-01 (default: today).")]


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]invalid_date[/red]: {value!r} is not a date such as 2026-04-01.")
        raise typer.Exit(2) from None


def _read_json(file: Path) -> dict[str, Any]:
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        err.print(f"[red]unreadable[/red]: {file}: {e}")
        raise typer.Exit(2) from None
    if not isinstance(doc, dict):
        err.print(f"[red]invalid_ruleset[/red]: {file} is not a JSON object.")
        raise typer.Exit(2)
    return doc


@usage_app.command("rulesets")
def rulesets(date: DateOption = None) -> None:
    """List every rule set (shipped and operator's), marking the one in force on DATE."""
    db = open_database(Settings())
    try:
        for r in usage.list_rulesets(db, _date(date)):
            mark = "*" if r.in_force else " "
            out.print(
                f"{mark} {r.id}@{r.version}  from {r.effective_from}  ({r.origin})  "
                f"{len(r.rules)} rules"
            )
    finally:
        db.dispose()


@usage_app.command("show")
def show(date: DateOption = None) -> None:
    """Print the rule set in force on DATE as JSON."""
    db = open_database(Settings())
    try:
        current = plain(usage.current_ruleset(db, _date(date)))
        out.print_json(json.dumps(current, ensure_ascii=False))
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()


@usage_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="A rule set JSON file.")]) -> None:
    """Validate a rule set file (nothing is stored); exit 2 with the problem if it is broken."""
    try:
        rs = ur.parse(_read_json(file))
    except ur.RuleSetError as e:
        err.print(f"[red]invalid_ruleset[/red]: {e}")
        raise typer.Exit(2) from None
    out.print(f"{rs.label}: {len(rs.rules)} rules, in force from {rs.effective_from}")


@usage_app.command("add")
def add(file: Annotated[Path, typer.Argument(help="A rule set JSON file.")]) -> None:
    """Add a rule set (as the operator); it is in force from its effective_from date."""
    doc = _read_json(file)
    db = open_database(Settings())
    try:
        view = usage.add_ruleset(db, SYSTEM, doc)
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    out.print(f"added {view.id}@{view.version}, in force from {view.effective_from}")


@usage_app.command("import-inventories")
def import_inventories(
    file: Annotated[Path, typer.Argument(help="A CSV with a participant_id column.")],
) -> None:
    """Import emissions inventories from CSV (as the operator): every row or none."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        err.print(f"[red]unreadable[/red]: {file}: {e}")
        raise typer.Exit(2) from None
    db = open_database(Settings())
    try:
        result = inventories.import_csv(db, SYSTEM, text)
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    out.print(f"imported {result.imported} inventories")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` as ``tanso usage ...``."""
    app.add_typer(usage_app, name="usage")
