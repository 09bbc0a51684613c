"""The same reports and writes on DuckDB and on PostgreSQL, side by side in one run, at one demo scale.

Usage: python -m benchmarks.bench_engines --pg postgresql+psycopg://user@host/db [--scale M] [--duckdb PATH]
       [--runs 5] [--writes 50] [--copy-to postgresql+psycopg://user@host/other_empty_db]
Each database is loaded with the demo if it is empty (the load is timed). Prints the median ms of every report
of benchmarks.bench_reports and of the writes (create + issue an invoice of 5 lines, record + allocate a
payment) on each engine and the ratio PostgreSQL / DuckDB; with --copy-to, the time of `copy-to` from the
DuckDB file into that (empty) PostgreSQL database. Run it from a scratch folder: the DuckDB file (default
./data/bench_engines_<scale>.duckdb) and the key files go into its ./data.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_reports import AS_OF, median_ms, open_url, report_calls
from billing import invoices, payments
from billing.database_copy import copy_database
from billing.permissions import SYSTEM
from billing.store.db import Database


def write_calls(db: Database) -> dict[str, Callable[[], object]]:
    rng = random.Random(1)
    with db.connect() as conn:
        eur = [int(r[0]) for r in conn.exec_driver_sql(
            "SELECT id FROM customers WHERE currency = 'EUR' ORDER BY id LIMIT 2000").fetchall()]
        rate = int(conn.exec_driver_sql("SELECT id FROM tax_rates WHERE category = 'S' ORDER BY id LIMIT 1")
                   .scalar_one())
    lines = [{"description": f"Item {i}", "quantity": str(i + 1), "unit_price": "19.99", "tax_rate_id": rate}
             for i in range(5)]

    def create_and_issue() -> None:
        draft = invoices.create_draft(db, SYSTEM, {"customer_id": rng.choice(eur), "lines": lines})
        invoices.issue_invoice(db, SYSTEM, draft, today=AS_OF)

    def record_and_allocate() -> None:
        payments.record_payment(db, SYSTEM, {"customer_id": rng.choice(eur), "amount": "10.00", "currency": "EUR",
                                             "received_on": AS_OF}, allocate="auto")

    def one_customer_invoices() -> None:
        invoices.list_invoices(db, SYSTEM, as_of=AS_OF, customer_id=rng.choice(eur), limit=50)

    return {"write: create + issue invoice (5 lines)": create_and_issue,
            "write: record + allocate payment": record_and_allocate,
            "read: one customer's invoices": one_customer_invoices}


def figures(db: Database, runs: int, writes: int) -> dict[str, float]:
    with db.connect() as conn:
        big_customer = int(conn.exec_driver_sql(
            "SELECT customer_id FROM invoices WHERE currency = 'EUR' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one())
    result = {name: median_ms(call, runs) for name, call in report_calls(db, big_customer).items()}
    result.update({name: median_ms(call, writes) for name, call in write_calls(db).items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", required=True, help="a PostgreSQL database (loaded with the demo if empty)")
    parser.add_argument("--scale", default="M", choices=["S", "M", "L"])
    parser.add_argument("--duckdb", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--copy-to", default=None, help="an empty PostgreSQL database to time copy-to into")
    args = parser.parse_args()
    # Beside ./data's keys, which PostgreSQL uses too: one installation, so copy-to carries nothing.
    duck = open_url(f"duckdb:///{Path(args.duckdb or f'data/bench_engines_{args.scale}.duckdb').resolve()}",
                    args.scale)
    pg = open_url(args.pg, args.scale)
    if args.copy_to:
        started, cpu = time.perf_counter(), time.process_time()
        report = copy_database(duck, SYSTEM, args.copy_to)
        print(f"copy-to DuckDB -> PostgreSQL at {args.scale}: {time.perf_counter() - started:.1f} s, "
              f"{time.process_time() - cpu:.1f} s CPU in this process "
              f"({sum(p.rows for p in report.tables.values()):,} rows, proven and verified)")
    on_duck, on_pg = figures(duck, args.runs, args.writes), figures(pg, args.runs, args.writes)
    print(f"\n{'median ms at scale ' + args.scale:<44} {'DuckDB':>9} {'PostgreSQL':>11} {'PG/Duck':>8}")
    for name in on_duck:
        print(f"{name:<44} {on_duck[name]:>9.1f} {on_pg[name]:>11.1f} {on_pg[name] / on_duck[name]:>7.1f}x")
    ratios = [on_pg[name] / on_duck[name] for name in on_duck]
    print(f"\nmedian ratio PostgreSQL / DuckDB: {statistics.median(ratios):.1f}x")
    duck.dispose()
    pg.dispose()


if __name__ == "__main__":
    main()
