"""Shared pieces of the reports' SQL: the filters on documents, signed amounts, periods and paged rows.

Every money sum in the report queries is exact (DECIMAL); divisions and rounding happen in Python.
Expressions with bound parameters are computed in a subquery and grouped by name outside it, because
PostgreSQL does not see two bindings of one parameter as the same GROUP BY expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.logic import CREDIT_NOTE
from billing.store.schema import invoices, sales_facts

Rows = list[dict[str, Any]]
Condition = sa.ColumnElement[bool]


def fetch_rows(conn: Connection, query: sa.Executable) -> Rows:
    """Every row of a query, as plain dicts."""
    return [dict(r) for r in conn.execute(query).mappings().all()]


def fetch_page(conn: Connection, query: sa.Select[Any], order: Sequence[Any], limit: int,
               offset: int) -> tuple[Rows, int]:
    """One page of a query and the number of rows it has in all (one execution in the usual case)."""
    counted = query.add_columns(sa.func.count().over().label("total_rows")).order_by(*order)
    return without_total(conn, fetch_rows(conn, counted.limit(limit).offset(offset)), query.subquery())


def without_total(conn: Connection, rows: Rows, source: sa.FromClause) -> tuple[Rows, int]:
    """A page's rows without their `total_rows` window count, and that count: read from the first
    row, or counted in `source` when the page is empty (past the last row, or no rows at all)."""
    if rows:
        total = int(rows[0]["total_rows"])
    else:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(source)).scalar_one())
    for row in rows:
        del row["total_rows"]
    return rows, total


def signed_amount(kind: sa.ColumnElement[Any], amount: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The amount, negative on a credit note."""
    return sa.case((kind == CREDIT_NOTE, -amount), else_=amount)


def period_start(column: sa.ColumnElement[Any], granularity: str) -> sa.ColumnElement[Any]:
    """Start of the day/week/month/quarter/year of a date (a DATE on DuckDB and PostgreSQL alike)."""
    # `granularity` is one of reports.GRANULARITIES, checked by the caller: a SQL keyword, not user text.
    return sa.cast(sa.func.date_trunc(sa.literal_column(f"'{granularity}'"), column), sa.Date)


def status_condition(target: Any, statuses: Sequence[str], as_of: date) -> Condition:
    """Display status (as billing.logic.display_status) of an invoice's current state, on `as_of`."""
    is_open, settled = target.c.is_open, sa.not_(target.c.is_open)  # balance > 0, balance <= 0
    due = sa.literal(as_of, sa.Date)
    touched = target.c.paid_amount + target.c.credited_amount > 0
    only_credited = sa.and_(target.c.paid_amount == 0, target.c.credited_amount > 0)
    conditions = {
        "paid": sa.and_(settled, sa.not_(only_credited)),
        "credited": sa.and_(settled, only_credited),
        "overdue": sa.and_(is_open, target.c.due_date < due),
        "partially_paid": sa.and_(is_open, target.c.due_date >= due, touched),
        "unpaid": sa.and_(is_open, target.c.due_date >= due, sa.not_(touched)),
    }
    return sa.or_(*(conditions[s] for s in statuses))


def with_products(invoice_id: sa.ColumnElement[Any], product_ids: Sequence[int]) -> Condition:
    """The document has a line of one of the products."""
    return invoice_id.in_(sa.select(sales_facts.c.invoice_id).where(
        sales_facts.c.dimension == "product", sales_facts.c.product_id.in_(list(product_ids))))


def one_of(column: sa.ColumnElement[Any], values: Sequence[Any]) -> list[Condition]:
    """[column IN values], or no condition at all when `values` is empty."""
    return [column.in_(list(values))] if values else []


def document_filters(doc: Any, customer_ids: Sequence[int] = (), currencies: Sequence[str] = (),
                     product_ids: Sequence[int] = (), statuses: Sequence[str] = (),
                     as_of: date | None = None) -> list[Condition]:
    """Conditions on issued invoices and credit notes; a credit note takes the status of its invoice."""
    conditions = [*one_of(doc.c.customer_id, customer_ids), *one_of(doc.c.currency, currencies)]
    if product_ids:
        conditions.append(with_products(doc.c.id, product_ids))
    if statuses and as_of is not None:
        target = invoices.alias("status_of")
        conditions.append(sa.exists(sa.select(sa.literal(1)).where(
            target.c.id == sa.func.coalesce(doc.c.credited_invoice_id, doc.c.id),
            status_condition(target, statuses, as_of))))
    return conditions
