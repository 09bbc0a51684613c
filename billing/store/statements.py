"""SQL of the customer statement: a customer's documents and payments in one currency, in statement order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.logic import CREDIT_NOTE, INVOICE, ISSUED, VOID
from billing.store.schema import customers, invoices, payments


def customer_row(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).mappings().first()
    return dict(row) if row is not None else None


def _statement_activity(customer_id: int, currency: str) -> sa.Subquery:
    """Every statement entry of a customer in a currency: debit and credit as positive amounts."""
    doc, credited = invoices, invoices.alias("credited")
    documents = (
        sa.select(doc.c.issue_date.label("on"), doc.c.kind.label("kind"), doc.c.id.label("id"),
                  sa.func.coalesce(doc.c.number, "").label("number"),
                  sa.func.coalesce(credited.c.number, "").label("reference"), doc.c.notes.label("detail"),
                  sa.case((doc.c.kind == INVOICE, doc.c.payable), else_=0).label("debit"),
                  sa.case((doc.c.kind == CREDIT_NOTE, doc.c.payable), else_=0).label("credit"))
        .select_from(doc.outerjoin(credited, credited.c.id == doc.c.credited_invoice_id))
        .where(doc.c.customer_id == customer_id, doc.c.currency == currency, doc.c.status == ISSUED))
    money = (
        sa.select(payments.c.received_on, payments.c.kind, payments.c.id, sa.literal(""),
                  payments.c.reference, payments.c.method,
                  sa.case((payments.c.amount < 0, -payments.c.amount), else_=0),
                  sa.case((payments.c.amount > 0, payments.c.amount), else_=0))
        .where(payments.c.customer_id == customer_id, payments.c.currency == currency))
    return sa.union_all(documents, money).subquery("activity")


def statement_entries(conn: Connection, customer_id: int, currency: str, date_from: date,
                      date_to: date) -> tuple[Decimal, list[sa.Row[Any]]]:
    """The opening balance at `date_from` and the statement's entries from `date_from` to `date_to` in
    statement order, each with its running `balance`: one scan of the customer's history, the running sum
    computed by the database (exact DECIMAL) so only the period's rows reach Python."""
    activity = _statement_activity(customer_id, currency)
    order = sa.case({INVOICE: 0, CREDIT_NOTE: 1, "payment": 2, "refund": 3, "reversal": 4}, value=activity.c.kind,
                    else_=5)
    net = activity.c.debit - activity.c.credit
    running = (sa.select(activity, order.label("position"),
                         sa.func.sum(net).over(order_by=(activity.c.on, order, activity.c.id),
                                               rows=(None, 0)).label("balance"))
               .where(activity.c.on <= sa.literal(date_to, sa.Date)).subquery("running"))
    rows = list(conn.execute(
        sa.select(running).where(running.c.on >= sa.literal(date_from, sa.Date))
        .order_by(running.c.on, running.c.position, running.c.id)).all())
    if rows:
        first = rows[0]
        return Decimal(first.balance) - Decimal(first.debit) + Decimal(first.credit), rows
    before = conn.execute(sa.select(sa.func.sum(net)).where(activity.c.on <= sa.literal(date_to, sa.Date))).scalar()
    return Decimal(before or 0), rows


def voided_in(conn: Connection, customer_id: int, currency: str, date_from: date, date_to: date) -> list[str]:
    return [str(n) for n in conn.execute(
        sa.select(invoices.c.number).where(invoices.c.customer_id == customer_id, invoices.c.currency == currency,
                                           invoices.c.status == VOID, invoices.c.issue_date <= date_to,
                                           invoices.c.voided_on >= date_from).order_by(invoices.c.number)).scalars()]
