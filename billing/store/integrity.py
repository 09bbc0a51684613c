"""SQL behind `verify`: stream issued documents with their bodies, and find inconsistent balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import reports
from billing.store.schema import (
    allocations,
    customers,
    invoice_allowances,
    invoice_lines,
    invoice_taxes,
    invoices,
    payments,
)

_BATCH = 50_000
_LINE_COLUMNS = ("invoice_id", "position", "quantity", "unit_price", "base_quantity", "discount_percent",
                 "discount_amount", "charge_amount", "vat_category", "vat_rate", "net_amount")
_HEADER_COLUMNS = ("id", "number", "currency", "line_total", "allowance_total", "charge_total", "tax_exclusive",
                   "tax_total", "tax_inclusive", "payable")


def issued_documents(conn: Connection, raw: Any = None) -> Iterator[
        tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, Decimal, Decimal, Decimal]]]]:
    """Every issued or voided document with lines, allowances and stored VAT breakdown, in id order.

    Read in id ranges of 50,000 documents; rows come as plain tuples (a million documents and
    five million lines make per-row mapping objects the main cost).
    """
    max_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(invoices.c.id), 0))).scalar_one()
    line_columns = [invoice_lines.c[c] for c in _LINE_COLUMNS]
    for low in range(0, int(max_id) + 1, _BATCH):
        high = low + _BATCH
        in_range = sa.and_(invoices.c.id > low, invoices.c.id <= high, invoices.c.status != "draft")
        headers = _fetch(conn, raw, sa.select(*[invoices.c[c] for c in _HEADER_COLUMNS]).where(in_range)
                         .order_by(invoices.c.id))
        if not headers:
            continue
        lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
        row: Any
        line_rows = _fetch(conn, raw, sa.select(*line_columns)
                           .where(invoice_lines.c.invoice_id > low, invoice_lines.c.invoice_id <= high)
                           .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position))
        for row in line_rows:
            lines[row[0]].append(dict(zip(_LINE_COLUMNS, row, strict=True)))
        allowances: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in conn.execute(sa.select(invoice_allowances)
                                .where(invoice_allowances.c.invoice_id > low, invoice_allowances.c.invoice_id <= high)
                                .order_by(invoice_allowances.c.invoice_id, invoice_allowances.c.position)).mappings():
            allowances[row["invoice_id"]].append(dict(row))
        taxes: dict[int, list[tuple[str, Decimal, Decimal, Decimal]]] = defaultdict(list)
        for row in _fetch(conn, raw, sa.select(invoice_taxes.c.invoice_id, invoice_taxes.c.vat_category,
                                               invoice_taxes.c.vat_rate, invoice_taxes.c.taxable, invoice_taxes.c.tax)
                          .where(invoice_taxes.c.invoice_id > low, invoice_taxes.c.invoice_id <= high)):
            taxes[row[0]].append((row[1], row[2], row[3], row[4]))
        for header in headers:
            doc_id = header[0]
            yield (dict(zip(_HEADER_COLUMNS, header, strict=True)), lines.get(doc_id, []),
                   allowances.get(doc_id, []), taxes.get(doc_id, []))


def _fetch(conn: Connection, raw: Any, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of a query as tuples. On DuckDB through Arrow with decimals as text, which is
    about ten times faster than DuckDB's per-value Decimal conversion, and exact."""
    if raw is None:
        return [tuple(r) for r in conn.execute(query).all()]
    numeric = [isinstance(column.type, sa.Numeric) for column in query.selected_columns]
    as_text = query.with_only_columns(*[sa.cast(column, sa.String) if is_numeric else column
                                        for column, is_numeric in zip(query.selected_columns, numeric, strict=True)])
    # literal_binds only renders the integer id bounds of the batch, never user input.
    table = raw.sql(str(as_text.compile(conn, compile_kwargs={"literal_binds": True}))).to_arrow_table()
    columns = [[None if v is None else Decimal(v) for v in column.to_pylist()] if is_numeric else column.to_pylist()
               for column, is_numeric in zip(table.columns, numeric, strict=True)]
    return list(zip(*columns, strict=True))


def balance_problems(conn: Connection) -> Iterator[str]:
    """Every maintained sum equals what it sums; no balance, allocation or credit is out of range."""
    row: Any
    alloc = (sa.select(allocations.c.invoice_id, sa.func.sum(allocations.c.amount).label("total"))
             .group_by(allocations.c.invoice_id).subquery())
    for row in conn.execute(
            sa.select(invoices.c.number, invoices.c.id, invoices.c.paid_amount, alloc.c.total)
            .select_from(invoices.outerjoin(alloc, alloc.c.invoice_id == invoices.c.id))
            .where(invoices.c.paid_amount != sa.func.coalesce(alloc.c.total, 0)).limit(20)):
        yield f"{row.number or row.id}: paid amount {row.paid_amount} but its allocations sum to {row.total or 0}"
    credit_notes = invoices.alias("cn")
    credits = (sa.select(credit_notes.c.credited_invoice_id.label("invoice_id"),
                         sa.func.sum(credit_notes.c.payable).label("total"))
               .where(credit_notes.c.status == "issued", credit_notes.c.credited_invoice_id.is_not(None))
               .group_by(credit_notes.c.credited_invoice_id).subquery())
    for row in conn.execute(
            sa.select(invoices.c.number, invoices.c.credited_amount, credits.c.total)
            .select_from(invoices.outerjoin(credits, credits.c.invoice_id == invoices.c.id))
            .where(invoices.c.credited_amount != sa.func.coalesce(credits.c.total, 0)).limit(20)):
        yield f"{row.number}: credited amount {row.credited_amount} but its credit notes sum to {row.total or 0}"
    balance = invoices.c.payable - invoices.c.paid_amount - invoices.c.credited_amount
    for row in conn.execute(sa.select(invoices.c.number, invoices.c.id, invoices.c.is_open, balance.label("balance"))
                            .where(invoices.c.is_open.is_distinct_from(balance > 0)).limit(20)):
        yield f"{row.number or row.id}: marked {'open' if row.is_open else 'settled'} with a balance of {row.balance}"
    for row in conn.execute(
            sa.select(invoices.c.number, invoices.c.payable, invoices.c.paid_amount, invoices.c.credited_amount)
            .where(balance < 0).limit(20)):
        yield f"{row.number}: negative balance (payable {row.payable}, paid {row.paid_amount}, " \
              f"credited {row.credited_amount})"
    for row in conn.execute(
            sa.select(allocations.c.id, invoices.c.status, invoices.c.kind)
            .select_from(allocations.outerjoin(invoices, invoices.c.id == allocations.c.invoice_id))
            .where(sa.or_(invoices.c.id.is_(None), invoices.c.status != "issued", invoices.c.kind != "invoice"))
            .limit(20)):
        yield f"allocation {row.id}: points at a {row.status or 'missing'} {row.kind or 'document'}"
    pay_alloc = (sa.select(allocations.c.payment_id, sa.func.sum(allocations.c.amount).label("total"))
                 .group_by(allocations.c.payment_id).subquery())
    for row in conn.execute(
            sa.select(payments.c.id, payments.c.amount, pay_alloc.c.total)
            .select_from(payments.join(pay_alloc, pay_alloc.c.payment_id == payments.c.id))
            .where(sa.or_(pay_alloc.c.total < 0, pay_alloc.c.total > sa.func.greatest(payments.c.amount, 0)))
            .limit(20)):
        yield f"payment {row.id}: {row.total} allocated out of {row.amount}"
    credit = (sa.select(payments.c.customer_id, payments.c.currency,
                        (sa.func.sum(payments.c.amount) - sa.func.coalesce(sa.func.sum(pay_alloc.c.total), 0))
                        .label("credit"))
              .select_from(payments.outerjoin(pay_alloc, pay_alloc.c.payment_id == payments.c.id))
              .group_by(payments.c.customer_id, payments.c.currency).subquery())
    for row in conn.execute(sa.select(credit).where(credit.c.credit < 0).limit(20)):
        yield f"customer {row.customer_id}: negative credit {row.credit} {row.currency}"
    orphans = conn.execute(
        sa.select(sa.func.count())
        .select_from(invoice_lines.outerjoin(invoices, invoices.c.id == invoice_lines.c.invoice_id))
        .where(invoices.c.id.is_(None))).scalar_one()
    if orphans:
        yield f"{orphans} invoice lines belong to no invoice"
    no_customer = conn.execute(
        sa.select(sa.func.count())
        .select_from(invoices.outerjoin(customers, customers.c.id == invoices.c.customer_id))
        .where(customers.c.id.is_(None))).scalar_one()
    if no_customer:
        yield f"{no_customer} documents belong to no customer"
    yield from reports.maintained_problems(conn)
