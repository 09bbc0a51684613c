"""`copy-to` DuckDB -> PostgreSQL -> DuckDB of the demo at one scale: time of each way and the proof that both agree.

Usage: python -m benchmarks.bench_copy --pg postgresql+psycopg://user@host/empty_db [--scale M] [--duckdb PATH]
Copies the DuckDB file (default ./data/bench_copy_<scale>.duckdb, loaded with the demo when new) into the empty
PostgreSQL database, then back into a new DuckDB file in ./data/back_<scale>/, each way proven table by table and
verified on its target (`billing.database_copy`). Prints wall time, this process's CPU time and the machine's
load for each way, and whether both ways gave every table the same rows and content checksum. Run it from a
scratch folder: the files and the key files go into its ./data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from benchmarks.bench_reports import open_url
from billing.database_copy import CopyReport, copy_database
from billing.permissions import SYSTEM
from billing.store.db import Database


def timed_copy(source: Database, target_url: str, label: str) -> CopyReport:
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    report = copy_database(source, SYSTEM, target_url)
    rows = sum(proof.rows for proof in report.tables.values())
    print(f"copy-to {label}: {time.perf_counter() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU in "
          f"this process (load {load:.1f} -> {os.getloadavg()[0]:.1f}); {rows:,} rows proven, "
          f"{report.documents_verified:,} documents and {report.audit_events:,} audit events verified")
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", required=True, help="an empty PostgreSQL database to copy into")
    parser.add_argument("--scale", default="M", choices=["S", "M", "L"])
    parser.add_argument("--duckdb", default=None)
    args = parser.parse_args()
    duck = open_url(f"duckdb:///{Path(args.duckdb or f'data/bench_copy_{args.scale}.duckdb').resolve()}",
                    args.scale)
    there = timed_copy(duck, args.pg, "DuckDB -> PostgreSQL")
    duck.dispose()
    back_folder = Path(f"data/back_{args.scale}").resolve()
    shutil.rmtree(back_folder, ignore_errors=True)
    postgres = Database(args.pg)
    back = timed_copy(postgres, f"duckdb:///{back_folder}/billing.duckdb", "PostgreSQL -> DuckDB")
    postgres.dispose()
    differing = sorted(name for name in there.tables if there.tables[name] != back.tables.get(name))
    print("both ways: every table the same rows and SHA-256 of its content" if not differing and
          there.tables.keys() == back.tables.keys() else f"both ways: tables differ: {', '.join(differing)}")


if __name__ == "__main__":
    main()
