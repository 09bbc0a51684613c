"""Sending documents by e-mail from the portal and the API, and what was sent: the services behind the
"Send" dialog, the document's mail history and the Outbox page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Connection

from billing import attachments, audit, document_links, outbox
from billing.attachments import AttachmentSpec
from billing.document_links import DocumentLink
from billing.errors import NotFoundError, StateError
from billing.mail_templates import DEFAULT_LANGUAGE, MailTemplate, fill, reset_template, save_template, template_for
from billing.outbox import FAILED, QUEUED, OutboxMessage
from billing.permissions import Actor, require
from billing.reports.statements import Statement
from billing.store import outbox as store
from billing.store import records
from billing.store.db import Database
from billing.store.schema import company


@dataclass(frozen=True, slots=True)
class Draft:
    """What the Send dialog proposes: recipients (the customer's e-mail), subject and body from the template;
    `einvoice_format`: the customer's preferred e-invoice format, whose file an invoice is sent with ('' for none)."""

    to: tuple[str, ...]
    subject: str
    body: str
    einvoice_format: str = ""


@dataclass(frozen=True, slots=True)
class MailHistory:
    """A document's messages (newest last) and its customer links (whether and when they were opened)."""

    messages: tuple[OutboxMessage, ...]
    links: tuple[DocumentLink, ...]


def draft_for_document(db: Database, actor: Actor, kind: str, document_id: int, as_of: date,
                       language: str | None = None) -> Draft:
    """The e-mail a document is sent with, from the template of its kind in `language` (the customer's unless
    given), filled in."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        header, values = outbox.document_values(conn, document_id, as_of, kind)
        template = template_for(conn, kind, language or header["customer_language"])
    einvoice = header["customer_einvoice_format"] if kind in attachments.EINVOICE_KINDS else ""
    return Draft(outbox.split_addresses(header["customer_email"]), fill(template.subject, values),
                 fill(template.body, values), einvoice)


def send_document(db: Database, actor: Actor, kind: str, document_id: int, *, to: Sequence[str], cc: Sequence[str],
                  subject: str, body: str, now: datetime) -> int:
    """Queue an issued invoice or credit note, or a quote, for e-mail (with its PDF and a customer link); returns
    the message's id. A draft quote is numbered and marked sent in the same transaction. Audited on the
    document."""
    from billing import quotes

    require(db, actor, "invoices.write")
    entity = "quote" if kind == document_links.QUOTE else "invoice"

    def work(conn: Connection) -> int:
        if entity == "quote":
            quotes.mark_sent(conn, actor, document_id, now.date())
        message_id = outbox.enqueue_document(conn, kind, document_id, now=now, created_by=actor.audit_name,
                                             to=to, cc=cc, subject=subject, body=body)
        audit.record(conn, actor, "quote.mail" if entity == "quote" else "invoice.send", entity, document_id,
                     after={"message": message_id, "to": list(outbox.split_addresses(to)),
                            "cc": list(outbox.split_addresses(cc))})
        return message_id

    return db.transaction(work)


def draft_for_statement(db: Database, actor: Actor, statement: Statement) -> Draft:
    from billing.money import format_money

    require(db, actor, "reports.read")
    with db.connect() as conn:
        template = template_for(conn, "statement")
        seller = records.get(conn, company, 1) or {}
    values = {"customer": str(statement.customer.get("name") or ""), "company": str(seller.get("legal_name") or ""),
              "period": f"{statement.date_from} to {statement.date_to}",
              "balance": format_money(statement.closing_balance, statement.currency)}
    return Draft(outbox.split_addresses(str(statement.customer.get("email") or "")), fill(template.subject, values),
                 fill(template.body, values))


def send_statement(db: Database, actor: Actor, statement: Statement, *, to: Sequence[str], cc: Sequence[str],
                   subject: str, body: str, now: datetime) -> int:
    """Queue a customer's statement (as its PDF) for e-mail; returns the message's id."""
    require(db, actor, "reports.read")
    require(db, actor, "invoices.write")
    customer_id = int(str(statement.customer["id"]))
    spec = AttachmentSpec("statement_pdf", {
        "customer_id": customer_id, "currency": statement.currency, "date_from": statement.date_from.isoformat(),
        "date_to": statement.date_to.isoformat(), "as_of": now.date().isoformat()})

    def work(conn: Connection) -> int:
        message_id = outbox.enqueue(conn, kind="statement", to=to, cc=cc, subject=subject, body=body, now=now,
                                    created_by=actor.audit_name, attachment_specs=[spec], customer_id=customer_id)
        audit.record(conn, actor, "customer.send_statement", "customer", customer_id,
                     after={"message": message_id, "currency": statement.currency,
                            "from": statement.date_from.isoformat(), "to": statement.date_to.isoformat()})
        return message_id

    return db.transaction(work)


def mail_history(db: Database, actor: Actor, document_id: int,
                 document_kind: str = document_links.INVOICE) -> MailHistory:
    """What was sent of an invoice or credit note (`document_kind` INVOICE) or of a quote (QUOTE), and its links."""
    require(db, actor, "invoices.read")
    quote = document_kind == document_links.QUOTE
    with db.connect() as conn:
        messages = tuple(outbox.from_row(row) for row in store.messages_of_document(conn, document_id, quote=quote))
    return MailHistory(messages, tuple(document_links.links_of_document(db, actor, document_id, document_kind)))


def list_outbox(db: Database, actor: Actor, *, status: str | None = None, limit: int = 200) -> list[OutboxMessage]:
    """The newest messages (all, or of one status), for the Outbox page (owner/admin)."""
    require(db, actor, "settings.write")
    with db.connect() as conn:
        return [outbox.from_row(row) for row in store.list_messages(conn, status=status, limit=limit)]


def outbox_counts(db: Database, actor: Actor) -> dict[str, int]:
    require(db, actor, "settings.write")
    with db.connect() as conn:
        return store.counts_by_status(conn)


def resend(db: Database, actor: Actor, message_id: int, now: datetime) -> None:
    """Queue a failed message again (or a queued one for now); a sent one is not sent twice from here."""
    require(db, actor, "settings.write")

    def work(conn: Connection) -> None:
        row = store.message(conn, message_id)
        if row is None:
            raise NotFoundError(f"Message {message_id} does not exist.")
        if row["status"] not in (FAILED, QUEUED):
            raise StateError(f"Message {message_id} is {row['status']}: only a failed or waiting message is sent "
                             "again.")
        store.finish(conn, message_id, {"status": QUEUED, "next_attempt_at": now, "attempts": 0})
        audit.record(conn, actor, "outbox.resend", "outbox", message_id, before={"status": row["status"]})

    db.transaction(work)


def templates(db: Database, actor: Actor, language: str = DEFAULT_LANGUAGE) -> list[MailTemplate]:
    require(db, actor, "settings.read")
    from billing.mail_templates import KINDS

    with db.connect() as conn:
        return [template_for(conn, kind, language) for kind in KINDS]


def save_mail_template(db: Database, actor: Actor, template: MailTemplate, now: datetime) -> None:
    require(db, actor, "settings.write")

    def work(conn: Connection) -> None:
        save_template(conn, template, actor.audit_name, now)
        audit.record(conn, actor, "mail_template.save", "mail_template", f"{template.kind}:{template.language}",
                     after={"subject": template.subject, "body": template.body})

    db.transaction(work)


def reset_mail_template(db: Database, actor: Actor, kind: str, language: str) -> None:
    require(db, actor, "settings.write")

    def work(conn: Connection) -> None:
        reset_template(conn, kind, language)
        audit.record(conn, actor, "mail_template.reset", "mail_template", f"{kind}:{language}")

    db.transaction(work)

