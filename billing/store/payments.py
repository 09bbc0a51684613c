"""SQL of payments and allocations: remainders, customer credit, releases, lists."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.documents import InvoiceAllocation, from_row
from billing.store.db import utcnow
from billing.store.schema import allocations, customers, invoices, payments


def insert_payment(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(payments.insert().values(**values).returning(payments.c.id)).scalar_one())


def get_payment(conn: Connection, payment_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(payments).where(payments.c.id == payment_id)).mappings().first()
    return dict(row) if row is not None else None


def insert_allocation(conn: Connection, payment_id: int, invoice_id: int, amount: Decimal, on: date) -> int:
    return int(conn.execute(allocations.insert().values(payment_id=payment_id, invoice_id=invoice_id, amount=amount,
                                                        allocated_on=on, created_at=utcnow())
                            .returning(allocations.c.id)).scalar_one())


def allocated_of_payment(conn: Connection, payment_id: int) -> Decimal:
    value = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(allocations.c.amount), 0))
                         .where(allocations.c.payment_id == payment_id)).scalar_one()
    return Decimal(value)


def is_reversed(conn: Connection, payment_id: int) -> bool:
    return conn.execute(sa.select(sa.literal(1)).where(payments.c.reverses_payment_id == payment_id)
                        .limit(1)).first() is not None


def customer_credit(conn: Connection, customer_id: int, currency: str) -> Decimal:
    """Money received and not put against any invoice (less refunds): what the customer has in credit."""
    received = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount), 0))
                            .where(payments.c.customer_id == customer_id, payments.c.currency == currency)
                            ).scalar_one()
    allocated = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(allocations.c.amount), 0))
        .select_from(allocations.join(payments, payments.c.id == allocations.c.payment_id))
        .where(payments.c.customer_id == customer_id, payments.c.currency == currency)).scalar_one()
    return Decimal(received) - Decimal(allocated)


def credits_by_currency(conn: Connection, customer_id: int) -> dict[str, Decimal]:
    alloc = (sa.select(allocations.c.payment_id, sa.func.sum(allocations.c.amount).label("allocated"))
             .group_by(allocations.c.payment_id).subquery())
    rows = conn.execute(
        sa.select(payments.c.currency,
                  sa.func.sum(payments.c.amount - sa.func.coalesce(alloc.c.allocated, 0)).label("credit"))
        .select_from(payments.outerjoin(alloc, alloc.c.payment_id == payments.c.id))
        .where(payments.c.customer_id == customer_id).group_by(payments.c.currency)).all()
    return {str(r.currency): Decimal(r.credit) for r in rows}


def payments_with_remainder(conn: Connection, customer_id: int, currency: str) -> list[dict[str, Any]]:
    """Positive payments of a customer with unallocated money, oldest first (reversed ones excluded:
    their reversal entry already cancels that money, and they cannot be allocated)."""
    alloc = sa.func.coalesce(
        sa.select(sa.func.sum(allocations.c.amount)).where(allocations.c.payment_id == payments.c.id)
        .scalar_subquery(), 0)
    remainder = (payments.c.amount - alloc).label("remainder")
    reversals = payments.alias("reversals")
    reversed_ = sa.exists(sa.select(sa.literal(1)).select_from(reversals)
                          .where(reversals.c.reverses_payment_id == payments.c.id))
    rows = conn.execute(
        sa.select(payments.c.id, payments.c.received_on, remainder)
        .where(payments.c.customer_id == customer_id, payments.c.currency == currency,
               payments.c.kind == "payment", payments.c.amount - alloc > 0, ~reversed_)
        .order_by(payments.c.received_on, payments.c.id)).mappings()
    return [dict(r) for r in rows]


def allocations_of_invoice(conn: Connection, invoice_id: int) -> list[InvoiceAllocation]:
    """The allocations to an invoice (released ones as negative rows) with their payments' details, oldest first."""
    rows = conn.execute(
        sa.select(allocations.c.id, allocations.c.payment_id, allocations.c.amount, allocations.c.allocated_on,
                  payments.c.method, payments.c.reference, payments.c.received_on)
        .select_from(allocations.join(payments, payments.c.id == allocations.c.payment_id))
        .where(allocations.c.invoice_id == invoice_id).order_by(allocations.c.id)).mappings()
    return [from_row(InvoiceAllocation, r) for r in rows]


def allocations_of_payment(conn: Connection, payment_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(allocations.c.invoice_id, invoices.c.number, sa.func.sum(allocations.c.amount).label("amount"))
        .select_from(allocations.join(invoices, invoices.c.id == allocations.c.invoice_id))
        .where(allocations.c.payment_id == payment_id)
        .group_by(allocations.c.invoice_id, invoices.c.number).order_by(allocations.c.invoice_id)).mappings()
    return [dict(r) for r in rows if r["amount"] != 0]


def release_allocations(conn: Connection, invoice_id: int, amount: Decimal, on: date) -> None:
    """Take `amount` of payments off an invoice, newest allocation first, as negative rows."""
    per_payment = conn.execute(
        sa.select(allocations.c.payment_id, sa.func.sum(allocations.c.amount).label("amount"),
                  sa.func.max(allocations.c.id).label("last_id"))
        .where(allocations.c.invoice_id == invoice_id).group_by(allocations.c.payment_id)
        .order_by(sa.desc("last_id"))).all()
    remaining = amount
    for row in per_payment:
        if remaining <= 0:
            break
        take = min(Decimal(row.amount), remaining)
        if take > 0:
            insert_allocation(conn, int(row.payment_id), invoice_id, -take, on)
            remaining -= take


def _list_where(*, customer_id: int | None = None, currency: str | None = None, date_from: date | None = None,
                date_to: date | None = None, method: str | None = None,
                updated_since: datetime | None = None) -> sa.ColumnElement[bool]:
    conditions = []
    if updated_since is not None:
        # A payment changes when it is recorded, allocated (or released) and reversed: each of these writes a
        # row with its time, so no column of its own is needed.
        later = payments.alias("later")
        conditions.append(sa.or_(
            payments.c.created_at >= updated_since,
            sa.exists(sa.select(sa.literal(1)).where(allocations.c.payment_id == payments.c.id,
                                                     allocations.c.created_at >= updated_since)),
            sa.exists(sa.select(sa.literal(1)).where(later.c.reverses_payment_id == payments.c.id,
                                                     later.c.created_at >= updated_since))))
    if customer_id is not None:
        conditions.append(payments.c.customer_id == customer_id)
    if currency:
        conditions.append(payments.c.currency == currency)
    if date_from:
        conditions.append(payments.c.received_on >= date_from)
    if date_to:
        conditions.append(payments.c.received_on <= date_to)
    if method:
        conditions.append(payments.c.method == method)
    return sa.and_(sa.true(), *conditions)


def _list_select() -> sa.Select[Any]:
    alloc = sa.func.coalesce(
        sa.select(sa.func.sum(allocations.c.amount)).where(allocations.c.payment_id == payments.c.id)
        .scalar_subquery(), 0)
    reversed_ = sa.exists(sa.select(sa.literal(1)).select_from(payments.alias("r"))
                          .where(sa.literal_column("r.reverses_payment_id") == payments.c.id))
    return (sa.select(payments.c.id, payments.c.kind, payments.c.received_on, payments.c.customer_id,
                      customers.c.name.label("customer"), payments.c.currency, payments.c.amount,
                      alloc.label("allocated"), (payments.c.amount - alloc).label("unallocated"),
                      payments.c.method, payments.c.reference, reversed_.label("reversed"))
            .select_from(payments.join(customers, customers.c.id == payments.c.customer_id)))


def list_page(conn: Connection, *, limit: int = 50, offset: int = 0,
              **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """A page of payments, refunds and reversals (newest received first) and the matching count; filters:
    customer_id, currency, date_from and date_to (received), method."""
    where = _list_where(**filters)
    total = conn.execute(sa.select(sa.func.count()).select_from(payments).where(where)).scalar_one()
    newest_first = (payments.c.received_on.desc(), payments.c.id.desc())
    # The page's ids first (the filters are on payments alone), then the allocated sums for those entries only.
    page_ids = sa.select(payments.c.id).where(where).order_by(*newest_first).limit(limit).offset(offset)
    rows = conn.execute(_list_select().where(payments.c.id.in_(page_ids.scalar_subquery()))
                        .order_by(*newest_first)).mappings()
    return [dict(r) for r in rows], int(total)


def list_before_id(conn: Connection, *, before_id: int | None, limit: int, **filters: Any) -> list[dict[str, Any]]:
    """Up to `limit` entries matching `list_page`'s filters, newest id first, with ids below `before_id`
    (cursor pagination)."""
    where = _list_where(**filters)
    if before_id is not None:
        where = sa.and_(where, payments.c.id < before_id)
    # The page's ids first: its allocated sums and customers are then looked up for those entries only.
    page_ids = sa.select(payments.c.id).where(where).order_by(payments.c.id.desc()).limit(limit).scalar_subquery()
    rows = conn.execute(_list_select().where(payments.c.id.in_(page_ids)).order_by(payments.c.id.desc())).mappings()
    return [dict(r) for r in rows]
