"""The store: the only place with SQL. SQLAlchemy Core over DuckDB (default) or PostgreSQL."""

from billing.store import automation_schema  # registers migration 13's tables on the schema's metadata
from billing.store.db import Database, database_url, get_database, utcnow

__all__ = ["Database", "automation_schema", "database_url", "get_database", "utcnow"]
