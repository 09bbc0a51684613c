"""Idempotent API writes: the first request with an Idempotency-Key claims it, a repeat gets its response.

The claim is a row inserted in its own transaction before the work starts (status NULL: in progress),
so of two concurrent requests with one key exactly one acts; the other is told the key is in use.
The response (status and body) is stored when the work is done; a repeat with the same method, path
and body is answered from it without acting again, one with anything else is refused. Keys are kept
24 hours. A claim whose request never finished (the server stopped mid-way) is taken over after
five minutes: by then that request is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from billing.errors import ConflictError, ValidationError
from billing.store import idempotency as store
from billing.store.db import Database, utcnow

KEEP = timedelta(hours=24)
ABANDONED = timedelta(minutes=5)
MAX_KEY_LENGTH = 255


class IdempotencyKeyReusedError(ConflictError):
    """This Idempotency-Key was used for another request (another body, method or path): nothing was done."""


class IdempotencyKeyInUseError(ConflictError):
    """A request with this Idempotency-Key is still being processed: nothing was done. Retry in a moment."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str


def claim(db: Database, key: str, actor: str, method: str, path: str, body_hash: str) -> StoredResponse | None:
    """Claim `key` for this request (None: go ahead and act), or the stored response of the first request."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(f"An Idempotency-Key is 1-{MAX_KEY_LENGTH} printable characters.")
    now = utcnow()

    def work(conn: sa.Connection) -> StoredResponse | None:
        store.prune(conn, now - KEEP)
        row = store.get(conn, key, actor)
        if row is not None and row["status"] is None and now - row["created_at"] >= ABANDONED:
            store.delete(conn, key, actor)
            row = None
        if row is None:
            store.insert(conn, {"key": key, "actor": actor, "method": method, "path": path, "body_hash": body_hash,
                                "status": None, "response": None, "created_at": now})
            return None
        if (row["method"], row["path"], row["body_hash"]) != (method, path, body_hash):
            raise IdempotencyKeyReusedError()
        if row["status"] is None:
            raise IdempotencyKeyInUseError()
        return StoredResponse(int(row["status"]), str(row["response"]))

    try:
        return db.transaction(work)
    except sa.exc.IntegrityError:  # PostgreSQL: another request inserted the same key first
        raise IdempotencyKeyInUseError() from None


def complete(db: Database, key: str, actor: str, status: int, body: str) -> None:
    """Store the response of the request that claimed `key`."""
    db.transaction(lambda conn: store.complete(conn, key, actor, status, body))


def release(db: Database, key: str, actor: str) -> None:
    """Give up a claim whose request failed unexpectedly, so that a retry acts."""
    db.transaction(lambda conn: store.delete(conn, key, actor))
