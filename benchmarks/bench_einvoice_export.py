"""E-invoice export speed: one invoice exported and validated warm (UBL, CII); ~2,000 documents without validation.

Usage (from the repository root): python -m benchmarks.bench_einvoice_export [--scale S] [--db PATH] [--runs 50]
[--documents 2000]. Builds the demo database at PATH first if it does not exist. Prints wall-clock figures with
CPU time beside them (on a busy machine the two differ). Targets: export + validation of one invoice <= 30 ms
warm (UBL, CII); export without validation >= 500 documents/s.
"""

from __future__ import annotations

import argparse
import functools
import io
import statistics
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_reports import AS_OF, open_database
from billing import invoices, logic, settings
from billing.einvoice import validation
from billing.einvoice.bulk import export_documents
from billing.einvoice.export import FORMATS, check_rules, export_document, facts_of, render
from billing.permissions import SYSTEM
from billing.store.db import Database

COMPANY = {"legal_name": "Acme Consulting GmbH", "address": "Hauptstraße 1\n10115 Berlin", "country": "DE",
           "tax_id": "DE136695976", "email": "billing@acme.example", "bank_details": "IBAN DE89 3704 0044 0532 0130 00",
           "base_currency": "EUR", "timezone": "Europe/Berlin"}


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU ms of `runs` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def database(path: Path, scale: str) -> Database:
    db = open_database(scale, path)
    if not (settings.get_company(db) or {}).get("country"):  # the demo leaves the company profile to the user
        settings.save_company(db, SYSTEM, COMPANY)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--documents", type=int, default=2000)
    args = parser.parse_args()
    # A folder of its own: the installation files beside a DuckDB file bind that folder to one database.
    path = Path(args.db or f"/tmp/bench_einvoice/{args.scale}.duckdb")
    path.parent.mkdir(parents=True, exist_ok=True)
    db = database(path, args.scale)
    rows, _ = invoices.list_invoices(db, SYSTEM, AS_OF, status=logic.ISSUED, limit=args.documents)
    ids = [row.id for row in rows]
    sample = next(row.id for row in rows if row.kind == logic.INVOICE)
    start = time.perf_counter()
    validation.warm_up()
    print(f"warm-up (schemas, 6 stylesheets): {time.perf_counter() - start:.2f} s")

    print(f"One invoice, warm (median of {args.runs}; wall ms / CPU ms):")
    company = settings.get_company(db) or {}
    document = invoices.get_invoice(db, SYSTEM, sample, as_of=AS_OF)
    for name in ("ubl", "cii"):
        fmt = FORMATS[name]
        xml = render(document, facts_of(document, company), fmt)
        whole = timed(functools.partial(export_document, db, SYSTEM, sample, name, today=lambda: AS_OF), args.runs)
        load = timed(lambda: invoices.get_invoice(db, SYSTEM, sample, as_of=AS_OF), args.runs)
        made = timed(functools.partial(render, document, facts_of(document, company), fmt), args.runs)
        checked = timed(functools.partial(check_rules, xml, fmt), args.runs)
        print(f"  {fmt.label:<26} export + validate {whole[0]:5.1f} / {whole[1]:5.1f}  (read {load[0]:.1f}, "
              f"build XML {made[0]:.2f}, schema + EN 16931 rules {checked[0]:.1f})")

    print(f"Without validation, {len(ids):,} issued documents (invoices and credit notes), read in batches:")
    for name in ("ubl", "cii"):
        buffer = io.BytesIO()
        wall, cpu = time.perf_counter(), time.process_time()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for item in export_documents(db, SYSTEM, ids, name, validate=False):
                if item.xml is not None:
                    archive.writestr(item.file_name, item.xml)
        seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  {FORMATS[name].label:<26} read + export + zip {len(ids) / seconds:6.0f} documents/s "
              f"({seconds:.2f} s wall, {cpu_seconds:.2f} s CPU: {len(ids) / cpu_seconds:.0f}/s; "
              f"zip {buffer.tell() / 1e6:.1f} MB)")
    one_by_one = ids[:200]
    wall = time.perf_counter()
    for invoice_id in one_by_one:
        export_document(db, SYSTEM, invoice_id, "ubl", validate=False, today=lambda: AS_OF)
    print(f"  (one by one through export_document: {len(one_by_one) / (time.perf_counter() - wall):.0f} documents/s)")
    db.dispose()


if __name__ == "__main__":
    main()
