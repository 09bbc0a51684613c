"""The store: the only place with SQL. SQLAlchemy Core over DuckDB (default) or PostgreSQL."""

from billing.store.db import Database, database_url, get_database, utcnow

__all__ = ["Database", "database_url", "get_database", "utcnow"]
