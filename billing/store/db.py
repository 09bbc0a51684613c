"""The database: one engine per process, a connection per operation, retried transactions.

DuckDB connections are not thread-safe and DuckDB reports a write-write conflict as
`TransactionException: Conflict on ...`; PostgreSQL reports serialization failures. Both mean
"nothing was written, run the whole transaction again", which `Database.transaction` does.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from billing.errors import ConflictError
from billing.store import schema

T = TypeVar("T")

DEFAULT_URL = "duckdb:///data/billing.duckdb"
_RETRIES = 30
_CONFLICT_MARKERS = ("Conflict on", "conflict on", "could not serialize", "deadlock detected",
                     "Catalog write-write conflict", "TransactionContext Error")


def database_url() -> str:
    """The SQLAlchemy URL of the database: BILLING_DATABASE_URL, or the embedded DuckDB file."""
    return os.environ.get("BILLING_DATABASE_URL", DEFAULT_URL)


def utcnow() -> datetime:
    """Current UTC time as a naive timestamp (the store keeps UTC without zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def is_conflict(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc))
    return any(marker in text for marker in _CONFLICT_MARKERS)


class Database:
    """Owns the engine of one database and runs transactions on fresh connections."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.is_duckdb = self.url.startswith("duckdb")
        self.engine: Engine = _create_engine(self.url)
        self._migrate_lock = threading.Lock()
        # DuckDB has one writing process, so all its writers are threads of this one: taking turns
        # here costs nothing DuckDB would not serialise anyway, and avoids starving a transaction
        # that keeps losing write conflicts to the others (8 threads issuing at once ran out of
        # retries). PostgreSQL writers may be other processes: they rely on the retries alone.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_duckdb else None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (its own snapshot), returned to the pool after use."""
        with self.engine.connect() as conn:
            yield conn

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in one transaction; on a write conflict, retry it from the start."""
        for attempt in range(_RETRIES):
            try:
                with self._write_lock or nullcontext(), self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if not is_conflict(exc) or attempt == _RETRIES - 1:
                    if is_conflict(exc):
                        raise ConflictError() from exc
                    raise
                time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))
        raise ConflictError()

    def migrate(self) -> int:
        """Apply pending schema migrations in order; returns the schema version."""
        from billing.store.migrations import apply_migrations

        with self._migrate_lock:
            return apply_migrations(self)

    def raw_duckdb(self, conn: Connection) -> Any:
        """The DuckDB connection under a SQLAlchemy connection (bulk Arrow loads)."""
        return conn.connection.dbapi_connection

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if url.startswith("duckdb"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # No file access from SQL: nothing a query could be tricked into reading or writing.
        engine = sa.create_engine(
            url,
            connect_args={"config": {"enable_external_access": False}},
            pool_size=8,
            max_overflow=16,
        )

        # duckdb-engine declares no statement-cache support, so SQLAlchemy recompiled every
        # statement (about 15 ms of an invoice issue). Our statements are plain Core constructs
        # whose compiled form does not depend on the connection: caching them is safe.
        engine.dialect._supports_statement_cache = True

        @sa.event.listens_for(engine, "connect")
        def _quiet(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("SET enable_progress_bar = false")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16,
                            isolation_level="REPEATABLE READ")


_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


def get_database(url: str | None = None) -> Database:
    """The process-wide Database for a URL, migrated on first use."""
    key = url or database_url()
    with _databases_lock:
        db = _databases.get(key)
        if db is None:
            db = Database(key)
            db.migrate()
            _databases[key] = db
        return db


def forget_database(url: str) -> None:
    """Drop a cached Database (tests, restore)."""
    with _databases_lock:
        db = _databases.pop(url, None)
    if db is not None:
        db.dispose()


__all__ = ["Database", "database_url", "get_database", "schema", "utcnow"]
