"""Invoices and credit notes: list, get, draft (create, change, delete), issue, void, credit, duplicate, PDF."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api.auth import ActorDep, DatabaseDep
from api.clock import company_today
from api.document_schemas import (
    CreditIn,
    InvoiceCreate,
    InvoiceOut,
    InvoicePatch,
    InvoiceSummaryOut,
    IssueIn,
    PartyOut,
    VoidIn,
)
from api.errors import ParamError
from api.pagination import MAX_ID, IdCursor, Limit, Since, book_date, page, utc
from api.routing import ApiRoute
from api.schemas import Page
from billing import credit_notes, invoices, logic, settings
from billing.documents import DocumentParty, InvoiceDocument, InvoiceListRow
from billing.einvoice.preissue import check_preferred_format
from billing.errors import NotFoundError
from billing.models import COPIED_DETAILS, InvoiceDraftIn
from billing.permissions import Actor
from billing.store.db import Database

router = APIRouter(tags=["invoices"], route_class=ApiRoute)
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
Status = Literal["draft", "issued", "void", "open", "unpaid", "partially_paid", "overdue", "paid", "credited"]
Currency = Annotated[str | None, Query(min_length=3, max_length=3)]
CustomerFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Search = Annotated[str, Query(max_length=100, description="Text in the document number")]
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
          "description": "The document as a PDF"}}


DETAIL_FIELDS = (*COPIED_DETAILS, "delivery_date", "period_start", "period_end")


def document_out(document: InvoiceDocument) -> dict[str, Any]:
    """An InvoiceOut of a stored document."""
    header = document.header
    return {
        "id": header.id, "kind": header.kind, "number": header.number, "status": document.status,
        "stored_status": header.status, "customer_id": header.customer_id, "customer": document.customer.name,
        "currency": header.currency, "issue_date": header.issue_date, "due_date": header.due_date,
        "notes": header.notes, "void_reason": header.void_reason, "voided_on": header.voided_on,
        "credited_invoice_id": header.credited_invoice_id,
        "credited_invoice_number": document.credited_invoice.number if document.credited_invoice else None,
        "lines": document.lines, "allowance_charges": document.allowance_charges, "vat_breakdown": document.taxes,
        "totals": document.totals, "paid_amount": header.paid_amount, "credited_amount": header.credited_amount,
        "balance": document.balance, "credit_notes": document.credit_notes, "allocations": document.allocations,
        "created_at": header.created_at, "issued_at": header.issued_at,
        **{name: getattr(header, name) for name in DETAIL_FIELDS},
        "seller": _party(document.seller) if document.seller else None, "buyer": _party(document.customer)}


def _party(party: DocumentParty) -> dict[str, Any]:
    return {name: getattr(party, name) for name in PartyOut.model_fields}


def _summary(row: InvoiceListRow) -> dict[str, Any]:
    return {**{name: getattr(row, name) for name in InvoiceSummaryOut.model_fields if hasattr(row, name)},
            "status": row.display_status, "stored_status": row.status}


def _document(db: Database, actor: Actor, document_id: int, kind: str | None = None) -> dict[str, Any]:
    document = invoices.get_invoice(db, actor, document_id, as_of=company_today(db))
    if kind is not None and document.header.kind != kind:
        raise NotFoundError(f"Credit note {document_id} does not exist.")
    return document_out(document)


def _page(db: Database, actor: Actor, limit: int, starting_after: int | None, **filters: Any) -> dict[str, Any]:
    for name in ("date_from", "date_to"):
        if filters.get(name) is not None:
            book_date(filters[name], name)
    rows = invoices.invoices_before(db, actor, company_today(db), before_id=starting_after, limit=limit + 1,
                                    **filters)
    return page([_summary(row) for row in rows], limit, lambda row: row["id"])


@router.get("/invoices", response_model=Page[InvoiceSummaryOut],
            summary="List invoices and credit notes (newest first; the portal's filters)")
def list_invoices(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                  status: Status | None = None, customer_id: CustomerFilter = None, date_from: date | None = None,
                  date_to: date | None = None, currency: Currency = None,
                  kind: Literal["invoice", "credit_note"] | None = None, q: Search = "",
                  updated_since: Since = None) -> dict[str, Any]:
    return _page(db, actor, limit, starting_after, status=status, customer_id=customer_id, date_from=date_from,
                 date_to=date_to, currency=currency, kind=kind, search=q, updated_since=utc(updated_since))


@router.post("/invoices", response_model=InvoiceOut, status_code=201, summary="Create a draft invoice")
def create_invoice(db: DatabaseDep, actor: ActorDep, body: InvoiceCreate) -> dict[str, Any]:
    return document_out(invoices.create_draft_shown(db, actor, body.model_dump(), company_today(db)))


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut,
            summary="Get an invoice or credit note: lines, VAT breakdown, totals, balance, payments, credit notes")
def get_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId) -> dict[str, Any]:
    return _document(db, actor, invoice_id)


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut,
              summary="Change a draft (lines and allowance_charges, when given, replace the old ones)")
def update_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId, body: InvoicePatch) -> dict[str, Any]:
    current = invoices.get_invoice(db, actor, invoice_id, as_of=company_today(db))
    logic.check_can_edit(current.header.status)
    header = current.header
    draft = {**InvoiceDraftIn.from_stored(current).model_dump(), "issue_date": header.issue_date,
             "due_date": header.due_date, "delivery_date": header.delivery_date, "period_start": header.period_start,
             "period_end": header.period_end, **body.model_dump(exclude_unset=True)}
    invoices.update_draft(db, actor, invoice_id, draft)
    return _document(db, actor, invoice_id)


@router.delete("/invoices/{invoice_id}", status_code=204, response_class=Response, summary="Delete a draft")
def delete_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId) -> Response:
    invoices.delete_draft(db, actor, invoice_id)
    return Response(status_code=204)


@router.post("/invoices/{invoice_id}/issue", response_model=InvoiceOut,
             summary="Issue a draft: the next number of its series, totals frozen")
def issue_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId,
                  body: IssueIn | None = None) -> dict[str, Any]:
    wanted, today = body or IssueIn(), company_today(db)
    # Checked first against the rules of the customer's preferred e-invoice format, if the customer has one.
    check_preferred_format(db, actor, invoice_id, wanted.issue_date or today)
    return document_out(invoices.issue_invoice_shown(db, actor, invoice_id, today, issue_date=wanted.issue_date,
                                                     due_date=wanted.due_date))


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut,
             summary="Void an issued invoice nothing was paid or credited on (it keeps its number)")
def void_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId, body: VoidIn) -> dict[str, Any]:
    invoices.void_invoice(db, actor, invoice_id, body.reason, company_today(db))
    return _document(db, actor, invoice_id)


@router.post("/invoices/{invoice_id}/credit", response_model=InvoiceOut, status_code=201,
             summary="Issue a credit note: the whole invoice, quantities of its lines, or free lines")
def credit_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId,
                   body: CreditIn | None = None) -> dict[str, Any]:
    wanted = body or CreditIn()
    quantities: dict[int, Decimal | str] | None = None
    if wanted.quantities is not None:
        positions = [item.line for item in wanted.quantities]
        if len(set(positions)) != len(positions):
            raise ParamError("quantities", "each line at most once")
        quantities = {item.line: item.quantity for item in wanted.quantities}
    lines = None if wanted.lines is None else [line.model_dump() for line in wanted.lines]
    credit_id = credit_notes.create_credit_note(db, actor, invoice_id, company_today(db), wanted.reason,
                                                lines=lines, quantities=quantities)
    return _document(db, actor, credit_id)


@router.post("/invoices/{invoice_id}/duplicate", response_model=InvoiceOut, status_code=201,
             summary="A new draft with the same customer, lines and allowances/charges")
def duplicate_invoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId) -> dict[str, Any]:
    return _document(db, actor, invoices.duplicate_invoice(db, actor, invoice_id))


@router.get("/invoices/{invoice_id}/pdf", response_class=Response, responses=_PDF,
            summary="The invoice or credit note as a PDF, as the portal prints it")
def invoice_pdf(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId) -> Response:
    from billing.pdf import render_invoice_pdf  # fonts and fpdf2 load on the first PDF, not at start

    document = invoices.get_invoice(db, actor, invoice_id, as_of=company_today(db))
    name = re.sub(r"[^A-Za-z0-9._-]", "_", document.header.number or f"draft-{document.id}")
    pdf = render_invoice_pdf(document, settings.get_company(db) or {})
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


@router.get("/credit-notes", response_model=Page[InvoiceSummaryOut], summary="List credit notes (newest first)")
def list_credit_notes(db: DatabaseDep, actor: ActorDep, limit: Limit = 20, starting_after: IdCursor = None,
                      customer_id: CustomerFilter = None, date_from: date | None = None, date_to: date | None = None,
                      currency: Currency = None, q: Search = "", updated_since: Since = None) -> dict[str, Any]:
    return _page(db, actor, limit, starting_after, customer_id=customer_id, date_from=date_from, date_to=date_to,
                 currency=currency, kind=logic.CREDIT_NOTE, search=q, updated_since=utc(updated_since))


@router.get("/credit-notes/{credit_note_id}", response_model=InvoiceOut, summary="Get a credit note")
def get_credit_note(db: DatabaseDep, actor: ActorDep, credit_note_id: DocumentId) -> dict[str, Any]:
    return _document(db, actor, credit_note_id, kind=logic.CREDIT_NOTE)
