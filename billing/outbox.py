"""The durable outbox: the public entry for every part that sends e-mail.

A caller writes the message in its own transaction (`enqueue_document(conn, ...)`, `enqueue(conn, ...)`),
so the message exists exactly when the action that asked for it committed; `billing.outbox_worker` sends
it. The same `dedupe_key` enqueues a message once however often the action runs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlalchemy.engine import Connection

from billing import attachments, document_links, i18n, logic
from billing.attachments import AttachmentSpec
from billing.errors import NotFoundError, StateError, ValidationError
from billing.mail_templates import DEFAULT_LANGUAGE, check_message, fill, template_for
from billing.money import format_money
from billing.store import outbox as store
from billing.store import quotes as quote_store
from billing.store import records
from billing.store.mail_schema import mail_settings
from billing.store.schema import company, customers, invoices

_ADDRESS = re.compile(r"^[^@\s,;<>\"()]+@[^@\s,;<>\"()]+\.[^@\s,;<>\"()]+$")
MAX_RECIPIENTS = 20
QUEUED, SENDING, SENT, FAILED = store.QUEUED, store.SENDING, store.SENT, store.FAILED
DOCUMENT_KINDS = ("invoice", "credit_note", "quote")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message of the outbox: who it goes to, what it says, where it stands.

    status: queued | sending | sent | failed; attempts: SMTP attempts made; last_error: the server's reply
    (or the connection's failure) of the last failed attempt; next_attempt_at: when it is tried (again).
    """

    id: int
    message_id: str
    kind: str
    document_id: int | None
    customer_id: int | None
    recipients: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str
    created_at: datetime
    created_by: str
    link_id: int | None = None
    attachments: tuple[AttachmentSpec, ...] = ()


def from_row(row: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=int(row["id"]), message_id=str(row["message_id"]), kind=str(row["kind"]), document_id=row["document_id"],
        customer_id=row["customer_id"], recipients=split_addresses(row["recipients"]), cc=split_addresses(row["cc"]),
        subject=str(row["subject"]), body=str(row["body"]), status=str(row["status"]), attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"], last_attempt_at=row["last_attempt_at"], sent_at=row["sent_at"],
        last_error=str(row["last_error"] or ""), created_at=row["created_at"], created_by=str(row["created_by"]),
        link_id=row["link_id"], attachments=tuple(attachments.from_json(row["attachments"])))


def split_addresses(text: str | Sequence[str]) -> tuple[str, ...]:
    """Addresses from a comma- or semicolon-separated text (or a list), stripped, empty ones dropped."""
    items = [text] if isinstance(text, str) else list(text)
    parts = [part for item in items for part in re.split(r"[,;\s]+", item)]
    return tuple(dict.fromkeys(part.strip() for part in parts if part.strip()))


def check_addresses(to: Sequence[str], cc: Sequence[str]) -> None:
    if not to:
        raise ValidationError("Give at least one recipient's e-mail address.")
    if len(to) + len(cc) > MAX_RECIPIENTS:
        raise ValidationError(f"A message can go to at most {MAX_RECIPIENTS} addresses.")
    for address in (*to, *cc):
        if not _ADDRESS.match(address) or len(address) > 254:
            raise ValidationError(f"{address!r} is not an e-mail address.")


def new_message_id(domain: str = "billing.invalid") -> str:
    """A Message-ID fixed when the message is queued: every attempt sends the same one, so a resend after a
    crash is recognisable as the same message."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def enqueue(conn: Connection, *, kind: str, to: Sequence[str], subject: str, body: str, now: datetime,
            created_by: str, cc: Sequence[str] = (), attachment_specs: Sequence[AttachmentSpec] = (),
            document_id: int | None = None, customer_id: int | None = None, link_id: int | None = None,
            dedupe_key: str | None = None) -> int:
    """Write one message into the outbox in the caller's transaction; returns its id (the earlier message's
    id when `dedupe_key` was used before, writing nothing)."""
    to, cc = split_addresses(to), tuple(a for a in split_addresses(cc) if a not in split_addresses(to))
    check_addresses(to, cc)
    if not subject.strip() or "\n" in subject or "\r" in subject:
        raise ValidationError("The subject must be one line of text.")
    return store.insert_message(conn, {
        "message_id": new_message_id(), "dedupe_key": dedupe_key, "kind": kind, "document_id": document_id,
        "customer_id": customer_id, "link_id": link_id, "recipients": ", ".join(to), "cc": ", ".join(cc),
        "subject": subject.strip(), "body": body, "attachments": attachments.to_json(list(attachment_specs)),
        "status": QUEUED, "attempts": 0, "next_attempt_at": now, "created_at": now, "created_by": created_by})


def document_values(conn: Connection, document_id: int, as_of: date,
                    kind: str = "invoice") -> tuple[dict[str, Any], dict[str, str]]:
    """The stored header of an issued document (or a draft or sent quote) and its placeholder values (number,
    total, due date or valid-until, ...); a draft quote has no number yet: {number} stays for the sending."""
    if kind == document_links.QUOTE:
        header = quote_store.get_quote(conn, document_id)
        if header is None:
            raise NotFoundError(f"Quote {document_id} does not exist.")
        if header["status"] not in ("draft", "sent"):
            raise StateError(f"Quote {header['number']} is {header['status']}: only a draft or sent quote is sent.")
        payable, balance, due = Decimal(header["payable"]), Decimal(header["payable"]), header["valid_until"]
    else:
        header = records.get(conn, invoices, document_id)
        if header is None:
            raise NotFoundError(f"Invoice {document_id} does not exist.")
        if header["status"] != logic.ISSUED:
            raise StateError("Only an issued document can be sent (not a draft or a void one).")
        payable, due = Decimal(header["payable"]), header["due_date"]
        balance = (Decimal(0) if header["kind"] == logic.CREDIT_NOTE else
                   logic.invoice_balance(payable, Decimal(header["paid_amount"]), Decimal(header["credited_amount"])))
    customer = records.get(conn, customers, header["customer_id"]) or {}
    seller = records.get(conn, company, 1) or {}
    currency = str(header["currency"])
    language = str(customer.get("language") or DEFAULT_LANGUAGE)
    locale = i18n.document_locale(language, str(customer.get("country") or ""))
    values = {"number": str(header["number"] or ""), "total": format_money(payable, currency, locale),
              "balance": format_money(balance, currency, locale),
              "due_date": format_date(due, "long", locale=locale) if due else "",
              "customer": str(customer.get("name") or ""), "company": str(seller.get("legal_name") or ""),
              "period": format_date(as_of, "long", locale=locale)}
    if not header["number"]:
        values = {name: value for name, value in values.items() if name not in ("number", "due_date")}
    return header | {"kind": kind if kind == document_links.QUOTE else header["kind"],
                     "customer_email": str(customer.get("email") or ""), "customer_language": language,
                     "customer_einvoice_format": str(customer.get("einvoice_format") or "")}, values


def enqueue_document(conn: Connection, kind: str, document_id: int, *, now: datetime, created_by: str,
                     to: Sequence[str] | None = None, cc: Sequence[str] = (), subject: str | None = None,
                     body: str | None = None, language: str | None = None, dedupe_key: str | None = None,
                     link_days: int | None = None) -> int:
    """Queue an issued invoice or credit note, or a sent quote, for e-mail in the caller's transaction; the
    message id.

    Recipients default to the customer's e-mail address; subject and body to the template of (kind, language:
    the customer's unless given), filled in with the document's number, total, due date... in its language;
    the body's {link} becomes a new customer link (valid `link_days`, else the configured days) when the
    message is sent. The attachments are those of DOCUMENT_ATTACHMENTS for the kind, and the e-invoice in the
    customer's preferred format (if any) for an invoice or credit note. The caller checks
    permissions and writes its audit event.
    """
    if kind not in DOCUMENT_KINDS:
        raise ValidationError(f"Documents of kind {kind!r} cannot be sent.")
    if dedupe_key is not None:
        existing = store.message_by_dedupe_key(conn, dedupe_key)
        if existing is not None:
            return existing
    header, values = document_values(conn, document_id, now.date(), kind)
    if header["kind"] != kind:
        raise ValidationError(f"Document {document_id} is not a {kind.replace('_', ' ')}.")
    template = template_for(conn, kind, language or header["customer_language"])
    subject = fill(template.subject if subject is None else subject, values)
    body = fill(template.body if body is None else body, values)
    check_message(subject, body)
    recipients = split_addresses(header["customer_email"]) if to is None else split_addresses(to)
    if not recipients and to is None:
        raise ValidationError("The customer has no e-mail address: enter the recipient.")
    settings = records.get(conn, mail_settings, 1) or {}
    days = link_days or int(settings.get("link_days") or document_links.DEFAULT_DAYS)
    link_kind = document_links.QUOTE if kind == document_links.QUOTE else document_links.INVOICE
    link_id = document_links.create_link(conn, document_id, now, days, link_kind)
    return enqueue(conn, kind=kind, to=recipients, cc=cc, subject=subject, body=body, now=now,
                   created_by=created_by, attachment_specs=attachments.document_specs(
                       kind, document_id, now.date(), header["customer_einvoice_format"]),
                   document_id=document_id, customer_id=int(header["customer_id"]), link_id=link_id,
                   dedupe_key=dedupe_key)
