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
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from billing import outbox
from billing.mail_settings import MailSettings, save_mail_settings
from billing.store import outbox as store
from billing.store.db import Database
from tests.conftest import ADMIN, database_url
from tests.mail_server import smtp_server

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 60
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
    url = database_url(db_path)
    rng = random.Random(12)
    with smtp_server() as (smtp_url, mailbox):
        mailbox.delay = 0.03
        db = Database(url)
        db.migrate()
        save_mail_settings(db, ADMIN, MailSettings(smtp_url=smtp_url, sender_email="billing@example.com"),
                           password=None, now=NOW)
        queue_messages(db)
        db.dispose()
        kills, moment = 0, NOW
        while kills < 4:
            process = sender(url, moment)
            started = time.monotonic()
            count = len(mailbox.received)
            while len(mailbox.received) == count and time.monotonic() - started < 30:
                time.sleep(0.01)  # killed only once it sends
            time.sleep(rng.uniform(0.0, 0.3))
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            moment += timedelta(minutes=10)  # an attempt cut off is due again after 5 minutes
        finished = sender(url, moment + timedelta(hours=1), once=True)
        _, err = finished.communicate(timeout=120)
        assert finished.returncode == 0, err
        db = Database(url)
        with db.connect() as conn:
            rows = store.list_messages(conn, status=None, limit=MESSAGES + 1)
        db.dispose()
        assert [row["status"] for row in rows] == [outbox.SENT] * MESSAGES
        received = Counter(mailbox.message_ids())
        assert set(received) == {row["message_id"] for row in rows}  # none lost
        repeats = sum(count - 1 for count in received.values())
        assert repeats <= kills  # at most the one message in flight at each kill, under its same Message-ID
        assert len(mailbox.received) >= MESSAGES
