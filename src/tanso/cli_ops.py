"""Operations commands (backup, restore, ...) registered on the main `tanso` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
