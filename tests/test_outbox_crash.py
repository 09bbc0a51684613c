"""Kill -9 of the sending process, again and again: after restarts every message is delivered, none lost,
and each Message-ID is new only once (a resend after a kill carries the same id, so it is recognisable)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from billing import outbox
from billing.mail_settings import MailSettings, save_mail_settings
from billing.store import outbox as store
from billing.store.db import Database
from tests.conftest import ADMIN, Templates, copy_template, database_url
from tests.mail_server import smtp_server

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 60
INVOICE_MESSAGES = 40
NOW = datetime(2025, 3, 10, 9, 30)


def queue_messages(db: Database) -> None:
    def work(conn: Connection) -> None:
        for number in range(MESSAGES):
            outbox.enqueue(conn, kind="test", to=[f"customer{number}@example.com"], subject=f"Message {number}",
                           body="Hello", now=NOW, created_by="test")
    db.transaction(work)


def sender(url: str, now: datetime, *, once: bool = False) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "billing", "outbox", "run", "--now", now.isoformat(), "--interval", "0.05"]
    return subprocess.Popen([*args, "--once"] if once else args, cwd=ROOT, text=True,
                            env={**os.environ, "BILLING_DATABASE_URL": url, "BILLING_OUTBOX_WORKER": "0"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_9_while_sending_loses_nothing(db_path: Path) -> None:
    kill_and_restart(db_path, queue_messages, MESSAGES, kills=4)


def queue_invoices(db: Database) -> None:
    with db.connect() as conn:
        ids = [int(row[0]) for row in conn.exec_driver_sql("SELECT id FROM invoices ORDER BY id")]
    db.transaction(lambda conn: [outbox.enqueue_document(conn, "invoice", ids[number % len(ids)], now=NOW,
                                                         created_by="test") for number in range(INVOICE_MESSAGES)])


@pytest.mark.slow
def test_kill_9_while_invoices_are_drawn_in_other_processes_loses_nothing(tmp_path: Path, templates: Templates) -> None:
    # 25 invoice e-mails a claim: their PDFs are drawn by the sender's drawing processes (billing.drawing_pool),
    # which a kill -9 of the sender leaves without a parent. (The billed template copied here: the `billed` fixture
    # would hold the file open in this process.)
    path = copy_template(templates.billed, tmp_path / "billed.duckdb")
    kill_and_restart(path, queue_invoices, INVOICE_MESSAGES, kills=3)
    deadline = time.monotonic() + 30
    while drawing_processes(database_url(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert drawing_processes(database_url(path)) == []  # the killed senders' drawing processes ended too


def drawing_processes(url: str) -> list[int]:
    """The multiprocessing helpers (forkserver, drawing processes, resource tracker) started for the database."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command, environment = (entry / "cmdline").read_bytes(), (entry / "environ").read_bytes()
        except OSError:  # not a process, or gone
            continue
        if b"multiprocessing" in command and f"BILLING_DATABASE_URL={url}\0".encode() in environment:
            found.append(int(entry.name))
    return found


def kill_and_restart(db_path: Path, queue: Callable[[Database], None], messages: int, kills: int) -> None:
    """Queue `messages`, start a sender and kill -9 it once it sends, `kills` times, then let one finish: every
    message is sent, none lost, at most one repeat a kill (with its Message-ID)."""
    url = database_url(db_path)
    rng = random.Random(12)
    with smtp_server() as (smtp_url, mailbox):
        mailbox.delay = 0.03
        db = Database(url)
        db.migrate()
        save_mail_settings(db, ADMIN, MailSettings(smtp_url=smtp_url, sender_email="billing@example.com"),
                           password=None, now=NOW)
        queue(db)
        db.dispose()
        moment = NOW
        for _ in range(kills):
            process = sender(url, moment)
            started = time.monotonic()
            count = len(mailbox.received)
            while len(mailbox.received) == count and time.monotonic() - started < 30:
                time.sleep(0.01)  # killed only once it sends
            time.sleep(rng.uniform(0.0, 0.3))
            process.send_signal(signal.SIGKILL)
            process.wait()
            moment += timedelta(minutes=10)  # an attempt cut off is due again after 5 minutes
        finished = sender(url, moment + timedelta(hours=1), once=True)
        _, err = finished.communicate(timeout=120)
        assert finished.returncode == 0, err
        db = Database(url)
        with db.connect() as conn:
            rows = store.list_messages(conn, status=None, limit=messages + 1)
        db.dispose()
        assert [row["status"] for row in rows] == [outbox.SENT] * messages
        received = Counter(mailbox.message_ids())
        assert set(received) == {row["message_id"] for row in rows}  # none lost
        repeats = sum(count - 1 for count in received.values())
        assert repeats <= kills  # at most the one message in flight at each kill, under its same Message-ID
        assert len(mailbox.received) >= messages
