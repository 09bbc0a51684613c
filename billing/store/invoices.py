"""SQL of invoices and credit notes: header, lines, allowances/charges, VAT breakdown, lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import logic
from billing.documents import (
    CreditNoteRef,
    HeaderValues,
    InvoiceHeader,
    InvoiceListRow,
    StoredAllowanceCharge,
    StoredLine,
    StoredTax,
    from_row,
)
from billing.store.db import utcnow
from billing.store.records import contains
from billing.store.schema import customers, invoice_allowances, invoice_lines, invoice_taxes, invoices

TOTAL_COLUMNS = ("line_total", "allowance_total", "charge_total", "tax_exclusive", "tax_total",
                 "tax_inclusive", "prepaid", "rounding", "payable")


def insert_header(conn: Connection, values: HeaderValues) -> int:
    is_open = values["payable"] - values["paid_amount"] - values["credited_amount"] > 0
    return int(conn.execute(invoices.insert().values(**values, is_open=is_open).returning(invoices.c.id))
               .scalar_one())


def update_header(conn: Connection, invoice_id: int, values: HeaderValues,
                  frozen: dict[str, str] | None = None) -> None:
    """Header fields of a draft being saved or a document being issued or voided (the paid and
    credited sums move only through add_to_amounts); `frozen`: its `seller_party` and `buyer_party` at issue."""
    is_open = {} if "payable" not in values else {
        "is_open": sa.literal(values["payable"], invoices.c.payable.type)
        - invoices.c.paid_amount - invoices.c.credited_amount > 0}
    conn.execute(invoices.update().where(invoices.c.id == invoice_id).values(**values, **is_open, **(frozen or {}),
                                                                             updated_at=utcnow()))


def get_header(conn: Connection, invoice_id: int) -> InvoiceHeader | None:
    row = conn.execute(sa.select(invoices).where(invoices.c.id == invoice_id)).mappings().first()
    return from_row(InvoiceHeader, row) if row is not None else None


def frozen_parties(conn: Connection, invoice_id: int) -> dict[str, str | None]:
    """The `seller_party` and `buyer_party` snapshots of a document (None or '' when it has none)."""
    row = conn.execute(sa.select(invoices.c.seller_party, invoices.c.buyer_party)
                       .where(invoices.c.id == invoice_id)).mappings().first()
    return dict(row) if row is not None else {}


def set_frozen_parties(conn: Connection, invoice_id: int, seller: str, buyer: str) -> None:
    """Store seller and buyer (JSON) as a document shows them from its issue on."""
    conn.execute(invoices.update().where(invoices.c.id == invoice_id).values(seller_party=seller, buyer_party=buyer))
def get_document_head(conn: Connection, invoice_id: int) -> tuple[InvoiceHeader, str | None, dict[str, Any]] | None:
    """A document's header, the number of the invoice it credits, and its frozen parties (`seller_party`,
    `buyer_party`: None on a draft)."""
    # The invoice alone: joined to its customer, DuckDB hashed all customers (2.3 ms at 100k instead of 0.9), and
    # an issued document shows the customer it froze; parties.parties_of reads the customer when it is needed.
    row = conn.execute(sa.select(invoices).where(invoices.c.id == invoice_id)).mappings().first()
    if row is None:
        return None
    header = from_row(InvoiceHeader, row)
    # Its own query, for credit notes only: an outer join of invoices to themselves made DuckDB hash a million
    # invoices for every document read (180 ms instead of 2).
    credited = header.credited_invoice_id and conn.execute(
        sa.select(invoices.c.number).where(invoices.c.id == header.credited_invoice_id)).scalar()
    frozen = {"seller_party": row["seller_party"], "buyer_party": row["buyer_party"]}
    return header, credited or None, frozen


def get_document_heads(conn: Connection, invoice_ids: list[int]
                       ) -> dict[int, tuple[InvoiceHeader, str | None, dict[str, Any]]]:
    """`get_document_head` of many documents in two queries (one more for credit notes), by id; ids that do not
    exist are left out."""
    if not invoice_ids:
        return {}
    rows = conn.execute(sa.select(invoices).where(invoices.c.id.in_(invoice_ids))).mappings().all()
    headers = {int(row["id"]): from_row(InvoiceHeader, row) for row in rows}
    credited_ids = sorted({header.credited_invoice_id for header in headers.values() if header.credited_invoice_id})
    numbers = {int(row.id): row.number for row in conn.execute(
        sa.select(invoices.c.id, invoices.c.number).where(invoices.c.id.in_(credited_ids)))} if credited_ids else {}
    return {int(row["id"]): (headers[int(row["id"])],
                             numbers.get(headers[int(row["id"])].credited_invoice_id or 0) or None,
                             {"seller_party": row["seller_party"], "buyer_party": row["buyer_party"]}) for row in rows}


def customer_einvoice_format(conn: Connection, invoice_id: int) -> str | None:
    """The preferred e-invoice format of a document's customer as stored now ('' for none; None: no such document)."""
    # IN (the invoice's customer), not a join: DuckDB would hash every customer (0.9 ms instead of 1.3 CPU, 2.4 wall).
    value = conn.execute(sa.select(customers.c.einvoice_format).where(customers.c.id.in_(
        sa.select(invoices.c.customer_id).where(invoices.c.id == invoice_id)))).first()
    return None if value is None else str(value[0] or "")


def replace_body(conn: Connection, invoice_id: int, lines: Sequence[StoredLine],
                 allowance_charges: Sequence[StoredAllowanceCharge], taxes: Sequence[StoredTax]) -> None:
    """Replace a draft's lines, allowances/charges and VAT breakdown."""
    for table in (invoice_lines, invoice_allowances, invoice_taxes):
        conn.execute(table.delete().where(table.c.invoice_id == invoice_id))
    insert_body(conn, invoice_id, lines, allowance_charges, taxes)


def insert_body(conn: Connection, invoice_id: int, lines: Sequence[StoredLine],
                allowance_charges: Sequence[StoredAllowanceCharge], taxes: Sequence[StoredTax]) -> None:
    """Write the lines, allowances/charges and VAT breakdown of a document that has none yet."""
    for table, records in ((invoice_lines, lines), (invoice_allowances, allowance_charges), (invoice_taxes, taxes)):
        if records:
            conn.execute(table.insert(), [{**asdict(record), "invoice_id": invoice_id} for record in records])


def get_body(conn: Connection, invoice_id: int) -> tuple[list[StoredLine], list[StoredAllowanceCharge],
                                                         list[StoredTax]]:
    """Lines, allowances/charges and the stored VAT breakdown (by category and rate) of a document, in one query
    (three cost DuckDB three times the planning and scheduling of one: 2.3 ms instead of 0.7 at a million
    invoices)."""
    return _body_of(conn.execute(_BODY, {"invoice_id": invoice_id}).mappings())


def _body_of(rows: Iterable[Mapping[Any, Any]]) -> tuple[list[StoredLine], list[StoredAllowanceCharge],
                                                         list[StoredTax]]:
    found: tuple[list[dict[str, Any]], ...] = ([], [], [])
    for row in rows:
        part = int(row["part"])
        prefix = f"{_BODY_TABLES[part].name}__"
        found[part].append({key.removeprefix(prefix): value for key, value in row.items() if key.startswith(prefix)})
    lines, allowance_charges, taxes = found
    return ([from_row(StoredLine, r) for r in sorted(lines, key=lambda r: r["position"])],
            [from_row(StoredAllowanceCharge, r) for r in sorted(allowance_charges, key=lambda r: r["position"])],
            sorted((from_row(StoredTax, r) for r in taxes), key=lambda t: (t.vat_category, t.vat_rate)))


def get_bodies(conn: Connection, invoice_ids: list[int]
               ) -> dict[int, tuple[list[StoredLine], list[StoredAllowanceCharge], list[StoredTax]]]:
    """`get_body` of many documents in one query, by id (a document without a body row is left out)."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(_BODIES, {"invoice_ids": invoice_ids}).mappings():
        rows.setdefault(int(row["invoice_id"]), []).append(dict(row))
    return {invoice_id: _body_of(found) for invoice_id, found in rows.items()}


def _body_query(many: bool = False) -> sa.CompoundSelect[Any]:
    """The rows of a document's three body tables as one UNION ALL: `part` says whose row it is (the index in
    _BODY_TABLES), each table's columns are `<table>__<column>`, NULL in the other tables' rows."""
    columns = [(table, column) for table in _BODY_TABLES for column in table.c if column.name != "invoice_id"]
    invoice_id = sa.bindparam("invoice_id", type_=sa.BigInteger)
    invoice_ids = sa.bindparam("invoice_ids", expanding=True, type_=sa.BigInteger)

    def part_of(table: sa.Table) -> list[sa.ColumnElement[Any]]:
        return [(column if owner is table else sa.cast(sa.null(), column.type)).label(f"{owner.name}__{column.name}")
                for owner, column in columns]

    if many:  # with each row's invoice_id, for the documents of a list
        return sa.union_all(*(sa.select(sa.literal_column(str(part)).label("part"), table.c.invoice_id,
                                        *part_of(table)).where(table.c.invoice_id.in_(invoice_ids))
                              for part, table in enumerate(_BODY_TABLES)))
    return sa.union_all(*(sa.select(sa.literal_column(str(part)).label("part"), *part_of(table))
                          .where(table.c.invoice_id == invoice_id) for part, table in enumerate(_BODY_TABLES)))


_BODY_TABLES = (invoice_lines, invoice_allowances, invoice_taxes)
_BODY = _body_query()
_BODIES = _body_query(many=True)


def get_lines(conn: Connection, invoice_id: int) -> tuple[list[StoredLine], list[StoredAllowanceCharge]]:
    """Lines and allowances/charges only (what the totals are computed from)."""
    lines = conn.execute(sa.select(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id)
                         .order_by(invoice_lines.c.position)).mappings().all()
    allowance_charges = conn.execute(sa.select(invoice_allowances)
                                     .where(invoice_allowances.c.invoice_id == invoice_id)
                                     .order_by(invoice_allowances.c.position)).mappings().all()
    return [from_row(StoredLine, r) for r in lines], [from_row(StoredAllowanceCharge, r) for r in allowance_charges]


def get_taxes(conn: Connection, invoice_id: int) -> list[StoredTax]:
    """The stored VAT breakdown of a document."""
    rows = conn.execute(sa.select(invoice_taxes).where(invoice_taxes.c.invoice_id == invoice_id)).mappings()
    return [from_row(StoredTax, r) for r in rows]


def delete_invoice(conn: Connection, invoice_id: int) -> None:
    for table in (invoice_lines, invoice_allowances, invoice_taxes):
        conn.execute(table.delete().where(table.c.invoice_id == invoice_id))
    conn.execute(invoices.delete().where(invoices.c.id == invoice_id))


def add_to_amounts(conn: Connection, invoice_id: int, on: date, paid: Decimal = Decimal(0),
                   credited: Decimal = Decimal(0)) -> None:
    """Move an invoice's maintained paid/credited sums because of an allocation or a credit note dated
    `on`, and widen its first/last activity dates (kept for aging as of a past date), in one statement
    of the caller's transaction."""
    day = sa.literal(on, sa.Date)
    paid_after, credited_after = invoices.c.paid_amount + paid, invoices.c.credited_amount + credited
    conn.execute(invoices.update().where(invoices.c.id == invoice_id).values(
        paid_amount=paid_after, credited_amount=credited_after, updated_at=utcnow(),
        is_open=invoices.c.payable - paid_after - credited_after > 0,
        first_activity_on=sa.func.least(sa.func.coalesce(invoices.c.first_activity_on, day), day),
        last_activity_on=sa.func.greatest(sa.func.coalesce(invoices.c.last_activity_on, day), day)))


def rebuild_open_flags(conn: Connection) -> None:
    """Set is_open from the sums (migration 3, demo load)."""
    conn.execute(invoices.update().values(
        is_open=balance_expr() > 0))


def credited_quantities(conn: Connection, invoice_id: int) -> dict[int, Decimal]:
    """Per line position of an invoice, the quantity its issued credit notes credited."""
    notes = list(conn.execute(sa.select(invoices.c.id).where(
        invoices.c.credited_invoice_id == invoice_id, invoices.c.kind == logic.CREDIT_NOTE,
        invoices.c.status == logic.ISSUED)).scalars())
    if not notes:
        return {}
    # By the ids of its few credit notes: a join would scan every invoice line.
    rows = conn.execute(
        sa.select(invoice_lines.c.credits_line, sa.func.sum(invoice_lines.c.quantity))
        .where(invoice_lines.c.invoice_id.in_(notes), invoice_lines.c.credits_line.is_not(None))
        .group_by(invoice_lines.c.credits_line))
    return {int(position): Decimal(total) for position, total in rows}


def credit_notes_of(conn: Connection, invoice_id: int) -> list[CreditNoteRef]:
    """The credit notes (issued or void) of an invoice, oldest first."""
    rows = conn.execute(sa.select(invoices.c.id, invoices.c.number, invoices.c.issue_date, invoices.c.payable,
                                  invoices.c.status)
                        .where(invoices.c.credited_invoice_id == invoice_id).order_by(invoices.c.id)).mappings()
    return [from_row(CreditNoteRef, r) for r in rows]


def balance_expr(table: Any = invoices) -> sa.ColumnElement[Any]:
    """What the customer still owes on an invoice, from its maintained sums: `logic.invoice_balance` in
    SQL, the one place the store writes it (`table`: the invoices table or an alias of it)."""
    balance: sa.ColumnElement[Any] = table.c.payable - table.c.paid_amount - table.c.credited_amount
    return balance


def _display_status_is(status: str, as_of: date) -> list[sa.ColumnElement[bool]]:
    """The conditions under which an issued invoice has this display status: `logic.display_status` in SQL."""
    is_open, due = invoices.c.is_open, invoices.c.due_date
    overdue = due < as_of
    not_overdue = sa.or_(due.is_(None), due >= as_of)
    untouched = (invoices.c.paid_amount == 0) & (invoices.c.credited_amount == 0)
    by_credit_only = (invoices.c.paid_amount == 0) & (invoices.c.credited_amount > 0)
    conditions: dict[str, list[sa.ColumnElement[bool]]] = {
        logic.OPEN: [is_open],
        logic.UNPAID: [is_open, untouched, not_overdue],
        logic.PARTIALLY_PAID: [is_open, sa.not_(untouched), not_overdue],
        logic.OVERDUE: [is_open, overdue],
        logic.PAID: [sa.not_(is_open), sa.not_(by_credit_only)],
        logic.CREDITED: [sa.not_(is_open), by_credit_only],
    }
    if status not in conditions:
        raise ValueError(f"unknown status filter {status!r}")
    return conditions[status]


def _list_where(*, status: str | None = None, customer_id: int | None = None, date_from: date | None = None,
                date_to: date | None = None, currency: str | None = None, kind: str | None = None,
                search: str = "", updated_since: datetime | None = None, as_of: date) -> sa.ColumnElement[bool]:
    """The conditions of the invoice list's filters (see `list_page`)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if updated_since is not None:
        conditions.append(sa.func.coalesce(invoices.c.updated_at, invoices.c.created_at) >= updated_since)
    if status in (logic.DRAFT, logic.ISSUED, logic.VOID):
        conditions.append(invoices.c.status == status)
    elif status is not None:
        conditions += [invoices.c.status == logic.ISSUED, invoices.c.kind == logic.INVOICE,
                       *_display_status_is(status, as_of)]
    if customer_id is not None:
        conditions.append(invoices.c.customer_id == customer_id)
    if date_from is not None:
        conditions.append(invoices.c.issue_date >= date_from)
    if date_to is not None:
        conditions.append(invoices.c.issue_date <= date_to)
    if currency:
        conditions.append(invoices.c.currency == currency)
    if kind:
        conditions.append(invoices.c.kind == kind)
    if search:
        conditions.append(sa.func.lower(invoices.c.number).like(contains(search), escape="\\"))
    return sa.and_(sa.true(), *conditions)


def _list_columns() -> list[sa.ColumnElement[Any]]:
    """The invoice columns of a list row (all but the customer's name)."""
    return [invoices.c.id, invoices.c.kind, invoices.c.number, invoices.c.status, invoices.c.customer_id,
            invoices.c.currency, invoices.c.issue_date, invoices.c.due_date, invoices.c.tax_exclusive,
            invoices.c.tax_total, invoices.c.payable, invoices.c.paid_amount, invoices.c.credited_amount,
            balance_expr().label("balance")]


def _list_select() -> sa.Select[Any]:
    return (sa.select(*_list_columns(), customers.c.name.label("customer"))
            .select_from(invoices.join(customers, customers.c.id == invoices.c.customer_id)))


def list_page(conn: Connection, *, as_of: date, limit: int = 50, offset: int = 0,
              **filters: Any) -> tuple[list[InvoiceListRow], int]:
    """A page of documents with customer name and balance, newest first, and the matching count.

    Filters: `status` is a display status (`billing.logic.display_status`: draft, void, unpaid, partially_paid,
    overdue, paid, credited), or issued (every issued document), or open (issued invoices with a balance);
    customer_id, date_from and date_to (issue date), currency, kind, search (in the number).
    """
    where = _list_where(as_of=as_of, **filters)
    total = conn.execute(sa.select(sa.func.count()).select_from(invoices).where(where)).scalar_one()
    query = (_list_select().where(where)
             .order_by(sa.case((invoices.c.status == logic.DRAFT, 0), else_=1), invoices.c.issue_date.desc(),
                       invoices.c.id.desc())
             .limit(limit).offset(offset))
    return [from_row(InvoiceListRow, r) for r in conn.execute(query).mappings()], int(total)


def list_before_id(conn: Connection, *, as_of: date, before_id: int | None, limit: int,
                   **filters: Any) -> list[InvoiceListRow]:
    """Up to `limit` documents matching `list_page`'s filters, newest id first, with ids below `before_id`
    (cursor pagination: an id never changes, so a page never shifts when documents are issued or paid)."""
    where = _list_where(as_of=as_of, **filters)
    if before_id is not None:
        where = sa.and_(where, invoices.c.id < before_id)
    # The page's ids first, from the invoices alone: joined first, DuckDB joined every invoice to its customer
    # before keeping 100 (420 ms at a million invoices; 48 ms so). Then the page's rows, and its customers' names
    # by their ids: joined to the customers, DuckDB hashed all 100,000 of them for every page (about 4 ms).
    page_ids = sa.select(invoices.c.id).where(where).order_by(invoices.c.id.desc()).limit(limit).scalar_subquery()
    rows = conn.execute(sa.select(*_list_columns()).where(invoices.c.id.in_(page_ids))
                        .order_by(invoices.c.id.desc())).mappings().all()
    wanted = sorted({int(row["customer_id"]) for row in rows})
    names = dict(conn.execute(sa.select(customers.c.id, customers.c.name).where(customers.c.id.in_(wanted))).all()
                 ) if wanted else {}
    return [from_row(InvoiceListRow, {**row, "customer": names.get(row["customer_id"], "")}) for row in rows]


def open_invoices(conn: Connection, customer_id: int, currency: str) -> list[dict[str, Any]]:
    """Issued invoices of a customer in a currency that still have a balance, oldest due first."""
    rows = conn.execute(
        sa.select(invoices.c.id, invoices.c.number, invoices.c.issue_date, invoices.c.due_date,
                  invoices.c.payable, balance_expr().label("balance"))
        .where(invoices.c.customer_id == customer_id, invoices.c.currency == currency,
               invoices.c.status == logic.ISSUED, invoices.c.kind == logic.INVOICE, balance_expr() > 0)
        .order_by(invoices.c.due_date, invoices.c.id)
    ).mappings()
    return [dict(r) for r in rows]
