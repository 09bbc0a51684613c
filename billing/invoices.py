"""Invoices and credit notes: drafts, issue (gapless numbers), void, credit, duplicate, views.

Totals always come from `billing.logic.compute_totals`; what is stored is what it returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from billing import audit, logic
from billing.catalog import get_tax_rate
from billing.errors import NotFoundError, StateError, ValidationError
from billing.models import InvoiceDraftIn, LineIn, parse
from billing.money import (
    MAX_AMOUNT,
    ZERO,
    check_decimals,
    minor_unit,
    plain_number,
    quantize_row,
    round_money,
    to_decimal,
)
from billing.permissions import Actor, require
from billing.store import facts, records
from billing.store import invoices as invoice_store
from billing.store import payments as payment_store
from billing.store import series as series_store
from billing.store.db import Database, utcnow
from billing.store.schema import MAX_PRICE, customers, products, tax_rates

SERIES_OF_KIND = {logic.INVOICE: "INV", logic.CREDIT_NOTE: "CN"}


@dataclass(frozen=True)
class InvoiceView:
    """Everything shown or printed about one invoice or credit note."""

    header: dict[str, Any]
    customer: dict[str, Any]
    lines: list[dict[str, Any]]
    allowances: list[dict[str, Any]]
    totals: logic.Totals
    balance: Decimal
    status: str  # display status: draft, void, unpaid, partially_paid, paid, overdue
    credit_notes: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    credited_invoice: dict[str, Any] | None = None
    # EN 16931 BT-120: why VAT is not charged, per category that needs a reason (E, AE, K, G, O),
    # from the document's tax rates.
    exemption_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.header["id"])

    @property
    def is_credit_note(self) -> bool:
        return bool(self.header["kind"] == logic.CREDIT_NOTE)


# --- turning stored rows into logic inputs -----------------------------------------------------

def logic_lines(lines: list[dict[str, Any]]) -> list[logic.Line]:
    return [logic.Line(quantity=line["quantity"], net_price=line["unit_price"], vat_category=line["vat_category"],
                       vat_rate=line["vat_rate"], base_quantity=line["base_quantity"],
                       discount_percent=line["discount_percent"], discount_amount=line["discount_amount"],
                       charge_amount=line["charge_amount"]) for line in lines]


def logic_allowances(items: list[dict[str, Any]]) -> list[logic.AllowanceCharge]:
    return [logic.AllowanceCharge(is_charge=item["is_charge"], vat_category=item["vat_category"],
                                  vat_rate=item["vat_rate"], amount=item["amount"], percent=item["percent"],
                                  reason=item["reason"]) for item in items]


def totals_of(lines: list[dict[str, Any]], allowances: list[dict[str, Any]], currency: str) -> logic.Totals:
    """The one way totals of stored documents are computed (also used by `verify`)."""
    return logic.compute_totals(logic_lines(lines), logic_allowances(allowances), currency)


def _total_values(totals: logic.Totals) -> dict[str, Decimal]:
    return {name: getattr(totals, name) for name in invoice_store.TOTAL_COLUMNS}


def _tax_rows(totals: logic.Totals) -> list[dict[str, Any]]:
    return [{"vat_category": t.vat_category, "vat_rate": t.vat_rate, "taxable": t.taxable, "tax": t.tax}
            for t in totals.tax_breakdown]


# --- building a draft --------------------------------------------------------------------------

def _customer_for_invoice(conn: Connection, customer_id: int) -> dict[str, Any]:
    customer = records.get(conn, customers, customer_id)
    if customer is None:
        raise ValidationError(f"Customer {customer_id} does not exist.")
    if customer["archived"]:
        raise ValidationError(f"Customer '{customer['name']}' is archived and cannot be invoiced.")
    return customer


def _line_rows(conn: Connection, lines: list[LineIn], currency: str) -> list[dict[str, Any]]:
    rows = []
    for position, line in enumerate(lines, start=1):
        where = f"Line {position}"
        rate = get_tax_rate(conn, line.tax_rate_id)
        if line.product_id is not None:
            product = records.get(conn, products, line.product_id)
            if product is None:
                raise ValidationError(f"{where}: product {line.product_id} does not exist.")
        try:
            check_decimals(line.discount_amount, minor_unit(currency), "discount amount")
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc.message}") from None
        if abs(line.unit_price) >= MAX_PRICE:
            raise ValidationError(f"{where}: the unit price {line.unit_price} is too large.")
        rows.append({
            "position": position, "product_id": line.product_id, "description": line.description,
            "quantity": line.quantity, "unit": line.unit, "unit_price": line.unit_price,
            "base_quantity": line.base_quantity, "discount_percent": line.discount_percent,
            "discount_amount": line.discount_amount, "charge_amount": ZERO,
            "tax_rate_id": rate["id"], "vat_category": rate["category"], "vat_rate": rate["percent"],
            "net_amount": ZERO,
        })
    return rows


def _allowance_rows(conn: Connection, draft: InvoiceDraftIn, currency: str) -> list[dict[str, Any]]:
    rows = []
    for position, item in enumerate(draft.allowances_charges, start=1):
        rate = get_tax_rate(conn, item.tax_rate_id)
        if item.amount is not None:
            check_decimals(item.amount, minor_unit(currency), "discount or charge amount")
        if item.percent is not None:
            # The column keeps 4 decimals: more would be rounded silently and the stored totals
            # would no longer be what the stored percentage gives.
            check_decimals(item.percent, 4, "discount or charge percentage")
        rows.append({"position": position, "is_charge": item.is_charge, "reason": item.reason or
                     ("Charge" if item.is_charge else "Discount"), "amount": item.amount, "percent": item.percent,
                     "tax_rate_id": rate["id"], "vat_category": rate["category"], "vat_rate": rate["percent"]})
    return rows


def _priced_body(conn: Connection, draft: InvoiceDraftIn, currency: str) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]], logic.Totals]:
    if not draft.lines:
        raise ValidationError("An invoice needs at least one line.")
    lines = _line_rows(conn, draft.lines, currency)
    allowances = _allowance_rows(conn, draft, currency)
    totals = totals_of(lines, allowances, currency)
    for line, net in zip(lines, totals.line_nets, strict=True):
        line["net_amount"] = net
    if totals.payable < 0:
        raise ValidationError("The invoice total would be negative. Issue a credit note instead.")
    for name in invoice_store.TOTAL_COLUMNS:
        if abs(getattr(totals, name)) >= MAX_AMOUNT:
            raise ValidationError("The invoice total is too large.")
    # Lines that cancel out can keep the total small while one line alone overflows its column.
    parts = [*totals.line_nets, *(t.taxable for t in totals.tax_breakdown), *(t.tax for t in totals.tax_breakdown)]
    if any(abs(amount) >= MAX_AMOUNT for amount in parts):
        raise ValidationError("An amount on the invoice is too large.")
    return lines, allowances, totals


def preview_totals(db: Database, actor: Actor, data: InvoiceDraftIn | dict[str, Any]) -> logic.Totals:
    """Totals of a draft as entered, before saving (the line editor's live totals)."""
    require(db, actor, "invoices.read")
    draft = parse(InvoiceDraftIn, data)
    with db.connect() as conn:
        customer = _customer_for_invoice(conn, draft.customer_id)
        return _priced_body(conn, draft, draft.currency or customer["currency"])[2]


def create_draft(db: Database, actor: Actor, data: InvoiceDraftIn | dict[str, Any]) -> int:
    require(db, actor, "invoices.write")
    draft = parse(InvoiceDraftIn, data)

    def work(conn: Connection) -> int:
        customer = _customer_for_invoice(conn, draft.customer_id)
        currency = draft.currency or customer["currency"]
        lines, allowances, totals = _priced_body(conn, draft, currency)
        if draft.issue_date and draft.due_date and draft.due_date < draft.issue_date:
            raise ValidationError("The due date cannot be before the issue date.")
        header = {
            "kind": logic.INVOICE, "series": SERIES_OF_KIND[logic.INVOICE], "number": None,
            "status": logic.DRAFT, "customer_id": customer["id"], "currency": currency,
            "issue_date": draft.issue_date, "due_date": draft.due_date, "notes": draft.notes,
            "paid_amount": ZERO, "credited_amount": ZERO, "created_at": utcnow(), "created_by": actor.username,
            **_total_values(totals),
        }
        invoice_id = invoice_store.insert_header(conn, header)
        invoice_store.replace_body(conn, invoice_id, lines, allowances, _tax_rows(totals))
        audit.record(conn, actor, "invoice.create_draft", "invoice", invoice_id,
                     after={"header": header, "lines": lines, "allowances": allowances})
        return invoice_id

    return db.transaction(work)


def update_draft(db: Database, actor: Actor, invoice_id: int, data: InvoiceDraftIn | dict[str, Any]) -> None:
    require(db, actor, "invoices.write")
    draft = parse(InvoiceDraftIn, data)

    def work(conn: Connection) -> None:
        before = _header(conn, invoice_id)
        logic.check_can_edit(before["status"])
        customer = _customer_for_invoice(conn, draft.customer_id)
        currency = draft.currency or customer["currency"]
        lines, allowances, totals = _priced_body(conn, draft, currency)
        if draft.issue_date and draft.due_date and draft.due_date < draft.issue_date:
            raise ValidationError("The due date cannot be before the issue date.")
        values = {"customer_id": customer["id"], "currency": currency, "issue_date": draft.issue_date,
                  "due_date": draft.due_date, "notes": draft.notes, **_total_values(totals)}
        old_lines, old_allowances, _ = invoice_store.get_body(conn, invoice_id)
        invoice_store.update_header(conn, invoice_id, values)
        invoice_store.replace_body(conn, invoice_id, lines, allowances, _tax_rows(totals))
        audit.record(conn, actor, "invoice.update_draft", "invoice", invoice_id,
                     before={"header": before, "lines": old_lines, "allowances": old_allowances},
                     after={"header": values, "lines": lines, "allowances": allowances})

    db.transaction(work)


def delete_draft(db: Database, actor: Actor, invoice_id: int) -> None:
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> None:
        before = _header(conn, invoice_id)
        if before["status"] != logic.DRAFT:
            raise StateError("Only a draft can be deleted. Void or credit an issued invoice instead.")
        invoice_store.delete_invoice(conn, invoice_id)
        audit.record(conn, actor, "invoice.delete_draft", "invoice", invoice_id, before=before)

    db.transaction(work)


def issue_invoice(db: Database, actor: Actor, invoice_id: int, today: date,
                  issue_date: date | None = None, due_date: date | None = None) -> str:
    """Issue a draft: next gapless number of its series, totals frozen, due date from terms.

    Returns the invoice number.
    """
    require(db, actor, "invoices.write")

    def work(conn: Connection) -> str:
        header = _header(conn, invoice_id)
        if header["status"] != logic.DRAFT:
            raise StateError(f"Invoice {header['number']} has already been issued.")
        customer = _customer_for_invoice(conn, header["customer_id"])
        lines, allowances = invoice_store.get_lines(conn, invoice_id)
        if not lines:
            raise ValidationError("An invoice needs at least one line.")
        totals = totals_of(lines, allowances, header["currency"])
        if totals.payable < 0:
            raise ValidationError("The invoice total would be negative. Issue a credit note instead.")
        on = issue_date or header["issue_date"] or today
        due = logic.due_date_for(on, customer["terms_days"], due_date or header["due_date"])
        seq, pattern = series_store.take_next(conn, header["series"])
        number = logic.format_number(pattern, seq, on)
        values = {"status": logic.ISSUED, "number": number, "issue_date": on, "due_date": due,
                  "issued_at": utcnow(), **_total_values(totals)}
        invoice_store.update_header(conn, invoice_id, values)
        # The draft's lines and VAT breakdown were stored from the same computation when it was
        # saved; rewrite them only if they somehow differ, so issuing stays a handful of statements.
        frozen = [{**line, "net_amount": net} for line, net in zip(lines, totals.line_nets, strict=True)]
        if [line["net_amount"] for line in lines] != list(totals.line_nets) \
                or not _same_taxes(conn, invoice_id, totals):
            invoice_store.replace_body(conn, invoice_id, frozen, allowances, _tax_rows(totals))
        facts.record_sales(conn, {**header, **values}, frozen, _tax_rows(totals))
        audit.record(conn, actor, "invoice.issue", "invoice", invoice_id,
                     before={"status": header["status"]}, after=values)
        return number

    return db.transaction(work)


def void_invoice(db: Database, actor: Actor, invoice_id: int, reason: str, today: date) -> None:
    """Void an issued invoice that nothing was paid or credited on. It keeps its number."""
    require(db, actor, "invoices.write")
    logic.check_date(today, "The void date")

    def work(conn: Connection) -> None:
        header = _header(conn, invoice_id)
        logic.check_can_void(header["status"], header["paid_amount"], header["credited_amount"], reason)
        if header["kind"] == logic.CREDIT_NOTE and header["credited_invoice_id"] is not None:
            raise StateError("A credit note cannot be voided; issue a new invoice instead.")
        values = {"status": logic.VOID, "void_reason": reason.strip(), "voided_on": today}
        invoice_store.update_header(conn, invoice_id, values)
        facts.remove_sales(conn, invoice_id)
        audit.record(conn, actor, "invoice.void", "invoice", invoice_id,
                     before={"status": header["status"]}, after=values)

    db.transaction(work)


def _credited_line_rows(invoiced: list[dict[str, Any]], quantities: dict[int, Decimal | str],
                        already: dict[int, Decimal], currency: str) -> list[dict[str, Any]]:
    """Credit-note lines for quantities of an invoice's lines: same price, VAT and percent discount; a
    fixed line discount in proportion to the quantity (rounded to the currency)."""
    by_position = {int(line["position"]): line for line in invoiced}
    rows: list[dict[str, Any]] = []
    for position, value in sorted(quantities.items()):
        line = by_position.get(int(position))
        if line is None:
            raise ValidationError(f"The invoice has no line {position}.")
        quantity = to_decimal(value, f"quantity to credit on line {position}")
        if quantity == 0:
            continue
        check_decimals(quantity, 4, f"quantity to credit on line {position}")
        credited = already.get(int(position), ZERO)
        left = line["quantity"] - credited
        if quantity * line["quantity"] < 0 or abs(quantity) > abs(left):
            of_line = plain_number(line["quantity"])
            done = f"{plain_number(credited)} of {of_line} already credited; " if credited else ""
            raise ValidationError(f"Line {position} ({line['description']}): {done}at most {plain_number(left)} "
                                  f"{'more ' if credited else ''}can be credited.")
        discount = line["discount_amount"]
        if discount and quantity != line["quantity"]:
            discount = round_money(discount * quantity / line["quantity"], currency)
        rows.append({**line, "position": len(rows) + 1, "quantity": quantity, "discount_amount": discount,
                     "net_amount": ZERO, "credits_line": int(position)})
    if not rows:
        raise ValidationError("Enter the quantity to credit on at least one line.")
    return rows


def preview_credit_note(db: Database, actor: Actor, invoice_id: int,
                        quantities: dict[int, Decimal | str]) -> logic.Totals:
    """The totals of the credit note `create_credit_note(..., quantities=...)` would issue, checked
    the same way (each line's limit, the invoice's remaining amount), without issuing it."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        invoice = _header(conn, invoice_id)
        invoiced, _, _ = invoice_store.get_body(conn, invoice_id)
        lines = _credited_line_rows(invoiced, quantities, invoice_store.credited_quantities(conn, invoice_id),
                                    invoice["currency"])
    totals = totals_of(lines, [], invoice["currency"])
    logic.check_credit_amount(totals.payable, round_money(invoice["payable"] - invoice["credited_amount"],
                                                          invoice["currency"]))
    return totals


def create_credit_note(db: Database, actor: Actor, invoice_id: int, today: date, reason: str = "",
                       lines: list[LineIn] | list[dict[str, Any]] | None = None,
                       quantities: dict[int, Decimal | str] | None = None) -> int:
    """Issue a credit note against an issued invoice: all of it (by default); or `quantities` of its
    lines (by position), never more of a line than was invoiced less what earlier credit notes took;
    or free `lines` (a goodwill credit), at the VAT rates the invoice charged.

    Never credits more than remains. When the invoice was already paid beyond what now remains,
    payment allocations are released (as negative allocation rows) and become customer credit.
    """
    require(db, actor, "invoices.write")
    logic.check_date(today, "The credit note date")
    if lines is not None and quantities is not None:
        raise ValidationError("Credit either chosen quantities of the invoice's lines or free lines, not both.")

    def work(conn: Connection) -> int:
        invoice = _header(conn, invoice_id)
        if invoice["status"] != logic.ISSUED or invoice["kind"] != logic.INVOICE:
            raise StateError("Only an issued invoice can be credited.")
        currency = invoice["currency"]
        if quantities is not None:
            invoiced, _, _ = invoice_store.get_body(conn, invoice_id)
            body_lines = _credited_line_rows(invoiced, quantities, invoice_store.credited_quantities(conn, invoice_id),
                                             currency)
            allowances: list[dict[str, Any]] = []
        elif lines is None:
            if invoice["credited_amount"] != 0:
                raise ValidationError("Part of this invoice was already credited; choose the lines to credit.")
            body_lines, allowances, _ = invoice_store.get_body(conn, invoice_id)
            body_lines = [{**line, "credits_line": line["position"]} for line in body_lines]
        else:
            draft = parse(InvoiceDraftIn, {"customer_id": invoice["customer_id"], "lines": lines})
            body_lines, allowances = _line_rows(conn, draft.lines, currency), []
            # VAT is credited at the rate the invoice charged, even if that tax rate changed since.
            invoiced, _, _ = invoice_store.get_body(conn, invoice_id)
            charged = {line["tax_rate_id"]: (line["vat_category"], line["vat_rate"]) for line in invoiced}
            for line in body_lines:
                if line["tax_rate_id"] not in charged:
                    raise ValidationError(f"Line {line['position']}: the invoice has no line with this tax rate.")
                line["vat_category"], line["vat_rate"] = charged[line["tax_rate_id"]]
        totals = totals_of(body_lines, allowances, currency)
        remaining = round_money(invoice["payable"] - invoice["credited_amount"], currency)
        logic.check_credit_amount(totals.payable, remaining)
        seq, pattern = series_store.take_next(conn, SERIES_OF_KIND[logic.CREDIT_NOTE])
        number = logic.format_number(pattern, seq, today)
        header = {
            "kind": logic.CREDIT_NOTE, "series": SERIES_OF_KIND[logic.CREDIT_NOTE], "number": number,
            "status": logic.ISSUED, "customer_id": invoice["customer_id"], "currency": currency,
            "issue_date": today, "due_date": today, "credited_invoice_id": invoice_id,
            "notes": reason.strip() or f"Credit note for invoice {invoice['number']}",
            "paid_amount": ZERO, "credited_amount": ZERO, "created_at": utcnow(), "issued_at": utcnow(),
            "created_by": actor.username, **_total_values(totals),
        }
        credit_id = invoice_store.insert_header(conn, header)
        credited_lines = [{**line, "net_amount": net} for line, net in zip(body_lines, totals.line_nets, strict=True)]
        invoice_store.replace_body(conn, credit_id, credited_lines, allowances, _tax_rows(totals))
        excess = invoice["paid_amount"] + invoice["credited_amount"] + totals.payable - invoice["payable"]
        released = max(excess, ZERO)
        invoice_store.add_to_amounts(conn, invoice_id, today, paid=-released, credited=totals.payable)
        if released > 0:
            payment_store.release_allocations(conn, invoice_id, released, today)
            facts.note_collected(conn, invoice_id, today, -released)
        facts.record_sales(conn, {**header, "id": credit_id}, credited_lines, _tax_rows(totals))
        audit.record(conn, actor, "invoice.credit", "invoice", credit_id,
                     after={**header, "released_to_credit": released})
        return credit_id

    return db.transaction(work)


def duplicate_invoice(db: Database, actor: Actor, invoice_id: int) -> int:
    """A new draft with the same customer, lines and allowances/charges (dates left empty)."""
    view = get_invoice(db, actor, invoice_id, as_of=date.today())
    if view.is_credit_note:
        raise StateError("A credit note cannot be duplicated.")
    return create_draft(db, actor, draft_input(view))


def draft_input(view: InvoiceView) -> dict[str, Any]:
    """The editable input behind an invoice (for the editor and for duplicating)."""
    return {
        "customer_id": view.header["customer_id"],
        "currency": view.header["currency"],
        "notes": view.header["notes"],
        "lines": [{"description": line["description"], "quantity": line["quantity"],
                   "unit_price": line["unit_price"], "unit": line["unit"], "product_id": line["product_id"],
                   "base_quantity": line["base_quantity"], "discount_percent": line["discount_percent"],
                   "discount_amount": line["discount_amount"],
                   "tax_rate_id": line["tax_rate_id"]} for line in view.lines],
        "allowances_charges": [{"is_charge": item["is_charge"], "reason": item["reason"], "amount": item["amount"],
                                "percent": item["percent"], "tax_rate_id": item["tax_rate_id"]}
                               for item in view.allowances],
    }


def get_invoice(db: Database, actor: Actor, invoice_id: int, as_of: date) -> InvoiceView:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        header = _header(conn, invoice_id)
        lines, allowances, _ = invoice_store.get_body(conn, invoice_id)
        customer = records.get(conn, customers, header["customer_id"]) or {}
        credit_notes = invoice_store.credit_notes_of(conn, invoice_id)
        allocations = payment_store.allocations_of_invoice(conn, invoice_id)
        credited = (invoice_store.get_header(conn, header["credited_invoice_id"])
                    if header["credited_invoice_id"] else None)
        rate_ids = sorted({int(item["tax_rate_id"]) for item in [*lines, *allowances] if item["tax_rate_id"]})
        rates = records.rows_with_ids(conn, tax_rates, rate_ids)
    reasons = {rate["category"]: rate["exemption_reason"] for rate in rates
               if rate["category"] in logic.EXEMPTION_REASON_CATEGORIES and rate["exemption_reason"]}
    currency = header["currency"]
    for row in [header, *lines, *allowances, *credit_notes, *allocations]:
        quantize_row(row, currency)
    totals = totals_of(lines, allowances, currency)
    balance = logic.invoice_balance(header["payable"], header["paid_amount"], header["credited_amount"])
    if header["kind"] == logic.CREDIT_NOTE:
        status = header["status"] if header["status"] != logic.ISSUED else "credit_note"
        balance = ZERO
    else:
        status = logic.display_status(header["status"], header["payable"], header["paid_amount"],
                                      header["credited_amount"], header["due_date"], as_of)
    return InvoiceView(header=header, customer=customer, lines=lines, allowances=allowances, totals=totals,
                       balance=balance, status=status, credit_notes=credit_notes, allocations=allocations,
                       credited_invoice=credited, exemption_reasons=reasons)


def list_invoices(db: Database, actor: Actor, as_of: date, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """A page of invoices and credit notes with balances and display status."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        rows, total = invoice_store.list_page(conn, as_of=as_of, **filters)
    for row in rows:
        quantize_row(row, row["currency"])
        if row["kind"] == logic.CREDIT_NOTE:
            row["display_status"] = "credit_note" if row["status"] == logic.ISSUED else row["status"]
            row["balance"] = ZERO
        else:
            row["display_status"] = logic.display_status(row["status"], row["payable"], row["paid_amount"],
                                                         row["credited_amount"], row["due_date"], as_of)
    return rows, total


def _same_taxes(conn: Connection, invoice_id: int, totals: logic.Totals) -> bool:
    stored = sorted((t["vat_category"], logic.rate_key(t["vat_rate"]), t["taxable"], t["tax"])
                    for t in invoice_store.get_taxes(conn, invoice_id))
    return stored == sorted((t.vat_category, t.vat_rate, t.taxable, t.tax) for t in totals.tax_breakdown)


def _header(conn: Connection, invoice_id: int) -> dict[str, Any]:
    header = invoice_store.get_header(conn, invoice_id)
    if header is None:
        raise NotFoundError(f"Invoice {invoice_id} does not exist.")
    return header
