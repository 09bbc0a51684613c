"""Leases: at most one runner of a kind of background work at a time, across threads and processes."""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa

from billing.store import outbox as store
from billing.store.db import Database


def runner_name() -> str:
    """This runner's name in a lease: host, process and thread (unique among runners alive at once)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def acquire(db: Database, name: str, holder: str, now: datetime, duration: timedelta) -> bool:
    """Take the lease `name` for `duration` from `now`, or extend it if `holder` has it; False if another
    runner holds an unexpired lease.

    On PostgreSQL two runners taking a free lease at once update the same row: the second one's
    transaction fails to serialise, is run again, and then finds the lease taken.
    """
    def work(conn: sa.Connection) -> bool:
        if store.lease(conn, name) is None:
            store.insert_lease(conn, name, holder, now + duration)
            return True
        return store.take_lease(conn, name, holder, now, now + duration)

    try:
        return db.transaction(work)
    except sa.exc.IntegrityError:  # another runner inserted the first row of this lease at the same moment
        return False


def release(db: Database, name: str, holder: str, now: datetime) -> None:
    """Give the lease up (it expires now) if `holder` has it."""
    db.transaction(lambda conn: store.release_lease(conn, name, holder, now))
