"""A bounded load test: 16 clients create and issue 5-line invoices and pay them for 60 s against a real
`uvicorn app:app` on a temp DuckDB: no errors, gapless numbers, `verify` clean, and every event delivered to a
webhook receiver by the worker the server runs in its lifespan."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from portal import seeded_database

from benchmarks.bench_api import Client, Figures, gapless, start, work
from billing import api_access, catalog, customers, users
from billing.permissions import SYSTEM
from billing.store import series as series_store
from billing.store.db import Database, forget_database
from billing.verify import verify_database
from billing.webhooks import endpoints
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.slow
CLIENTS, SECONDS = 16, 60.0


def prepared(folder: Path, url_of_receiver: str) -> tuple[str, list[str], list[int], int, str]:
    """The portal's database with EUR customers, a tax rate, one API key per client and a webhook endpoint."""
    db = seeded_database(folder, demo=False)
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": "Standard 19%", "category": "S", "percent": "19"})
    ids = [customers.create_customer(db, SYSTEM, {"name": f"Load {n}", "currency": "EUR"}) for n in range(20)]
    users.create_user(db, SYSTEM, "loader", "a long load test passphrase 42", "accountant", name="Load test")
    keys = [api_access.create_key(db, SYSTEM, "loader", "accountant", f"client {n}")[1] for n in range(CLIENTS)]
    _, secret = endpoints.create_endpoint(db, SYSTEM, url_of_receiver, ["invoice.issued", "invoice.paid"])
    url = db.url
    forget_database(url)
    return url, keys, ids, rate, secret


def test_sixteen_clients_for_a_minute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")  # the receiver is on 127.0.0.1 (the server reads it)
    with receiver() as got:
        url, keys, customer_ids, rate, got.secret = prepared(tmp_path, got.url)
        process, port = start("uvicorn", url, tmp_path)
        figures = Figures()
        try:
            until = time.monotonic() + SECONDS
            threads = [threading.Thread(target=work, args=(Client(port, key, figures), customer_ids, rate, until, n))
                       for n, key in enumerate(keys)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            issued = len(figures.numbers)
            deadline = time.monotonic() + 120  # the worker sends what the load left pending
            while len(got.event_ids()) < 2 * issued and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            process.terminate()
            process.wait(30)
        assert not figures.errors, figures.errors.most_common(5)
        assert issued >= CLIENTS, f"only {issued} invoices in {SECONDS} s"
        assert len(got.event_ids()) == 2 * issued  # invoice.issued and invoice.paid of each, at least once
        assert all(item.signed for item in got.received)
    db = Database(url)
    try:
        with db.connect() as conn:
            assert series_store.highest_used(conn, "INV") == issued
        assert gapless(db, figures.numbers, 0) is None
        report = verify_database(db, SYSTEM)
        assert report.ok, report.problems[:5]
    finally:
        db.dispose()
