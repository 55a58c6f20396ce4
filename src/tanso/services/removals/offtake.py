"""Forward offtake contracts (issue 21 §2): delivery on issuance. (Contracts come next.)"""

from __future__ import annotations

from typing import Any

from tanso.store.db import Tx


def deliver_on_issuance(
    tx: Tx, actor_label: str, issuance_id: str, account_id: str, available: int
) -> list[Any]:
    """Deliver under the active contracts of the issuance's project (none yet)."""
    return []
