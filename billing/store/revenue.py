"""SQL of the revenue reports: invoiced and collected sums per period and group, tax and payment totals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.logic import INVOICE, ISSUED
from billing.store.report_filters import (
    Rows,
    document_filters,
    fetch_page,
    fetch_rows,
    one_of,
    period_start,
    signed_amount,
)
from billing.store.schema import allocations, collection_facts, customers, invoices, payments, products, sales_facts


def _by_period(conn: Connection, inner: sa.Subquery, bucket_of: Any, keys: Sequence[str],
               values: Sequence[str]) -> Rows:
    """Sums of `values` per period (bucket_of the `on` date) and `keys`, with a row count.

    Summed per day first, so the period of each date is worked out once per day rather than once
    per row (a million date_trunc calls cost more than the sums themselves)."""
    day_keys = [inner.c.on, *(inner.c[k] for k in keys)]
    daily = (sa.select(*day_keys, *(sa.func.sum(inner.c[v]).label(v) for v in values), sa.func.count().label("n"))
             .group_by(*day_keys).subquery("daily"))
    tagged = sa.select(bucket_of(daily.c.on).label("period"), *(daily.c[k] for k in keys),
                       *(daily.c[v] for v in values), daily.c.n).subquery("tagged")
    out = [tagged.c.period, *(tagged.c[k] for k in keys)]
    return fetch_rows(conn, sa.select(*out, *(sa.func.sum(tagged.c[v]).label(v) for v in values),
                                      sa.func.sum(tagged.c.n).label("count")).group_by(*out))


def _bucket_of(granularity: str | None, split_from: date) -> Any:
    def bucket_of(column: Any) -> Any:
        return period_start(column, granularity) if granularity is not None else _period_split(column, split_from)

    return bucket_of


def _period_split(column: sa.ColumnElement[Any], date_from: date) -> sa.ColumnElement[Any]:
    return sa.case((column >= sa.literal(date_from, sa.Date), "current"), else_="previous")


def _revenue_rows(date_from: date, date_to: date, group: str, customer_ids: Sequence[int],
                  currencies: Sequence[str], product_ids: Sequence[int], statuses: Sequence[str], as_of: date,
                  top_customers: Sequence[int] | None = None) -> tuple[sa.Subquery, list[str]]:
    """Signed invoiced (tax included) and net amounts of issued documents, one row per document or
    per document and group, with the issue date as `on`.

    Product and tax-rate groups, and any product filter, read sales_facts (a product filter counts
    those products' lines only); the rest read the invoice headers. With `top_customers`, other
    customers are grouped together (group_id NULL).
    """
    if group in ("product", "tax_rate") or product_ids:
        src: Any = sales_facts
        dimension = "product" if (group == "product" or product_ids) else "tax"
        where = [src.c.dimension == dimension, *one_of(src.c.product_id, product_ids),
                 *one_of(src.c.customer_id, customer_ids), *one_of(src.c.currency, currencies)]
        invoiced, net = src.c.net + src.c.tax, src.c.net
        if statuses:
            doc = invoices.alias("doc")
            where.append(src.c.invoice_id.in_(sa.select(doc.c.id).where(
                *document_filters(doc, statuses=statuses, as_of=as_of))))
    else:
        src = invoices
        where = [src.c.status == ISSUED, *document_filters(src, customer_ids, currencies, (), statuses, as_of)]
        invoiced, net = signed_amount(src.c.kind, src.c.payable), signed_amount(src.c.kind, src.c.tax_exclusive)
    customer_group: Any = src.c.customer_id
    if top_customers is not None:
        customer_group = sa.case((src.c.customer_id.in_(list(top_customers)), src.c.customer_id), else_=sa.null())
    if group == "tax_rate":
        group_columns = [src.c.vat_category.label("vat_category"), src.c.vat_rate.label("vat_rate")]
    else:
        key = {"none": sa.literal(""), "customer": customer_group, "currency": src.c.currency}.get(group)
        group_columns = [(key if key is not None else src.c.product_id).label("group_id")]
    inner = (sa.select(src.c.issue_date.label("on"), src.c.currency, *group_columns,
                       invoiced.label("invoiced"), net.label("net"))
             .where(*where, src.c.issue_date >= sa.literal(date_from, sa.Date),
                    src.c.issue_date <= sa.literal(date_to, sa.Date)).subquery())
    return inner, [c.name for c in group_columns]


def revenue(conn: Connection, date_from: date, date_to: date, group: str, granularity: str | None,
            split_from: date | None, customer_ids: Sequence[int], currencies: Sequence[str],
            product_ids: Sequence[int], statuses: Sequence[str], as_of: date,
            top_customers: Sequence[int] | None = None) -> Rows:
    """Invoiced and net sums per period (of `granularity`, or current/previous split at
    `split_from`), currency and group."""
    inner, names = _revenue_rows(date_from, date_to, group, customer_ids, currencies, product_ids, statuses, as_of,
                                 top_customers)
    return _by_period(conn, inner, _bucket_of(granularity, split_from or date_from), ["currency", *names],
                      ["invoiced", "net"])


def top_customers(conn: Connection, date_from: date, date_to: date, customer_ids: Sequence[int],
                  currencies: Sequence[str], product_ids: Sequence[int], statuses: Sequence[str], as_of: date,
                  limit: int) -> list[int]:
    """The customers with the most invoiced in the range, `limit` per currency."""
    inner, _ = _revenue_rows(date_from, date_to, "customer", customer_ids, currencies, product_ids, statuses, as_of)
    totals = (sa.select(inner.c.currency, inner.c.group_id, sa.func.sum(inner.c.invoiced).label("invoiced"))
              .group_by(inner.c.currency, inner.c.group_id).subquery())
    ranked = sa.select(totals.c.group_id, sa.func.row_number().over(
        partition_by=[totals.c.currency], order_by=[totals.c.invoiced.desc(), totals.c.group_id]).label("rank")
    ).subquery()
    return sorted({int(v) for v in conn.execute(sa.select(ranked.c.group_id).where(ranked.c.rank <= limit)).scalars()})


def collected(conn: Connection, date_from: date, date_to: date, group: str, granularity: str | None,
              split_from: date | None, customer_ids: Sequence[int], currencies: Sequence[str],
              product_ids: Sequence[int], statuses: Sequence[str], as_of: date,
              top_customers: Sequence[int] | None = None) -> Rows:
    """Money collected per currency and period (and group).

    Payments received less refunds and reversals, by received date; but when the figure must follow
    invoices (a product or status filter, a product or tax-rate group), money allocated to the
    matching invoices by allocation date (an invoice counts under every group it belongs to). Product
    and tax-rate groups read collection_facts, unless a status filter (or, for tax rates, a product
    filter) needs the invoices themselves.
    """
    by_allocation = bool(product_ids or statuses) or group in ("product", "tax_rate")
    from_facts = not statuses and (group == "product" or (group == "tax_rate" and not product_ids))
    on: Any
    source: Any
    amount: Any
    owner: Any
    if product_ids and not statuses and group in ("none", "customer", "currency"):
        # Money allocated to documents with any of the products, from collection_facts: a document
        # has the whole amount under each of its products, so take one product's sum per document.
        cf = collection_facts
        fact_keys = [cf.c.allocated_on, cf.c.invoice_id, cf.c.customer_id, cf.c.currency]
        per_product = (sa.select(*fact_keys, sa.func.sum(cf.c.amount).label("amount"))
                       .where(cf.c.dimension == "product", *one_of(cf.c.product_id, product_ids),
                              *one_of(cf.c.customer_id, customer_ids), *one_of(cf.c.currency, currencies),
                              cf.c.allocated_on >= sa.literal(date_from, sa.Date),
                              cf.c.allocated_on <= sa.literal(date_to, sa.Date))
                       .group_by(*fact_keys, cf.c.product_id).subquery("per_product"))
        doc_keys = [per_product.c[k.name] for k in fact_keys]
        owner = source = (sa.select(*doc_keys, sa.func.max(per_product.c.amount).label("amount"))
                          .group_by(*doc_keys).subquery("per_document"))
        on, amount, where = owner.c.allocated_on, owner.c.amount, []
    elif from_facts:
        cf = collection_facts
        on, amount, owner, source = cf.c.allocated_on, cf.c.amount, cf, cf
        where = [cf.c.dimension == ("product" if group == "product" else "tax"), *one_of(cf.c.product_id, product_ids),
                 *one_of(cf.c.customer_id, customer_ids), *one_of(cf.c.currency, currencies)]
    elif not by_allocation:
        on, source, amount, owner = payments.c.received_on, payments, payments.c.amount, payments
        where = [*one_of(payments.c.customer_id, customer_ids), *one_of(payments.c.currency, currencies)]
    else:
        on, amount = allocations.c.allocated_on, allocations.c.amount
        owner = invoices.alias("paid_invoice")
        source = allocations.join(owner, owner.c.id == allocations.c.invoice_id)
        where = document_filters(owner, customer_ids, currencies, product_ids, statuses, as_of)
    customer_group: Any = owner.c.customer_id
    if top_customers is not None:
        customer_group = sa.case((owner.c.customer_id.in_(list(top_customers)), owner.c.customer_id),
                                 else_=sa.null())
    group_columns: list[Any] = {
        "none": [sa.literal("").label("group_id")],
        "customer": [customer_group.label("group_id")],
        "currency": [owner.c.currency.label("group_id")],
    }.get(group, [])
    if from_facts:
        group_columns = ([cf.c.product_id.label("group_id")] if group == "product"
                         else [cf.c.vat_category.label("vat_category"), cf.c.vat_rate.label("vat_rate")])
    elif group in ("product", "tax_rate"):
        dimension = "product" if (group == "product" or product_ids) else "tax"
        keys = ([sales_facts.c.product_id.label("group_id")] if group == "product"
                else [sales_facts.c.vat_category.label("vat_category"), sales_facts.c.vat_rate.label("vat_rate")])
        groups = (sa.select(sales_facts.c.invoice_id, *keys)
                  .where(sales_facts.c.dimension == dimension, *one_of(sales_facts.c.product_id, product_ids))
                  .distinct().subquery("groups"))
        source = source.join(groups, groups.c.invoice_id == allocations.c.invoice_id)
        group_columns = [groups.c[k.name] for k in keys]
    inner = (sa.select(on.label("on"), owner.c.currency.label("currency"), *group_columns, amount.label("collected"))
             .select_from(source)
             .where(*where, on >= sa.literal(date_from, sa.Date), on <= sa.literal(date_to, sa.Date)).subquery())
    return _by_period(conn, inner, _bucket_of(granularity, split_from or date_from),
                      ["currency", *(c.name for c in group_columns)], ["collected"])


def revenue_documents(conn: Connection, date_from: date, date_to: date, currency: str, group: str,
                      group_value: Any, customer_ids: Sequence[int], product_ids: Sequence[int],
                      statuses: Sequence[str], as_of: date, limit: int, offset: int) -> tuple[Rows, int]:
    """The documents behind one point of the revenue series, with their share of it."""
    doc = invoices
    filters = document_filters(doc, customer_ids, [currency], (), statuses, as_of)
    if group in ("product", "tax_rate") or product_ids:
        dimension = "product" if (group == "product" or product_ids) else "tax"
        fact_where = [sales_facts.c.dimension == dimension, *one_of(sales_facts.c.product_id, product_ids)]
        if group == "product":
            fact_where.append(sales_facts.c.product_id.is_(None) if group_value is None
                              else sales_facts.c.product_id == group_value)
        elif group == "tax_rate":
            category, rate = group_value
            fact_where += [sales_facts.c.vat_category == category, sales_facts.c.vat_rate == rate]
        share = (sa.select(sales_facts.c.invoice_id, sa.func.sum(sales_facts.c.net + sales_facts.c.tax)
                           .label("invoiced"), sa.func.sum(sales_facts.c.net).label("net"))
                 .where(*fact_where).group_by(sales_facts.c.invoice_id).subquery("share"))
        source: Any = doc.join(share, share.c.invoice_id == doc.c.id)
        invoiced: sa.ColumnElement[Any] = share.c.invoiced
        net: sa.ColumnElement[Any] = share.c.net
    else:
        source = doc
        invoiced, net = signed_amount(doc.c.kind, doc.c.payable), signed_amount(doc.c.kind, doc.c.tax_exclusive)
    if group == "customer":
        filters.append(doc.c.customer_id == group_value)
    where = [doc.c.status == ISSUED, *filters, doc.c.issue_date >= sa.literal(date_from, sa.Date),
             doc.c.issue_date <= sa.literal(date_to, sa.Date)]
    page = (sa.select(doc.c.id, doc.c.kind, doc.c.number, doc.c.customer_id, customers.c.name.label("customer"),
                      doc.c.currency, doc.c.issue_date, doc.c.due_date, invoiced.label("invoiced"), net.label("net"),
                      doc.c.payable, doc.c.paid_amount, doc.c.credited_amount)
            .select_from(source.join(customers, customers.c.id == doc.c.customer_id)).where(*where))
    return fetch_page(conn, page, [doc.c.issue_date, doc.c.id], limit, offset)


def days_to_pay(conn: Connection, date_from: date, date_to: date, split_from: date, customer_ids: Sequence[int],
                currencies: Sequence[str], product_ids: Sequence[int]) -> Rows:
    """Invoices settled by payment in the range (their last activity): count and total days to pay."""
    i = invoices
    inner = (sa.select(i.c.currency, _period_split(i.c.last_activity_on, split_from).label("period"),
                       (i.c.last_activity_on - i.c.issue_date).label("days"))
             .where(i.c.kind == INVOICE, i.c.status == ISSUED, sa.not_(i.c.is_open), i.c.paid_amount > 0,
                    i.c.last_activity_on >= sa.literal(date_from, sa.Date),
                    i.c.last_activity_on <= sa.literal(date_to, sa.Date),
                    *document_filters(i, customer_ids, currencies, product_ids)).subquery())
    return fetch_rows(conn, sa.select(inner.c.currency, inner.c.period, sa.func.count().label("settled"),
                                      sa.func.sum(inner.c.days).label("days"))
                      .group_by(inner.c.currency, inner.c.period))


def _names(conn: Connection, table: sa.Table, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(table.c.id, table.c.name).where(table.c.id.in_(list(ids))))
    return {int(r.id): str(r.name) for r in rows}


def product_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """The names of these products, by id."""
    return _names(conn, products, ids)


def customer_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """The names of these customers, by id."""
    return _names(conn, customers, ids)


def tax_totals(conn: Connection, date_from: date, date_to: date, currencies: Sequence[str]) -> Rows:
    """The frozen VAT breakdown of documents issued in the range, per currency, entry and kind."""
    f = sales_facts
    keys = [f.c.currency, f.c.vat_category, f.c.vat_rate, f.c.kind]
    return fetch_rows(conn, sa.select(*keys, sa.func.sum(f.c.net).label("taxable"), sa.func.sum(f.c.tax).label("tax"),
                                      sa.func.count().label("documents"))
                      .where(f.c.dimension == "tax", f.c.issue_date >= sa.literal(date_from, sa.Date),
                             f.c.issue_date <= sa.literal(date_to, sa.Date), *one_of(f.c.currency, currencies))
                      .group_by(*keys))


def payment_totals(conn: Connection, date_from: date, date_to: date, granularity: str,
                   customer_ids: Sequence[int], currencies: Sequence[str]) -> Rows:
    p = payments
    inner = (sa.select(p.c.received_on.label("on"), p.c.method, p.c.currency, p.c.amount)
             .where(p.c.received_on >= sa.literal(date_from, sa.Date), p.c.received_on <= sa.literal(date_to, sa.Date),
                    *one_of(p.c.customer_id, customer_ids), *one_of(p.c.currency, currencies)).subquery())
    return _by_period(conn, inner, _bucket_of(granularity, date_from), ["method", "currency"], ["amount"])
