"""Invoices: drafts, issue (gapless numbers), void, duplicate, the document view and the list.

Totals always come from `billing.logic.compute_totals`; what is stored is what it returned. Credit notes
are in `billing.credit_notes`.
"""

from __future__ import annotations

from dataclasses import asdict, astuple, dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from billing import audit, logic, parties
from billing.catalog import get_tax_rate
from billing.document_view import exempt_rate_ids, shown_document
from billing.documents import (
    HeaderValues,
    InvoiceDocument,
    InvoiceHeader,
    InvoiceListRow,
    StoredAllowanceCharge,
    StoredLine,
    StoredTax,
    computed_totals,
    from_row,
    quantized,
    total_values,
)
from billing.errors import NotFoundError, StateError, ValidationError
from billing.models import InvoiceDraftIn, LineIn, parse
from billing.money import MAX_AMOUNT, ZERO, check_decimals, minor_unit
from billing.permissions import Actor, require
from billing.store import facts, integrity, records
from billing.store import invoices as invoice_store
from billing.store import payments as payment_store
from billing.store import series as series_store
from billing.store.db import Database, utcnow
from billing.store.schema import MAX_PRICE, customers, products, tax_rates
from billing.text import check_text
from billing.webhooks import events

SERIES_OF_KIND = {logic.INVOICE: "INV", logic.CREDIT_NOTE: "CN"}


def tax_records(totals: logic.Totals) -> list[StoredTax]:
    return [StoredTax.from_logic(t) for t in totals.tax_breakdown]


def with_nets(lines: list[StoredLine], totals: logic.Totals) -> list[StoredLine]:
    """The lines with the nets `totals` computed for them, as they are stored."""
    return [replace(line, net_amount=net) for line, net in zip(lines, totals.line_nets, strict=True)]


# --- building a draft --------------------------------------------------------------------------

def customer_for_invoice(conn: Connection, customer_id: int) -> dict[str, Any]:
    return checked_customer(records.get(conn, customers, customer_id), customer_id)


def checked_customer(customer: dict[str, Any] | None, customer_id: int) -> dict[str, Any]:
    """The customer row, if it exists and may be invoiced; else ValidationError saying why not."""
    if customer is None:
        raise ValidationError(f"Customer {customer_id} does not exist.")
    if customer["archived"]:
        raise ValidationError(f"Customer '{customer['name']}' is archived and cannot be invoiced.")
    return customer


@dataclass
class Catalogue:
    """The tax rates and products drafts refer to: read through `conn` when first asked, or preloaded (a batch
    of recurring invoices prices thousands of drafts with one read)."""

    conn: Connection | None
    rates: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: set[int] = field(default_factory=set)

    def tax_rate(self, rate_id: int) -> dict[str, Any]:
        if rate_id not in self.rates:
            if self.conn is None:
                raise ValidationError(f"Tax rate {rate_id} does not exist.")
            self.rates[rate_id] = get_tax_rate(self.conn, rate_id)
        return self.rates[rate_id]

    def has_product(self, product_id: int) -> bool:
        if product_id not in self.products and self.conn is not None:
            if records.get(self.conn, products, product_id) is None:
                return False
            self.products.add(product_id)
        return product_id in self.products


def line_records(source: Connection | Catalogue, lines: list[LineIn], currency: str) -> list[StoredLine]:
    """The lines as entered, with the VAT of their tax rates, to be stored (nets not yet computed)."""
    catalogue = source if isinstance(source, Catalogue) else Catalogue(source)
    records_: list[StoredLine] = []
    for position, line in enumerate(lines, start=1):
        where = f"Line {position}"
        rate = catalogue.tax_rate(line.tax_rate_id)
        if line.product_id is not None and not catalogue.has_product(line.product_id):
            raise ValidationError(f"{where}: product {line.product_id} does not exist.")
        try:
            check_decimals(line.discount_amount, minor_unit(currency), "discount amount")
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc.message}") from None
        if abs(line.unit_price) >= MAX_PRICE:
            raise ValidationError(f"{where}: the unit price {line.unit_price} is too large.")
        records_.append(StoredLine(
            position=position, product_id=line.product_id, description=line.description, quantity=line.quantity,
            unit=line.unit, unit_price=line.unit_price, base_quantity=line.base_quantity,
            discount_percent=line.discount_percent, discount_amount=line.discount_amount, charge_amount=ZERO,
            tax_rate_id=rate["id"], vat_category=rate["category"], vat_rate=rate["percent"], net_amount=ZERO))
    return records_


def _allowance_charge_records(catalogue: Catalogue, draft: InvoiceDraftIn, currency: str
                              ) -> list[StoredAllowanceCharge]:
    records_: list[StoredAllowanceCharge] = []
    for position, item in enumerate(draft.allowance_charges, start=1):
        rate = catalogue.tax_rate(item.tax_rate_id)
        if item.amount is not None:
            check_decimals(item.amount, minor_unit(currency), "discount or charge amount")
        if item.percent is not None:
            # The column keeps 4 decimals: more would be rounded silently and the stored totals
            # would no longer be what the stored percentage gives.
            check_decimals(item.percent, 4, "discount or charge percentage")
        records_.append(StoredAllowanceCharge(
            position=position, is_charge=item.is_charge,
            reason=item.reason or ("Charge" if item.is_charge else "Discount"), amount=item.amount,
            percent=item.percent, tax_rate_id=rate["id"], vat_category=rate["category"], vat_rate=rate["percent"]))
    return records_


def priced_body(source: Connection | Catalogue, draft: InvoiceDraftIn, currency: str) -> tuple[
        list[StoredLine], list[StoredAllowanceCharge], logic.Totals]:
    """A draft's lines (with their nets), allowances/charges and totals as `compute_totals` gives them, checked."""
    if not draft.lines:
        raise ValidationError("An invoice needs at least one line.", param="lines")
    catalogue = source if isinstance(source, Catalogue) else Catalogue(source)
    lines = line_records(catalogue, draft.lines, currency)
    allowance_charges = _allowance_charge_records(catalogue, draft, currency)
    totals = computed_totals(lines, allowance_charges, currency)
    if totals.payable < 0:
        raise ValidationError("The invoice total would be negative. Issue a credit note instead.")
    for name in invoice_store.TOTAL_COLUMNS:
        if abs(getattr(totals, name)) >= MAX_AMOUNT:
            raise ValidationError("The invoice total is too large.")
    # Lines that cancel out can keep the total small while one line alone overflows its column.
    parts = [*totals.line_nets, *(t.taxable for t in totals.tax_breakdown), *(t.tax for t in totals.tax_breakdown)]
    if any(abs(amount) >= MAX_AMOUNT for amount in parts):
        raise ValidationError("An amount on the invoice is too large.")
    return with_nets(lines, totals), allowance_charges, totals


def _audited_body(lines: list[StoredLine], allowance_charges: list[StoredAllowanceCharge]) -> dict[str, Any]:
    """A draft's body as the audit trail records it."""
    return {"lines": [asdict(line) for line in lines], "allowances": [asdict(item) for item in allowance_charges]}


def preview_totals(db: Database, actor: Actor, data: InvoiceDraftIn | dict[str, Any]) -> logic.Totals:
    """Totals of a draft as entered, before saving (the line editor's live totals)."""
    require(db, actor, "invoices.read")
    draft = parse(InvoiceDraftIn, data)
    with db.connect() as conn:
        customer = customer_for_invoice(conn, draft.customer_id)
        return priced_body(conn, draft, draft.currency or customer["currency"])[2]


def detail_values(draft: InvoiceDraftIn) -> HeaderValues:
    """The header columns of the draft's "More details" (buyer and order reference, delivery, payment, exemption)."""
    return HeaderValues(buyer_reference=draft.buyer_reference, order_reference=draft.order_reference,
                        delivery_date=draft.delivery_date, period_start=draft.period_start,
                        period_end=draft.period_end, payment_means=draft.payment_means,
                        mandate_reference=draft.mandate_reference, payment_terms=draft.payment_terms,
                        exemption_reason=draft.exemption_reason, exemption_code=draft.exemption_code)


def create_draft(db: Database, actor: Actor, data: InvoiceDraftIn | dict[str, Any]) -> int:
    require(db, actor, "invoices.write")
    draft = parse(InvoiceDraftIn, data)
    return db.transaction(lambda conn: insert_draft(conn, actor, draft))


def create_draft_shown(db: Database, actor: Actor, data: InvoiceDraftIn | dict[str, Any], as_of: date
                       ) -> InvoiceDocument:
    """Create a draft like `create_draft`; the draft as `get_invoice` would read it back, put together from what
    was written (the REST API answers with it: reading it again cost five queries)."""
    require(db, actor, "invoices.write")
    require(db, actor, "invoices.read")
    draft = parse(InvoiceDraftIn, data)

    def work(conn: Connection) -> InvoiceDocument:
        catalogue = Catalogue(conn)
        invoice_id, header, customer, lines, allowance_charges, totals = _insert_draft(conn, actor, draft, catalogue)
        stored = from_row(InvoiceHeader, {**header, "id": invoice_id, "credited_invoice_id": None, "void_reason": "",
                                          "issued_at": None, "voided_on": None, "is_open": header["payable"] > 0})
        taxes = sorted(tax_records(totals), key=lambda t: (t.vat_category, t.vat_rate))
        rates = [catalogue.rates[rate_id] for rate_id in exempt_rate_ids(lines, allowance_charges)]
        return shown_document(stored, lines, allowance_charges, taxes, parties.parties_of(conn, stored, {}, customer),
                              rates, as_of)

    return db.transaction(work)


def insert_draft(conn: Connection, actor: Actor, draft: InvoiceDraftIn) -> int:
    """Create a draft in the caller's transaction (the actor's permission already checked); its id."""
    return _insert_draft(conn, actor, draft, Catalogue(conn))[0]


def _insert_draft(conn: Connection, actor: Actor, draft: InvoiceDraftIn, catalogue: Catalogue) -> tuple[
        int, HeaderValues, dict[str, Any], list[StoredLine], list[StoredAllowanceCharge], logic.Totals]:
    """insert_draft's work: the id, header, customer row, lines, allowances/charges and totals it wrote."""
    customer = customer_for_invoice(conn, draft.customer_id)
    currency = draft.currency or customer["currency"]
    lines, allowance_charges, totals = priced_body(catalogue, draft, currency)
    logic.check_due_date(draft.issue_date, draft.due_date)
    header: HeaderValues = {
        "kind": logic.INVOICE, "series": SERIES_OF_KIND[logic.INVOICE], "number": None,
        "status": logic.DRAFT, "customer_id": customer["id"], "currency": currency,
        "issue_date": draft.issue_date, "due_date": draft.due_date, "notes": draft.notes, **detail_values(draft),
        "paid_amount": ZERO, "credited_amount": ZERO, "created_at": utcnow(), "created_by": actor.username,
        **total_values(totals),
    }
    invoice_id = invoice_store.insert_header(conn, header)
    invoice_store.insert_body(conn, invoice_id, lines, allowance_charges, tax_records(totals))
    audit.record(conn, actor, "invoice.create_draft", "invoice", invoice_id,
                 after={"header": header, **_audited_body(lines, allowance_charges)})
    return invoice_id, header, customer, lines, allowance_charges, totals


def update_draft(db: Database, actor: Actor, invoice_id: int, data: InvoiceDraftIn | dict[str, Any]) -> None:
    require(db, actor, "invoices.write")
    draft = parse(InvoiceDraftIn, data)

    def work(conn: Connection) -> None:
        before = header_of(conn, invoice_id)
        logic.check_can_edit(before.status)
        customer = customer_for_invoice(conn, draft.customer_id)
        currency = draft.currency or customer["currency"]
        lines, allowance_charges, totals = priced_body(conn, draft, currency)
        logic.check_due_date(draft.issue_date, draft.due_date)
        values: HeaderValues = {"customer_id": customer["id"], "currency": currency, "issue_date": draft.issue_date,
                  "due_date": draft.due_date, "notes": draft.notes, **detail_values(draft), **total_values(totals)}
        old_lines, old_allowance_charges, _ = invoice_store.get_body(conn, invoice_id)
        invoice_store.update_header(conn, invoice_id, values)
        invoice_store.replace_body(conn, invoice_id, lines, allowance_charges, tax_records(totals))
        audit.record(conn, actor, "invoice.update_draft", "invoice", invoice_id,
                     before={"header": asdict(before), **_audited_body(old_lines, old_allowance_charges)},
                     after={"header": values, **_audited_body(lines, allowance_charges)})

    db.transaction(work)


def delete_draft(db: Database, actor: Actor, invoice_id: int) -> None:
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> None:
        before = header_of(conn, invoice_id)
        if before.status != logic.DRAFT:
            raise StateError("Only a draft can be deleted. Void or credit an issued invoice instead.")
        invoice_store.delete_invoice(conn, invoice_id)
        audit.record(conn, actor, "invoice.delete_draft", "invoice", invoice_id, before=asdict(before))

    db.transaction(work)


def issue_invoice(db: Database, actor: Actor, invoice_id: int, today: date,
                  issue_date: date | None = None, due_date: date | None = None) -> str:
    """Issue a draft: next gapless number of its series, totals frozen, due date from terms. Returns its number."""
    require(db, actor, "invoices.write")
    return db.transaction(lambda conn: issue_draft(conn, actor, invoice_id, today, issue_date, due_date))


def issue_invoice_shown(db: Database, actor: Actor, invoice_id: int, today: date,
                        issue_date: date | None = None, due_date: date | None = None) -> InvoiceDocument:
    """Issue like `issue_invoice`; the invoice as `get_invoice` would read it back as of `today`, put together from
    what was written (the REST API answers with it: reading it again cost three queries)."""
    require(db, actor, "invoices.write")
    require(db, actor, "invoices.read")

    def work(conn: Connection) -> InvoiceDocument:
        issued = _issue_draft(conn, actor, invoice_id, today, issue_date, due_date)
        credited = issued.header.credited_invoice_id and invoice_store.get_document_head(conn, invoice_id)
        return _shown(conn, issued.header, credited[1] if credited else None, issued.frozen,
                      (issued.lines, issued.allowance_charges, issued.taxes), today, customer_row=issued.customer)

    return db.transaction(work)


@dataclass(frozen=True)
class _Issued:
    """What issuing a draft wrote: header, body (taxes by category and rate), frozen parties, the customer's row."""

    header: InvoiceHeader
    lines: list[StoredLine]
    allowance_charges: list[StoredAllowanceCharge]
    taxes: list[StoredTax]
    frozen: dict[str, Any]
    customer: dict[str, Any]


def issue_draft(conn: Connection, actor: Actor, invoice_id: int, today: date, issue_date: date | None = None,
                due_date: date | None = None) -> str:
    """Issue a draft in the caller's transaction (the actor's permission already checked); its number."""
    return str(_issue_draft(conn, actor, invoice_id, today, issue_date, due_date).header.number)


def _issue_draft(conn: Connection, actor: Actor, invoice_id: int, today: date, issue_date: date | None,
                 due_date: date | None) -> _Issued:
    header = header_of(conn, invoice_id)
    if header.status != logic.DRAFT:
        raise StateError(f"Invoice {header.number} has already been issued.")
    customer = customer_for_invoice(conn, header.customer_id)
    lines, allowance_charges, taxes = invoice_store.get_body(conn, invoice_id)
    if not lines:
        raise ValidationError("An invoice needs at least one line.", param="lines")
    totals = computed_totals(lines, allowance_charges, header.currency)
    if totals.payable < 0:
        raise ValidationError("The invoice total would be negative. Issue a credit note instead.")
    # Read before the number is taken (the series row stays locked as briefly as it can), written with the header.
    seller_text, buyers, seller = parties.frozen_texts(conn, [header.customer_id], [customer])
    frozen = {"seller_party": seller_text, "buyer_party": buyers[header.customer_id]}
    on = issue_date or header.issue_date or today
    due = logic.due_date_for(on, customer["terms_days"], due_date or header.due_date)
    delivered = logic.delivery_date_at_issue(seller.country if seller else "", header.delivery_date,
                                             header.period_start, on)
    seq, pattern = series_store.take_next(conn, header.series)
    number = logic.format_number(pattern, seq, on)
    values: HeaderValues = {"status": logic.ISSUED, "number": number, "issue_date": on, "due_date": due,
                            "delivery_date": delivered, "issued_at": utcnow(), **total_values(totals)}
    invoice_store.update_header(conn, invoice_id, values, frozen=frozen)
    # The draft's lines and VAT breakdown were stored from the same computation when it was
    # saved; rewrite them only if they somehow differ, so issuing stays a handful of statements.
    frozen_lines, issued_taxes = with_nets(lines, totals), tax_records(totals)
    if frozen_lines != lines or not _same_taxes(taxes, totals):
        invoice_store.replace_body(conn, invoice_id, frozen_lines, allowance_charges, issued_taxes)
    issued = replace(header, **values, is_open=totals.payable - header.paid_amount - header.credited_amount > 0)
    facts.record_sales(conn, issued, frozen_lines, issued_taxes)
    # Sealed from what was just written, as a batch seals its invoices (4 statements fewer than reading it back).
    written = integrity.written_document(
        asdict(issued), [{**asdict(line), "invoice_id": invoice_id} for line in frozen_lines],
        [{**asdict(part), "invoice_id": invoice_id} for part in allowance_charges],
        [asdict(tax) for tax in issued_taxes])
    audit.record(conn, actor, "invoice.issue", "invoice", invoice_id,
                 before={"status": header.status}, after=values, written_document=written)
    events.invoice_event(conn, "invoice.issued", invoice_id)
    return _Issued(issued, frozen_lines, allowance_charges,
                   sorted(issued_taxes, key=lambda t: (t.vat_category, t.vat_rate)), frozen, customer)


def void_invoice(db: Database, actor: Actor, invoice_id: int, reason: str, today: date) -> None:
    """Void an issued invoice that nothing was paid or credited on. It keeps its number."""
    require(db, actor, "invoices.write")
    logic.check_date(today, "The void date")
    check_text(reason, "Void reason", multiline=True, param="reason")

    def work(conn: Connection) -> None:
        header = header_of(conn, invoice_id)
        logic.check_can_void(header.status, header.paid_amount, header.credited_amount, reason,
                             credits_invoice=header.is_credit_note and header.credited_invoice_id is not None)
        values: HeaderValues = {"status": logic.VOID, "void_reason": reason.strip(), "voided_on": today}
        invoice_store.update_header(conn, invoice_id, values)
        facts.remove_sales(conn, invoice_id)
        audit.record(conn, actor, "invoice.void", "invoice", invoice_id,
                     before={"status": header.status}, after=values)
        events.invoice_event(conn, "invoice.voided", invoice_id)

    db.transaction(work)


def copy_input(db: Database, actor: Actor, invoice_id: int) -> InvoiceDraftIn:
    """The input of a new draft copying an invoice: its customer, lines and allowances/charges (dates left empty).
    Nothing is stored: the editor holds the copy until its first save."""
    document = get_invoice(db, actor, invoice_id, as_of=date.today())
    if document.is_credit_note:
        raise StateError("A credit note cannot be duplicated.")
    return InvoiceDraftIn.from_stored(document)


def duplicate_invoice(db: Database, actor: Actor, invoice_id: int) -> int:
    """A new draft with the same customer, lines and allowances/charges (dates left empty)."""
    return create_draft(db, actor, copy_input(db, actor, invoice_id))


def get_invoice(db: Database, actor: Actor, invoice_id: int, as_of: date, *, activity: bool = True
                ) -> InvoiceDocument:
    """The document as stored, money at its currency's minor unit, with what was paid and credited on it (its
    credit notes and allocations; not read with `activity` False, for an e-invoice, which shows neither)."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        head = invoice_store.get_document_head(conn, invoice_id)
        if head is None:
            raise NotFoundError(f"Invoice {invoice_id} does not exist.")
        header, credited_number, frozen = head
        return _shown(conn, header, credited_number, frozen, invoice_store.get_body(conn, invoice_id), as_of,
                      activity=activity)


def get_invoices(db: Database, actor: Actor, invoice_ids: list[int], as_of: date) -> dict[int, InvoiceDocument]:
    """`get_invoice` of many documents by id, their headers and bodies read in one query each (the e-mails of an
    outbox run); an id that does not exist is left out."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        heads = invoice_store.get_document_heads(conn, invoice_ids)
        bodies = invoice_store.get_bodies(conn, list(heads))
        return {invoice_id: _shown(conn, *head, bodies.get(invoice_id, ([], [], [])), as_of)
                for invoice_id, head in heads.items()}


def _shown(conn: Connection, header: InvoiceHeader, credited_number: str | None, frozen: dict[str, Any],
           body: tuple[list[StoredLine], list[StoredAllowanceCharge], list[StoredTax]], as_of: date, *,
           activity: bool = True, customer_row: dict[str, Any] | None = None) -> InvoiceDocument:
    """A stored document as get_invoice shows it, from its header, number credited, frozen parties and body."""
    lines, allowance_charges, taxes = body
    seller, customer = parties.parties_of(conn, header, frozen, customer_row)
    # Nothing was ever paid, credited or released on a document without a first activity date: no queries.
    touched = activity and (header.first_activity_on is not None or header.paid_amount != 0
                            or header.credited_amount != 0)
    credit_notes = invoice_store.credit_notes_of(conn, header.id) if touched else []
    allocations = payment_store.allocations_of_invoice(conn, header.id) if touched else []
    rates = records.rows_with_ids(conn, tax_rates, exempt_rate_ids(lines, allowance_charges))
    return shown_document(header, lines, allowance_charges, taxes, (seller, customer), rates, as_of, credit_notes,
                          allocations, credited_number)


def list_invoices(db: Database, actor: Actor, as_of: date, **filters: Any) -> tuple[list[InvoiceListRow], int]:
    """A page of invoices and credit notes with balances and display status."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        rows, total = invoice_store.list_page(conn, as_of=as_of, **filters)
    return [_listed(quantized(row, row.currency), as_of) for row in rows], total


def invoices_before(db: Database, actor: Actor, as_of: date, *, before_id: int | None, limit: int,
                    **filters: Any) -> list[InvoiceListRow]:
    """Up to `limit` documents (the list's filters), newest id first, below the id `before_id`: cursor pages."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        rows = invoice_store.list_before_id(conn, as_of=as_of, before_id=before_id, limit=limit, **filters)
    return [_listed(quantized(row, row.currency), as_of) for row in rows]


def _listed(row: InvoiceListRow, as_of: date) -> InvoiceListRow:
    status = logic.document_display_status(row.kind, row.status, row.payable, row.paid_amount,
                                           row.credited_amount, row.due_date, as_of)
    return replace(row, display_status=status, balance=ZERO if row.kind == logic.CREDIT_NOTE else row.balance)


def _same_taxes(taxes: list[StoredTax], totals: logic.Totals) -> bool:
    stored = sorted(astuple(t.to_logic()) for t in taxes)
    return stored == sorted(astuple(t) for t in totals.tax_breakdown)


def header_of(conn: Connection, invoice_id: int) -> InvoiceHeader:
    """The stored header of a document; NotFoundError if there is none."""
    header = invoice_store.get_header(conn, invoice_id)
    if header is None:
        raise NotFoundError(f"Invoice {invoice_id} does not exist.")
    return header
