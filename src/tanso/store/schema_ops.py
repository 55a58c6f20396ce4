"""Tables of operations: audit log of logins and key use, rate limits.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module.
"""

from __future__ import annotations

from tanso.store.schema import metadata  # noqa: F401
