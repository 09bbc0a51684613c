"""Import speed: a CSV of 100k customers (or products) imported while another thread keeps writing.

Usage (from the repository root): python -m benchmarks.bench_import [--rows 100000] [--kind customers|products]
[--every-ms 50]. Builds a fresh database in a temporary folder, imports a generated file in one thread and
creates a customer every `--every-ms` in another (as other users of the portal do meanwhile), and prints the
import's time and how long those writes took: median, p99 and the longest. Target: no write waits more than
about a second while the import runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from billing import customers, imports
from billing.catalog import create_tax_rate
from billing.permissions import SYSTEM
from billing.store.db import Database


def csv_file(kind: str, rows: int, tax_rate_id: int) -> bytes:
    if kind == "customers":
        lines = ["name,email,country,currency,terms_days,notes"]
        lines += [f"Customer {n} GmbH,ap{n}@customer.example,DE,EUR,{n % 60},Imported row {n}" for n in range(rows)]
    else:
        lines = ["name,sku,unit,unit_price,currency,tax_rate_id"]
        lines += [f"Product {n},SKU-{n:07d},pcs,{n % 1000}.99,EUR,{tax_rate_id}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kind", default="customers", choices=sorted(imports.KINDS))
    parser.add_argument("--every-ms", type=float, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"duckdb:///{Path(folder) / 'import.duckdb'}")
        db.migrate()
        tax_rate_id = create_tax_rate(db, SYSTEM, {"name": "Standard 19%", "category": "S", "percent": "19"})
        content = csv_file(args.kind, args.rows, tax_rate_id)
        waits: list[float] = []
        done = threading.Event()

        def write_meanwhile() -> None:
            while not done.is_set():
                start = time.perf_counter()
                customers.create_customer(db, SYSTEM, {"name": "Walk-in customer", "currency": "EUR"})
                waits.append(time.perf_counter() - start)
                done.wait(args.every_ms / 1000)

        writer = threading.Thread(target=write_meanwhile)
        writer.start()
        time.sleep(0.5)  # the writer's first writes show what a write costs with no import running
        alone = statistics.median(waits) if waits else float("nan")
        start = time.perf_counter()
        try:
            count = imports.import_csv(db, SYSTEM, args.kind, content)
        finally:
            seconds = time.perf_counter() - start
            done.set()
            writer.join()
        during = sorted(waits)
        print(f"import of {count:,} {args.kind} ({len(content) / 1e6:.1f} MB): {seconds:.1f} s")
        print(f"{len(during):,} customer writes meanwhile: median {statistics.median(during) * 1000:.0f} ms "
              f"(alone {alone * 1000:.0f} ms), p99 {during[int(len(during) * 0.99) - 1] * 1000:.0f} ms, "
              f"longest {during[-1] * 1000:.0f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
