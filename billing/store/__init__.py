"""The store: the only place with SQL. SQLAlchemy Core over DuckDB (default) or PostgreSQL."""

# The tables of later features, registered on the schema's metadata (see billing.store.schema).
from billing.store import automation_schema, bank_schema, mail_schema, webhook_schema
from billing.store.db import Database, database_url, get_database, utcnow

__all__ = ["Database", "automation_schema", "bank_schema", "database_url", "get_database", "mail_schema", "utcnow",
           "webhook_schema"]
