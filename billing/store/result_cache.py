"""Results read from a database, kept until a committed transaction writes a table they were read from.

Only where this process is the database's one writer (DuckDB: one process holds the file) can it know every
change: `Database.transaction` reports the tables each committed transaction wrote (`note_commit`), seen on
their way to the database by `track_writes`. A statement it cannot read (raw SQL other than a SELECT) counts
as a write to every table. On PostgreSQL other processes write too, and nothing is kept.

A result is keyed by what computed it (name and arguments) and by the write counts of the tables it reads:
`BOOKS` for "any table but the bookkeeping of sign-in and background work" (sessions, login attempts, leases,
the outbox's sending state, webhook deliveries), which changes every few seconds while a server runs and is
never read by a cached result.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")
BOOKS = "*books"  # stands for every table outside BOOKKEEPING
BOOKKEEPING = frozenset({"login_attempts", "auth_sessions", "worker_leases", "webhook_lease", "outbox",
                         "webhook_deliveries", "webhook_attempts", "idempotency_keys", "api_keys"})
_ANY = "*any"  # a write the tracker could not read: every result is stale
_WRITES = "billing_tables_written"  # connection info: the tables the open transaction wrote
_READS = ("SELECT", "SHOW", "PRAGMA", "DESCRIBE", "EXPLAIN")
MAX_RESULTS = 256


def track_writes(engine: Engine) -> None:
    """Note, on a connection inside `writes_of`, the table of every INSERT, UPDATE and DELETE it runs."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _note(conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        written: set[str] | None = conn.info.get(_WRITES)
        if written is None:
            return
        compiled = getattr(context, "compiled", None)
        table = getattr(getattr(compiled, "statement", None), "table", None)
        if context is not None and (context.isinsert or context.isupdate or context.isdelete) and table is not None:
            written.add(str(table.name))
        elif not statement.lstrip().upper().startswith(_READS):
            written.add(_ANY)


def start_tracking(conn: Connection) -> set[str]:
    """Begin noting what the transaction on `conn` writes; the set fills in as it runs."""
    written: set[str] = set()
    conn.info[_WRITES] = written
    return written


def stop_tracking(conn: Connection) -> None:
    conn.info.pop(_WRITES, None)


def kept_copy(value: T) -> T:
    """A copy a caller may change without changing the kept result (records are copied one level deep:
    their values, Decimal, date, str, are immutable)."""
    if isinstance(value, pd.DataFrame):
        return value.copy()
    if isinstance(value, list):
        return [kept_copy(item) for item in value]  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(kept_copy(item) for item in value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return dict(value)  # type: ignore[return-value]
    clone = copy.copy(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a record holding a table or a list
        for item in dataclasses.fields(value):
            part = getattr(value, item.name)
            if isinstance(part, (pd.DataFrame, list, dict)):
                object.__setattr__(clone, item.name, kept_copy(part))  # frozen records too
    return clone


class ResultCache:
    """Results of one database, with the write counts of its tables (thread-safe; at most MAX_RESULTS)."""

    def __init__(self, enabled: bool, in_old_snapshot: Callable[[], bool] = lambda: False) -> None:
        self.enabled = enabled
        # True while the caller reads through a snapshot that may predate the write counts (an API request's one
        # connection): what it computes may be older than the counts say, so it is used but never kept.
        self._in_old_snapshot = in_old_snapshot
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._results: OrderedDict[Hashable, Any] = OrderedDict()

    def note_commit(self, written: Iterable[str]) -> None:
        """A transaction that wrote these tables has committed."""
        tables = set(written)
        if not tables:
            return
        if tables - BOOKKEEPING:
            tables.add(BOOKS)
        with self._lock:
            for table in tables:
                self._counts[table] = self._counts.get(table, 0) + 1

    def clear(self) -> None:
        """Forget every result (after writes made outside `Database.transaction`)."""
        with self._lock:
            self._results.clear()
            self._counts[_ANY] = self._counts.get(_ANY, 0) + 1

    def get(self, key: Hashable, tables: tuple[str, ...], compute: Callable[[], T]) -> T:
        """The result of `compute()` kept under `key` while none of `tables` was written (BOOKS: any table of
        the books); a copy, so the caller may change it."""
        if not self.enabled:
            return compute()
        with self._lock:  # the counts before reading: a write committed meanwhile makes the result stale
            full_key = (key, tables, tuple(self._counts.get(t, 0) for t in (*tables, _ANY)))
            if full_key in self._results:
                self._results.move_to_end(full_key)
                return kept_copy(self._results[full_key])  # type: ignore[no-any-return]
        result = compute()
        if self._in_old_snapshot():
            return result
        with self._lock:
            self._results[full_key] = kept_copy(result)
            while len(self._results) > MAX_RESULTS:
                self._results.popitem(last=False)
        return result


__all__ = ["BOOKKEEPING", "BOOKS", "ResultCache", "kept_copy", "start_tracking", "stop_tracking", "track_writes"]
