"""Tables of the project marketplace: listings, purchases, requests for quote.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module.
"""

from __future__ import annotations

from tanso.store.schema import metadata  # noqa: F401
