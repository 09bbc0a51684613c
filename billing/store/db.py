"""The database: one engine per process, a connection per operation, retried transactions.

DuckDB connections are not thread-safe and DuckDB reports a write-write conflict as
`TransactionException: Conflict on ...`; PostgreSQL reports serialization failures. Both mean
"nothing was written, run the whole transaction again", which `Database.transaction` does.
A full disk, a file held by another process or a file deleted under the server are not conflicts:
they become one clear StorageError each, never retried.

Inside `request_scope()` (one REST API request) the reads of a request share one connection instead of one per
operation (each checkout, begin and rollback costs CPU; a document read took four connections), and a write
runs on it too. See `RequestScope` for the rules that keep this equivalent to separate connections.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from billing.config import current_settings
from billing.errors import ConflictError, DatabaseLockedError, DatabaseReplacedError, DiskFullError, StorageError
from billing.store import schema
from billing.store.result_cache import ResultCache, start_tracking, stop_tracking, track_writes

log = logging.getLogger("billing.store")
T = TypeVar("T")

_RETRIES = 30
_RETRY_TURN = 0x62696C6C  # PostgreSQL advisory lock key of retried transactions ('bill')
_CONFLICT_MARKERS = ("Conflict on", "conflict on", "could not serialize", "deadlock detected",
                     "Catalog write-write conflict", "TransactionContext Error")


def database_url() -> str:
    """The SQLAlchemy URL of the database: BILLING_DATABASE_URL, or the embedded DuckDB file."""
    return current_settings().database_url


def utcnow() -> datetime:
    """Current UTC time as a naive timestamp (the store keeps UTC without zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


# DuckDB: 'TransactionContext Error: Failed to commit: Could not write file "....wal": No space left on
# device' (seen on a full 2 MB tmpfs); PostgreSQL: 'could not extend file ...' with SQLSTATE 53100.
_DISK_FULL_MARKERS = ("No space left on device", "could not extend file", "Disk quota exceeded")
_DISK_FULL_SQLSTATES = frozenset({"53100"})
_REPLACED = ("The database file was deleted or replaced while the server was running: nothing was saved. "
             "An administrator can download a backup in Settings > Backup and verify now (it holds everything "
             "saved before), then restart the server and restore it (README: 'Database file missing or replaced').")


def is_conflict(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc))
    return any(marker in text for marker in _CONFLICT_MARKERS)


def storage_error(exc: BaseException) -> StorageError | None:
    """The StorageError a database failure means (full disk, file locked, file and log mismatched, I/O),
    or None for any other failure."""
    orig = getattr(exc, "orig", exc)
    text = str(orig)
    if (any(marker in text for marker in _DISK_FULL_MARKERS) or getattr(orig, "sqlstate", None) in _DISK_FULL_SQLSTATES
            or getattr(orig, "errno", None) == errno.ENOSPC):
        return DiskFullError()
    if "Could not set lock on file" in text:
        pid = re.search(r"\(PID (\d+)\)", text)
        holder = f" (PID {pid.group(1)})" if pid else ""
        return DatabaseLockedError(f"The database file is held by another process{holder}, normally the running "
                                   "server: stop the server first, or use Settings > Backup and verify in the portal "
                                   "while it runs.")
    if "WAL does not match database file" in text:
        return DatabaseReplacedError(
            "The database file does not match its write-ahead log (the .wal file beside it): the file was replaced "
            "while the server still had changes in the log. Put the original file back; if it is lost, move the "
            ".wal file away and restore a backup (README: 'Database file missing or replaced').")
    if text.startswith("IO Error") or "Could not write file" in text:
        reason = text.rsplit(": ", 1)[-1].strip().rstrip(".")  # the system's words: 'Permission denied'
        because = f" ({reason})" if 0 < len(reason) <= 60 and '"' not in reason else ""
        return StorageError(f"The database file could not be read or written{because}: nothing was saved.")
    return None


class RequestScope:
    """One request's connection per Database, opened at its first use and closed with the scope, and a memo of
    what the request has read (its credential, the company's time zone) for `Database.memo`.

    Equivalent to a fresh connection per operation because: reads share one snapshot, which begins at the first
    read (as the first fresh connection's would); a write transaction first ends that snapshot, so it sees
    everything committed, and returns the connection when it ends (as a fresh connection did: the audit head file
    is written then), so later reads see the write on a connection of their own; reads made while a write
    transaction of the request is open (`writing`) take a connection of their own, as they did; and a failed
    statement rolls the connection back, so an error caught by the caller does not poison the next read. The
    parts of a request run one after another (in the event loop or a worker thread), never at once.
    """

    def __init__(self) -> None:
        self.connections: dict[int, Connection] = {}
        self.memo: dict[tuple[str, ...], Any] = {}
        self.writing = False

    def close(self) -> None:
        """Return the connections to their pools (rolling back any open read snapshot)."""
        connections, self.connections = list(self.connections.values()), {}
        for conn in connections:
            try:
                conn.close()
            except sa.exc.DBAPIError as exc:  # a broken connection: the pool discards it
                log.warning("Closing a request's connection failed: %s", getattr(exc, "orig", exc))


_request_scope: ContextVar[RequestScope | None] = ContextVar("billing_request_scope", default=None)


def _in_request_scope() -> bool:
    """Whether reads go through a request's one connection, whose snapshot began at its first read."""
    return _request_scope.get() is not None


@contextmanager
def request_scope() -> Iterator[RequestScope]:
    """Run the body (a request) with one connection per Database; closed at the end. Nested: the outer one."""
    current = _request_scope.get()
    if current is not None:
        yield current
        return
    scope = RequestScope()
    token = _request_scope.set(scope)
    try:
        yield scope
    finally:
        _request_scope.reset(token)
        scope.close()


class Database:
    """Owns the engine of one database and runs transactions on fresh connections (or, in a request scope, on the
    request's connection)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.is_duckdb = self.url.startswith("duckdb")
        self.path: Path | None = database_file(self.url)
        self.engine: Engine = _create_engine(self.url)
        # The file's (st_dev, st_ino) when this Database first opened it: a file deleted or swapped under
        # the running server no longer has it at its path (DuckDB keeps writing to the deleted one).
        self._file_id: tuple[int, int] | None = None
        if self.path is not None:
            sa.event.listen(self.engine, "connect", self._remember_file)
        self._migrate_lock = threading.Lock()
        # DuckDB has one writing process, so all its writers are threads of this one: taking turns
        # here costs nothing DuckDB would not serialise anyway, and avoids starving a transaction
        # that keeps losing write conflicts to the others (8 threads issuing at once ran out of
        # retries). PostgreSQL writers may be other processes: their retries take turns (`_queued`).
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_duckdb else None
        # Where the users and sign-in sessions that may act here live: this database, or for the demo sandbox
        # (billing.sandbox) the real installation's.
        self.accounts: Database = self
        # Results kept until a write to their tables (billing.store.result_cache): only where every write is
        # this process's own.
        self.results = ResultCache(enabled=self.is_duckdb, in_old_snapshot=_in_request_scope)
        if self.is_duckdb:
            track_writes(self.engine)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (its own snapshot), returned to the pool after use; in a request scope the
        request's connection and snapshot."""
        scope = _request_scope.get()
        if scope is None or scope.writing:
            with _storage_errors(), self.engine.connect() as conn:
                yield conn
            return
        with _storage_errors():
            conn = self._scoped_connection(scope)
            try:
                yield conn
            except sa.exc.DBAPIError:
                conn.rollback()  # PostgreSQL refuses every later statement of a failed transaction
                raise

    def memo(self, key: tuple[str, ...], read: Callable[[], T]) -> T:
        """`read()`, once per request scope and database (outside a scope: every time). For what a request may
        read once and use throughout, such as its caller's credential: the request acts as one moment."""
        scope = _request_scope.get()
        if scope is None:
            return read()
        full_key = (str(id(self)), *key)
        if full_key not in scope.memo:
            scope.memo[full_key] = read()
        value: T = scope.memo[full_key]
        return value

    def _scoped_connection(self, scope: RequestScope) -> Connection:
        conn = scope.connections.get(id(self))
        if conn is None or conn.closed:
            conn = scope.connections[id(self)] = self.engine.connect()
        return conn

    @contextmanager
    def _write_connection(self) -> Iterator[Connection]:
        """A connection for one attempt of a transaction: fresh, or the request's with its read snapshot ended.

        Either way it goes back to the pool when the attempt ends, still inside `_write_lock`: what a commit leaves
        for the connection's return (the audit chain's head file, billing.store.audit_files) is done then, in
        commit order. A read after the write takes a connection again."""
        scope = _request_scope.get()
        if scope is None or scope.writing:
            with self.engine.connect() as conn:
                yield conn
            return
        conn = self._scoped_connection(scope)
        if conn.in_transaction():
            conn.rollback()  # the write's snapshot begins now, not at the request's first read
        scope.writing = True
        try:
            yield conn
        finally:
            scope.writing = False
            scope.connections.pop(id(self), None)
            conn.close()

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in one transaction; on a write conflict, retry it from the start.

        Refused with DatabaseReplacedError when the file is no longer the one opened, and with a
        StorageError (a full disk, ...) without retrying: those fail again however often they are tried.
        """
        for attempt in range(_RETRIES):
            try:
                with self._write_lock or nullcontext(), self._write_connection() as conn:
                    written = start_tracking(conn)
                    try:
                        with self._queued(conn, attempt > 0), conn.begin():
                            self.check_file()
                            result = work(conn)
                            self.check_file()  # the file may have gone while the work ran: then do not commit
                    finally:
                        stop_tracking(conn)
                    self.results.note_commit(written)
                    self._keep_log_on_file()
                    return result
            except sa.exc.DBAPIError as exc:
                failure = storage_error(exc)
                if failure is not None:
                    log.error("Write failed: %s", getattr(exc, "orig", exc))
                    raise failure from exc
                if not is_conflict(exc):
                    raise
                if attempt == _RETRIES - 1:
                    raise ConflictError() from exc
                time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))
        raise ConflictError()

    @contextmanager
    def _queued(self, conn: Connection, after_conflict: bool) -> Iterator[None]:
        """PostgreSQL: a transaction that lost a conflict runs again only in turn with the other retries, of
        every process (a session advisory lock, taken before the transaction's snapshot, so the turn is not
        lost to what committed while it waited). 32 writers issuing at once otherwise starved one of them
        through all its retries. DuckDB's writers take turns in `_write_lock` already."""
        if not after_conflict or self.is_duckdb:
            yield
            return
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({_RETRY_TURN})")
        conn.commit()
        try:
            yield
        finally:
            try:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_RETRY_TURN})")
                conn.commit()
            except sa.exc.DBAPIError as exc:  # a broken connection: its session, and the lock, are gone
                log.warning("Could not release the retry turn: %s", getattr(exc, "orig", exc))

    def check_file(self) -> None:
        """Raise DatabaseReplacedError if the DuckDB file this Database opened is no longer at its path.

        One stat() (about a microsecond): cheap enough before every write and again before its commit.
        """
        if self._file_id is not None and _file_identity(self.path) != self._file_id:
            raise DatabaseReplacedError(_REPLACED)

    def migrate(self) -> int:
        """Check that the database is this installation's, then apply pending schema migrations in order;
        returns the schema version.

        Every opener (the server, the CLI, the tests) migrates first, so this is where a missing, empty
        or foreign DuckDB file is refused, before a migration writes anything into it.
        """
        from billing import installation  # the domain's rule about files beside the database
        from billing.store.migrations import apply_migrations

        with self._migrate_lock, _storage_errors():
            installation.check_database(self)
            version = apply_migrations(self)
            installation.claim_database(self)
            self.results.clear()  # migrations write outside `transaction`
            return version

    def raw_duckdb(self, conn: Connection) -> Any:
        """The DuckDB connection under a SQLAlchemy connection (bulk Arrow loads)."""
        return conn.connection.dbapi_connection

    def dispose(self) -> None:
        self.engine.dispose()

    def _remember_file(self, _dbapi_connection: Any, _record: Any) -> None:
        if self._file_id is None:
            self._file_id = _file_identity(self.path)

    def _keep_log_on_file(self) -> None:
        """After a commit DuckDB's write-ahead log must be on disk beside the file. If it is not (deleted
        while the server ran: DuckDB keeps writing to the deleted one, lost at the next crash), checkpoint,
        which moves everything committed into the file and starts a new log. Also runs, harmlessly (~6 ms),
        after a commit that checkpointed by itself or wrote nothing."""
        if self.path is None or self.path.with_name(self.path.name + ".wal").exists():
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("CHECKPOINT")
        except sa.exc.DBAPIError as exc:  # the commit stands; the log stays where DuckDB has it
            log.warning("Checkpoint after a missing write-ahead log failed: %s", getattr(exc, "orig", exc))


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Turn a full disk, a locked or mismatched file into its StorageError; anything else passes."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        failure = storage_error(exc)
        if failure is None:
            raise
        log.error("Database failure: %s", getattr(exc, "orig", exc))
        raise failure from exc


def database_file(url: str) -> Path | None:
    """The DuckDB file of a URL (absolute), or None for PostgreSQL or an in-memory database."""
    if not url.startswith("duckdb"):
        return None
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:":
        return None
    return Path(path).resolve()


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    try:
        status = os.stat(path) if path is not None else None
    except FileNotFoundError:
        return None
    return None if status is None else (status.st_dev, status.st_ino)


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
        # duckdb-engine says DuckDB takes no Decimal parameters, so SQLAlchemy turned every Decimal into a float
        # on its way in: a price of 123456789012.345678 was stored as ...345673, and 999999999999.999999 failed.
        # DuckDB binds Python Decimals exactly: money goes in as it came, never through a float.
        engine.dialect.supports_native_decimal = True

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
            try:
                db.migrate()
            except BaseException:
                db.dispose()  # a refused file stays free for the command that fixes it (adopt-database, restore)
                raise
            _databases[key] = db
        return db


def forget_database(url: str) -> None:
    """Drop a cached Database (tests, restore)."""
    with _databases_lock:
        db = _databases.pop(url, None)
    if db is not None:
        db.dispose()


__all__ = ["Database", "RequestScope", "database_url", "get_database", "request_scope", "schema", "utcnow"]
