"""SQL of documents read in batches (the e-invoice export of a period): headers, bodies, customers, tax rates."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import logic
from billing.documents import InvoiceHeader, StoredAllowanceCharge, StoredLine, StoredTax, from_row
from billing.store.records import rows_with_ids
from billing.store.schema import customers, invoice_allowances, invoice_lines, invoice_taxes, invoices, tax_rates

Body = tuple[list[StoredLine], list[StoredAllowanceCharge], list[StoredTax]]


def issued_ids(conn: Connection, date_from: date, date_to: date) -> list[int]:
    """The issued invoices and credit notes dated in the period, oldest first."""
    query = (sa.select(invoices.c.id).where(invoices.c.status == logic.ISSUED, invoices.c.issue_date >= date_from,
                                            invoices.c.issue_date <= date_to)
             .order_by(invoices.c.issue_date, invoices.c.id))
    return [int(row[0]) for row in conn.execute(query)]


def headers(conn: Connection, ids: list[int]) -> dict[int, InvoiceHeader]:
    return {row["id"]: from_row(InvoiceHeader, row) for row in rows_with_ids(conn, invoices, ids)}


def headers_with_parties(conn: Connection, ids: list[int]) -> dict[int, tuple[InvoiceHeader, dict[str, Any]]]:
    """Each header with the parties frozen onto it at issue (`seller_party`, `buyer_party`: JSON, or None)."""
    return {row["id"]: (from_row(InvoiceHeader, row), {"seller_party": row["seller_party"],
                                                        "buyer_party": row["buyer_party"]})
            for row in rows_with_ids(conn, invoices, ids)}


def bodies(conn: Connection, ids: list[int]) -> dict[int, Body]:
    """Lines and allowances/charges in position order and the VAT breakdown (by category and rate) per document."""
    found: dict[int, Body] = {invoice_id: ([], [], []) for invoice_id in ids}
    sources: list[tuple[sa.Table, Any, list[sa.Column[Any]]]] = [
        (invoice_lines, StoredLine, [invoice_lines.c.position]),
        (invoice_allowances, StoredAllowanceCharge, [invoice_allowances.c.position]),
        (invoice_taxes, StoredTax, [invoice_taxes.c.vat_category, invoice_taxes.c.vat_rate])]
    for index, (table, record, order) in enumerate(sources):
        rows = conn.execute(sa.select(table).where(table.c.invoice_id.in_(ids)).order_by(table.c.invoice_id, *order))
        for row in rows.mappings():
            found[row["invoice_id"]][index].append(from_row(record, row))
    return found


def customer_rows(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows_with_ids(conn, customers, ids)}


def exemption_reasons(conn: Connection) -> dict[int, tuple[str, str]]:
    """Tax rate id -> (category, exemption reason, '' for none), for every rate of an exemption category."""
    rows = conn.execute(sa.select(tax_rates.c.id, tax_rates.c.category, tax_rates.c.exemption_reason)
                        .where(tax_rates.c.category.in_(logic.EXEMPTION_REASON_CATEGORIES)))
    return {int(row[0]): (str(row[1]), str(row[2])) for row in rows}
