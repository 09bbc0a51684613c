"""Issued invoices and credit notes as e-invoices: UBL, CII, Peppol BIS, XRechnung or Factur-X, validated first."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api.auth import ActorDep, DatabaseDep
from api.clock import company_today
from api.errors import ParamError
from api.pagination import MAX_ID
from api.routing import ApiRoute
from billing import invoices, logic
from billing.einvoice.export import FORMATS, export_document
from billing.einvoice.preissue import preferred_format
from billing.errors import NotFoundError
from billing.permissions import Actor
from billing.store.db import Database

router = APIRouter(tags=["e-invoices"], route_class=ApiRoute)
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
FormatName = Literal["ubl", "cii", "peppol", "xrechnung-ubl", "xrechnung-cii", "facturx"]
FormatQuery = Annotated[FormatName | None, Query(
    alias="format", description="ubl, cii, peppol, xrechnung-ubl, xrechnung-cii or facturx (a PDF/A-3 with the "
    "CII attached); by default the customer's preferred format")]
_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {"schema": {"type": "string"}},
                      "application/pdf": {"schema": {"type": "string", "format": "binary"}}},
          "description": "The e-invoice, checked against its profile's rules (XML; a PDF for facturx)"}}


def _einvoice(db: Database, actor: Actor, document_id: int, fmt: str | None, kind: str) -> Response:
    document = invoices.get_invoice(db, actor, document_id, as_of=company_today(db))
    if document.header.kind != kind:
        noun = "Credit note" if kind == logic.CREDIT_NOTE else "Invoice"
        raise NotFoundError(f"{noun} {document_id} does not exist.")
    if fmt is None:
        preferred = preferred_format(db, actor, document.header.customer_id)
        if preferred is None:
            raise ParamError("format", f"the customer has no preferred e-invoice format: choose one of "
                             f"{', '.join(FORMATS)}")
        fmt = preferred.name
    name, media_type, data = export_document(db, actor, document_id, fmt, today=lambda: company_today(db))
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/invoices/{invoice_id}/einvoice", response_class=Response, responses=_FILE,
            summary="An issued invoice as an e-invoice (by default in its customer's preferred format)")
def invoice_einvoice(db: DatabaseDep, actor: ActorDep, invoice_id: DocumentId, fmt: FormatQuery = None) -> Response:
    return _einvoice(db, actor, invoice_id, fmt, logic.INVOICE)


@router.get("/credit-notes/{credit_note_id}/einvoice", response_class=Response, responses=_FILE,
            summary="A credit note as an e-invoice (by default in its customer's preferred format)")
def credit_note_einvoice(db: DatabaseDep, actor: ActorDep, credit_note_id: DocumentId,
                         fmt: FormatQuery = None) -> Response:
    return _einvoice(db, actor, credit_note_id, fmt, logic.CREDIT_NOTE)
