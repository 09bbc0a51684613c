"""The outbox on PostgreSQL: several runners (as several app processes would) send every message once, one at
a time by the lease; a customer link and its document work there too."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

from pytest import MonkeyPatch
from sqlalchemy.engine import Connection

from billing import customers, drawing_pool, invoices, leases, outbox, outbox_worker, settings
from billing.catalog import create_tax_rate
from billing.mail_settings import MailSettings, save_mail_settings
from billing.permissions import SYSTEM
from billing.store.db import Database
from tests.mail_server import smtp_server

NOW = datetime(2025, 3, 10, 9, 30)
MESSAGES = 80


def test_four_runners_on_postgresql_send_every_message_once(pg_url: str) -> None:
    databases = [Database(pg_url) for _ in range(4)]  # separate pools: like four processes
    databases[0].migrate()
    try:
        with smtp_server() as (url, mailbox):
            save_mail_settings(databases[0], SYSTEM, MailSettings(smtp_url=url, sender_email="billing@example.com"),
                               password=None, now=NOW)

            def queue(conn: Connection) -> None:
                for number in range(MESSAGES):
                    outbox.enqueue(conn, kind="test", to=[f"c{number}@example.com"], subject=f"Message {number}",
                                   body="Hello", now=NOW, created_by="test", dedupe_key=f"pg-{number}")
            databases[0].transaction(queue)
            reports: list[outbox_worker.SendReport] = []
            rounds = threading.Barrier(len(databases))  # one clock: every runner's round N runs at the same time

            def runner(db: Database, name: str) -> None:
                for round_number in range(6):
                    rounds.wait()
                    reports.append(outbox_worker.send_due(db, NOW + timedelta(minutes=3 * round_number),
                                                          holder=name, limit=20))

            threads = [threading.Thread(target=runner, args=(db, f"runner-{n}")) for n, db in enumerate(databases)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            received = Counter(mailbox.message_ids())
        assert len(received) == MESSAGES and set(received.values()) == {1}
        assert sum(report.sent for report in reports) == MESSAGES
        assert any(report.busy for report in reports)  # the others were kept out while one held the lease
    finally:
        for db in databases:
            db.dispose()


def test_a_lease_taken_at_the_same_moment_goes_to_one_runner(pg_url: str) -> None:
    databases = [Database(pg_url) for _ in range(6)]
    databases[0].migrate()
    barrier = threading.Barrier(len(databases))
    won: list[str] = []

    def take(db: Database, name: str) -> None:
        barrier.wait()
        if leases.acquire(db, "race", name, NOW, timedelta(minutes=1)):
            won.append(name)

    threads = [threading.Thread(target=take, args=(db, f"r{n}")) for n, db in enumerate(databases)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for db in databases:
            db.dispose()
    assert len(won) == 1


def test_invoice_e_mails_are_read_together_and_drawn_on_postgresql(pg_url: str, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(drawing_pool, "POOL_FROM", 2)
    db = Database(pg_url)
    db.migrate()
    try:
        settings.save_company(db, SYSTEM, {"legal_name": "Acme Consulting GmbH", "country": "DE",
                                           "base_currency": "EUR", "timezone": "Europe/Berlin",
                                           "iban": "DE89370400440532013000"})
        rate = create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
        customer = customers.create_customer(db, SYSTEM, {"name": "Globex GmbH", "email": "ap@globex.example",
                                                          "currency": "EUR", "country": "DE", "terms_days": 14})
        ids = []
        for number in range(3):
            draft = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
                {"description": f"Consulting {number}", "quantity": str(number + 1), "unit_price": "120.00",
                 "tax_rate_id": rate}]})
            invoices.issue_invoice(db, SYSTEM, draft, today=NOW.date())
            ids.append(draft)
        together = invoices.get_invoices(db, SYSTEM, ids, NOW.date())
        assert [together[i] for i in ids] == [invoices.get_invoice(db, SYSTEM, i, NOW.date()) for i in ids]
        with smtp_server() as (url, mailbox):
            save_mail_settings(db, SYSTEM, MailSettings(smtp_url=url, sender_email="billing@example.com"),
                               password=None, now=NOW)
            later = NOW + timedelta(days=1)  # the leases of the tests before (same database) have run out
            db.transaction(lambda conn: [outbox.enqueue_document(conn, "invoice", i, now=later, created_by="test")
                                         for i in ids])
            try:
                assert outbox_worker.send_due(db, later).sent == len(ids)
            finally:
                drawing_pool.shutdown()
        names = sorted(next(item.message.iter_attachments()).get_filename() for item in mailbox.received)
        assert names == sorted(f"{together[i].header.number}.pdf" for i in ids)
    finally:
        db.dispose()
