"""SQL of payment reminders: the levels, the reminders given, disputed invoices, and the invoices to remind."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import logic
from billing.store.automation_schema import invoice_disputes, invoice_reminders, reminder_levels
from billing.store.invoices import balance_expr
from billing.store.schema import customers, invoices


def levels(conn: Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sa.select(reminder_levels).order_by(reminder_levels.c.level))
            .mappings()]


def replace_levels(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(reminder_levels.delete())
    if rows:
        conn.execute(reminder_levels.insert().values(rows))


def overdue_open_invoices(conn: Connection, due_on_or_before: date, limit: int = 100_000) -> list[dict[str, Any]]:
    """Issued invoices still owed, due on or before the date, not disputed: with their customer, balance and the
    highest reminder level given so far (0: none), oldest due first."""
    given = (sa.select(invoice_reminders.c.invoice_id, sa.func.max(invoice_reminders.c.level).label("level"))
             .group_by(invoice_reminders.c.invoice_id).subquery())
    query = (sa.select(invoices.c.id, invoices.c.number, invoices.c.customer_id, customers.c.name.label("customer"),
                       invoices.c.currency, invoices.c.due_date, balance_expr().label("balance"),
                       sa.func.coalesce(given.c.level, 0).label("last_level"))
             .select_from(invoices.join(customers, customers.c.id == invoices.c.customer_id)
                          .outerjoin(given, given.c.invoice_id == invoices.c.id)
                          .outerjoin(invoice_disputes, invoice_disputes.c.invoice_id == invoices.c.id))
             .where(invoices.c.status == logic.ISSUED, invoices.c.kind == logic.INVOICE, invoices.c.is_open,
                    balance_expr() > 0, invoices.c.due_date <= due_on_or_before,
                    invoice_disputes.c.invoice_id.is_(None))
             .order_by(invoices.c.due_date, invoices.c.id).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]


def still_remindable(conn: Connection, invoice_id: int, level: int) -> bool:
    """Whether the invoice, re-read in this transaction, is still owed, not disputed and below `level`."""
    row = conn.execute(sa.select(balance_expr().label("balance"), invoices.c.status).where(
        invoices.c.id == invoice_id)).first()
    if row is None or row.status != logic.ISSUED or row.balance <= 0:
        return False
    if conn.execute(sa.select(invoice_disputes.c.invoice_id).where(
            invoice_disputes.c.invoice_id == invoice_id)).first() is not None:
        return False
    given = conn.execute(sa.select(sa.func.max(invoice_reminders.c.level)).where(
        invoice_reminders.c.invoice_id == invoice_id)).scalar()
    return given is None or int(given) < level


def add_reminder(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(invoice_reminders.insert().values(**values))


def reminders_of(conn: Connection, invoice_id: int) -> list[dict[str, Any]]:
    query = (sa.select(invoice_reminders).where(invoice_reminders.c.invoice_id == invoice_id)
             .order_by(invoice_reminders.c.level))
    return [dict(row) for row in conn.execute(query).mappings()]


def dispute_of(conn: Connection, invoice_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(invoice_disputes).where(invoice_disputes.c.invoice_id == invoice_id)).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def set_dispute(conn: Connection, values: dict[str, Any] | None, invoice_id: int) -> None:
    """Mark an invoice disputed (`values`) or not (None)."""
    conn.execute(invoice_disputes.delete().where(invoice_disputes.c.invoice_id == invoice_id))
    if values is not None:
        conn.execute(invoice_disputes.insert().values(invoice_id=invoice_id, **values))

