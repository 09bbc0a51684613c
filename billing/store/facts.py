"""The data kept for the reports, written at issue and payment time: sales and collection facts, activity dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.documents import InvoiceHeader, StoredLine, StoredTax
from billing.logic import CREDIT_NOTE, ISSUED
from billing.money import ZERO, minor_unit
from billing.store.report_filters import Condition, signed_amount
from billing.store.schema import allocations, collection_facts, invoice_lines, invoice_taxes, invoices, sales_facts


def note_collected(conn: Connection, invoice_id: int, on: date, allocated: Decimal) -> None:
    """Add money allocated to an invoice on `on` (negative when undone) to collection_facts, under each
    of its groups in sales_facts. Call it in the same transaction as the allocation."""
    # The document's groups as _collection_groups gives them, read with a filter on the id alone:
    # DuckDB then skips to the document's rows (adding a test on `dimension` made it scan them all).
    f = sales_facts.c
    groups = {(r.customer_id, r.currency, r.dimension, r.product_id if r.dimension == "product" else None,
               r.vat_category if r.dimension == "tax" else None, r.vat_rate if r.dimension == "tax" else None)
              for r in conn.execute(sa.select(f.customer_id, f.currency, f.dimension, f.product_id,
                                              f.vat_category, f.vat_rate).where(f.invoice_id == invoice_id))}
    if groups:
        conn.execute(collection_facts.insert(), [
            dict(zip(_COLLECTION_COLUMNS, (on, invoice_id, *group, allocated), strict=True)) for group in groups])


_COLLECTION_COLUMNS = ("allocated_on", "invoice_id", "customer_id", "currency", "dimension", "product_id",
                       "vat_category", "vat_rate", "amount")


def _collection_groups(where: Condition) -> sa.Subquery:
    """The groups of documents in sales_facts: one per product, one per VAT entry."""
    f = sales_facts
    keys = [f.c.invoice_id, f.c.customer_id, f.c.currency, f.c.dimension]
    products_of = sa.select(*keys, f.c.product_id, sa.cast(sa.null(), f.c.vat_category.type).label("vat_category"),
                            sa.cast(sa.null(), f.c.vat_rate.type).label("vat_rate")) \
        .where(where, f.c.dimension == "product").distinct()
    taxes_of = sa.select(*keys, sa.cast(sa.null(), f.c.product_id.type), f.c.vat_category, f.c.vat_rate) \
        .where(where, f.c.dimension == "tax")
    return sa.union_all(products_of, taxes_of).subquery("groups")


def _expected_collections() -> sa.Select[Any]:
    """collection_facts as recomputed from the allocations, per allocation date and group."""
    groups = _collection_groups(sa.true())
    daily = (sa.select(allocations.c.invoice_id, allocations.c.allocated_on,
                       sa.func.sum(allocations.c.amount).label("amount"))
             .group_by(allocations.c.invoice_id, allocations.c.allocated_on).subquery("daily"))
    return (sa.select(daily.c.allocated_on, *groups.c, daily.c.amount)
            .select_from(daily.join(groups, groups.c.invoice_id == daily.c.invoice_id)))


def rebuild_collection_facts(conn: Connection) -> None:
    """Rebuild collection_facts from every allocation, in date order (after sales_facts)."""
    conn.execute(collection_facts.delete())
    expected = _expected_collections().subquery()
    conn.execute(collection_facts.insert().from_select(
        list(_COLLECTION_COLUMNS), sa.select(expected).order_by(expected.c.allocated_on, expected.c.invoice_id)))


def _activity_events() -> sa.Subquery:
    credit_notes = invoices.alias("cn")
    return sa.union_all(
        sa.select(allocations.c.invoice_id.label("id"), allocations.c.allocated_on.label("on")),
        sa.select(credit_notes.c.credited_invoice_id, credit_notes.c.issue_date)
        .where(credit_notes.c.kind == CREDIT_NOTE, credit_notes.c.status == ISSUED,
               credit_notes.c.credited_invoice_id.is_not(None)),
    ).subquery("events")


def _activity_dates() -> sa.Subquery:
    events = _activity_events()
    return (sa.select(events.c.id, sa.func.min(events.c.on).label("first"), sa.func.max(events.c.on).label("last"))
            .group_by(events.c.id).subquery("activity"))


def rebuild_activity_dates(conn: Connection) -> None:
    """Fill first/last activity dates from allocations and credit notes (migration, demo load)."""
    dates = _activity_dates()
    conn.execute(invoices.update().where(invoices.c.id == dates.c.id)
                 .values(first_activity_on=dates.c.first, last_activity_on=dates.c.last))


def _round_vat(amount: sa.ColumnElement[Any], currency: sa.ColumnElement[Any],
               currencies: Sequence[str]) -> sa.ColumnElement[Any]:
    def rounded(code: str) -> sa.ColumnElement[Any]:
        # Cast to the column's type: DuckDB gives a CASE over round(x, 2) and round(x, 0) (JPY) the type
        # DECIMAL(38,0), so every currency's VAT came out in whole units.
        return sa.cast(sa.func.round(amount, sa.literal_column(str(int(minor_unit(code))))), sales_facts.c.tax.type)

    if len(currencies) == 1:
        return rounded(currencies[0])
    return sa.case(*((currency == code, rounded(code)) for code in currencies), else_=rounded("EUR"))


_FACT_COLUMNS = ("invoice_id", "dimension", "kind", "customer_id", "currency", "issue_date", "product_id",
                 "vat_category", "vat_rate", "net", "tax")


def _fact_selects(where: Condition, currencies: Sequence[str],
                  one_document: int | None = None) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """Product rows from the lines and tax rows from the frozen VAT breakdown of issued documents."""
    doc = invoices
    # For one document, filter the line tables by its id too: a join alone would scan all 5M lines.
    lines_where = [invoice_lines.c.invoice_id == one_document] if one_document is not None else []
    taxes_where = [invoice_taxes.c.invoice_id == one_document] if one_document is not None else []
    # The lines' VAT at their rate: net x percent x 0.01 is exact (no division), rounded once per row.
    vat = _round_vat(sa.func.sum(invoice_lines.c.net_amount * invoice_lines.c.vat_rate)
                     * sa.literal_column("0.01", sa.Numeric(3, 2)), doc.c.currency, currencies)
    product_rows = (
        sa.select(doc.c.id, sa.literal("product"), doc.c.kind, doc.c.customer_id, doc.c.currency, doc.c.issue_date,
                  invoice_lines.c.product_id, invoice_lines.c.vat_category, invoice_lines.c.vat_rate,
                  signed_amount(doc.c.kind, sa.func.sum(invoice_lines.c.net_amount)), signed_amount(doc.c.kind, vat))
        .select_from(invoice_lines.join(doc, doc.c.id == invoice_lines.c.invoice_id))
        .where(where, doc.c.status == ISSUED, *lines_where)
        .group_by(doc.c.id, doc.c.kind, doc.c.customer_id, doc.c.currency, doc.c.issue_date,
                  invoice_lines.c.product_id, invoice_lines.c.vat_category, invoice_lines.c.vat_rate))
    tax_rows = (
        sa.select(doc.c.id, sa.literal("tax"), doc.c.kind, doc.c.customer_id, doc.c.currency, doc.c.issue_date,
                  sa.cast(sa.null(), sa.BigInteger), invoice_taxes.c.vat_category, invoice_taxes.c.vat_rate,
                  signed_amount(doc.c.kind, invoice_taxes.c.taxable), signed_amount(doc.c.kind, invoice_taxes.c.tax))
        .select_from(invoice_taxes.join(doc, doc.c.id == invoice_taxes.c.invoice_id))
        .where(where, doc.c.status == ISSUED, *taxes_where))
    return product_rows, tax_rows


def record_sales(conn: Connection, document: InvoiceHeader, lines: Sequence[StoredLine],
                 taxes: Sequence[StoredTax]) -> None:
    """Write an issued document's revenue by product and VAT entry into sales_facts, in the caller's
    transaction, in one statement."""
    rows = sales_rows(document, lines, taxes)
    if rows:
        conn.execute(sales_facts.insert().values(rows))


def sales_rows(document: InvoiceHeader, lines: Sequence[StoredLine], taxes: Sequence[StoredTax]
               ) -> list[dict[str, Any]]:
    """An issued document's sales_facts rows: the rows `_fact_selects` gives for it (verify compares them),
    computed from the lines and VAT breakdown just stored."""
    sign = -1 if document.kind == CREDIT_NOTE else 1
    keys = {"kind": document.kind, "customer_id": document.customer_id, "currency": document.currency,
            "issue_date": document.issue_date}
    exponent = Decimal(1).scaleb(-minor_unit(document.currency))
    products: dict[tuple[Any, ...], list[Decimal]] = {}
    for line in lines:
        sums = products.setdefault((line.product_id, line.vat_category, line.vat_rate), [ZERO, ZERO])
        sums[0] += line.net_amount
        sums[1] += line.net_amount * line.vat_rate
    rows = [{**keys, "invoice_id": document.id, "dimension": "product", "product_id": product_id,
             "vat_category": category, "vat_rate": rate, "net": sign * net,
             # As _round_vat: the VAT at the line rate, rounded once per row, half away from zero.
             "tax": sign * (weighted * Decimal("0.01")).quantize(exponent, ROUND_HALF_UP)}
            for (product_id, category, rate), (net, weighted) in products.items()]
    rows += [{**keys, "invoice_id": document.id, "dimension": "tax", "product_id": None,
              "vat_category": tax.vat_category, "vat_rate": tax.vat_rate, "net": sign * tax.taxable,
              "tax": sign * tax.tax} for tax in taxes]
    return rows


def remove_sales(conn: Connection, invoice_id: int) -> None:
    """A voided document is no revenue any more (nor are its allocations, which net to nothing)."""
    conn.execute(sales_facts.delete().where(sales_facts.c.invoice_id == invoice_id))
    conn.execute(collection_facts.delete().where(collection_facts.c.invoice_id == invoice_id))


def _currencies(conn: Connection) -> list[str]:
    return sorted(conn.execute(sa.select(invoices.c.currency).distinct()).scalars())


def rebuild_sales_facts(conn: Connection) -> None:
    """Rebuild sales_facts from every issued document, in issue-date order (so date filters skip blocks)."""
    conn.execute(sales_facts.delete())
    currencies = _currencies(conn) or ["EUR"]
    for query in _fact_selects(sa.true(), currencies):
        ordered = query.subquery()
        conn.execute(sales_facts.insert().from_select(
            list(_FACT_COLUMNS), sa.select(ordered).order_by(ordered.c.issue_date, ordered.c.id)))


def maintained_problems(conn: Connection) -> list[str]:
    """Differences between the data kept for the reports and what it is recomputed from."""
    problems: list[str] = []
    dates = _activity_dates()
    for row in conn.execute(
            sa.select(invoices.c.id, invoices.c.number, invoices.c.first_activity_on, invoices.c.last_activity_on,
                      dates.c.first, dates.c.last)
            .select_from(invoices.outerjoin(dates, dates.c.id == invoices.c.id))
            .where(sa.or_(invoices.c.first_activity_on.is_distinct_from(dates.c.first),
                          invoices.c.last_activity_on.is_distinct_from(dates.c.last))).limit(20)):
        problems.append(f"{row.number or row.id}: activity dates {row.first_activity_on}..{row.last_activity_on} "
                        f"but its allocations and credit notes give {row.first}..{row.last}")
    expected = sa.union_all(*_fact_selects(sa.true(), _currencies(conn) or ["EUR"])).subquery()
    c = collection_facts.c
    keys = [c.allocated_on, c.invoice_id, c.customer_id, c.currency, c.dimension, c.product_id, c.vat_category,
            c.vat_rate]
    collections_stored = sa.select(*keys, sa.func.sum(c.amount)).group_by(*keys).subquery()
    for table, recomputed, stored, owner in (
            ("sales_facts", expected, sa.select(*[sales_facts.c[c] for c in _FACT_COLUMNS]).subquery(), 0),
            ("collection_facts", _expected_collections().subquery(), collections_stored, 1)):
        for invoice_id, missing in conn.execute(_differing_owners(recomputed, stored, owner)):
            problems.append(f"document {invoice_id}: rows {'missing from' if missing else 'unexpected in'} {table}")
    return problems


def _differing_owners(recomputed: sa.Subquery, stored: sa.Subquery, owner: int) -> sa.Select[Any]:
    """The documents (column `owner`) of rows that one side holds more often than the other, up to 20 each
    way, and whether the stored side lacks them: EXCEPT ALL both ways, in one pass over each side (the
    recomputation is what costs, a hash join of every line)."""
    sides = sa.union_all(sa.select(*recomputed.c, sa.literal(1).label("side")),
                         sa.select(*stored.c, sa.literal(-1).label("side"))).subquery("sides")
    columns = list(sides.c)[:-1]
    counted = (sa.select(columns[owner].label("invoice_id"), (sa.func.sum(sides.c.side) > 0).label("missing"))
               .group_by(*columns).having(sa.func.sum(sides.c.side) != 0).subquery("counted"))
    owners = sa.select(counted.c.invoice_id, counted.c.missing).distinct().subquery("owners")
    ranked = sa.select(owners, sa.func.row_number().over(partition_by=owners.c.missing,
                                                          order_by=owners.c.invoice_id).label("n")).subquery("ranked")
    return (sa.select(ranked.c.invoice_id, ranked.c.missing).where(ranked.c.n <= 20)
            .order_by(ranked.c.missing.desc(), ranked.c.invoice_id))
