"""What an e-mail carries: attachment specs stored with the message, rendered into files when it is sent.

A spec is a kind and its parameters (JSON in the outbox row); RENDERERS turns it into a file. The
attachments of each document kind are listed in DOCUMENT_ATTACHMENTS: one more attachment is one more
name there (and its renderer here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from billing.errors import NotFoundError, ValidationError
from billing.permissions import SYSTEM
from billing.store.db import Database


@dataclass(frozen=True, slots=True)
class AttachmentSpec:
    """What to attach: `kind` names a renderer; `params` its arguments (JSON values only)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """A rendered attachment: file name, MIME type ('application/pdf') and content."""

    filename: str
    mime_type: str
    data: bytes


def _document_pdf(db: Database, params: dict[str, Any]) -> AttachmentFile:
    from billing import invoices, settings
    from billing.pdf import render_invoice_pdf

    document = invoices.get_invoice(db, SYSTEM, int(params["document_id"]), as_of=date.fromisoformat(params["as_of"]))
    name = document.header.number or f"draft-{document.id}"
    return AttachmentFile(f"{name}.pdf", "application/pdf",
                          render_invoice_pdf(document, settings.get_company(db) or {}))


def _quote_pdf(db: Database, params: dict[str, Any]) -> AttachmentFile:
    from billing import quotes

    quote = quotes.quote_document(db, SYSTEM, int(params["document_id"]))
    name = quote.header.number or f"quote-{quote.id}"
    return AttachmentFile(f"{name}.pdf", "application/pdf", quotes.render_quote_pdf(db, quote))


def _statement_pdf(db: Database, params: dict[str, Any]) -> AttachmentFile:
    from billing import settings
    from billing.reports.statements import customer_statement
    from billing.statement_pdf import statement_pdf

    as_of = date.fromisoformat(params["as_of"])
    statement = customer_statement(db, SYSTEM, int(params["customer_id"]), str(params["currency"]),
                                   date.fromisoformat(params["date_from"]), date.fromisoformat(params["date_to"]))
    pdf = statement_pdf(statement, settings.get_company(db) or {}, today=as_of)
    return AttachmentFile(f"statement-{params['customer_id']}-{params['currency']}-{params['date_to']}.pdf",
                          "application/pdf", pdf)


RENDERERS: dict[str, Callable[[Database, dict[str, Any]], AttachmentFile]] = {
    "document_pdf": _document_pdf,
    "statement_pdf": _statement_pdf,
    "quote_pdf": _quote_pdf,
}

# The files each kind of document is sent with (the e-invoice in the customer's format joins these).
DOCUMENT_ATTACHMENTS: dict[str, tuple[str, ...]] = {
    "invoice": ("document_pdf",),
    "credit_note": ("document_pdf",),
    "quote": ("quote_pdf",),
}


def document_specs(kind: str, document_id: int, as_of: date) -> list[AttachmentSpec]:
    """The attachments of a document of `kind` sent on `as_of`."""
    return [AttachmentSpec(name, {"document_id": document_id, "as_of": as_of.isoformat()})
            for name in DOCUMENT_ATTACHMENTS.get(kind, ())]


def to_json(specs: list[AttachmentSpec]) -> str:
    for spec in specs:
        if spec.kind not in RENDERERS:
            raise ValidationError(f"Unknown attachment kind {spec.kind!r}.")
    return json.dumps([{"kind": spec.kind, "params": spec.params} for spec in specs], sort_keys=True)


def from_json(text: str) -> list[AttachmentSpec]:
    return [AttachmentSpec(str(item["kind"]), dict(item.get("params") or {})) for item in json.loads(text or "[]")]


def render(db: Database, spec: AttachmentSpec) -> AttachmentFile:
    """The file of one spec, read as the system (the message was allowed when it was queued)."""
    renderer = RENDERERS.get(spec.kind)
    if renderer is None:
        raise NotFoundError(f"Unknown attachment kind {spec.kind!r}.")
    return renderer(db, spec.params)
