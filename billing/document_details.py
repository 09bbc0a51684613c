"""What an invoice says beyond its lines, as labelled rows for its view and PDF: references, delivery, payment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from billing import i18n
from billing.documents import DocumentParty, InvoiceHeader

MEANS = ("credit_transfer", "direct_debit")  # BT-81 as the portal offers it: 58 and 59

Translate = Callable[..., str]  # (key, **values) -> the text in a document's language (billing.i18n)


def _english(key: str, **values: object) -> str:
    return i18n.translate("en", key, **values)


def detail_rows(header: InvoiceHeader, day: Callable[[date], str], text: Translate = _english
                ) -> list[tuple[str, str]]:
    """(label, text) of the details the invoice has (none of an invoice without them); `day` formats a date,
    `text` words a label (English unless a document's language is given)."""
    rows = [(text("detail.buyer_reference"), header.buyer_reference),
            (text("detail.order_reference"), header.order_reference),
            (text("detail.delivery_date"), day(header.delivery_date) if header.delivery_date else "")]
    if header.period_start and header.period_end:
        rows.append((text("detail.period"), f"{day(header.period_start)} – {day(header.period_end)}"))
    if header.payment_means:
        means = text(f"means.{header.payment_means}") if header.payment_means in MEANS else header.payment_means
        mandate = ", " + text("detail.mandate", reference=header.mandate_reference) if header.mandate_reference else ""
        rows.append((text("detail.payment"), means + mandate))
    return [(label, value) for label, value in rows if value]


def identifier_texts(party: DocumentParty, text: Translate = _english) -> list[str]:
    """The party's identifiers as printed: VAT ID, tax number, registration."""
    texts = [text("document.vat_id", vat_id=party.tax_id) if party.tax_id else "",
             text("document.tax_number", number=party.tax_registration) if party.tax_registration else "",
             text("document.registration", number=party.legal_id) if party.legal_id else ""]
    return [value for value in texts if value]
