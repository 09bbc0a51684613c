"""What an e-mail carries: attachment specs stored with the message, rendered into files when it is sent.

A spec is a kind and its parameters (JSON in the outbox row); READERS read what it is drawn from (a `Drawing`),
which then makes the file, here or in another process (billing.drawing_pool). The
attachments of each document kind are listed in DOCUMENT_ATTACHMENTS: one more attachment is one more
name there (and its reader here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from billing.documents import InvoiceDocument
from billing.errors import BillingError, NotFoundError, ValidationError
from billing.permissions import SYSTEM
from billing.store.db import Database


@dataclass(frozen=True, slots=True)
class AttachmentSpec:
    """What to attach: `kind` names a reader (READERS); `params` its arguments (JSON values only)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """A rendered attachment: file name, MIME type ('application/pdf') and content."""

    filename: str
    mime_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Drawing:
    """An attachment read from the database, ready to be drawn: `draw(*args, **keywords)` makes its bytes without
    the database (so another process can: `draw` is a module-level function, the arguments plain records)."""

    filename: str
    mime_type: str
    draw: Callable[..., bytes]
    args: tuple[Any, ...]
    keywords: dict[str, Any] = field(default_factory=dict)

    def file(self) -> AttachmentFile:
        return AttachmentFile(self.filename, self.mime_type, self.draw(*self.args, **self.keywords))


def _document_pdf(db: Database, params: dict[str, Any]) -> Drawing:
    from billing import invoices, settings

    document = invoices.get_invoice(db, SYSTEM, int(params["document_id"]), as_of=date.fromisoformat(params["as_of"]))
    return _document_drawing(document, settings.get_company(db) or {})


def _document_drawing(document: InvoiceDocument, company: dict[str, Any]) -> Drawing:
    from billing.pdf import render_invoice_pdf

    name = document.header.number or f"draft-{document.id}"
    return Drawing(f"{name}.pdf", "application/pdf", render_invoice_pdf, (document, company))


def _quote_pdf(db: Database, params: dict[str, Any]) -> Drawing:
    from billing import quotes, settings
    from billing.pdf import render_invoice_pdf

    quote = quotes.quote_document(db, SYSTEM, int(params["document_id"]))
    name = quote.header.number or f"quote-{quote.id}"
    # What quotes.render_quote_pdf (the link's download) draws.
    return Drawing(f"{name}.pdf", "application/pdf", render_invoice_pdf, (quote, settings.get_company(db) or {}))


def _statement_pdf(db: Database, params: dict[str, Any]) -> Drawing:
    from billing import settings
    from billing.reports.statements import customer_statement
    from billing.statement_pdf import statement_pdf

    as_of = date.fromisoformat(params["as_of"])
    statement = customer_statement(db, SYSTEM, int(params["customer_id"]), str(params["currency"]),
                                   date.fromisoformat(params["date_from"]), date.fromisoformat(params["date_to"]))
    return Drawing(f"statement-{params['customer_id']}-{params['currency']}-{params['date_to']}.pdf",
                   "application/pdf", statement_pdf, (statement, settings.get_company(db) or {}), {"today": as_of})


def _einvoice(db: Database, params: dict[str, Any]) -> Drawing:
    from billing.einvoice import export

    chosen = export.format_of(str(params["format"]))
    document, company, preceding_date = export.inputs_of(db, SYSTEM, int(params["document_id"]),
                                                         date.fromisoformat(params["as_of"]))
    return Drawing(export.file_name(document, chosen), chosen.media_type, export.exported_file,
                   (document, company, preceding_date, chosen.name))


READERS: dict[str, Callable[[Database, dict[str, Any]], Drawing]] = {
    "document_pdf": _document_pdf,
    "einvoice": _einvoice,
    "statement_pdf": _statement_pdf,
    "quote_pdf": _quote_pdf,
}

# The files each kind of document is sent with; an invoice or credit note also with its e-invoice in the format its
# customer prefers, if any (billing.models.EINVOICE_FORMATS).
DOCUMENT_ATTACHMENTS: dict[str, tuple[str, ...]] = {
    "invoice": ("document_pdf",),
    "credit_note": ("document_pdf",),
    "quote": ("quote_pdf",),
}
EINVOICE_KINDS = ("invoice", "credit_note")


def document_specs(kind: str, document_id: int, as_of: date, einvoice_format: str = "") -> list[AttachmentSpec]:
    """The attachments of a document of `kind` sent on `as_of` to a customer preferring `einvoice_format`."""
    params: dict[str, Any] = {"document_id": document_id, "as_of": as_of.isoformat()}
    specs = [AttachmentSpec(name, params) for name in DOCUMENT_ATTACHMENTS.get(kind, ())]
    if einvoice_format and kind in EINVOICE_KINDS:
        specs.append(AttachmentSpec("einvoice", params | {"format": einvoice_format}))
    return specs


def to_json(specs: list[AttachmentSpec]) -> str:
    for spec in specs:
        if spec.kind not in READERS:
            raise ValidationError(f"Unknown attachment kind {spec.kind!r}.")
    return json.dumps([{"kind": spec.kind, "params": spec.params} for spec in specs], sort_keys=True)


def from_json(text: str) -> list[AttachmentSpec]:
    return [AttachmentSpec(str(item["kind"]), dict(item.get("params") or {})) for item in json.loads(text or "[]")]


def read(db: Database, spec: AttachmentSpec) -> Drawing:
    """What the file of one spec is drawn from, read as the system (the message was allowed when it was queued)."""
    reader = READERS.get(spec.kind)
    if reader is None:
        raise NotFoundError(f"Unknown attachment kind {spec.kind!r}.")
    return reader(db, spec.params)


def read_all(db: Database, specs: list[AttachmentSpec]) -> list[Drawing | BillingError]:
    """`read` of each spec, or the error that stops it; the invoices among them read together (headers and bodies in
    one query each, per day: the e-mails of an outbox run)."""
    from billing import invoices, settings

    wanted: dict[date, list[int]] = {}
    for spec in specs:
        if spec.kind == "document_pdf":
            wanted.setdefault(date.fromisoformat(spec.params["as_of"]), []).append(int(spec.params["document_id"]))
    documents = {(as_of, invoice_id): document for as_of, ids in wanted.items()
                 for invoice_id, document in invoices.get_invoices(db, SYSTEM, ids, as_of).items()}
    company = (settings.get_company(db) or {}) if documents else {}
    drawings: list[Drawing | BillingError] = []
    for spec in specs:
        key = (date.fromisoformat(spec.params.get("as_of") or "1970-01-01"), int(spec.params.get("document_id") or 0))
        try:
            drawings.append(_document_drawing(documents[key], company) if spec.kind == "document_pdf"
                            and key in documents else read(db, spec))
        except BillingError as exc:
            drawings.append(exc)
    return drawings


def render(db: Database, spec: AttachmentSpec) -> AttachmentFile:
    """The file of one spec, read and drawn here."""
    return read(db, spec).file()
