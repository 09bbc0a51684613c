"""The delivery worker as a process (`python -m billing webhooks run`): killed mid-delivery, it loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from billing.store.db import Database
from billing.webhooks import EVENT_TYPES, endpoints
from tests.conftest import ADMIN, Seed, issued, line
from tests.webhook_receiver import receiver

ROOT = Path(__file__).resolve().parent.parent


def worker_process(db: Database, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BILLING_DATABASE_URL": db.url, "BILLING_WEBHOOKS_ALLOW_PRIVATE": "1"}
    return subprocess.Popen([sys.executable, "-m", "billing", "webhooks", "run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_killing_the_worker_mid_delivery_loses_nothing(
        db: Database, seeded: Seed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    with receiver() as got:
        _, got.secret = endpoints.create_endpoint(db, ADMIN, got.url, EVENT_TYPES)
        invoice_ids = [issued(db, seeded.acme, line(seeded.s19, "1", f"{10 + n}.00")) for n in range(3)]
        with db.connect() as conn:
            event_ids = set(conn.exec_driver_sql("SELECT id FROM webhook_events").scalars())
        assert len(event_ids) == 3
        db.dispose()  # the worker process owns the DuckDB file now
        got.delay = 3.0  # the first delivery hangs: the worker is killed while it waits for the answer
        process = worker_process(db, "--interval", "0.2")
        try:
            assert got.first_request.wait(timeout=120), process.stdout.read() if process.stdout else ""
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == -signal.SIGKILL
        got.delay = 0.0
        # The dead process's lease is void at once (same host, no such process); every event goes out.
        again = worker_process(db, "--once")
        output, _ = again.communicate(timeout=120)
        assert again.returncode == 0, output
        assert "delivered" in output
        assert got.event_ids() >= event_ids
        assert all(item.signed for item in got.received)
    reopened = Database(db.url)
    try:
        done = endpoints.deliveries_before(reopened, ADMIN, before_id=None, limit=10)
        assert sorted(item.entity_id for item in done) == sorted(invoice_ids)
        assert {item.status for item in done} == {"delivered"}
    finally:
        reopened.dispose()
