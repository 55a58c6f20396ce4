"""The one SQLAlchemy ``MetaData`` every table module registers on, with its naming convention.

schema.py and each schema_<capability>.py define tables on it; schema.py imports the others so
that ``schema.metadata`` is complete for the migrations and their check. Nothing else lives here,
so the table modules depend on it and never on each other.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 40
"""Length of participant, account and instrument ids."""
