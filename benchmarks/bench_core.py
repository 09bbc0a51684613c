"""Core speed figures at a demo scale: issue an invoice, record a payment, one customer's invoices.

Usage: python benchmarks/bench_core.py --scale L [--db PATH] [--runs 200]
Builds the demo database at PATH first if it does not exist. Prints medians and p95 in ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from billing import invoices, payments
from billing.demo import load_demo
from billing.permissions import SYSTEM
from billing.store.db import Database

AS_OF = date(2026, 11, 25)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    path = Path(args.db or f"/tmp/bench_{args.scale}.duckdb")
    db = Database(f"duckdb:///{path}")
    db.migrate()
    with db.connect() as conn:
        empty = conn.exec_driver_sql("SELECT count(*) FROM invoices").scalar_one() == 0
    if empty:
        summary = load_demo(db, SYSTEM, args.scale, AS_OF)
        print(f"built scale {args.scale} in {summary.seconds} s: {summary.invoices:,} invoices, "
              f"{summary.lines:,} lines, {summary.payments:,} payments")
    rng = random.Random(1)
    with db.connect() as conn:
        n_customers = conn.exec_driver_sql("SELECT count(*) FROM customers WHERE currency = 'EUR'").scalar_one()
        eur = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM customers WHERE currency = 'EUR' ORDER BY id LIMIT 2000").fetchall()]
        rate_id = conn.exec_driver_sql("SELECT id FROM tax_rates WHERE category = 'S' ORDER BY id LIMIT 1").scalar_one()
    lines = [{"description": f"Item {i}", "quantity": str(i + 1), "unit_price": "19.99", "tax_rate_id": rate_id}
             for i in range(5)]
    drafts: list[int] = []

    def create() -> None:
        drafts.append(invoices.create_draft(db, SYSTEM, {"customer_id": rng.choice(eur), "lines": lines}))

    def issue() -> None:
        invoices.issue_invoice(db, SYSTEM, drafts.pop(), today=AS_OF)

    def create_and_issue() -> None:
        create()
        issue()

    issued = []

    def pay() -> None:
        customer = rng.choice(eur)
        invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": lines[:1]})
        invoices.issue_invoice(db, SYSTEM, invoice_id, today=AS_OF)
        issued.append((customer, invoice_id))

    runs = args.runs
    figures = {"create draft (5 lines)": timed(create, runs)}
    figures["issue invoice (5 lines)"] = timed(issue, runs)
    figures["create + issue (5 lines)"] = timed(create_and_issue, runs)
    for _ in range(runs):
        pay()
    targets = iter(issued)

    def record_and_allocate() -> None:
        customer, invoice_id = next(targets)
        payments.record_payment(db, SYSTEM, {"customer_id": customer, "amount": "10.00", "currency": "EUR",
                                             "received_on": AS_OF}, allocate=[(invoice_id, "10.00")])

    figures["record + allocate payment"] = timed(record_and_allocate, runs)

    def customer_invoices() -> None:
        invoices.list_invoices(db, SYSTEM, as_of=AS_OF, customer_id=rng.choice(eur), limit=50)

    figures["one customer's invoices with balances"] = timed(customer_invoices, runs)
    print(f"scale {args.scale} ({n_customers:,} EUR customers), {runs} runs each")
    for name, (median, p95) in figures.items():
        print(f"  {name:<40} median {median:7.2f} ms   p95 {p95:7.2f} ms")


if __name__ == "__main__":
    main()
