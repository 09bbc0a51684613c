"""The same reports and writes on DuckDB and on PostgreSQL, side by side in one run, at one demo scale.

Usage: python -m benchmarks.bench_engines --pg postgresql+psycopg://user@host/db [--scale M] [--duckdb PATH]
       [--runs 5] [--writes 50] [--copy-to postgresql+psycopg://user@host/other_empty_db]
Each database is loaded with the demo if it is empty (the load is timed). Prints, for every report of
benchmarks.bench_reports (computed each time: no kept results) and the writes (create + issue an invoice of 5
lines, record + allocate a payment), the median wall ms on each engine, the ratio PostgreSQL / DuckDB, and the
median CPU ms: this process's (DuckDB's work included) and, when the PostgreSQL server runs on this machine
and its processes can be read, the server's (the backends of this database and parallel workers); with the
machine's load average, as figures measured on a shared machine need it. With --copy-to, the time of
`copy-to` from the DuckDB file into that (empty) PostgreSQL database. Run it from a scratch folder: the DuckDB
file (default ./data/bench_engines_<scale>.duckdb) and the key files go into its ./data.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_reports import AS_OF, open_url, report_calls
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


@dataclass(frozen=True)
class Figure:
    """Medians of one operation: wall ms, CPU ms of this process, CPU ms of the PostgreSQL server (None: unknown
    or DuckDB, whose work is this process's)."""

    wall: float
    cpu: float
    server: float | None


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_cpu(db: Database) -> Callable[[], float] | None:
    """A function giving the CPU seconds the PostgreSQL server has used so far for this database: its backends
    and parallel workers (by their process titles), and the children of the postmaster that ended (workers);
    None when the server's processes cannot be read here."""
    if db.is_duckdb:
        return None
    with db.connect() as conn:
        backend, name = conn.exec_driver_sql("SELECT pg_backend_pid(), current_database()").one()
    tick = os.sysconf("SC_CLK_TCK")
    try:
        postmaster = int(_stat(int(backend))[1])
    except OSError:
        return None
    ours = re.compile(rf"postgres: \S+ {re.escape(str(name))} |postgres: parallel worker")

    def used() -> float:
        ticks = sum(int(v) for v in _stat(postmaster)[13:15])  # children that ended: parallel workers
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = _stat(int(entry.name))
                    title = (entry / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if int(fields[1]) == postmaster and ours.match(title):
                    ticks += int(fields[11]) + int(fields[12])
        return ticks / tick

    return used


def measure(call: Callable[[], object], runs: int, server: Callable[[], float] | None) -> Figure:
    call()  # warm-up: first touch of the file pages and the statement cache
    walls, cpus, servers = [], [], []
    for _ in range(runs):
        before = server() if server else 0.0
        started, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        servers.append(((server() if server else 0.0) - before) * 1000)
    return Figure(statistics.median(walls), statistics.median(cpus), statistics.median(servers) if server else None)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def figures(db: Database, runs: int, writes: int) -> dict[str, Figure]:
    with db.connect() as conn:
        big_customer = int(conn.exec_driver_sql(
            "SELECT customer_id FROM invoices WHERE currency = 'EUR' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one())
    server = server_cpu(db)
    result = {name: measure(call, runs, server) for name, call in report_calls(db, big_customer).items()}
    result.update({name: measure(call, writes, server) for name, call in write_calls(db).items()})
    return result


def print_table(scale: str, on_duck: dict[str, Figure], on_pg: dict[str, Figure]) -> None:
    """Wall ms and ratio, then CPU ms: DuckDB (in this process), PostgreSQL's client and server."""
    print(f"\n{'median ms at scale ' + scale:<40} {'DuckDB':>8} {'PG':>8} {'PG/Duck':>8} "
          f"{'CPU Duck':>9} {'CPU PG client':>14} {'server':>7}")
    for name, duck in on_duck.items():
        pg = on_pg[name]
        server = f"{pg.server:7.0f}" if pg.server is not None else f"{'-':>7}"
        print(f"{name:<40} {duck.wall:>8.1f} {pg.wall:>8.1f} {pg.wall / duck.wall:>7.1f}x "
              f"{duck.cpu:>9.0f} {pg.cpu:>14.0f} {server}")
    ratios = [on_pg[name].wall / on_duck[name].wall for name in on_duck]
    print(f"\nmedian ratio PostgreSQL / DuckDB: {statistics.median(ratios):.1f}x")


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
    with pg.connect() as conn:
        print("PostgreSQL " + ", ".join(f"{name} {conn.exec_driver_sql(f'SHOW {name}').scalar_one()}" for name in (
            "server_version", "jit", "work_mem", "shared_buffers", "max_parallel_workers_per_gather")))
    print(f"load before DuckDB: {load()}")
    on_duck = figures(duck, args.runs, args.writes)
    print(f"load before PostgreSQL: {load()}")
    on_pg = figures(pg, args.runs, args.writes)
    print(f"load after: {load()}")
    print_table(args.scale, on_duck, on_pg)
    duck.dispose()
    pg.dispose()


if __name__ == "__main__":
    main()
