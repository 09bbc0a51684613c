"""Reading in a thread beside Python work: SQL checks in the same PostgreSQL snapshot, and the next batch read ahead."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

from billing.store.bulk import is_duckdb, without_jit
from billing.store.db import Database

T = TypeVar("T")
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


class Beside(Generic[T]):
    """`work(conn)` for a caller that goes on reading through `conn` meanwhile.

    On PostgreSQL `work` runs at once in a thread of its own, on a second connection that imports `conn`'s
    snapshot (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`): it sees exactly the rows `conn` sees, and
    the server computes while this process computes (verify: the report data recomputed in SQL while the
    documents are recomputed in Python). On DuckDB, whose connection is not shared between threads and whose
    queries run in this process anyway, `work(conn)` runs when `result()` is first asked for.
    """

    def __init__(self, db: Database, conn: Connection, work: Callable[[Connection], T]) -> None:
        self._conn, self._work = conn, work
        self._future: Future[T] | None = None
        if not is_duckdb(conn):
            snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
            if not _SNAPSHOT_ID.match(snapshot):
                raise ValueError(f"Unexpected snapshot id {snapshot!r}")
            pool = ThreadPoolExecutor(1, thread_name_prefix="beside")
            self._future = pool.submit(self._in_snapshot, db, snapshot)
            pool.shutdown(wait=False)

    def _in_snapshot(self, db: Database, snapshot: str) -> T:
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the first statement of its transaction
            without_jit(other)
            return self._work(other)

    def result(self) -> T:
        """What `work` gave (its exception, if it raised); the caller's `conn` must still be open."""
        if self._future is None:
            return self._work(self._conn)
        return self._future.result()


def read_ahead(batches: Iterator[T]) -> Iterator[T]:
    """The items of `batches`, each next one read in a thread while the caller works on the one before: the
    database and Arrow (both let go of Python's lock) read batch n + 1 while Python checks batch n. The caller
    leaves the connection that `batches` reads from alone until it is done with them."""
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, batches, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield item
