"""Sending the outbox: one runner at a time (a lease), each attempt recorded before it is made, retries with
backoff on temporary failures, 'failed' with the server's reply on permanent ones.

Exactly-once, as far as SMTP allows: a message is marked sent right after the server accepted it, and the
next one is not accepted before that is committed. If the process dies between the two (a window of one
message), the row stays 'sending'; once its attempt's time is up it is sent again with the same Message-ID,
which the receiving side uses to drop the duplicate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from billing import attachments, document_links, drawing_pool, leases, outbox
from billing.attachments import AttachmentFile
from billing.due_runner import DueRunner
from billing.errors import BillingError, NotFoundError
from billing.mail_settings import Delivery, delivery, headers
from billing.mail_templates import LINK_MARK
from billing.outbox import FAILED, QUEUED, SENT, OutboxMessage
from billing.smtp import PermanentFailure, SmtpConfig, SmtpConnection, TemporaryFailure
from billing.store import outbox as store
from billing.store.db import Database

log = logging.getLogger("billing.outbox")

LEASE = "outbox"
LEASE_TIME = timedelta(minutes=2)
ATTEMPT_TIME = timedelta(minutes=5)  # an attempt not reported back by then was cut off: due again
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
BATCH = 200
CLAIM = 25  # messages claimed per transaction: one commit before 25 attempts, one after each


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one run did: sent, retried (temporary failure), failed (permanent or out of attempts);
    `not_configured` when no SMTP server is set, `busy` when another runner holds the lease; `more_due` when
    the run took as many messages as it may (`limit`): more may be waiting, to be sent without a pause."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_configured: bool = False
    busy: bool = False
    problem: str = ""
    more_due: bool = False


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after the n-th failed attempt, at most 6 hours."""
    factor: int = 2 ** min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY * factor, LONGEST_RETRY)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A message read for sending: its body with the customer's link filled in, its attachments being drawn."""

    body: str
    drawings: tuple[tuple[attachments.Drawing, Future[AttachmentFile]], ...]


def build_message(db: Database, message: OutboxMessage, settings: Delivery, now: datetime) -> EmailMessage:
    """The e-mail of an outbox row: headers, the body with its link filled in, the attachments drawn here."""
    prepared = _prepare(db, [message], settings, None)[0]
    if isinstance(prepared, BillingError):
        raise prepared
    return _assemble(message, settings, now, prepared)


def _prepare(db: Database, messages: list[OutboxMessage], settings: Delivery,
             executor: ProcessPoolExecutor | None) -> list[_Prepared | BillingError]:
    """Read what the messages need from the database (together: a few queries for a run's messages) and start
    drawing their attachments (in `executor`); a message that cannot be made gives its error instead."""
    with db.connect() as conn:
        tokens = document_links.tokens_for_links(conn, [m.link_id for m in messages if m.link_id is not None])
    drawings = iter(attachments.read_all(db, [spec for message in messages for spec in message.attachments]))
    prepared: list[_Prepared | BillingError] = []
    for message in messages:
        files = [next(drawings) for _ in message.attachments]
        body = message.body
        if message.link_id is not None and LINK_MARK in body:
            if message.link_id not in tokens:
                files.append(NotFoundError(f"Link {message.link_id} does not exist."))
            else:
                body = body.replace(LINK_MARK, document_links.link_url(settings.public_url, tokens[message.link_id]))
        error = next((file for file in files if isinstance(file, BillingError)), None)
        prepared.append(error or _Prepared(body, tuple((file, drawing_pool.submit(file, executor))
                                                       for file in files if not isinstance(file, BillingError))))
    return prepared


def _assemble(message: OutboxMessage, settings: Delivery, now: datetime, prepared: _Prepared) -> EmailMessage:
    email = EmailMessage()
    headers(email, settings, to=message.recipients, cc=message.cc, subject=message.subject,
            message_id=message.message_id, now=now)
    email.set_content(prepared.body)
    for drawing, future in prepared.drawings:
        file = drawing_pool.result(future, drawing)
        maintype, subtype = file.mime_type.split("/", 1)
        email.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.filename)
    return email


def send_due(db: Database, now: datetime, *, holder: str | None = None, limit: int = BATCH,
             connect: Callable[[SmtpConfig], SmtpConnection] = SmtpConnection) -> SendReport:
    """Send the messages due at `now`, if this runner gets the lease; returns what happened. A round with
    nothing due, or no SMTP server set, only reads (the server's thread asks every few seconds)."""
    try:
        with db.connect() as conn:
            settings = delivery(conn)
            due = store.due_ids(conn, now, limit)
    except BillingError as exc:
        return SendReport(not_configured=True, problem=exc.message)
    if settings is None:
        return SendReport(not_configured=True, problem="No SMTP server or sender is set.")
    if not due:
        return SendReport()
    holder = holder or leases.runner_name()
    if not leases.acquire(db, LEASE, holder, now, LEASE_TIME):
        return SendReport(busy=True)
    run = _Run(db, connect(settings.smtp), settings, now)
    more_due = len(due) == limit
    try:
        for start in range(0, len(due), CLAIM):
            run.wait_recorded()
            if start and not leases.acquire(db, LEASE, holder, now, LEASE_TIME):
                more_due = False  # the lease was lost (a very slow run): the next holder goes on
                break
            run.send([outbox.from_row(row) for row in _claim(db, due[start:start + CLAIM], now)])
    finally:
        run.close()
    return SendReport(sent=run.counts[SENT], retried=run.counts[QUEUED], failed=run.counts[FAILED],
                      more_due=more_due)


def _claim(db: Database, ids: list[int], now: datetime) -> list[dict[str, Any]]:
    return db.transaction(lambda conn: store.claim(conn, ids, now, now + ATTEMPT_TIME))


class _Run:
    """One run's claimed messages, sent over one SMTP connection with the work overlapped: a thread reads the
    e-mails ahead and hands their attachments to the drawing processes (billing.drawing_pool), and the commit
    recording one message as sent runs while the next is handed over, up to the final dot of its DATA, which
    waits for that commit (`SmtpConnection.send`'s gate): so at most one message is ever taken by the server and
    not yet recorded as sent."""

    def __init__(self, db: Database, connection: SmtpConnection, settings: Delivery, now: datetime) -> None:
        self.db, self.connection, self.settings, self.now = db, connection, settings, now
        self.builder = ThreadPoolExecutor(1, thread_name_prefix="outbox-build")
        self.recorder = ThreadPoolExecutor(1, thread_name_prefix="outbox-record")
        self.recording: Future[None] | None = None
        self.counts = {SENT: 0, QUEUED: 0, FAILED: 0}

    def send(self, messages: list[OutboxMessage]) -> None:
        """Send claimed messages (their attempts committed) in order, recording each outcome."""
        with_files = sum(1 for message in messages if message.attachments)
        executor = drawing_pool.pool() if with_files >= drawing_pool.POOL_FROM else None
        prepared = self.builder.submit(_prepare, self.db, messages, self.settings, executor)
        for index, message in enumerate(messages):
            try:
                ready = prepared.result()[index]
                if isinstance(ready, BillingError):
                    raise ready
                email = _assemble(message, self.settings, self.now, ready)
                self.connection.send(email, self.settings.sender_email, [*message.recipients, *message.cc],
                                     gate=self.wait_recorded)
            except (TemporaryFailure, PermanentFailure, BillingError) as exc:
                self.wait_recorded()
                self.counts[_record_failure(self.db, message, exc, self.now)] += 1
                continue
            self.recording = self.recorder.submit(self._record_sent, message.id)
            self.counts[SENT] += 1

    def _record_sent(self, message_id: int) -> None:
        values = {"status": SENT, "sent_at": self.now, "last_error": ""}
        self.db.transaction(lambda conn: store.finish(conn, message_id, values))

    def wait_recorded(self) -> None:
        """Until the message sent last is recorded as sent (its commit's exception, if any, goes on)."""
        recording, self.recording = self.recording, None
        if recording is not None:
            recording.result()

    def close(self) -> None:
        try:
            self.wait_recorded()
        finally:
            self.builder.shutdown(cancel_futures=True)
            self.recorder.shutdown()
            self.connection.close()


def _record_failure(db: Database, message: OutboxMessage, exc: Exception, now: datetime) -> str:
    """Record a failed attempt: retried later with backoff, or failed for good (a 5xx reply, a document that
    cannot be made, or out of attempts)."""
    permanent = not isinstance(exc, TemporaryFailure)
    reason = exc.message if isinstance(exc, BillingError) else str(exc)
    status = FAILED if permanent or message.attempts >= MAX_ATTEMPTS else QUEUED
    if status == FAILED and not permanent:
        reason = f"Gave up after {message.attempts} attempts: {reason}"
    log.warning("Outbox message %s attempt %s: %s", message.id, message.attempts, reason)
    db.transaction(lambda conn: store.finish(conn, message.id, {
        "status": status, "last_error": reason[:1000], "next_attempt_at": now + retry_delay(message.attempts)}))
    return status


class OutboxRunner:
    """The server's background thread: sends what is due every `interval` seconds until stopped."""

    def __init__(self, db: Database, *, interval: float = 5.0, clock: Callable[[], datetime] | None = None) -> None:
        from billing.store.db import utcnow

        self.db = db
        self.interval = interval
        self.clock = clock or utcnow
        self.holder = leases.runner_name() + ":outbox-thread"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self.due = DueRunner(self.holder)  # recurring invoices, quote expiry, reminders: hourly, in this thread

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        try:
            leases.release(self.db, LEASE, self.holder, self.clock())
        except Exception:  # shutting down: the lease expires by itself
            log.debug("Releasing the outbox lease failed", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            report = SendReport()
            try:
                report = send_due(self.db, self.clock(), holder=self.holder)
                if report.sent or report.failed or report.retried:
                    log.info("Outbox: %s sent, %s to retry, %s failed", report.sent, report.retried, report.failed)
            except Exception:  # the thread must outlive a failed round (a locked file, a restart)
                log.exception("Sending the outbox failed; trying again in %s s", self.interval)
            try:
                self.due.maybe_run(self.db, self.clock())
            except Exception:
                log.exception("Running what is due failed; trying again in %s s", self.interval)
            if not report.more_due:  # a full batch: the next one goes at once, not `interval` later
                self._stop.wait(self.interval)
