"""Outbox speed: messages sent from the outbox to a local SMTP server (aiosmtpd on 127.0.0.1), per second.

Usage (from the repository root): python -m benchmarks.bench_outbox [--messages 1000] [--invoices 300]
[--processes 2]. Queues `--messages` plain messages and `--invoices` e-mails of as many different invoices (each
with its PDF drawn and a customer link) in a fresh DuckDB file, then runs the sender until the outbox is empty,
and prints messages per second (wall clock, CPU beside it: the sending process's and its drawing processes'; the
SMTP server runs in a process of its own). `--processes` is the size of the drawing pool (billing.drawing_pool;
0: every PDF drawn in the sender's process, one core); the pool is started before the clock runs, as a server's
is after its first batch (the time it takes is printed). Each message
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

from billing import customers, drawing_pool, invoices, outbox, outbox_worker, settings
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


def drawing_cpu() -> float:
    """CPU seconds of the drawing processes so far (children of the forkserver, not of this process: read from
    /proc by their ids)."""
    executor = drawing_pool.pool() if drawing_pool.processes() else None
    ticks = 0
    for pid in getattr(executor, "_processes", None) or {}:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run(kind: str, db: Database, counter: Counter, expected: int) -> None:
    start, cpu, drawing = time.perf_counter(), time.process_time(), drawing_cpu()
    before = counter.received
    while outbox_worker.send_due(db, NOW).more_due:
        pass
    wall, sender = time.perf_counter() - start, time.process_time() - cpu
    used = sender + drawing_cpu() - drawing
    sent = counter.received - before
    assert sent == expected, f"{sent} of {expected} arrived"
    print(f"{kind}: {sent} messages in {wall:.2f} s: {sent / wall:.1f} messages/s (CPU {used:.2f} s, "
          f"{1000 * used / sent:.1f} ms a message, of which the sender's process {1000 * sender / sent:.1f} ms; "
          f"load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--processes", type=int, default=drawing_pool.MAX_PROCESSES)
    args = parser.parse_args()
    drawing_pool.MAX_PROCESSES = args.processes
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
        start_pool()
        run(f"invoice e-mails (PDF, link), {drawing_pool.processes()} drawing processes", db, counter, args.invoices)
        db.dispose()
    stop.set()
    server.join(10)


def prepare_invoices(db: Database, count: int) -> None:
    """`count` issued invoices of 1 to 5 lines to 50 customers of different names, queued for e-mail."""
    with db.connect() as conn:
        rate = int(conn.exec_driver_sql("SELECT min(id) FROM tax_rates").scalar_one())
    names = [f"{first} {last} GmbH" for first, last in zip(
        ["Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Soylent", "Tyrell", "Cyberdyne"] * 5,
        ["Nord", "Süd", "Ost", "West", "Mitte"] * 10, strict=True)]
    people = [customers.create_customer(db, SYSTEM, {"name": f"{name} {index}", "email": f"ap{index}@example.com",
                                                     "currency": "EUR", "country": "DE", "terms_days": 14})
              for index, name in enumerate(names)]
    ids = []
    for number in range(count):
        lines = [{"description": f"Beratung {number}-{line}, Projekt Überblick", "quantity": str(line + 1),
                  "unit_price": f"{100 + number % 97}.{line}5", "tax_rate_id": rate}
                 for line in range(1 + number % 5)]
        draft = invoices.create_draft(db, SYSTEM, {"customer_id": people[number % len(people)], "lines": lines})
        invoices.issue_invoice(db, SYSTEM, draft, today=date(2026, 12, 7))
        ids.append(draft)
    db.transaction(lambda conn: [outbox.enqueue_document(conn, "invoice", invoice_id, now=NOW, created_by="bench")
                                 for invoice_id in ids])


def start_pool() -> None:
    """Start the drawing processes (as a server has them after its first batch) and say how long that took."""
    start = time.perf_counter()
    executor = drawing_pool.pool()
    if executor is not None:
        for future in [executor.submit(time.sleep, 0.2) for _ in range(drawing_pool.processes())]:
            future.result()
        print(f"drawing processes started in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
