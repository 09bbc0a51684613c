"""What an invoice says beyond its lines, as labelled rows for its view and PDF: references, delivery, payment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from billing.documents import DocumentParty, InvoiceHeader

MEANS_LABELS = {"credit_transfer": "Credit transfer", "direct_debit": "SEPA direct debit"}


def detail_rows(header: InvoiceHeader, day: Callable[[date], str]) -> list[tuple[str, str]]:
    """(label, text) of the details the invoice has (none of an invoice without them); `day` formats a date."""
    rows = [("Buyer reference", header.buyer_reference), ("Purchase order", header.order_reference),
            ("Delivery date", day(header.delivery_date) if header.delivery_date else "")]
    if header.period_start and header.period_end:
        rows.append(("Period", f"{day(header.period_start)} – {day(header.period_end)}"))
    if header.payment_means:
        mandate = f", mandate {header.mandate_reference}" if header.mandate_reference else ""
        rows.append(("Payment", MEANS_LABELS.get(header.payment_means, header.payment_means) + mandate))
    return [(label, text) for label, text in rows if text]


def identifier_texts(party: DocumentParty) -> list[str]:
    """The party's identifiers as printed: VAT ID, tax number, registration, electronic address."""
    texts = [f"VAT ID {party.tax_id}" if party.tax_id else "",
             f"Tax no. {party.tax_registration}" if party.tax_registration else "",
             f"Reg. {party.legal_id}" if party.legal_id else ""]
    return [text for text in texts if text]
