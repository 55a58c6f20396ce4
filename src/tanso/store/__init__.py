"""Storage: SQLAlchemy tables, the unit of work, repositories and Alembic migrations."""
