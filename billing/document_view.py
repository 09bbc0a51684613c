"""A document as the portal and the API show it, put together from its stored parts (read, or just written)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from billing import logic
from billing.documents import (
    CreditedInvoiceRef,
    CreditNoteRef,
    DocumentCustomer,
    DocumentParty,
    InvoiceAllocation,
    InvoiceDocument,
    InvoiceHeader,
    StoredAllowanceCharge,
    StoredLine,
    StoredTax,
    quantized,
    stored_totals,
)
from billing.money import ZERO


def exempt_rate_ids(lines: Iterable[StoredLine], allowance_charges: Iterable[StoredAllowanceCharge]) -> list[int]:
    """The tax rates of the body whose category needs an exemption reason (their reasons are shown)."""
    used = [*((line.tax_rate_id, line.vat_category) for line in lines),
            *((item.tax_rate_id, item.vat_category) for item in allowance_charges)]
    return sorted({rate for rate, category in used if rate and category in logic.EXEMPTION_REASON_CATEGORIES})


def shown_document(header: InvoiceHeader, lines: Sequence[StoredLine],
                   allowance_charges: Sequence[StoredAllowanceCharge], taxes: Sequence[StoredTax],
                   parties: tuple[DocumentParty | None, DocumentCustomer], rates: Iterable[dict[str, Any]],
                   as_of: date, credit_notes: Sequence[CreditNoteRef] = (),
                   allocations: Sequence[InvoiceAllocation] = (), credited_number: str | None = None
                   ) -> InvoiceDocument:
    """The document with money at its currency's minor unit, its display status as of `as_of` and its balance;
    `rates`: the rows of its exempt tax rates (exempt_rate_ids); `taxes` by category and rate."""
    reasons = {rate["category"]: header.exemption_reason or rate["exemption_reason"] for rate in rates
               if rate["category"] in logic.EXEMPTION_REASON_CATEGORIES
               and (header.exemption_reason or rate["exemption_reason"])}
    currency = header.currency
    header = quantized(header, currency)
    shown_lines = [quantized(line, currency) for line in lines]
    shown_taxes = [quantized(tax, currency) for tax in taxes]
    status = logic.document_display_status(header.kind, header.status, header.payable, header.paid_amount,
                                           header.credited_amount, header.due_date, as_of)
    balance = ZERO if header.is_credit_note else logic.invoice_balance(header.payable, header.paid_amount,
                                                                       header.credited_amount)
    seller, customer = parties
    return InvoiceDocument(
        header=header, customer=customer, seller=seller, lines=tuple(shown_lines),
        allowance_charges=tuple(quantized(item, currency) for item in allowance_charges), taxes=tuple(shown_taxes),
        totals=stored_totals(header, shown_lines, shown_taxes), balance=balance, status=status,
        credit_notes=tuple(quantized(note, currency) for note in credit_notes),
        allocations=tuple(quantized(allocation, currency) for allocation in allocations),
        credited_invoice=(CreditedInvoiceRef(header.credited_invoice_id, credited_number)
                          if header.credited_invoice_id else None),
        exemption_reasons=reasons)
