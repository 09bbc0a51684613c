"""Quotes (estimates): draft -> sent -> accepted / declined / expired -> converted into an invoice.

A quote has its own number series (QUO), given when it is first sent. Its lines and totals are an
invoice's, computed by the same `compute_totals`; converting makes an invoice draft with the same lines
and refuses if its totals would differ from the quote's by a cent (a tax rate changed meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from billing import audit, dispatch, invoices, logic, settings
from billing.documents import (
    DocumentCustomer,
    InvoiceDocument,
    InvoiceHeader,
    StoredAllowanceCharge,
    StoredLine,
    from_row,
)
from billing.errors import NotFoundError, StateError, ValidationError
from billing.models import BookDate, InvoiceDraftIn, parse
from billing.money import ZERO
from billing.pdf import QUOTE_KIND, render_invoice_pdf
from billing.permissions import SYSTEM, Actor, require
from billing.store import quotes as quote_store
from billing.store import records
from billing.store import series as series_store
from billing.store.automation_schema import quotes
from billing.store.db import Database, utcnow
from billing.store.schema import customers

DRAFT, SENT, ACCEPTED, DECLINED, EXPIRED, CONVERTED = "draft", "sent", "accepted", "declined", "expired", "converted"
STATUSES = (DRAFT, SENT, ACCEPTED, DECLINED, EXPIRED, CONVERTED)
SERIES = "QUO"
DEFAULT_VALID_DAYS = 30


class QuoteIn(InvoiceDraftIn):
    """A quote as entered: an invoice draft's customer, lines, allowances/charges and notes, and how long it
    is valid (`valid_until`; empty: 30 days from the day it is sent). `issue_date` is the quote date (empty:
    the day it is sent); `due_date` is not used."""

    valid_until: BookDate | None = None

    def body(self) -> InvoiceDraftIn:
        """The invoice draft the quote turns into (no dates)."""
        values = self.model_dump(exclude={"valid_until", "issue_date", "due_date"})
        return InvoiceDraftIn.model_validate(values)


@dataclass(frozen=True)
class Quote:
    """A stored quote: its header, the customer's name, who decided it (`decided_by`: a user, or "customer via
    link N"), `body` (what converting invoices) and, priced as an
    invoice would be, its lines, allowances/charges and totals."""

    id: int
    number: str | None
    status: str
    customer_id: int
    customer: str
    currency: str
    quote_date: date | None
    valid_until: date | None
    invoice_id: int | None
    decided_on: date | None
    decided_by: str | None
    body: InvoiceDraftIn
    lines: tuple[StoredLine, ...]
    allowance_charges: tuple[StoredAllowanceCharge, ...]
    totals: logic.Totals


def _stored(conn: Connection, quote_id: int) -> dict[str, Any]:
    row = quote_store.get_quote(conn, quote_id)
    if row is None:
        raise NotFoundError(f"Quote {quote_id} does not exist.")
    return row


def _priced(conn: Connection, body: InvoiceDraftIn) -> tuple[dict[str, Any], list[StoredLine],
                                                              list[StoredAllowanceCharge], logic.Totals]:
    customer = invoices.customer_for_invoice(conn, body.customer_id)
    return customer, *invoices.priced_body(conn, body, body.currency or customer["currency"])


def _values(conn: Connection, quote: QuoteIn) -> dict[str, Any]:
    if quote.valid_until is not None and quote.issue_date is not None and quote.valid_until < quote.issue_date:
        raise ValidationError("The quote is valid until a date before its own date.", param="valid_until")
    body = quote.body()
    customer, _, _, totals = _priced(conn, body)
    return {"customer_id": customer["id"], "currency": body.currency or customer["currency"],
            "quote_date": quote.issue_date, "valid_until": quote.valid_until, "body": body.model_dump_json(),
            "tax_exclusive": totals.tax_exclusive, "tax_total": totals.tax_total, "payable": totals.payable}


def create_quote(db: Database, actor: Actor, data: QuoteIn | dict[str, Any]) -> int:
    """Save a new quote as a draft; its id."""
    require(db, actor, "invoices.write")
    quote = parse(QuoteIn, data)

    def work(conn: Connection) -> int:
        values = {**_values(conn, quote), "status": DRAFT, "created_by": actor.username, "created_at": utcnow()}
        quote_id = records.insert(conn, quotes, values)
        audit.record(conn, actor, "quote.create", "quote", quote_id, after=values)
        return quote_id

    return db.transaction(work)


def update_quote(db: Database, actor: Actor, quote_id: int, data: QuoteIn | dict[str, Any]) -> None:
    """Change a draft quote."""
    require(db, actor, "invoices.write")
    quote = parse(QuoteIn, data)

    def work(conn: Connection) -> None:
        before = _stored(conn, quote_id)
        _check_status(before, (DRAFT,), "changed")
        values = _values(conn, quote)
        records.update(conn, quotes, quote_id, values)
        audit.record(conn, actor, "quote.update", "quote", quote_id, before={"body": before["body"]}, after=values)

    db.transaction(work)


def _check_status(row: dict[str, Any], allowed: tuple[str, ...], doing: str) -> None:
    if row["status"] not in allowed:
        name = row["number"] or f"draft {row['id']}"
        raise StateError(f"Quote {name} is {row['status']}: it cannot be {doing}.")


def mark_sent(conn: Connection, actor: Actor, quote_id: int, as_of: date) -> str:
    """In the caller's transaction: number a draft quote (its date `as_of` unless set; valid 30 days unless set)
    and mark it sent; a sent quote stays as it is. Its number."""
    row = _stored(conn, quote_id)
    _check_status(row, (DRAFT, SENT), "sent")
    if row["status"] == DRAFT:
        on = row["quote_date"] or as_of
        until = row["valid_until"] or on + timedelta(days=DEFAULT_VALID_DAYS)
        if until < on:
            raise ValidationError("The quote is valid until a date before its own date.", param="valid_until")
        seq, pattern = series_store.take_next(conn, SERIES)
        values = {"status": SENT, "number": logic.format_number(pattern, seq, on), "quote_date": on,
                  "valid_until": until}
        records.update(conn, quotes, quote_id, values)
        audit.record(conn, actor, "quote.send", "quote", quote_id, before={"status": DRAFT}, after=values)
        return str(values["number"])
    return str(row["number"])


def send_quote(db: Database, actor: Actor, quote_id: int, as_of: date) -> str:
    """Mark a quote sent (see `mark_sent`) and ask for it to be sent to the customer with the quote template
    (through the outbox when the customer has an e-mail address); sending it again only asks again. Its number."""
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> str:
        number = mark_sent(conn, actor, quote_id, as_of)
        dispatch.request_send(conn, dispatch.QUOTE, quote_id, f"quote-{as_of.isoformat()}", as_of)
        return number

    return db.transaction(work)


def _decide(db: Database, actor: Actor, quote_id: int, as_of: date, status: str, by: str) -> None:
    def work(conn: Connection) -> None:
        row = _stored(conn, quote_id)
        _check_status(row, (SENT,), "accepted or declined")
        if row["valid_until"] is not None and as_of > row["valid_until"]:
            raise StateError(f"Quote {row['number']} expired on {row['valid_until'].isoformat()}: it can no longer "
                             "be accepted or declined.")
        values = {"status": status, "decided_on": as_of, "decided_by": by}
        records.update(conn, quotes, quote_id, values)
        audit.record(conn, actor, f"quote.{'accept' if status == ACCEPTED else 'decline'}", "quote", quote_id,
                     before={"status": SENT}, after=values)

    db.transaction(work)


def accept_quote(db: Database, actor: Actor, quote_id: int, as_of: date) -> None:
    """Record that the customer accepted a sent quote (told by them, by phone or mail)."""
    require(db, actor, "invoices.write")
    _decide(db, actor, quote_id, as_of, ACCEPTED, actor.username)


def decline_quote(db: Database, actor: Actor, quote_id: int, as_of: date) -> None:
    require(db, actor, "invoices.write")
    _decide(db, actor, quote_id, as_of, DECLINED, actor.username)


def accept_quote_by_customer(db: Database, quote_id: int, as_of: date, *, link: str) -> None:
    """The customer accepted a sent quote through its link. Call only after the link was checked (unexpired,
    not revoked, for this quote): it acts without a user. `link` names the link in the audit trail."""
    _decide(db, SYSTEM, quote_id, as_of, ACCEPTED, f"customer via link {link}")


def decline_quote_by_customer(db: Database, quote_id: int, as_of: date, *, link: str) -> None:
    """The customer declined a sent quote through its link (see `accept_quote_by_customer`)."""
    _decide(db, SYSTEM, quote_id, as_of, DECLINED, f"customer via link {link}")


def expire_quotes(db: Database, actor: Actor, as_of: date) -> list[int]:
    """Mark every sent quote whose validity ended before `as_of` as expired; their ids."""
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> list[int]:
        expired = quote_store.expire_sent(conn, as_of)
        for quote_id in expired:
            audit.record(conn, actor, "quote.expire", "quote", quote_id, before={"status": SENT},
                         after={"status": EXPIRED, "decided_on": as_of})
        return expired

    return db.transaction(work)


def convert_quote(db: Database, actor: Actor, quote_id: int) -> int:
    """An invoice draft with the quote's customer, lines, allowances/charges and notes; the quote is marked
    converted. Refused if the invoice's totals would not be the quote's to the cent. The draft's id."""
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> int:
        row = _stored(conn, quote_id)
        _check_status(row, (ACCEPTED, SENT), "converted into an invoice")
        invoice_id = invoices.insert_draft(conn, actor, InvoiceDraftIn.model_validate_json(row["body"]))
        header = invoices.header_of(conn, invoice_id)
        if (header.tax_exclusive, header.tax_total, header.payable) != (
                row["tax_exclusive"], row["tax_total"], row["payable"]):
            raise StateError(f"Quote {row['number']}'s total {row['payable']} would become {header.payable} on an "
                             "invoice (a tax rate changed since it was made): make a new quote.")
        values = {"status": CONVERTED, "invoice_id": invoice_id}
        records.update(conn, quotes, quote_id, values)
        audit.record(conn, actor, "quote.convert", "quote", quote_id, before={"status": row["status"]}, after=values)
        return invoice_id

    return db.transaction(work)


def get_quote(db: Database, actor: Actor, quote_id: int) -> Quote:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        row = _stored(conn, quote_id)
        body = InvoiceDraftIn.model_validate_json(row["body"])
        _, lines, allowance_charges, totals = _priced(conn, body)
    return Quote(id=row["id"], number=row["number"], status=row["status"], customer_id=row["customer_id"],
                 customer=row["customer"], currency=row["currency"], quote_date=row["quote_date"],
                 valid_until=row["valid_until"], invoice_id=row["invoice_id"], decided_on=row["decided_on"],
                 decided_by=row["decided_by"], body=body, lines=tuple(lines),
                 allowance_charges=tuple(allowance_charges), totals=totals)


def list_quotes(db: Database, actor: Actor, status: str | None = None) -> list[dict[str, Any]]:
    """Quotes newest first (number, status, customer, dates, totals, invoice id)."""
    require(db, actor, "invoices.read")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"Unknown quote status '{status}'.")
    with db.connect() as conn:
        return quote_store.list_quotes(conn, status=status)


def quote_document(db: Database, actor: Actor, quote_id: int) -> InvoiceDocument:
    """The quote in the shape the PDF renders (kind "quote", due date = valid until)."""
    quote = get_quote(db, actor, quote_id)
    with db.connect() as conn:
        customer = records.get(conn, customers, quote.customer_id)
    if customer is None:
        raise NotFoundError(f"Customer {quote.customer_id} does not exist.")
    totals = quote.totals
    header = InvoiceHeader(
        id=quote.id, kind=QUOTE_KIND, number=quote.number, status=quote.status, customer_id=quote.customer_id,
        currency=quote.currency, issue_date=quote.quote_date, due_date=quote.valid_until, credited_invoice_id=None,
        line_total=totals.line_total, allowance_total=totals.allowance_total, charge_total=totals.charge_total,
        tax_exclusive=totals.tax_exclusive, tax_total=totals.tax_total, tax_inclusive=totals.tax_inclusive,
        prepaid=totals.prepaid, rounding=totals.rounding, payable=totals.payable, series=SERIES,
        notes=quote.body.notes, void_reason="", paid_amount=ZERO, credited_amount=ZERO,
        created_at=utcnow(), issued_at=None, voided_on=None, created_by="")
    return InvoiceDocument(
        header=header, customer=from_row(DocumentCustomer, customer),
        lines=quote.lines, allowance_charges=quote.allowance_charges,
        taxes=tuple(invoices.tax_records(totals)), totals=totals, balance=ZERO, status=quote.status)


def quote_pdf(db: Database, actor: Actor, quote_id: int) -> bytes:
    """The quote as a PDF (titled QUOTE, with its validity and no payment section)."""
    return render_quote_pdf(db, quote_document(db, actor, quote_id))


def render_quote_pdf(db: Database, document: InvoiceDocument) -> bytes:
    return render_invoice_pdf(document, settings.get_company(db) or {})
