"""Outbox speed: messages sent from the outbox to a local SMTP server (aiosmtpd on 127.0.0.1), per second.

Usage (from the repository root): python -m benchmarks.bench_outbox [--messages 1000] [--invoices 100].
Queues `--messages` plain messages and `--invoices` invoice e-mails (each with its PDF rendered and a customer
link) in a fresh DuckDB file, then runs the sender until the outbox is empty, and prints messages per second
(wall clock, CPU beside it: the sending process's, the SMTP server runs in a process of its own). Each message
is claimed (the attempt committed) before it is handed over and marked sent after, as in production; the load
average is printed with each figure (the machine may be shared). Target: >= 50 messages/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.engine import Connection

from billing import customers, invoices, outbox, outbox_worker, settings
from billing.catalog import create_tax_rate
from billing.mail_settings import MailSettings, save_mail_settings
from billing.permissions import SYSTEM
from billing.store.db import Database

NOW = datetime(2026, 12, 7, 12, 0)


class Counter:
    """An SMTP handler that counts what arrives (in a number shared with the benchmark's process)."""

    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"

    @property
    def received(self) -> int:
        return int(self.count.value)


def serve(port: int, count: Any, ready: Any, stop: Any) -> None:
    """The SMTP server's process: counts messages until `stop` is set."""
    controller = Controller(Counter(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def prepare(db: Database, messages: int) -> None:
    settings.save_company(db, SYSTEM, {"legal_name": "Acme Consulting GmbH", "country": "DE", "base_currency": "EUR",
                                       "timezone": "Europe/Berlin", "iban": "DE89370400440532013000"})
    rate = create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    customer = customers.create_customer(db, SYSTEM, {"name": "Globex GmbH", "email": "ap@globex.example",
                                                      "currency": "EUR", "country": "DE", "terms_days": 14})
    invoice = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
        {"description": "Consulting", "quantity": "3", "unit_price": "120.00", "tax_rate_id": rate}]})
    invoices.issue_invoice(db, SYSTEM, invoice, today=date(2026, 12, 7))

    def queue(conn: Connection) -> None:
        for number in range(messages):
            outbox.enqueue(conn, kind="test", to=[f"customer{number}@example.com"], subject=f"Message {number}",
                           body="Hello,\n\nthis is a message of the benchmark.\n", now=NOW, created_by="bench")

    db.transaction(queue)


def run(kind: str, db: Database, counter: Counter, expected: int) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    before = counter.received
    while outbox_worker.send_due(db, NOW).more_due:
        pass
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    sent = counter.received - before
    assert sent == expected, f"{sent} of {expected} arrived"
    print(f"{kind:<28} {sent:>6} messages in {wall:6.2f} s: {sent / wall:7.1f} messages/s "
          f"(CPU {used:.2f} s: {sent / max(used, 1e-9):.1f}/s of CPU; load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--invoices", type=int, default=100)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    processes = multiprocessing.get_context("spawn")
    counter, ready, stop = Counter(processes.Value("i", 0)), processes.Event(), processes.Event()
    server = processes.Process(target=serve, args=(port, counter.count, ready, stop), daemon=True)
    server.start()
    ready.wait(30)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"duckdb:///{Path(folder) / 'bench.duckdb'}")
        db.migrate()
        save_mail_settings(db, SYSTEM, MailSettings(smtp_url=f"smtp://127.0.0.1:{port}",
                                                    sender_email="billing@acme.example"), password=None, now=NOW)
        prepare(db, args.messages)
        run("plain messages", db, counter, args.messages)
        prepare_invoices(db, args.invoices)
        run("invoice e-mails (PDF, link)", db, counter, args.invoices)
        db.dispose()
    stop.set()
    server.join(10)


def prepare_invoices(db: Database, count: int) -> None:
    with db.connect() as conn:
        invoice_id = int(conn.exec_driver_sql("SELECT min(id) FROM invoices").scalar_one())
    db.transaction(lambda conn: [outbox.enqueue_document(conn, "invoice", invoice_id, now=NOW, created_by="bench")
                                 for _ in range(count)])


if __name__ == "__main__":
    main()
