"""E-invoice export speed: one invoice exported and validated warm (UBL, CII, Factur-X); a month without validation.

Usage (from the repository root): python -m benchmarks.bench_einvoice_export [--scale S] [--db PATH] [--runs 50]
[--documents 2000] [--copy-of /tmp/bench_L.duckdb --month 2026-10]. Builds the demo database at PATH first if it
does not exist; --copy-of works on a copy of an existing database (and its dot-files) in a temporary folder, never
on the original. --month exports every issued document of that month into a zip. Prints wall-clock figures with
CPU time beside them (on a busy machine the two differ). Targets: export + validation of one invoice <= 30 ms
warm (UBL, CII), <= 60 ms (Factur-X); export of a month without validation >= 500 documents/s.
"""

from __future__ import annotations

import argparse
import functools
import io
import shutil
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from benchmarks.bench_reports import AS_OF, open_database
from billing import invoices, logic, settings
from billing.einvoice import validation
from billing.einvoice.bulk import export_documents, period_documents
from billing.einvoice.export import FORMATS, check_rules, export_document, facts_of, packaged, render
from billing.errors import ConfigError
from billing.installation import ID_FILE
from billing.models import CompanyIn
from billing.permissions import SYSTEM
from billing.signing import AUDIT_KEY_FILE
from billing.store import schema
from billing.store.db import Database, utcnow

FOLDER_FILES = (AUDIT_KEY_FILE, ID_FILE)  # beside a DuckDB file, bound to the database in that folder
COMPANY = {"legal_name": "Acme Consulting GmbH", "address": "Hauptstraße 1\n10115 Berlin", "country": "DE",
           "tax_id": "DE136695976", "email": "billing@acme.example", "bank_details": "IBAN DE89 3704 0044 0532 0130 00",
           "base_currency": "EUR", "timezone": "Europe/Berlin"}


def timed(action: Callable[[], object], runs: int) -> tuple[float, float, float, float]:
    """Median wall-clock and CPU ms of `runs` calls, then the best (lowest) of each: on a shared machine the best
    is the closer guess of what a quiet one measures."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), min(walls), min(cpus)


def database(path: Path, scale: str) -> Database:
    db = open_database(scale, path)
    if not (settings.get_company(db) or {}).get("country"):  # the demo leaves the company profile to the user
        try:
            settings.save_company(db, SYSTEM, COMPANY)
        except ConfigError:  # a copied database without its audit key: the profile written into the copy directly
            print("(the copy has no audit key: its company profile is written without an audit event)")
            with db.engine.begin() as conn:
                conn.execute(schema.company.delete())
                conn.execute(schema.company.insert().values(
                    id=1, **CompanyIn.model_validate(COMPANY).model_dump(), updated_at=utcnow()))
    return db


def copied(source: Path) -> Path:
    """A copy of the database file, the dot-files of that file (audit head) and of its folder (audit key,
    installation id) in a new temporary folder: the original is only read."""
    folder = Path(tempfile.mkdtemp(prefix="bench_einvoice_"))
    shutil.copy2(source, folder / source.name)
    extras = [*source.parent.glob(f".{source.name}*"), *(source.parent / name for name in FOLDER_FILES)]
    for extra in extras:
        if extra.is_file():
            shutil.copy2(extra, folder / extra.name)
    return folder / source.name


def month_of(text: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{text}-01")
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def export_zip(db: Database, ids: list[int], name: str) -> None:
    """The documents without validation into a zip in memory, with the rate."""
    buffer = io.BytesIO()
    wall, cpu = time.perf_counter(), time.process_time()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in export_documents(db, SYSTEM, ids, name, validate=False):
            if item.xml is not None:
                archive.writestr(item.file_name, item.xml)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {FORMATS[name].label:<40} read + export + zip {len(ids) / seconds:6.0f} documents/s "
          f"({seconds:.2f} s wall, {cpu_seconds:.2f} s CPU: {len(ids) / cpu_seconds:.0f}/s; "
          f"zip {buffer.tell() / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--copy-of", default=None, help="an existing database to copy (with its dot-files)")
    parser.add_argument("--month", default=None, help="YYYY-MM: export every issued document of the month")
    args = parser.parse_args()
    # A folder of its own: the installation files beside a DuckDB file bind that folder to one database.
    path = copied(Path(args.copy_of)) if args.copy_of else Path(args.db or f"/tmp/bench_einvoice/{args.scale}.duckdb")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = database(path, args.scale)
        run(db, args)
        db.dispose()
    finally:
        if args.copy_of:
            shutil.rmtree(path.parent)


def run(db: Database, args: argparse.Namespace) -> None:
    rows, _ = invoices.list_invoices(db, SYSTEM, AS_OF, status=logic.ISSUED, limit=args.documents)
    ids = [row.id for row in rows]
    sample = next(row.id for row in rows if row.kind == logic.INVOICE)
    start = time.perf_counter()
    validation.warm_up()
    print(f"warm-up (schemas, 6 stylesheets): {time.perf_counter() - start:.2f} s")

    print(f"One invoice, warm (median of {args.runs} wall ms / CPU ms [best wall / CPU]; the parts: median wall):")
    company = settings.get_company(db) or {}
    document = invoices.get_invoice(db, SYSTEM, sample, as_of=AS_OF)
    for name in ("ubl", "cii", "facturx"):
        fmt = FORMATS[name]
        xml = render(document, facts_of(document, company), fmt)
        whole = timed(functools.partial(export_document, db, SYSTEM, sample, name, today=lambda: AS_OF), args.runs)
        load = timed(lambda: invoices.get_invoice(db, SYSTEM, sample, as_of=AS_OF, activity=False), args.runs)
        made = timed(functools.partial(render, document, facts_of(document, company), fmt), args.runs)
        checked = timed(functools.partial(check_rules, xml, fmt), args.runs)
        wrapped = timed(functools.partial(packaged, document, company, xml, fmt), args.runs) if fmt.pdf else None
        pdf = f", PDF/A-3 + attach {wrapped[0]:.1f}" if wrapped else ""
        print(f"  {fmt.label:<40} export + validate {whole[0]:5.1f} / {whole[1]:5.1f} [{whole[2]:5.1f} / "
              f"{whole[3]:5.1f}]  (read {load[0]:.1f}, "
              f"build XML {made[0]:.2f}, schema + EN 16931 rules {checked[0]:.1f}{pdf})")

    if args.month:
        first, last = month_of(args.month)
        ids = period_documents(db, SYSTEM, first, last)
        print(f"Without validation, the {len(ids):,} issued documents of {args.month} (export-all), read in batches:")
    else:
        print(f"Without validation, {len(ids):,} issued documents (invoices and credit notes), read in batches:")
    for name in ("ubl", "cii"):
        export_zip(db, ids, name)
    export_zip(db, ids[:200], "facturx")
    one_by_one = ids[:200]
    wall = time.perf_counter()
    for invoice_id in one_by_one:
        export_document(db, SYSTEM, invoice_id, "ubl", validate=False, today=lambda: AS_OF)
    print(f"  (one by one through export_document: {len(one_by_one) / (time.perf_counter() - wall):.0f} documents/s)")


if __name__ == "__main__":
    main()
