"""Files beside the database that the audit chain relies on: secrets created once, and the chain's head.

The head file records the last event of the chain (its id and hash) and from which event on the
chain is keyed. It is written after a transaction that appended events has committed, never before:
a crash between the commit and the write leaves it behind by that one transaction, which `verify`
accepts (the recorded head is then an ancestor of the chain's last event), while a chain that ends
before the recorded head has lost events. Writes are atomic (a temporary file renamed over it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from billing.errors import BillingError

log = logging.getLogger("billing.audit")
HEAD_FORMAT = "billing-audit-head/1"
_PENDING = "billing.audit.pending_head"
_COMMITTING = "billing.audit.committing_head"
_listening_lock = threading.Lock()


class HeadFileError(BillingError):
    """The file recording the audit chain's head cannot be read."""


@dataclass(frozen=True, slots=True)
class Head:
    """The chain as recorded outside the database.

    keyed_from: the first event hashed with the installation's key; events before it were written
        by a version that hashed without a key (SHA-256), and are checked that way.
    last_id, last_hash: the chain's last event when the file was written (0 and the genesis hash for
        an empty chain).
    """

    keyed_from: int
    last_id: int
    last_hash: str


def write_new(path: Path, text: str) -> bool:
    """Create `path` holding `text` (mode 0600) unless it exists; False if it did.

    Written under a temporary name and linked into place, so no reader ever sees a half-written file,
    and of two processes creating it at once exactly one wins (the loser reads the winner's).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    try:
        _write_private(temporary, text)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def read_head(path: Path) -> Head | None:
    """The recorded head, or None if no head was recorded yet; HeadFileError if the file is damaged."""
    try:
        data = json.loads(path.read_text())
        if data.get("format") != HEAD_FORMAT:
            raise ValueError("unknown format")
        return Head(int(data["keyed_from"]), int(data["last_id"]), str(data["last_hash"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise HeadFileError(f"The file recording the audit chain's head ({path}) cannot be read: it is damaged "
                            "or was replaced.") from exc


def start_head(path: Path, head: Head) -> Head:
    """Record `head` if no head is recorded yet; the recorded one either way."""
    try:
        write_new(path, _text(head))
    except OSError as exc:
        raise HeadFileError(f"The file recording the audit chain's head ({path}) cannot be created "
                            f"({exc.strerror}).") from exc
    recorded = read_head(path)
    if recorded is None:  # removed in the instant between: keep ours in mind, the next commit writes it
        return head
    return recorded


def write_head(path: Path, head: Head, *, force: bool = False) -> None:
    """Record `head`, unless a later one is recorded already (another process committed after us);
    `force` replaces whatever is there (a restore starts the chain over)."""
    if not force:
        with contextlib.suppress(HeadFileError):
            recorded = read_head(path)
            if recorded is not None and recorded.last_id >= head.last_id:
                return
    temporary = _temporary(path)
    try:
        # Not fsync'd (it would add a few milliseconds to every write): ext4, like most journalling file
        # systems, keeps the old or the new file across a power cut when one is renamed over the other,
        # and an old head is an ancestor, which verify accepts.
        _write_private(temporary, _text(head), durable=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def hold(conn: Connection, path: Path, head: Head, *, force: bool = False) -> None:
    """Write `head` to `path` once this connection's transaction has committed (never if it rolls back)."""
    _listen(conn.engine)
    conn.info[_PENDING] = (path, head, force)


def held(conn: Connection) -> tuple[Head, bool] | None:
    """The head this connection's open transaction will record, and whether it replaces the file."""
    pending = conn.info.get(_PENDING)
    return None if pending is None else (pending[1], pending[2])


def _text(head: Head) -> str:
    return json.dumps({"format": HEAD_FORMAT, "keyed_from": head.keyed_from, "last_id": head.last_id,
                       "last_hash": head.last_hash}) + "\n"


def _temporary(path: Path) -> Path:
    return path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _write_private(path: Path, text: str, durable: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())


# SQLAlchemy Core has no "after commit" event. The pending head moves to "committing" when COMMIT is
# sent; a failed COMMIT reports through handle_error, which drops it; what is still committing when
# the connection next begins or goes back to the pool was committed. On DuckDB all of this happens
# inside Database._write_lock, so heads are written in commit order.

def _listen(engine: Engine) -> None:
    with _listening_lock:
        if sa.event.contains(engine, "commit", _on_commit):
            return
        sa.event.listen(engine, "rollback", _on_rollback)
        sa.event.listen(engine, "begin", _on_begin)
        sa.event.listen(engine, "handle_error", _on_error)
        sa.event.listen(engine, "checkin", _on_checkin)
        sa.event.listen(engine, "commit", _on_commit)  # last: its presence says all are in place


def _on_commit(conn: Connection) -> None:
    pending = conn.info.pop(_PENDING, None)
    if pending is not None:
        conn.info[_COMMITTING] = pending


def _on_rollback(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)
    conn.info.pop(_COMMITTING, None)


def _on_error(context: Any) -> None:
    if context.connection is not None:
        context.connection.info.pop(_COMMITTING, None)


def _on_begin(conn: Connection) -> None:
    _flush(conn.info)


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        _flush(record.info)
        record.info.pop(_PENDING, None)


def _flush(info: dict[Any, Any]) -> None:
    committed = info.pop(_COMMITTING, None)
    if committed is None:
        return
    path, head, force = committed
    try:
        write_head(path, head, force=force)
    except OSError as exc:  # the transaction stands; the file lags, which verify accepts
        log.warning("Could not record the audit chain's head in %s: %s", path, exc)
