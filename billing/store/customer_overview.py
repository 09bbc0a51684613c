"""SQL of one customer's overview: open balances per currency, documents timeline, audit events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import logic
from billing.store.invoices import balance_expr
from billing.store.schema import audit_events, invoices, payments


def open_balances(conn: Connection, customer_id: int, as_of: date) -> list[dict[str, Any]]:
    """Per currency: the balance of issued invoices still open, the part past due, and their counts."""
    balance = balance_expr()
    overdue = invoices.c.due_date < as_of
    rows = conn.execute(
        sa.select(invoices.c.currency,
                  sa.func.sum(balance).label("outstanding"),
                  sa.func.sum(sa.case((overdue, balance), else_=0)).label("overdue"),
                  sa.func.count().label("open_count"),
                  sa.func.sum(sa.case((overdue, 1), else_=0)).label("overdue_count"))
        .where(invoices.c.customer_id == customer_id, invoices.c.status == logic.ISSUED,
               invoices.c.kind == logic.INVOICE, balance > 0)
        .group_by(invoices.c.currency).order_by(invoices.c.currency)
    ).mappings()
    return [dict(r) for r in rows]


def open_balances_of(conn: Connection, customer_ids: Sequence[int]) -> list[dict[str, Any]]:
    """customer_id, currency and outstanding (the balance of issued invoices still open) of these customers."""
    if not customer_ids:
        return []
    balance = balance_expr()
    rows = conn.execute(
        sa.select(invoices.c.customer_id, invoices.c.currency, sa.func.sum(balance).label("outstanding"))
        .where(invoices.c.customer_id.in_(list(customer_ids)), invoices.c.status == logic.ISSUED,
               invoices.c.kind == logic.INVOICE, balance > 0)
        .group_by(invoices.c.customer_id, invoices.c.currency)
    ).mappings()
    return [dict(r) for r in rows]


def timeline(conn: Connection, customer_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Invoices, credit notes and payments of a customer, newest first, and how many there are."""
    documents = sa.select(
        sa.func.coalesce(invoices.c.issue_date, sa.cast(invoices.c.created_at, sa.Date)).label("on"),
        invoices.c.kind.label("kind"),
        sa.func.coalesce(invoices.c.number, "").label("reference"),
        invoices.c.status.label("detail"),
        invoices.c.currency.label("currency"),
        invoices.c.payable.label("amount"),
        invoices.c.id.label("id"),
    ).where(invoices.c.customer_id == customer_id)
    money = sa.select(
        payments.c.received_on.label("on"),
        payments.c.kind.label("kind"),
        payments.c.reference.label("reference"),
        payments.c.method.label("detail"),
        payments.c.currency.label("currency"),
        payments.c.amount.label("amount"),
        payments.c.id.label("id"),
    ).where(payments.c.customer_id == customer_id)
    both = sa.union_all(documents, money).subquery("activity")
    total = conn.execute(sa.select(sa.func.count()).select_from(both)).scalar_one()
    rows = conn.execute(
        sa.select(both).order_by(both.c.on.desc(), both.c.kind, both.c.id.desc()).limit(limit).offset(offset)
    ).mappings()
    return [dict(r) for r in rows], int(total)


def audit_events_of(conn: Connection, customer_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Audit events about the customer and about its invoices and payments, newest first."""
    its_invoices = sa.select(sa.cast(invoices.c.id, sa.String)).where(invoices.c.customer_id == customer_id)
    its_payments = sa.select(sa.cast(payments.c.id, sa.String)).where(payments.c.customer_id == customer_id)
    where = sa.or_(
        sa.and_(audit_events.c.entity == "customer", audit_events.c.entity_id == str(customer_id)),
        sa.and_(audit_events.c.entity == "invoice", audit_events.c.entity_id.in_(its_invoices)),
        sa.and_(audit_events.c.entity == "payment", audit_events.c.entity_id.in_(its_payments)),
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(audit_events).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(audit_events.c.id, audit_events.c.occurred_at, audit_events.c.actor, audit_events.c.action,
                  audit_events.c.entity, audit_events.c.entity_id)
        .where(where).order_by(audit_events.c.id.desc()).limit(limit).offset(offset)
    ).mappings()
    return [dict(r) for r in rows], int(total)
