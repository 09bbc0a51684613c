"""Document speed: warm invoice PDF render, invoices rendered in threads at once, CSV of 1M rows, PDF of 10k rows.

Usage (from the repository root): python -m benchmarks.bench_documents [--runs 100] [--threads 8]
[--csv-rows 1000000] [--pdf-rows 10000] [--copy-of /tmp/bench_L.duckdb [--db-runs 50] [--only-db]]. Prints
wall-clock figures, with CPU time beside them (on a busy machine the two differ). Targets: invoice <= 30 ms warm,
every threaded render succeeds (`--threads` threads x `--runs` renders, a short and a two-page invoice in turn),
CSV of 1M rows <= 5 s, PDF of 10k rows <= 4 s. With --copy-of, on a copy of that database (never the original):
an issued invoice read, its PDF, its Factur-X PDF and its e-mail with the PDF attached, per invoice (medians).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.bench_einvoice_export import copied, database, timed
from billing import documents, invoices, logic, settings
from billing.attachments import AttachmentSpec
from billing.einvoice.export import FORMATS, facts_of, packaged, render
from billing.exports import column_totals, table_to_csv, table_to_pdf
from billing.invoices import with_nets
from billing.mail_settings import Delivery
from billing.money import ZERO
from billing.outbox import OutboxMessage
from billing.outbox_worker import build_message
from billing.payment_qr import qr_modules
from billing.pdf import render_invoice_pdf
from billing.permissions import SYSTEM
from billing.smtp import SmtpConfig
from billing.store.db import Database
from billing.store.invoices import TOTAL_COLUMNS

COMPANY: dict[str, Any] = {
    "legal_name": "Acme Consulting GmbH", "address": "Hauptstraße 1\n10115 Berlin", "country": "DE",
    "tax_id": "DE136695976", "email": "billing@acme.example", "bank_details": "Commerzbank Berlin",
    "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",  # an open EUR invoice: with a payment QR code
    "base_currency": "EUR", "timezone": "Europe/Berlin", "page_size": "A4", "logo": None,
}


def invoice(descriptions: list[str]) -> documents.InvoiceDocument:
    lines = [documents.StoredLine(
        position=n + 1, product_id=None, description=text, quantity=Decimal(n + 1), unit="h",
        unit_price=Decimal("95.00"), base_quantity=Decimal(1), discount_percent=Decimal(5 * (n % 2)),
        discount_amount=ZERO, charge_amount=ZERO, tax_rate_id=1, vat_category="S", vat_rate=Decimal(19),
        net_amount=ZERO) for n, text in enumerate(descriptions)]
    charges = [documents.StoredAllowanceCharge(position=1, is_charge=True, reason="Travel", amount=Decimal("40.00"),
                                               percent=None, tax_rate_id=1, vat_category="S", vat_rate=Decimal(19))]
    totals = documents.computed_totals(lines, charges, "EUR")
    header = documents.InvoiceHeader(
        id=1, kind=logic.INVOICE, series="INV", number="INV-2025-00042", status=logic.ISSUED, customer_id=1,
        currency="EUR", issue_date=date(2025, 3, 1), due_date=date(2025, 3, 31), credited_invoice_id=None,
        notes="Thank you.", void_reason="", **{name: getattr(totals, name) for name in TOTAL_COLUMNS},
        paid_amount=ZERO, credited_amount=ZERO, created_at=datetime(2025, 3, 1, 9), issued_at=None, voided_on=None,
        created_by="admin")
    customer = documents.DocumentCustomer(
        id=1, name="Zakład Usług Łączności Sp. z o.o.", email="", address="ul. Żółkiewskiego 12\n00-001 Warszawa",
        country="PL", tax_id="PL5260001246", terms_days=30)
    return documents.InvoiceDocument(
        header=header, customer=customer, lines=tuple(with_nets(lines, totals)), allowance_charges=tuple(charges),
        taxes=tuple(documents.StoredTax.from_logic(t) for t in totals.tax_breakdown), totals=totals,
        balance=totals.payable, status=logic.UNPAID)


def table(rows: int) -> pd.DataFrame:
    start = date(2024, 1, 1)
    return pd.DataFrame({
        "number": [f"INV-2024-{n:07d}" for n in range(rows)],
        "customer": [("Müller GmbH", "Zakład Łączności", "=HYPERLINK(\"x\")", "Acme Ltd")[n % 4] for n in range(rows)],
        "issue_date": [start + timedelta(days=n % 365) for n in range(rows)],
        "due_date": [start + timedelta(days=n % 365 + 30) for n in range(rows)],
        "amount": [Decimal(n % 1_000_000 - 20_000).scaleb(-2) for n in range(rows)],
        "balance": [Decimal(n % 50_000).scaleb(-2) for n in range(rows)],
        "currency": ["EUR"] * rows,
        "status": [("paid", "unpaid", "overdue")[n % 3] for n in range(rows)],
    })


def clocked(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def rendered_anew(render: Callable[[], bytes]) -> bytes:
    qr_modules.cache_clear()
    return render()


def threaded(renders: list[Callable[[], bytes]], threads: int, runs: int) -> str:
    """Render `renders` in turn, `runs` per thread in `threads` threads at once: wall time and failures."""
    def render(n: int) -> str | None:
        try:
            return None if renders[n % len(renders)]().startswith(b"%PDF") else "not a PDF"
        except Exception as exc:  # counted and named below: the figure is how many fail, and how
            return type(exc).__name__

    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        failures = [failure for failure in pool.map(render, range(threads * runs)) if failure]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    named = f" ({', '.join(sorted(set(failures)))})" if failures else ""
    return (f"{threads} threads x {runs} invoice renders: {wall:.1f} s (CPU {cpu:.1f} s), "
            f"{wall / (threads * runs) * 1000:.1f} ms per render, {len(failures)} failed{named}")


def stored_invoice_figures(db: Database, runs: int) -> None:
    """Per invoice of the database: read, PDF, Factur-X PDF, e-mail with the PDF (median wall / CPU ms of `runs`)."""
    from benchmarks.bench_reports import AS_OF

    rows, _ = invoices.list_invoices(db, SYSTEM, AS_OF, status=logic.ISSUED, limit=200)
    invoice_id = next(row.id for row in rows if row.kind == logic.INVOICE)
    company = settings.get_company(db) or {}
    document = invoices.get_invoice(db, SYSTEM, invoice_id, as_of=AS_OF)
    cii = render(document, facts_of(document, company), FORMATS["facturx"])
    delivery = Delivery(SmtpConfig("smtp", "127.0.0.1", 25), "Acme", "billing@acme.example", "", "")
    message = OutboxMessage(
        id=1, message_id="<bench@billing.invalid>", kind="invoice", document_id=invoice_id, customer_id=None,
        recipients=("ap@example.com",), cc=(), subject="Invoice", body="Hello,\n\nyour invoice.\n", status="sending",
        attempts=0, next_attempt_at=datetime(2026, 12, 7), last_attempt_at=None, sent_at=None, last_error="",
        created_at=datetime(2026, 12, 7), created_by="bench",
        attachments=(AttachmentSpec("document_pdf", {"document_id": invoice_id, "as_of": AS_OF.isoformat()}),))
    print(f"Invoice {document.header.number} of the database, warm (median of {runs}: wall ms / CPU ms "
          "[best wall / CPU]):")
    actions: list[tuple[str, Callable[[], object]]] = [
        ("read (invoices.get_invoice)", lambda: invoices.get_invoice(db, SYSTEM, invoice_id, as_of=AS_OF)),
        ("render PDF", functools.partial(render_invoice_pdf, document, company)),
        ("Factur-X PDF (PDF/A-3B + XML)", functools.partial(packaged, document, company, cii, FORMATS["facturx"])),
        ("e-mail with the PDF (read + render)", functools.partial(build_message, db, message, delivery,
                                                                  datetime(2026, 12, 7))),
    ]
    for label, action in actions:
        for _ in range(3):
            action()
        wall, cpu, best_wall, best_cpu = timed(action, runs)
        print(f"  {label:<38} {wall:6.1f} / {cpu:6.1f}  [{best_wall:6.1f} / {best_cpu:6.1f}]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--pdf-rows", type=int, default=10_000)
    parser.add_argument("--copy-of", default=None, help="a database to copy (with its dot-files) for per-invoice "
                                                        "figures of its invoices")
    parser.add_argument("--db-runs", type=int, default=50)
    parser.add_argument("--only-db", action="store_true", help="only the figures of the --copy-of database")
    args = parser.parse_args()
    if args.copy_of:
        path = copied(Path(args.copy_of))
        try:
            db = database(path, "L")
            stored_invoice_figures(db, args.db_runs)
            db.dispose()
        finally:
            shutil.rmtree(path.parent)
        if args.only_db:
            return

    latin = ["Consulting – Łódź office", "Workshop", "Travel time", "Report", "Support"]
    for label, descriptions, cached in [
        ("invoice, Latin text", latin, True),
        ("invoice, Greek and Cyrillic", ["Consulting €", "Ωμέγα widget", "Привет subscription", "Report", "Support"],
         True),
        # the QR code's modules are cached per payload: the first print of an invoice makes them (segno)
        ("invoice, Latin text, its QR code made anew", latin, False),
    ]:
        render = functools.partial(render_invoice_pdf, invoice(descriptions), COMPANY)
        if not cached:
            render = functools.partial(rendered_anew, render)
        cold = clocked(render)
        for _ in range(5):
            render()
        samples = [clocked(render) for _ in range(args.runs)]
        walls = sorted(wall for wall, _ in samples)
        print(f"{label}: cold {cold[0] * 1000:.0f} ms; warm median {statistics.median(walls) * 1000:.1f} ms "
              f"(CPU {statistics.median(cpu for _, cpu in samples) * 1000:.1f} ms), "
              f"p95 {walls[int(len(walls) * 0.95) - 1] * 1000:.1f} ms over {args.runs} renders")

    short = invoice(["Consulting – Łódź office", "Workshop", "Travel time", "Report", "Support"])
    long = invoice([f"Consulting, week {n} – Łódź office" for n in range(1, 46)])  # two pages
    print(threaded([functools.partial(render_invoice_pdf, view, COMPANY) for view in (short, long)],
                   args.threads, args.runs))

    big = table(args.csv_rows)
    wall, cpu = clocked(lambda: table_to_csv(big))
    print(f"CSV of {args.csv_rows:,} rows x {big.shape[1]} columns: {wall:.2f} s (CPU {cpu:.2f} s)")

    rows = big.head(args.pdf_rows).copy()
    table_to_pdf(rows.head(10), "warm-up")
    totals = column_totals(rows, ["amount", "balance"])
    wall, cpu = clocked(lambda: table_to_pdf(rows, "Invoices", "Status: all · Currency: EUR", totals))
    print(f"PDF of {args.pdf_rows:,} rows x {rows.shape[1]} columns: {wall:.2f} s (CPU {cpu:.2f} s)")


if __name__ == "__main__":
    main()
