"""Credit notes: against an issued invoice, in whole, by quantities of its lines, or as free lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from billing import audit, logic, parties
from billing.documents import (
    HeaderValues,
    InvoiceHeader,
    StoredAllowanceCharge,
    StoredLine,
    computed_totals,
    total_values,
)
from billing.errors import StateError, ValidationError
from billing.invoices import (
    SERIES_OF_KIND,
    header_of,
    line_records,
    tax_records,
    with_nets,
)
from billing.models import InvoiceDraftIn, LineIn, parse
from billing.money import ZERO, check_decimals, round_money, to_decimal
from billing.permissions import Actor, require
from billing.store import facts
from billing.store import invoices as invoice_store
from billing.store import payments as payment_store
from billing.store import series as series_store
from billing.store.db import Database, utcnow
from billing.text import check_text
from billing.webhooks import events


def _credited_lines(invoiced: list[StoredLine], quantities: dict[int, Decimal | str],
                    already: dict[int, Decimal], currency: str) -> list[StoredLine]:
    """Credit-note lines for quantities of an invoice's lines: same price, VAT and percent discount; a
    fixed line discount in proportion to the quantity (rounded to the currency)."""
    by_position = {line.position: line for line in invoiced}
    lines: list[StoredLine] = []
    for position, value in sorted(quantities.items()):
        line = by_position.get(int(position))
        if line is None:
            raise ValidationError(f"The invoice has no line {position}.")
        quantity = to_decimal(value, f"quantity to credit on line {position}")
        if quantity == 0:
            continue
        check_decimals(quantity, 4, f"quantity to credit on line {position}")
        logic.check_credit_quantity(quantity, line.quantity, already.get(line.position, ZERO),
                                    f"Line {position} ({line.description})")
        discount = line.discount_amount
        if discount and quantity != line.quantity:
            discount = round_money(discount * quantity / line.quantity, currency)
        lines.append(replace(line, position=len(lines) + 1, quantity=quantity, discount_amount=discount,
                             net_amount=ZERO, credits_line=line.position))
    if not lines:
        raise ValidationError("Enter the quantity to credit on at least one line.")
    return lines


def _remaining(invoice: InvoiceHeader) -> Decimal:
    return round_money(logic.creditable_amount(invoice.payable, invoice.credited_amount), invoice.currency)


def preview_credit_note(db: Database, actor: Actor, invoice_id: int,
                        quantities: dict[int, Decimal | str]) -> logic.Totals:
    """The totals of the credit note `create_credit_note(..., quantities=...)` would issue, checked
    the same way (each line's limit, the invoice's remaining amount), without issuing it."""
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        invoice = header_of(conn, invoice_id)
        invoiced, _ = invoice_store.get_lines(conn, invoice_id)
        lines = _credited_lines(invoiced, quantities, invoice_store.credited_quantities(conn, invoice_id),
                                invoice.currency)
    totals = computed_totals(lines, [], invoice.currency)
    logic.check_credit_amount(totals.payable, _remaining(invoice))
    return totals


def _free_lines(conn: Connection, invoice: InvoiceHeader, lines: list[LineIn] | list[dict[str, Any]]
                ) -> list[StoredLine]:
    """Free credit lines (a goodwill credit): VAT is credited at the rate the invoice charged, even if that
    tax rate changed since."""
    draft = parse(InvoiceDraftIn, {"customer_id": invoice.customer_id, "lines": lines})
    invoiced, _ = invoice_store.get_lines(conn, invoice.id)
    charged = {line.tax_rate_id: (line.vat_category, line.vat_rate) for line in invoiced}
    credited: list[StoredLine] = []
    for line in line_records(conn, draft.lines, invoice.currency):
        if line.tax_rate_id not in charged:
            raise ValidationError(f"Line {line.position}: the invoice has no line with this tax rate.")
        category, rate = charged[line.tax_rate_id]
        credited.append(replace(line, vat_category=category, vat_rate=rate))
    return credited


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
    check_text(reason, "Credit note reason", multiline=True, param="reason")

    def work(conn: Connection) -> int:
        invoice = header_of(conn, invoice_id)
        if invoice.status != logic.ISSUED or invoice.kind != logic.INVOICE:
            raise StateError("Only an issued invoice can be credited.")
        currency = invoice.currency
        allowance_charges: list[StoredAllowanceCharge] = []
        if quantities is not None:
            invoiced, _ = invoice_store.get_lines(conn, invoice_id)
            body_lines = _credited_lines(invoiced, quantities, invoice_store.credited_quantities(conn, invoice_id),
                                         currency)
        elif lines is None:
            if not logic.can_credit_whole(invoice.credited_amount):
                raise ValidationError("Part of this invoice was already credited; choose the lines to credit.")
            invoiced, allowance_charges = invoice_store.get_lines(conn, invoice_id)
            body_lines = [replace(line, credits_line=line.position) for line in invoiced]
        else:
            body_lines = _free_lines(conn, invoice, lines)
        totals = computed_totals(body_lines, allowance_charges, currency)
        logic.check_credit_amount(totals.payable, _remaining(invoice))
        seq, pattern = series_store.take_next(conn, SERIES_OF_KIND[logic.CREDIT_NOTE])
        number = logic.format_number(pattern, seq, today)
        header: HeaderValues = {
            "kind": logic.CREDIT_NOTE, "series": SERIES_OF_KIND[logic.CREDIT_NOTE], "number": number,
            "status": logic.ISSUED, "customer_id": invoice.customer_id, "currency": currency,
            "issue_date": today, "due_date": today, "credited_invoice_id": invoice_id,
            "notes": reason.strip() or f"Credit note for invoice {invoice.number}",
            "paid_amount": ZERO, "credited_amount": ZERO, "created_at": utcnow(), "issued_at": utcnow(),
            "created_by": actor.username, "buyer_reference": invoice.buyer_reference,
            "order_reference": invoice.order_reference, **total_values(totals),
        }
        credit_id = invoice_store.insert_header(conn, header)
        parties.freeze(conn, credit_id, invoice.customer_id)
        credited_lines = with_nets(body_lines, totals)
        invoice_store.insert_body(conn, credit_id, credited_lines, allowance_charges, tax_records(totals))
        excess = invoice.paid_amount + invoice.credited_amount + totals.payable - invoice.payable
        released = max(excess, ZERO)
        invoice_store.add_to_amounts(conn, invoice_id, today, paid=-released, credited=totals.payable)
        if released > 0:
            payment_store.release_allocations(conn, invoice_id, released, today)
            facts.note_collected(conn, invoice_id, today, -released)
        facts.record_sales(conn, header_of(conn, credit_id), credited_lines, tax_records(totals))
        audit.record(conn, actor, "invoice.credit", "invoice", credit_id,
                     after={**header, "released_to_credit": released})
        events.invoice_event(conn, "credit_note.issued", credit_id)
        return credit_id

    return db.transaction(work)
