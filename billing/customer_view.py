"""What a customer's link shows: one document, its PDF, its payment status and how to pay it; nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from billing import document_links, invoices, settings
from billing.document_links import DocumentLink
from billing.documents import InvoiceDocument
from billing.errors import NotFoundError
from billing.payment_qr import PaymentDetails, payment_details
from billing.permissions import SYSTEM
from billing.store.db import Database


@dataclass(frozen=True, slots=True)
class CustomerDocument:
    """A document as its link shows it: the document, the seller (company profile), how to pay it (None when
    nothing is due), the link and its token (the page's address)."""

    document: InvoiceDocument
    company: dict[str, Any]
    payment: PaymentDetails | None
    link: DocumentLink
    token: str


def open_document(db: Database, token: str, now: datetime, as_of: date, *,
                  record_open: bool = True) -> CustomerDocument | None:
    """The document of a live link (recording the opening), or None for an unknown, expired or revoked token,
    or a document that is no longer there."""
    link = document_links.resolve(db, token, now, record_open=record_open)
    if link is None:
        return None
    try:
        document = invoices.get_invoice(db, SYSTEM, link.document_id, as_of=as_of)  # the token is the permission
    except NotFoundError:
        return None
    company = settings.get_company(db) or {}
    return CustomerDocument(document, company, payment_details(document, company), link, token)


def document_pdf(db: Database, token: str, now: datetime, as_of: date) -> tuple[str, bytes] | None:
    """The file name and PDF of a live link's document, or None."""
    from billing.pdf import render_invoice_pdf

    opened = open_document(db, token, now, as_of, record_open=True)
    if opened is None:
        return None
    name = opened.document.header.number or f"document-{opened.document.id}"
    return f"{name}.pdf", render_invoice_pdf(opened.document, opened.company)
