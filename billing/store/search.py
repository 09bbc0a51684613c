"""SQL of the search box: customers, invoices and payments whose text contains what was typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.records import contains
from billing.store.schema import customers, invoices, payments

# The text an invoice is found by: its number, notes and the purchase-order and buyer references (BT-13,
# BT-10) where the schema has them (they come with the e-invoice details of migration 10).
INVOICE_TEXT = ("number", "notes", "order_reference", "buyer_reference")


def _matching(columns: Sequence[sa.ColumnElement[Any]], text: str) -> sa.ColumnElement[bool]:
    pattern = contains(text)
    return sa.or_(*(sa.func.lower(sa.func.coalesce(column, "")).like(pattern, escape="\\") for column in columns))


def find_customers(conn: Connection, text: str, limit: int) -> list[dict[str, Any]]:
    """Customers by name, email or tax id; archived ones too (their documents are still found)."""
    query = (sa.select(customers.c.id, customers.c.name, customers.c.email, customers.c.country, customers.c.currency,
                       customers.c.archived)
             .where(_matching([customers.c.name, customers.c.email, customers.c.tax_id], text))
             .order_by(customers.c.archived, customers.c.name, customers.c.id).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]


def find_invoices(conn: Connection, text: str, limit: int) -> list[dict[str, Any]]:
    """Invoices and credit notes by number, notes and references, newest first."""
    columns = [invoices.c[name] for name in INVOICE_TEXT if name in invoices.c]
    query = (sa.select(invoices.c.id, invoices.c.kind, invoices.c.number, invoices.c.status, invoices.c.issue_date,
                       invoices.c.currency, invoices.c.payable, customers.c.name.label("customer"))
             .join(customers, customers.c.id == invoices.c.customer_id)
             .where(_matching(columns, text))
             .order_by(invoices.c.issue_date.desc().nulls_first(), invoices.c.id.desc()).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]


def find_payments(conn: Connection, text: str, limit: int) -> list[dict[str, Any]]:
    """Payments, refunds and reversals by their reference, newest first."""
    query = (sa.select(payments.c.id, payments.c.kind, payments.c.received_on, payments.c.method,
                       payments.c.reference, payments.c.amount, payments.c.currency, customers.c.name.label("customer"))
             .join(customers, customers.c.id == payments.c.customer_id)
             .where(_matching([payments.c.reference], text))
             .order_by(payments.c.received_on.desc(), payments.c.id.desc()).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]
