"""The delivery worker: under a lease (one process acts), it reports newly overdue invoices and sends what is due.

A delivery is marked only after its answer, so a worker killed mid-delivery sends it again after restarting
(at least once; receivers de-duplicate on the event id). Failed attempts are retried with exponential backoff
(30 s, 1 min, 2 min, ... at most 6 h apart) until three days after the event, then the delivery has failed.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.errors import BillingError
from billing.settings import company_today
from billing.store import webhooks as store
from billing.store.db import Database, utcnow
from billing.webhooks import delivery, signing
from billing.webhooks.events import invoice_event

log = logging.getLogger("billing.webhooks")
LEASE_NAME = "delivery"
LEASE_FOR = timedelta(seconds=30)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
OVERDUE_WINDOW = timedelta(days=30)  # an invoice overdue longer than this when first seen is not reported
BATCH = 50
OVERDUE_EVERY = 60.0  # seconds between a server's scans for newly overdue invoices
_PROCESS = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One round of the worker: whether it held the lease, overdue events written, attempts made and how they went."""

    held: bool
    overdue: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def holder_id() -> str:
    """This process's name as a lease holder (host, process id, a random token)."""
    return _PROCESS


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from 30 s, at most 6 h."""
    wait: timedelta = FIRST_RETRY * (2 ** min(attempts - 1, 20))
    return min(wait, LONGEST_WAIT)


def take_lease(db: Database, holder: str, now: datetime) -> bool:
    """Take or renew the lease; False while another live holder has it."""

    def work(conn: Connection) -> bool:
        lease = store.get_lease(conn, LEASE_NAME)
        if lease is not None and lease["holder"] != holder and lease["expires_at"] > now \
                and not _holder_gone(lease["holder"]):
            return False
        return store.put_lease(conn, LEASE_NAME, holder, now + LEASE_FOR, seen=lease)

    try:
        return db.transaction(work)
    except sa.exc.IntegrityError:  # another process inserted the first lease at the same moment
        return False


def release_lease(db: Database, holder: str) -> None:
    db.transaction(lambda conn: store.drop_lease(conn, LEASE_NAME, holder))


def _holder_gone(holder: str) -> bool:
    """Whether the holder was a process of this host that no longer runs (killed): its lease is void at once."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def emit_overdue(db: Database, as_of: date) -> int:
    """invoice.overdue, once per invoice, for open invoices due before `as_of` (within the last 30 days)."""

    def work(conn: Connection) -> int:
        if not store.subscribed_endpoints(conn, "invoice.overdue"):
            return 0
        ids = store.newly_overdue(conn, as_of, as_of - OVERDUE_WINDOW, limit=500)
        for invoice_id in ids:
            invoice_event(conn, "invoice.overdue", invoice_id)
        return len(ids)

    return db.transaction(work)


def body_of(row: dict[str, Any]) -> bytes:
    """The delivery's body, the same bytes on every attempt: the event's id, type, time and data."""
    created = row["event_created_at"].isoformat(timespec="seconds") + "Z"
    return (f'{{"id":"{row["event_id"]}","type":"{row["type"]}","created":"{created}","data":'
            f'{row["payload"]}}}').encode()


def deliver_due(db: Database, now: datetime) -> RunSummary:
    """Send every delivery due at `now` (in batches) and record each attempt as it ends."""
    delivered = retrying = failed = 0
    while True:
        with db.connect() as conn:
            rows = store.due_deliveries(conn, now, BATCH)
        for row in rows:
            result = _attempt(db, row)
            status = _record(db, row, result, now)
            delivered += status == store.DELIVERED
            failed += status == store.FAILED
            retrying += status == store.PENDING
        if len(rows) < BATCH:
            return RunSummary(True, 0, delivered, retrying, failed)


def _attempt(db: Database, row: dict[str, Any]) -> delivery.Outcome:
    body = body_of(row)
    try:
        secret = signing.decrypt_secret(db.url, row["secret"])
    except BillingError as exc:
        return delivery.Outcome(None, exc.message, 0)
    headers = {signing.HEADER: signing.signature_header(secret, body, int(time.time())),
               "Billing-Event-Id": row["event_id"], "Billing-Event-Type": row["type"]}
    return delivery.post(row["url"], body, headers)


def _record(db: Database, row: dict[str, Any], result: delivery.Outcome, now: datetime) -> str:
    attempts = int(row["attempts"]) + 1
    attempt = {"attempted_at": utcnow(), "status_code": result.status, "error": result.error,
               "duration_ms": result.duration_ms}
    if result.delivered:
        values: dict[str, Any] = {"status": store.DELIVERED, "next_attempt_at": None,
                                  "finished_at": attempt["attempted_at"]}
    else:
        retry_at = now + backoff(attempts)
        gave_up = retry_at > row["retry_until"]
        values = {"status": store.FAILED if gave_up else store.PENDING,
                  "next_attempt_at": None if gave_up else retry_at,
                  "finished_at": attempt["attempted_at"] if gave_up else None}
    values |= {"attempts": attempts, "last_status": result.status, "last_error": result.error}
    db.transaction(lambda conn: store.record_attempt(conn, int(row["id"]), attempt, values))
    return str(values["status"])


def run_once(db: Database, *, now: datetime | None = None, as_of: date | None = None,
             holder: str | None = None, overdue: bool = True) -> RunSummary:
    """One round: take the lease, report newly overdue invoices (as of `as_of`, default the company's today;
    unless `overdue` is false), deliver what is due at `now` (default: the current time). A round with nothing to
    do writes nothing (not even the lease): a server's idle worker costs its readers nothing."""
    now = now or utcnow()
    with db.connect() as conn:
        scan = overdue and bool(store.subscribed_endpoints(conn, "invoice.overdue"))
        if not scan and not store.due_deliveries(conn, now, 1):
            return RunSummary(True)
    if not take_lease(db, holder or holder_id(), now):
        return RunSummary(False)
    reported = emit_overdue(db, as_of or company_today(db)) if scan else 0
    sent = deliver_due(db, now)
    return RunSummary(True, reported, sent.delivered, sent.retrying, sent.failed)


class Worker:
    """A background thread running `run_once` every `interval` seconds until stopped (the server's lifespan).

    `database` gives the process's database when the thread first needs it (a server starts even while its
    database cannot be opened; the rounds then fail and are logged until it can).
    """

    def __init__(self, database: Callable[[], Database], interval: float = 2.0) -> None:
        self.database = database
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=READ_TIMEOUT_MARGIN)
        try:
            release_lease(self.database(), holder_id())
        except Exception:  # stopping the server must not fail on it
            log.warning("The webhook lease could not be released; it expires by itself.")

    def _loop(self) -> None:
        last_failure = ""
        last_scan = 0.0
        while not self._stop.is_set():
            try:
                scan = time.monotonic() - last_scan >= OVERDUE_EVERY
                run_once(self.database(), overdue=scan)
                last_scan = time.monotonic() if scan else last_scan
                last_failure = ""
            except Exception as exc:  # a round that failed is retried next round; the thread must not die
                if str(exc) != last_failure:  # logged once while the same failure repeats
                    log.exception("Webhook delivery round failed")
                last_failure = str(exc)
            self._stop.wait(self.interval)


READ_TIMEOUT_MARGIN = delivery.CONNECT_TIMEOUT + delivery.READ_TIMEOUT + 1
