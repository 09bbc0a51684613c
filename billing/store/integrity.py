"""SQL behind `verify`: stream issued documents and payments with their bodies, find inconsistent balances."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import logic
from billing.store import facts
from billing.store.bulk import query_arrow
from billing.store.invoices import balance_expr
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
LINE_COLUMNS = ("invoice_id", "position", "product_id", "quantity", "unit_price", "base_quantity",
                "discount_percent", "discount_amount", "charge_amount", "vat_category", "vat_rate", "net_amount",
                "credits_line")
HEADER_COLUMNS = ("id", "kind", "number", "status", "customer_id", "currency", "issue_date", "due_date",
                  "credited_invoice_id", "line_total", "allowance_total", "charge_total", "tax_exclusive",
                  "tax_total", "tax_inclusive", "prepaid", "rounding", "payable")
ALLOWANCE_COLUMNS = ("invoice_id", "position", "is_charge", "reason", "amount", "percent", "vat_category", "vat_rate")
PAYMENT_COLUMNS = ("id", "kind", "customer_id", "currency", "amount", "received_on", "reverses_payment_id")
ALLOCATION_COLUMNS = ("payment_id", "id", "invoice_id", "amount", "allocated_on")
# A document as verify reads it: header, lines, allowances/charges, VAT breakdown (category, rate, taxable, tax).
Document = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]],
                 list[tuple[str, Decimal, Decimal, Decimal]]]
# A payment as verify reads it: its row and its allocations in id order.
PaymentRows = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class DocumentBatch:
    """The issued or voided documents of one id range as Arrow tables, columns as named by HEADER_COLUMNS,
    LINE_COLUMNS, ALLOWANCE_COLUMNS and (invoice_id, vat_category, vat_rate, taxable, tax), decimals as
    text without trailing zeros (`plain_decimal`); headers in id order, lines and allowances in
    (document, position) order, VAT entries unordered. Lines, allowances and VAT entries of drafts in
    the range come too."""

    headers: pa.Table
    lines: pa.Table
    allowances: pa.Table
    taxes: pa.Table


def document_batches(conn: Connection, after_id: int = 0, up_to_id: int | None = None) -> Iterator[DocumentBatch]:
    """Every issued or voided document (ids in (after_id, up_to_id]) in batches of 50,000 ids, in one Arrow
    transfer per table and batch (the rows of `issued_documents`, not yet turned into Python values)."""
    for queries in _document_queries(conn, after_id, up_to_id):
        headers = _arrow(conn, queries[0])
        if headers.num_rows:
            yield DocumentBatch(headers, *(_arrow(conn, query) for query in queries[1:]))


def _document_queries(conn: Connection, after_id: int, up_to_id: int | None) -> Iterator[list[sa.Select[Any]]]:
    """Per range of 50,000 ids: the queries of headers, lines, allowances and VAT entries."""
    last = _last_id(conn, invoices, up_to_id)
    line_columns = [invoice_lines.c[c] for c in LINE_COLUMNS]
    for low in range(after_id, last + 1, _BATCH):
        high = min(low + _BATCH, last)
        yield [sa.select(*[invoices.c[c] for c in HEADER_COLUMNS])
               .where(invoices.c.id > low, invoices.c.id <= high, invoices.c.status != logic.DRAFT)
               .order_by(invoices.c.id),
               sa.select(*line_columns)
               .where(invoice_lines.c.invoice_id > low, invoice_lines.c.invoice_id <= high)
               .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position),
               sa.select(*[invoice_allowances.c[c] for c in ALLOWANCE_COLUMNS])
               .where(invoice_allowances.c.invoice_id > low, invoice_allowances.c.invoice_id <= high)
               .order_by(invoice_allowances.c.invoice_id, invoice_allowances.c.position),
               sa.select(invoice_taxes.c.invoice_id, invoice_taxes.c.vat_category, invoice_taxes.c.vat_rate,
                         invoice_taxes.c.taxable, invoice_taxes.c.tax)
               .where(invoice_taxes.c.invoice_id > low, invoice_taxes.c.invoice_id <= high)]


def issued_documents(conn: Connection, in_bulk: bool = False, after_id: int = 0, up_to_id: int | None = None
                     ) -> Iterator[Document]:
    """Every issued or voided document (ids in (after_id, up_to_id]) with lines, allowances and stored VAT
    breakdown, in id order.

    Read in id ranges of 50,000 documents; rows come as plain tuples (a million documents and
    five million lines make per-row mapping objects the main cost).
    """
    if in_bulk:
        for batch in document_batches(conn, after_id, up_to_id):
            yield from batch_documents(batch)
        return
    for header_query, *body_queries in _document_queries(conn, after_id, up_to_id):
        headers = _fetch(conn, False, header_query)
        if headers:  # a range of drafts alone (a draft's audit event): its bodies are not read
            yield from _documents(headers, *(_fetch(conn, False, query) for query in body_queries))


def batch_documents(batch: DocumentBatch) -> Iterator[Document]:
    """The documents of a batch as `issued_documents` gives them."""
    return _documents(*(_tuples(table) for table in (batch.headers, batch.lines, batch.allowances, batch.taxes)))


def _documents(headers: list[tuple[Any, ...]], line_rows: list[tuple[Any, ...]],
               allowance_rows: list[tuple[Any, ...]], tax_rows: list[tuple[Any, ...]]) -> Iterator[Document]:
    lines = _grouped(line_rows, LINE_COLUMNS)
    allowances = _grouped(allowance_rows, ALLOWANCE_COLUMNS)
    taxes: dict[int, list[tuple[str, Decimal, Decimal, Decimal]]] = defaultdict(list)
    for row in tax_rows:
        taxes[row[0]].append((row[1], row[2], row[3], row[4]))
    for header in headers:
        doc_id = header[0]
        yield (dict(zip(HEADER_COLUMNS, header, strict=True)), lines.get(doc_id, []), allowances.get(doc_id, []),
               taxes.get(doc_id, []))


def written_document(header: dict[str, Any], lines: list[dict[str, Any]], allowances: list[dict[str, Any]],
                     taxes: list[dict[str, Any]]) -> Document:
    """A document as `issued_documents` will read it back, from the rows about to be written (a batch seals its
    invoices without reading them again). Exact for values within their columns' scale, which the services
    check before writing."""
    def plain(value: Any) -> Any:
        return plain_decimal(value) if isinstance(value, Decimal) else value

    def picked(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
        return {column: plain(row.get(column)) for column in columns}

    return (picked(header, HEADER_COLUMNS), [picked(line, LINE_COLUMNS) for line in lines],
            [picked(item, ALLOWANCE_COLUMNS) for item in allowances],
            [(tax["vat_category"], plain(tax["vat_rate"]), plain(tax["taxable"]), plain(tax["tax"])) for tax in taxes])


def written_payment(payment: dict[str, Any], allocations: list[dict[str, Any]]) -> PaymentRows:
    """A new payment with its allocations (in id order) as `payment_with_reversals` will read it back, from the rows
    it wrote (`written_document` says why that is exact)."""
    def picked(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
        return {column: plain_decimal(row[column]) if isinstance(row[column], Decimal) else row[column]
                for column in columns}

    return picked(payment, PAYMENT_COLUMNS), [picked(allocation, ALLOCATION_COLUMNS) for allocation in allocations]


def issued_document(conn: Connection, document_id: int) -> Document | None:
    """One issued or voided document as `issued_documents` gives it; None for a draft or no document."""
    return next(issued_documents(conn, False, document_id - 1, document_id), None)


@dataclass(frozen=True)
class PaymentBatch:
    """The payments of one id range (PAYMENT_COLUMNS, in id order) and their allocations (ALLOCATION_COLUMNS,
    in payment and allocation id order) as Arrow tables, decimals as text without trailing zeros."""

    payments: pa.Table
    allocations: pa.Table


def payment_batches(conn: Connection, after_id: int = 0, up_to_id: int | None = None) -> Iterator[PaymentBatch]:
    """Every payment (ids in (after_id, up_to_id]) with its allocations, in batches of 50,000 ids."""
    for payment_query, allocation_query in _payment_queries(conn, after_id, up_to_id):
        rows = _arrow(conn, payment_query)
        if rows.num_rows:
            yield PaymentBatch(rows, _arrow(conn, allocation_query))


def _payment_queries(conn: Connection, after_id: int, up_to_id: int | None
                     ) -> Iterator[tuple[sa.Select[Any], sa.Select[Any]]]:
    last = _last_id(conn, payments, up_to_id)
    for low in range(after_id, last + 1, _BATCH):
        high = min(low + _BATCH, last)
        yield (sa.select(*[payments.c[c] for c in PAYMENT_COLUMNS])
               .where(payments.c.id > low, payments.c.id <= high).order_by(payments.c.id),
               sa.select(*[allocations.c[c] for c in ALLOCATION_COLUMNS])
               .where(allocations.c.payment_id > low, allocations.c.payment_id <= high)
               .order_by(allocations.c.payment_id, allocations.c.id))


def payments_with_allocations(conn: Connection, in_bulk: bool = False, after_id: int = 0,
                              up_to_id: int | None = None
                              ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every payment (ids in (after_id, up_to_id]) with its allocations in id order, in payment id order."""
    for payment_query, allocation_query in _payment_queries(conn, after_id, up_to_id):
        rows = _fetch(conn, in_bulk, payment_query)
        if not rows:
            continue
        allocated = _grouped(_fetch(conn, in_bulk, allocation_query), ALLOCATION_COLUMNS)
        for row in rows:
            yield dict(zip(PAYMENT_COLUMNS, row, strict=True)), allocated.get(row[0], [])


def payment_with_reversals(conn: Connection, payment_id: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """A payment and the reversals of it, each with its allocations, as `payments_with_allocations` gives them."""
    return _payments_where(conn, sa.or_(payments.c.id == payment_id, payments.c.reverses_payment_id == payment_id))


def payments_allocated_to(conn: Connection, invoice_id: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The payments with an allocation to an invoice, each with all its allocations."""
    return _payments_where(conn, payments.c.id.in_(sa.select(allocations.c.payment_id)
                                                   .where(allocations.c.invoice_id == invoice_id)))


def _payments_where(conn: Connection, condition: Any) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    rows = _fetch(conn, False, sa.select(*[payments.c[c] for c in PAYMENT_COLUMNS]).where(condition)
                  .order_by(payments.c.id))
    if not rows:
        return []
    allocated = _grouped(_fetch(conn, False, sa.select(*[allocations.c[c] for c in ALLOCATION_COLUMNS])
                                .where(allocations.c.payment_id.in_([row[0] for row in rows]))
                                .order_by(allocations.c.payment_id, allocations.c.id)), ALLOCATION_COLUMNS)
    return [(dict(zip(PAYMENT_COLUMNS, row, strict=True)), allocated.get(row[0], [])) for row in rows]


def last_ids(conn: Connection) -> tuple[int, int, int]:
    """The highest document, payment and allocation ids."""
    return (_last_id(conn, invoices, None), _last_id(conn, payments, None), _last_id(conn, allocations, None))


def _last_id(conn: Connection, table: sa.Table, up_to_id: int | None) -> int:
    if up_to_id is not None:
        return up_to_id
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())


def _grouped(rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> dict[int, list[dict[str, Any]]]:
    """Rows keyed by their first column (the owner's id)."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(dict(zip(columns, row, strict=True)))
    return grouped


def _fetch(conn: Connection, in_bulk: bool, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of a query as tuples, decimals without trailing zeros (`plain_decimal`).

    `in_bulk` (whole tables in batches): in one Arrow transfer (`_arrow`), about ten times faster than the
    drivers' per-value Decimal conversion, and exact. Else row by row, which costs less for the few rows
    of one document or payment.
    """
    numeric = [isinstance(column.type, sa.Numeric) for column in query.selected_columns]
    if not in_bulk:
        return [tuple(plain_decimal(v) if is_numeric and v is not None else v
                      for v, is_numeric in zip(row, numeric, strict=True)) for row in conn.execute(query).all()]
    return _tuples(_arrow(conn, query))


def _tuples(table: pa.Table) -> list[tuple[Any, ...]]:
    """The rows of a batch's table as tuples of Python values, decimals as Decimal."""
    columns = [_decimals(column) if holds_decimals(field) else column.to_pylist()
               for column, field in zip(table.columns, table.schema, strict=True)]
    return list(zip(*columns, strict=True))


def _arrow(conn: Connection, query: sa.Select[Any]) -> pa.Table:
    """A query's rows in one Arrow transfer, named after its columns, decimals as text trimmed in SQL."""
    as_text = query.with_only_columns(*[_plain_text(column) if isinstance(column.type, sa.Numeric) else column
                                        for column in query.selected_columns])
    table = query_arrow(conn, as_text)
    fields = [pa.field(column.name, data.type, metadata=_DECIMAL_TEXT if isinstance(column.type, sa.Numeric) else None)
              for column, data in zip(query.selected_columns, table.columns, strict=True)]
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields))


_DECIMAL_TEXT = {b"decimal": b"text"}


def holds_decimals(field: pa.Field) -> bool:
    """Whether a column of a batch holds decimals (as text), whose values are Decimal(text)."""
    return bool(field.metadata and field.metadata.get(b"decimal") == b"text")


def _decimals(column: pa.ChunkedArray) -> list[Decimal | None]:
    """A column of decimals as text into Decimals, each distinct text converted once (quantities, rates
    and prices repeat a lot: a third of the cost of reading the documents for a bulk seal)."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    values = [Decimal(text) for text in encoded.dictionary.to_pylist()]
    return [None if index is None else values[index] for index in encoded.indices.to_pylist()]


def _plain_text(column: Any) -> Any:
    """A decimal column as text without trailing zeros, in SQL (both engines write DECIMAL(18,4) 12.34 as 12.3400)."""
    text = sa.cast(column, sa.String)
    if not column.type.scale:
        return text
    return sa.func.rtrim(sa.func.rtrim(text, "0"), ".", type_=sa.String)


def plain_decimal(value: Decimal) -> Decimal:
    """The decimal written without trailing zeros after the point (12.3400 -> 12.34, 100.0000 -> 100, never
    an exponent): one form per amount whatever the column's scale, so that seals (billing.seals) can
    compare rows by their text."""
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    return Decimal(_TRAILING_ZEROS.sub(r"\1", text))


_TRAILING_ZEROS = re.compile(r"(\.[0-9]*[1-9])0+$|\.0+$")  # "12.3400" -> "12.34", "5.000" -> "5"


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
               .where(credit_notes.c.status == logic.ISSUED, credit_notes.c.credited_invoice_id.is_not(None))
               .group_by(credit_notes.c.credited_invoice_id).subquery())
    for row in conn.execute(
            sa.select(invoices.c.number, invoices.c.credited_amount, credits.c.total)
            .select_from(invoices.outerjoin(credits, credits.c.invoice_id == invoices.c.id))
            .where(invoices.c.credited_amount != sa.func.coalesce(credits.c.total, 0)).limit(20)):
        yield f"{row.number}: credited amount {row.credited_amount} but its credit notes sum to {row.total or 0}"
    balance = balance_expr()
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
            .where(sa.or_(invoices.c.id.is_(None), invoices.c.status != logic.ISSUED, invoices.c.kind != logic.INVOICE))
            .limit(20)):
        yield f"allocation {row.id}: points at a {row.status or 'missing'} {row.kind or 'document'}"
    for row in conn.execute(
            sa.select(allocations.c.id, allocations.c.payment_id)
            .select_from(allocations.outerjoin(payments, payments.c.id == allocations.c.payment_id))
            .where(payments.c.id.is_(None)).limit(20)):
        yield f"allocation {row.id}: belongs to payment {row.payment_id}, which does not exist"
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
    yield from facts.maintained_problems(conn)
