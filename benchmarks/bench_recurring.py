"""Recurring invoices speed: `run-due` creating and issuing 10,000 recurring invoices at scale L (goal >= 100/s).

Usage: python -m benchmarks.bench_recurring [--source /tmp/bench_L.duckdb] [--schedules 10000]
The demo database is copied (with the files beside it) to a temporary folder first and never changed. One
schedule is made through the service, the others are copies of its row for other customers (setting up is
not what is measured); then one `run-due` creates and issues the month's invoice of every schedule.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from benchmarks.bench_bank import copy_database
from billing import recurring
from billing.permissions import SYSTEM
from billing.run_due import run_due
from billing.store import recurring as recurring_store
from billing.store.automation_schema import recurring_schedules
from billing.store.db import Database

START = date(2026, 12, 1)
GOAL_PER_SECOND = 100.0


def make_schedules(db: Database, count: int) -> None:
    with db.connect() as conn:
        eur = [row[0] for row in conn.execute(sa.text(
            "SELECT id FROM customers WHERE currency = 'EUR' AND NOT archived ORDER BY id LIMIT :n"), {"n": count})]
        rate = conn.execute(sa.text("SELECT id FROM tax_rates WHERE category = 'S' AND active ORDER BY id")).scalar()
    lines = [{"description": f"Service {i}", "quantity": str(i + 1), "unit_price": "19.99", "tax_rate_id": rate}
             for i in range(3)]
    first = recurring.create_schedule(db, SYSTEM, {"name": "Monthly service", "frequency": "month", "start_date": START,
                                                   "action": "issue", "template": {"customer_id": eur[0],
                                                                                   "lines": lines}})
    with db.connect() as conn:
        row = dict(conn.execute(sa.select(recurring_schedules).where(recurring_schedules.c.id == first))
                   .mappings().one())
    def work(conn: Connection) -> None:
        ids = recurring_store.new_ids(conn, "recurring_schedules_id_seq", len(eur) - 1)
        copies = [{**row, "id": schedule_id, "customer_id": customer,
                   "template": row["template"].replace(f'"customer_id":{eur[0]}', f'"customer_id":{customer}')}
                  for schedule_id, customer in zip(ids, eur[1:count], strict=True)]
        recurring_store.insert_rows(conn, recurring_schedules, copies)

    db.transaction(work)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="/tmp/bench_L.duckdb")
    parser.add_argument("--schedules", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_recurring_") as folder:
        start = time.perf_counter()
        db = copy_database(Path(args.source), Path(folder))
        print(f"copied the demo database in {time.perf_counter() - start:.1f} s")
        make_schedules(db, args.schedules)
        start, cpu = time.perf_counter(), time.process_time()
        summary = run_due(db, SYSTEM, START)
        seconds, used = time.perf_counter() - start, time.process_time() - cpu
        created = len(summary.recurring.created)
        rate = created / seconds
        print(f"run-due: {created:,} invoices created and issued in {seconds:.1f} s: {rate:,.0f} invoices/s "
              f"({'meets' if rate >= GOAL_PER_SECOND else 'BELOW'} the goal of {GOAL_PER_SECOND:.0f}/s); "
              f"CPU {used:.1f} s ({created / max(used, 1e-9):,.0f} invoices/s of CPU); "
              f"load average {os.getloadavg()[0]:.1f}")
        start, cpu = time.perf_counter(), time.process_time()
        again = run_due(db, SYSTEM, START)
        print(f"run-due again: {len(again.recurring.created)} new invoices in {time.perf_counter() - start:.1f} s "
              f"(CPU {time.process_time() - cpu:.1f} s)")
        db.dispose()


if __name__ == "__main__":
    main()
