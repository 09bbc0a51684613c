"""A period's issued documents exported as e-invoices in batches (a few queries per 500 documents, not 7 each)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from billing import parties, settings
from billing.documents import CreditedInvoiceRef, InvoiceDocument, quantized, stored_totals
from billing.einvoice.export import check_rules, facts_of, file_name, format_of, packaged, render
from billing.errors import BillingError
from billing.money import ZERO
from billing.permissions import Actor, require
from billing.store import document_batch
from billing.store.db import Database

BATCH = 500


@dataclass(frozen=True, slots=True)
class Exported:
    """One document of a bulk export: its number and file name, and the file (XML, or the Factur-X PDF) or why
    there is none."""

    number: str
    file_name: str
    xml: bytes | None
    problem: str = ""


def period_documents(db: Database, actor: Actor, date_from: date, date_to: date) -> list[int]:
    """The ids of the issued invoices and credit notes dated in the period, oldest first."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return document_batch.issued_ids(conn, date_from, date_to)


def export_documents(db: Database, actor: Actor, ids: list[int], fmt: str, *, validate: bool = True
                     ) -> Iterator[Exported]:
    """Each document in the format, in the order of `ids`; one that is refused or fails its rules is reported with
    the reason in words, and the others are exported. The permission is checked again for every batch."""
    chosen = format_of(fmt)
    company = settings.get_company(db) or {}
    for start in range(0, len(ids), BATCH):
        for document, preceding in _documents(db, actor, ids[start:start + BATCH], company):
            name = file_name(document, chosen)
            try:
                xml = render(document, facts_of(document, company, preceding), chosen)
                if validate:
                    check_rules(xml, chosen)
                xml = packaged(document, company, xml, chosen)
            except BillingError as exc:
                yield Exported(document.header.number or "", name, None, exc.message)
                continue
            yield Exported(document.header.number or "", name, xml)


def _documents(db: Database, actor: Actor, ids: list[int], company: dict[str, Any]
               ) -> list[tuple[InvoiceDocument, date | None]]:
    """The documents as `invoices.get_invoice` gives them (seller and buyer as frozen at issue, the header's
    exemption reason before the tax rate's; without payments and credit notes, which an e-invoice does not show),
    each with the issue date of the invoice it credits."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        heads = document_batch.headers_with_parties(conn, ids)
        bodies = document_batch.bodies(conn, ids)
        customers = document_batch.customer_rows(conn, sorted({h.customer_id for h, _ in heads.values()}))
        credited = document_batch.headers(conn, sorted({h.credited_invoice_id for h, _ in heads.values()
                                                        if h.credited_invoice_id}))
        reasons = document_batch.exemption_reasons(conn)
    found = []
    for invoice_id in ids:
        stored, frozen = heads[invoice_id]
        header = quantized(stored, stored.currency)
        lines, allowances, taxes = bodies[invoice_id]
        lines = [quantized(line, header.currency) for line in lines]
        taxes = [quantized(tax, header.currency) for tax in taxes]
        rate_ids = {line.tax_rate_id for line in lines} | {item.tax_rate_id for item in allowances}
        exemptions = {reasons[rate][0]: header.exemption_reason or reasons[rate][1]
                      for rate in sorted(r for r in rate_ids if r in reasons)
                      if header.exemption_reason or reasons[rate][1]}
        seller, buyer = parties.parties_from(frozen, customers[header.customer_id], company or None)
        source = credited.get(header.credited_invoice_id or 0)
        document = InvoiceDocument(
            header=header, customer=buyer, seller=seller, lines=tuple(lines),
            allowance_charges=tuple(quantized(item, header.currency) for item in allowances), taxes=tuple(taxes),
            totals=stored_totals(header, lines, taxes), balance=ZERO, status=header.status,
            credited_invoice=CreditedInvoiceRef(source.id, source.number) if source else None,
            exemption_reasons=exemptions)
        found.append((document, source.issue_date if source else None))
    return found
