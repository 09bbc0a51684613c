"""Whole-database integrity check: the audit chain, every document's totals and seals, every payment's
seals, every balance."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing import bulk_seals
from billing.audit import chain_keys, check_chain
from billing.documents import StoredAllowanceCharge, from_row
from billing.logic import Line, TaxSubtotal, compute_totals, rate_key
from billing.money import round_money
from billing.permissions import Actor, require
from billing.seals import SealBook
from billing.store import integrity
from billing.store.bulk import without_jit
from billing.store.db import Database
from billing.store.snapshots import Beside, read_ahead

MAX_PROBLEMS = 50


@dataclass
class VerifyReport:
    documents_checked: int = 0
    audit_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("... more problems not listed")

    def extend(self, problems: Iterator[str]) -> None:
        for problem in problems:
            self.add(problem)


def verify_database(db: Database, actor: Actor) -> VerifyReport:
    """Check everything that must hold; the report lists each problem found."""
    require(db, actor, "audit.read")
    report = VerifyReport()
    keys = chain_keys(db.url)  # before the database is read: the recorded head may only lag behind it
    with db.connect() as conn:
        without_jit(conn)
        # The balances and the report data are checked in SQL alone: on PostgreSQL the server does that
        # (in the same snapshot) while this process recomputes the documents and seals.
        sums = Beside(db, conn, lambda other: list(integrity.balance_problems(other)))
        book = SealBook()
        chain = check_chain(conn, keys, book.add_event)
        report.audit_events = chain.events
        if not chain.ok:
            report.add(f"Audit trail: {chain.problem}")
        # An unkeyed chain of an older version sealed nothing yet; a broken chain's seals are not evidence.
        book.complete = keys.keyed_from is not None and keys.keyed_from <= chain.events
        for batch in read_ahead(integrity.document_batches(conn)):
            # The seals column-wise (bulk_seals): the digests document_digest gives, at a fraction of the cost.
            digests = dict(bulk_seals.document_digests(batch)) if chain.ok else {}
            for document in integrity.batch_documents(batch):
                report.documents_checked += 1
                _check_document(report, document)
                if chain.ok:
                    report.extend(book.check_document(document, digests[document[0]["id"]]))
        if chain.ok:
            for payment, allocations in integrity.payments_with_allocations(conn, in_bulk=True):
                report.extend(book.check_payment(payment, allocations))
            report.extend(book.finish())
        for problem in sums.result():
            report.add(problem)
    return report


# What integrity does not read of an allowance/charge (nor does a recomputation need it): its tax rate picked.
_UNREAD = {"tax_rate_id": None}
_TOTALS = ("line_total", "allowance_total", "charge_total", "tax_exclusive", "tax_total", "tax_inclusive", "payable")


def _entries(breakdown: Iterable[TaxSubtotal]) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """A VAT breakdown as sorted plain tuples (not dataclasses.astuple, which deep-copies every Decimal: 2.0 s
    of CPU instead of 0.4 s for the documents of scale M)."""
    return sorted((entry.vat_category, entry.vat_rate, entry.taxable, entry.tax) for entry in breakdown)


def _line(row: dict[str, Any]) -> Line:
    """A stored line's row as `logic.compute_totals` takes it (`StoredLine.to_logic`), straight from the row:
    verify recomputes a million documents at scale L, and the records in between cost as much as the sums."""
    return Line(quantity=row["quantity"], net_price=row["unit_price"], vat_category=row["vat_category"],
                vat_rate=row["vat_rate"], base_quantity=row["base_quantity"],
                discount_percent=row["discount_percent"], discount_amount=row["discount_amount"],
                charge_amount=row["charge_amount"])


def _check_document(report: VerifyReport, document: integrity.Document) -> None:
    """Recompute a document's totals, line nets and VAT breakdown from its stored lines and allowances/charges,
    and compare them with what it stored."""
    header, line_rows, allowance_rows, tax_rows = document
    label = header["number"] or f"draft {header['id']}"
    if not line_rows:
        report.add(f"{label}: has no lines")
        return
    currency = header["currency"]
    allowance_charges = [from_row(StoredAllowanceCharge, {**_UNREAD, **row}).to_logic() for row in allowance_rows]
    totals = compute_totals([_line(row) for row in line_rows], allowance_charges, currency)
    for name in _TOTALS:
        stored = round_money(header[name], currency)
        if stored != getattr(totals, name):
            report.add(f"{label}: stored {name} {stored} but its lines give {getattr(totals, name)}")
    for row, net in zip(line_rows, totals.line_nets, strict=True):
        if round_money(row["net_amount"], currency) != net:
            report.add(f"{label} line {row['position']}: stored net {row['net_amount']} but computed {net}")
    # The stored breakdown as StoredTax.to_logic gives it, its amounts rounded as the document shows them.
    stored_taxes = sorted((category, rate_key(rate), round_money(taxable, currency), round_money(tax, currency))
                          for category, rate, taxable, tax in tax_rows)
    if _entries(totals.tax_breakdown) != stored_taxes:
        report.add(f"{label}: stored VAT breakdown differs from the computed one")


def iter_problems(report: VerifyReport) -> Iterator[str]:
    yield from report.problems
