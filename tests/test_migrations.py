"""Schema migrations: a number handed out below the highest a file has recorded is still applied (migration 21
after 24), and migration 21 drops the outbox's due index from DuckDB."""

from __future__ import annotations

import sqlalchemy as sa

from billing.store import mail_schema, schema
from billing.store.db import Database
from billing.store.migrations import MIGRATIONS, apply_migrations


def duckdb_indexes(db: Database) -> set[str]:
    with db.connect() as conn:
        return set(conn.exec_driver_sql("SELECT index_name FROM duckdb_indexes()").scalars())


def test_a_lower_migration_arriving_after_a_higher_one_is_applied(db: Database) -> None:
    with db.engine.begin() as conn:  # a file from before migration 21 existed, at version 24 already
        conn.exec_driver_sql(f"CREATE INDEX {mail_schema.OUTBOX_DUE.name} ON outbox (status, next_attempt_at)")
        conn.execute(schema.schema_version.delete().where(schema.schema_version.c.version == 21))
    assert mail_schema.OUTBOX_DUE.name in duckdb_indexes(db)

    assert apply_migrations(db) == max(version for version, _ in MIGRATIONS)

    assert mail_schema.OUTBOX_DUE.name not in duckdb_indexes(db)
    assert "ix_outbox_document" in duckdb_indexes(db)
    with db.connect() as conn:
        versions = list(conn.execute(sa.select(schema.schema_version.c.version)).scalars())
    assert sorted(versions) == sorted(version for version, _ in MIGRATIONS)  # each once, none run twice
