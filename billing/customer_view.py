"""What a customer's link shows: one document, its PDF, its payment status and how to pay it, or one quote and
the customer's answer to it; nothing else."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from billing import document_links, invoices, quotes, settings
from billing.document_links import QUOTE, DocumentLink
from billing.documents import InvoiceDocument
from billing.errors import BillingError, NotFoundError
from billing.payment_qr import PaymentDetails, payment_details
from billing.permissions import SYSTEM
from billing.store import invoices as invoice_store
from billing.store.db import Database

log = logging.getLogger("billing.customer_link")


@dataclass(frozen=True, slots=True)
class CustomerDocument:
    """A document as its link shows it: the document, the seller (company profile), how to pay it (None when
    nothing is due), the link and its token (the page's address), and the customer's preferred e-invoice format
    ('' for none), in which the link also hands out the document (the file its e-mail carries)."""

    document: InvoiceDocument
    company: dict[str, Any]
    payment: PaymentDetails | None
    link: DocumentLink
    token: str
    einvoice_format: str = ""


@dataclass(frozen=True, slots=True)
class CustomerQuote:
    """A quote as its link shows it: the quote, the seller (company profile), the link and its token."""

    quote: quotes.Quote
    company: dict[str, Any]
    link: DocumentLink
    token: str

    def open_for_answer(self, as_of: date) -> bool:
        """Whether the customer can still accept or decline it (sent, and valid on `as_of`)."""
        valid_until = self.quote.valid_until
        return self.quote.status == quotes.SENT and (valid_until is None or as_of <= valid_until)


def open_link(db: Database, token: str, now: datetime, as_of: date, *,
              record_open: bool = True) -> CustomerDocument | CustomerQuote | None:
    """The document or quote of a live link (recording the opening), or None for an unknown, expired or revoked
    token, or a document that is no longer there."""
    link = document_links.resolve(db, token, now, record_open=record_open)
    if link is None:
        return None
    if link.document_kind == QUOTE:
        try:
            quote = quotes.get_quote(db, SYSTEM, link.document_id)  # the token is the permission
        except NotFoundError:
            return None
        return CustomerQuote(quote, settings.get_company(db) or {}, link, token)
    return _document_of(db, link, token, as_of)


def open_document(db: Database, token: str, now: datetime, as_of: date, *,
                  record_open: bool = True) -> CustomerDocument | None:
    """The invoice or credit note of a live link (see `open_link`); None for a quote's link."""
    opened = open_link(db, token, now, as_of, record_open=record_open)
    return opened if isinstance(opened, CustomerDocument) else None


def answer_quote(db: Database, token: str, now: datetime, as_of: date, *, accept: bool) -> CustomerQuote | None:
    """The customer accepts or declines the quote of a live link (audited as done through that link); the quote
    as it now stands, or None for a link that is not valid or not a quote's. A quote already answered or
    expired raises StateError and stays as it is."""
    opened = open_link(db, token, now, as_of, record_open=False)
    if not isinstance(opened, CustomerQuote):
        return None
    answer = quotes.accept_quote_by_customer if accept else quotes.decline_quote_by_customer
    answer(db, opened.quote.id, as_of, link=str(opened.link.id))
    return CustomerQuote(quotes.get_quote(db, SYSTEM, opened.quote.id), opened.company, opened.link, token)


def _document_of(db: Database, link: DocumentLink, token: str, as_of: date) -> CustomerDocument | None:
    try:
        document = invoices.get_invoice(db, SYSTEM, link.document_id, as_of=as_of)  # the token is the permission
    except NotFoundError:
        return None
    company = settings.get_company(db) or {}
    with db.connect() as conn:
        einvoice_format = invoice_store.customer_einvoice_format(conn, document.id) or ""
    return CustomerDocument(document, company, payment_details(document, company), link, token, einvoice_format)


def document_pdf(db: Database, token: str, now: datetime, as_of: date) -> tuple[str, bytes] | None:
    """The file name and PDF of a live link's document or quote, or None."""
    from billing.pdf import render_invoice_pdf

    opened = open_link(db, token, now, as_of, record_open=True)
    if opened is None:
        return None
    if isinstance(opened, CustomerQuote):
        document = quotes.quote_document(db, SYSTEM, opened.quote.id)
        return f"{opened.quote.number or f'quote-{opened.quote.id}'}.pdf", quotes.render_quote_pdf(db, document)
    name = opened.document.header.number or f"document-{opened.document.id}"
    return f"{name}.pdf", render_invoice_pdf(opened.document, opened.company)


def document_einvoice(db: Database, token: str, now: datetime, as_of: date) -> tuple[str, str, bytes] | None:
    """(file name, media type, file) of a live link's invoice or credit note as an e-invoice in its customer's
    preferred format (what its e-mail carries), or None: not a valid link, a quote's, no preferred format, or a
    document that format cannot carry (logged)."""
    from billing.einvoice import export

    opened = open_link(db, token, now, as_of, record_open=True)
    if not isinstance(opened, CustomerDocument) or not opened.einvoice_format:
        return None
    try:
        return export.export_document(db, SYSTEM, opened.document.id, opened.einvoice_format, today=lambda: as_of)
    except BillingError as exc:
        log.warning("The e-invoice of document %s cannot be made: %s", opened.document.id, exc.message)
        return None
