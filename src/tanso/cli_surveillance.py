"""`tanso surveillance`: batch scans of the surveillance rules (売買審査), as the operator."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console

from tanso.domain.errors import TansoError
from tanso.services import surveillance
from tanso.services.common import SYSTEM, plain
from tanso.settings import Settings, open_database

out = Console()
err = Console(stderr=True)
surveillance_app = typer.Typer(
    help="Market surveillance (売買審査): batch scans and alerts.", no_args_is_help=True
)

DAY = ["%Y-%m-%d"]


@surveillance_app.command("scan")
def scan(
    from_date: Annotated[
        dt.datetime, typer.Option("--from", formats=DAY, help="The first trade date, YYYY-MM-DD.")
    ],
    to: Annotated[
        dt.datetime, typer.Option("--to", formats=DAY, help="The last trade date, YYYY-MM-DD.")
    ],
) -> None:
    """Run every enabled rule over the history and raise the alerts of trade dates FROM to TO
    (an alert raised before, online or by an earlier scan, is not raised again)."""
    db = open_database(Settings())
    try:
        found = surveillance.scan(db, SYSTEM, from_date.date(), to.date())
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    out.print_json(json.dumps(plain(found), ensure_ascii=False))


@surveillance_app.command("alerts")
def alerts(
    state: Annotated[str | None, typer.Option(help="new, reviewing, dismissed, escalated")] = None,
    rule: Annotated[str | None, typer.Option(help="A rule id.")] = None,
) -> None:
    """The newest alerts (up to 100), filtered by state and rule."""
    db = open_database(Settings())
    try:
        found = surveillance.alerts(db, SYSTEM, state=state, rule=rule)
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    out.print_json(json.dumps(plain(found), ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add ``tanso surveillance`` to ``app``."""
    app.add_typer(surveillance_app, name="surveillance")
