"""SQL of the customer statement: a customer's documents and payments in one currency, in statement order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.logic import CREDIT_NOTE, INVOICE, ISSUED, VOID
from billing.store.schema import customers, invoices, payments

# Entries of one day in this order: documents before the money that settles them.
POSITIONS = {INVOICE: 0, CREDIT_NOTE: 1, "payment": 2, "refund": 3, "reversal": 4}


class Entry(NamedTuple):
    """One line of a statement: `debit` and `credit` as positive amounts; `reference` is the credited invoice's
    number for a credit note, the payment's reference for money; `detail` the payment method."""

    on: date
    kind: str
    id: int
    number: str
    reference: str | None
    detail: str | None
    debit: Decimal
    credit: Decimal


def customer_row(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).mappings().first()
    return dict(row) if row is not None else None


def _documents(customer_id: int, currency: str) -> sa.Select[Any]:
    return sa.select().select_from(invoices).where(
        invoices.c.customer_id == customer_id, invoices.c.currency == currency, invoices.c.status == ISSUED)


def _money(customer_id: int, currency: str) -> sa.Select[Any]:
    return sa.select().select_from(payments).where(payments.c.customer_id == customer_id,
                                                   payments.c.currency == currency)


def opening_balance(conn: Connection, customer_id: int, currency: str, before: date) -> Decimal:
    """What the customer owed at the start of `before`: invoices less credit notes and money received (refunds
    and reversals are negative payments, so they add back)."""
    signed = sa.case((invoices.c.kind == INVOICE, invoices.c.payable),
                     (invoices.c.kind == CREDIT_NOTE, -invoices.c.payable), else_=0)
    documents = _documents(customer_id, currency).add_columns(sa.func.sum(signed)).where(
        invoices.c.issue_date < before)
    money = _money(customer_id, currency).add_columns(sa.func.sum(-payments.c.amount)).where(
        payments.c.received_on < before)
    return sum((Decimal(total) for total in conn.execute(sa.union_all(documents, money)).scalars()
                if total is not None), Decimal(0))


def period_entries(conn: Connection, customer_id: int, currency: str, date_from: date,
                   date_to: date) -> list[Entry]:
    """The statement's entries dated from `date_from` to `date_to`, in statement order (day, kind, id).

    The columns of these few rows are read for the period only (a history of years is summed by
    `opening_balance` without them), and a credit note's invoice number is looked up by id afterwards: a join
    with the invoices table would read every invoice's number."""
    documents = _documents(customer_id, currency).add_columns(
        invoices.c.issue_date.label("on"), invoices.c.kind.label("kind"), invoices.c.id.label("id"),
        sa.func.coalesce(invoices.c.number, "").label("number"), invoices.c.credited_invoice_id.label("credited"),
        sa.literal("").label("reference"), sa.null().label("detail"),
        sa.case((invoices.c.kind == INVOICE, invoices.c.payable), else_=0).label("debit"),
        sa.case((invoices.c.kind == CREDIT_NOTE, invoices.c.payable), else_=0).label("credit"),
    ).where(invoices.c.issue_date.between(date_from, date_to))
    money = _money(customer_id, currency).add_columns(
        payments.c.received_on, payments.c.kind, payments.c.id, sa.literal(""), sa.null(), payments.c.reference,
        payments.c.method, sa.case((payments.c.amount < 0, -payments.c.amount), else_=0),
        sa.case((payments.c.amount > 0, payments.c.amount), else_=0),
    ).where(payments.c.received_on.between(date_from, date_to))
    rows = conn.execute(sa.union_all(documents, money)).all()
    credited = sorted({row.credited for row in rows if row.credited is not None})
    numbers: dict[int, str | None] = dict(conn.execute(
        sa.select(invoices.c.id, invoices.c.number).where(invoices.c.id.in_(credited))).all()) if credited else {}
    entries = [Entry(on, kind, id_, number, numbers.get(credited_id) or "" if credited_id is not None else reference,
                     detail, debit, credit)
               for on, kind, id_, number, credited_id, reference, detail, debit, credit in rows]
    entries.sort(key=lambda entry: (entry.on, POSITIONS.get(entry.kind, 5), entry.id))
    return entries


def voided_in(conn: Connection, customer_id: int, currency: str, date_from: date, date_to: date) -> list[str]:
    return [str(n) for n in conn.execute(
        sa.select(invoices.c.number).where(invoices.c.customer_id == customer_id, invoices.c.currency == currency,
                                           invoices.c.status == VOID, invoices.c.issue_date <= date_to,
                                           invoices.c.voided_on >= date_from).order_by(invoices.c.number)).scalars()]
