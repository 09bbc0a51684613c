"""SQL of the reports: sums per currency and AR balances as of any date (the data kept for them is in facts).

Every money sum here is exact (DECIMAL); divisions and rounding happen in Python. Expressions with
bound parameters are computed in a subquery and grouped by name outside it, because PostgreSQL
does not see two bindings of one parameter as the same GROUP BY expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.invoices import balance_expr
from billing.store.schema import (
    allocations,
    collection_facts,
    customers,
    invoices,
    payments,
    products,
    sales_facts,
)

ISSUED, VOID, INVOICE, CREDIT_NOTE = "issued", "void", "invoice", "credit_note"
Rows = list[dict[str, Any]]
Condition = sa.ColumnElement[bool]


def _rows(conn: Connection, query: sa.Executable) -> Rows:
    return [dict(r) for r in conn.execute(query).mappings().all()]


def _page(conn: Connection, query: sa.Select[Any], order: Sequence[Any], limit: int,
          offset: int) -> tuple[Rows, int]:
    """One page of a query and the number of rows it has in all (one execution in the usual case)."""
    counted = query.add_columns(sa.func.count().over().label("total_rows")).order_by(*order)
    rows = _rows(conn, counted.limit(limit).offset(offset))
    if rows:
        total = int(rows[0]["total_rows"])
    else:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
    for row in rows:
        del row["total_rows"]
    return rows, total


def _signed(kind: sa.ColumnElement[Any], amount: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.case((kind == CREDIT_NOTE, -amount), else_=amount)


def period_start(column: sa.ColumnElement[Any], granularity: str) -> sa.ColumnElement[Any]:
    """Start of the day/week/month/quarter/year of a date (a DATE on DuckDB and PostgreSQL alike)."""
    # `granularity` is one of reports.GRANULARITIES, checked by the caller: a SQL keyword, not user text.
    return sa.cast(sa.func.date_trunc(sa.literal_column(f"'{granularity}'"), column), sa.Date)


# --- filters -------------------------------------------------------------------------------------

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


def _in(column: sa.ColumnElement[Any], values: Sequence[Any]) -> list[Condition]:
    return [column.in_(list(values))] if values else []


def document_filters(doc: Any, customer_ids: Sequence[int] = (), currencies: Sequence[str] = (),
                     product_ids: Sequence[int] = (), statuses: Sequence[str] = (),
                     as_of: date | None = None) -> list[Condition]:
    """Conditions on issued invoices and credit notes; a credit note takes the status of its invoice."""
    conditions = [*_in(doc.c.customer_id, customer_ids), *_in(doc.c.currency, currencies)]
    if product_ids:
        conditions.append(with_products(doc.c.id, product_ids))
    if statuses and as_of is not None:
        target = invoices.alias("status_of")
        conditions.append(sa.exists(sa.select(sa.literal(1)).where(
            target.c.id == sa.func.coalesce(doc.c.credited_invoice_id, doc.c.id),
            status_condition(target, statuses, as_of))))
    return conditions


# --- AR balances as of any date -----------------------------------------------------------------

def open_items(as_of: date, customer_ids: Sequence[int] = (), currencies: Sequence[str] = (),
               product_ids: Sequence[int] = ()) -> sa.Subquery:
    """Invoices with a balance as of the end of `as_of`: id, number, customer_id, currency,
    issue_date, due_date, payable, balance.

    balance_as_of(d) = payable - allocations dated <= d - credit notes issued <= d, for invoices
    issued by d and not voided by then. It is rebuilt from today's maintained sums: an invoice with
    no activity by d still owes its payable; one whose activity all lies on or before d owes today's
    balance; only the few whose activity straddles d are corrected by the events after d.
    """
    i = invoices
    d = sa.literal(as_of, sa.Date)
    eligible = [i.c.kind == INVOICE, i.c.issue_date <= d,
                sa.or_(i.c.status == ISSUED, sa.and_(i.c.status == VOID, i.c.voided_on > d)),
                *_in(i.c.customer_id, customer_ids), *_in(i.c.currency, currencies)]
    straddles = sa.and_(i.c.first_activity_on <= d, i.c.last_activity_on > d)
    columns = [i.c.id, i.c.number, i.c.customer_id, i.c.currency, i.c.issue_date, i.c.due_date, i.c.payable]
    # Plain column tests in each branch (no CASE per row): DuckDB filters a million rows in a scan.
    untouched = (sa.select(*columns, i.c.payable.label("balance"))
                 .where(*eligible, sa.or_(i.c.first_activity_on.is_(None), i.c.first_activity_on > d),
                        i.c.payable > 0))
    all_before = (sa.select(*columns, balance_expr().label("balance"))
                  .where(*eligible, i.c.last_activity_on <= d, i.c.is_open))
    credit_notes = invoices.alias("later_cn")
    after = sa.union_all(
        sa.select(allocations.c.invoice_id.label("id"), allocations.c.amount.label("amount"))
        .where(allocations.c.allocated_on > d),
        sa.select(credit_notes.c.credited_invoice_id, credit_notes.c.payable)
        .where(credit_notes.c.kind == CREDIT_NOTE, credit_notes.c.status == ISSUED, credit_notes.c.issue_date > d),
    ).subquery("after")
    straddling = sa.select(*columns, balance_expr().label("now")).where(*eligible, straddles).subquery("straddling")
    corrected = (
        sa.select(*[straddling.c[c.name] for c in columns],
                  (sa.func.min(straddling.c.now) + sa.func.sum(after.c.amount)).label("balance"))
        .select_from(straddling.join(after, after.c.id == straddling.c.id))
        .group_by(*[straddling.c[c.name] for c in columns]))
    both = sa.union_all(untouched, all_before, corrected).subquery("as_of_balances")
    # The product test once on the open items rather than in each branch.
    products = [with_products(both.c.id, product_ids)] if product_ids else []
    return sa.select(both).where(both.c.balance > 0, *products).subquery("open_items")


def bucket_index(due_date: sa.ColumnElement[Any], as_of: date, edges: Sequence[date]) -> sa.ColumnElement[Any]:
    """0 when not yet due, then 1.. for each aging bucket (edges: as_of - days of each bucket's end)."""
    whens = [(due_date >= sa.literal(as_of, sa.Date), 0)]
    whens += [(due_date >= sa.literal(edge, sa.Date), n) for n, edge in enumerate(edges, start=1)]
    return sa.case(*whens, else_=len(edges) + 1)


def aging_totals(conn: Connection, as_of: date, edges: Sequence[date], currencies: Sequence[str],
                 customer_ids: Sequence[int]) -> Rows:
    items = open_items(as_of, customer_ids, currencies)
    tagged = sa.select(items.c.currency, items.c.balance,
                       bucket_index(items.c.due_date, as_of, edges).label("bucket")).subquery()
    return _rows(conn, sa.select(tagged.c.currency, tagged.c.bucket, sa.func.sum(tagged.c.balance).label("amount"),
                                 sa.func.count().label("invoices"))
                 .group_by(tagged.c.currency, tagged.c.bucket))


def aging_by_customer(conn: Connection, as_of: date, edges: Sequence[date], currencies: Sequence[str],
                      customer_ids: Sequence[int], limit: int, offset: int) -> tuple[Rows, int]:
    items = open_items(as_of, customer_ids, currencies)
    tagged = sa.select(items.c.customer_id, items.c.currency, items.c.balance, items.c.due_date,
                       bucket_index(items.c.due_date, as_of, edges).label("bucket")).subquery()
    sums = [sa.func.sum(sa.case((tagged.c.bucket == n, tagged.c.balance), else_=0)).label(f"b{n}")
            for n in range(len(edges) + 2)]
    grouped = (sa.select(tagged.c.customer_id, tagged.c.currency, *sums,
                         sa.func.sum(tagged.c.balance).label("total"),
                         sa.func.min(tagged.c.due_date).label("oldest_due"), sa.func.count().label("open_invoices"))
               .group_by(tagged.c.customer_id, tagged.c.currency).subquery())
    # Amounts of different currencies are never compared: rank each total within its currency, and
    # put the biggest debtors of every currency first (the same rank in each currency: the larger total).
    ranked = sa.select(grouped, sa.func.percent_rank().over(partition_by=[grouped.c.currency],
                                                            order_by=grouped.c.total).label("rank")).subquery()
    page = (sa.select(*[ranked.c[c.name] for c in grouped.c], customers.c.name.label("customer"))
            .select_from(ranked.join(customers, customers.c.id == ranked.c.customer_id)))
    order = [ranked.c.rank.desc(), ranked.c.currency, ranked.c.total.desc(), ranked.c.customer_id]
    return _page(conn, page, order, limit, offset)


def aging_items(conn: Connection, as_of: date, currency: str, due_from: date | None, due_to: date | None,
                customer_id: int | None, limit: int, offset: int) -> tuple[Rows, int]:
    """Open invoices as of a date in one currency, optionally with due dates in [due_from, due_to]."""
    items = open_items(as_of, [customer_id] if customer_id is not None else (), [currency])
    where: list[Condition] = [sa.true()]
    if due_from is not None:
        where.append(items.c.due_date >= sa.literal(due_from, sa.Date))
    if due_to is not None:
        where.append(items.c.due_date <= sa.literal(due_to, sa.Date))
    page = (sa.select(items, customers.c.name.label("customer"))
            .select_from(items.join(customers, customers.c.id == items.c.customer_id)).where(*where))
    return _page(conn, page, [items.c.due_date, items.c.id], limit, offset)


def point_in_time(conn: Connection, dates: dict[str, date], customer_ids: Sequence[int], currencies: Sequence[str],
                  product_ids: Sequence[int], statuses: Sequence[str]) -> Rows:
    """Per period label of `dates` and currency: outstanding, overdue and the number of open invoices
    at the end of that date. One query for all the dates, so a product filter is applied once."""
    branches = []
    for label, as_of in dates.items():
        items = open_items(as_of, customer_ids, currencies)
        overdue = items.c.due_date < sa.literal(as_of, sa.Date)
        where: list[Condition] = [sa.true()]
        if statuses:
            partly = items.c.balance < items.c.payable
            kinds = {"paid": sa.false(), "credited": sa.false(), "overdue": overdue,
                     "partially_paid": sa.and_(sa.not_(overdue), partly),
                     "unpaid": sa.and_(sa.not_(overdue), sa.not_(partly))}
            where.append(sa.or_(*(kinds[s] for s in statuses)))
        branches.append(sa.select(sa.literal(label).label("period"), items.c.id, items.c.currency, items.c.balance,
                                  sa.case((overdue, items.c.balance), else_=0).label("overdue")).where(*where))
    both = sa.union_all(*branches).subquery("balances")
    products = [with_products(both.c.id, product_ids)] if product_ids else []
    keys = [both.c.period, both.c.currency]
    return _rows(conn, sa.select(*keys, sa.func.sum(both.c.balance).label("outstanding"),
                                 sa.func.sum(both.c.overdue).label("overdue"), sa.func.count().label("open_invoices"))
                 .where(*products).group_by(*keys))


# --- revenue -------------------------------------------------------------------------------------

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
    return _rows(conn, sa.select(*out, *(sa.func.sum(tagged.c[v]).label(v) for v in values),
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
        where = [src.c.dimension == dimension, *_in(src.c.product_id, product_ids),
                 *_in(src.c.customer_id, customer_ids), *_in(src.c.currency, currencies)]
        invoiced, net = src.c.net + src.c.tax, src.c.net
        if statuses:
            doc = invoices.alias("doc")
            where.append(src.c.invoice_id.in_(sa.select(doc.c.id).where(
                *document_filters(doc, statuses=statuses, as_of=as_of))))
    else:
        src = invoices
        where = [src.c.status == ISSUED, *document_filters(src, customer_ids, currencies, (), statuses, as_of)]
        invoiced, net = _signed(src.c.kind, src.c.payable), _signed(src.c.kind, src.c.tax_exclusive)
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
                       .where(cf.c.dimension == "product", *_in(cf.c.product_id, product_ids),
                              *_in(cf.c.customer_id, customer_ids), *_in(cf.c.currency, currencies),
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
        where = [cf.c.dimension == ("product" if group == "product" else "tax"), *_in(cf.c.product_id, product_ids),
                 *_in(cf.c.customer_id, customer_ids), *_in(cf.c.currency, currencies)]
    elif not by_allocation:
        on, source, amount, owner = payments.c.received_on, payments, payments.c.amount, payments
        where = [*_in(payments.c.customer_id, customer_ids), *_in(payments.c.currency, currencies)]
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
                  .where(sales_facts.c.dimension == dimension, *_in(sales_facts.c.product_id, product_ids))
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
        fact_where = [sales_facts.c.dimension == dimension, *_in(sales_facts.c.product_id, product_ids)]
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
        invoiced, net = _signed(doc.c.kind, doc.c.payable), _signed(doc.c.kind, doc.c.tax_exclusive)
    if group == "customer":
        filters.append(doc.c.customer_id == group_value)
    where = [doc.c.status == ISSUED, *filters, doc.c.issue_date >= sa.literal(date_from, sa.Date),
             doc.c.issue_date <= sa.literal(date_to, sa.Date)]
    page = (sa.select(doc.c.id, doc.c.kind, doc.c.number, doc.c.customer_id, customers.c.name.label("customer"),
                      doc.c.currency, doc.c.issue_date, doc.c.due_date, invoiced.label("invoiced"), net.label("net"),
                      doc.c.payable, doc.c.paid_amount, doc.c.credited_amount)
            .select_from(source.join(customers, customers.c.id == doc.c.customer_id)).where(*where))
    return _page(conn, page, [doc.c.issue_date, doc.c.id], limit, offset)


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
    return _rows(conn, sa.select(inner.c.currency, inner.c.period, sa.func.count().label("settled"),
                                 sa.func.sum(inner.c.days).label("days")).group_by(inner.c.currency, inner.c.period))


def product_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(products.c.id, products.c.name).where(products.c.id.in_(list(ids))))
    return {int(r.id): str(r.name) for r in rows}


def customer_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(customers.c.id, customers.c.name).where(customers.c.id.in_(list(ids))))
    return {int(r.id): str(r.name) for r in rows}


# --- tax, payments, statements -------------------------------------------------------------------

def tax_totals(conn: Connection, date_from: date, date_to: date, currencies: Sequence[str]) -> Rows:
    """The frozen VAT breakdown of documents issued in the range, per currency, entry and kind."""
    f = sales_facts
    keys = [f.c.currency, f.c.vat_category, f.c.vat_rate, f.c.kind]
    return _rows(conn, sa.select(*keys, sa.func.sum(f.c.net).label("taxable"), sa.func.sum(f.c.tax).label("tax"),
                                 sa.func.count().label("documents"))
                 .where(f.c.dimension == "tax", f.c.issue_date >= sa.literal(date_from, sa.Date),
                        f.c.issue_date <= sa.literal(date_to, sa.Date), *_in(f.c.currency, currencies))
                 .group_by(*keys))


def payment_totals(conn: Connection, date_from: date, date_to: date, granularity: str,
                   customer_ids: Sequence[int], currencies: Sequence[str]) -> Rows:
    p = payments
    inner = (sa.select(p.c.received_on.label("on"), p.c.method, p.c.currency, p.c.amount)
             .where(p.c.received_on >= sa.literal(date_from, sa.Date), p.c.received_on <= sa.literal(date_to, sa.Date),
                    *_in(p.c.customer_id, customer_ids), *_in(p.c.currency, currencies)).subquery())
    return _by_period(conn, inner, _bucket_of(granularity, date_from), ["method", "currency"], ["amount"])


def customer_row(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).mappings().first()
    return dict(row) if row is not None else None


def _statement_activity(customer_id: int, currency: str) -> sa.Subquery:
    """Every statement entry of a customer in a currency: debit and credit as positive amounts."""
    doc, credited = invoices, invoices.alias("credited")
    documents = (
        sa.select(doc.c.issue_date.label("on"), doc.c.kind.label("kind"), doc.c.id.label("id"),
                  sa.func.coalesce(doc.c.number, "").label("number"),
                  sa.func.coalesce(credited.c.number, "").label("reference"), doc.c.notes.label("detail"),
                  sa.case((doc.c.kind == INVOICE, doc.c.payable), else_=0).label("debit"),
                  sa.case((doc.c.kind == CREDIT_NOTE, doc.c.payable), else_=0).label("credit"))
        .select_from(doc.outerjoin(credited, credited.c.id == doc.c.credited_invoice_id))
        .where(doc.c.customer_id == customer_id, doc.c.currency == currency, doc.c.status == ISSUED))
    money = (
        sa.select(payments.c.received_on, payments.c.kind, payments.c.id, sa.literal(""),
                  payments.c.reference, payments.c.method,
                  sa.case((payments.c.amount < 0, -payments.c.amount), else_=0),
                  sa.case((payments.c.amount > 0, payments.c.amount), else_=0))
        .where(payments.c.customer_id == customer_id, payments.c.currency == currency))
    return sa.union_all(documents, money).subquery("activity")


def statement_entries(conn: Connection, customer_id: int, currency: str, date_to: date) -> Rows:
    """Every entry of the customer's statement up to `date_to`, in statement order (one customer's
    history is small: reading it whole costs less than a second scan for the opening balance)."""
    activity = _statement_activity(customer_id, currency)
    order = sa.case({INVOICE: 0, CREDIT_NOTE: 1, "payment": 2, "refund": 3, "reversal": 4}, value=activity.c.kind,
                    else_=5)
    return _rows(conn, sa.select(activity).where(activity.c.on <= sa.literal(date_to, sa.Date))
                 .order_by(activity.c.on, order, activity.c.id))


def voided_in(conn: Connection, customer_id: int, currency: str, date_from: date, date_to: date) -> list[str]:
    return [str(n) for n in conn.execute(
        sa.select(invoices.c.number).where(invoices.c.customer_id == customer_id, invoices.c.currency == currency,
                                           invoices.c.status == VOID, invoices.c.issue_date <= date_to,
                                           invoices.c.voided_on >= date_from).order_by(invoices.c.number)).scalars()]


# --- collections and forecast --------------------------------------------------------------------

def _settled_by_payment(as_of: date, since: date | None = None) -> list[Condition]:
    i = invoices
    conditions = [i.c.kind == INVOICE, i.c.status == ISSUED, sa.not_(i.c.is_open), i.c.paid_amount > 0,
                  i.c.last_activity_on <= sa.literal(as_of, sa.Date)]
    if since is not None:
        conditions.append(i.c.last_activity_on >= sa.literal(since, sa.Date))
    return conditions


def overdue_items(conn: Connection, as_of: date, edges: Sequence[date], currencies: Sequence[str], limit: int,
                  offset: int) -> tuple[Rows, int]:
    """Overdue invoices as of a date: oldest bucket first, then by balance within its currency."""
    items = sa.select(open_items(as_of, (), currencies)).cte("open_now").prefix_with("MATERIALIZED")
    counts = (sa.select(items.c.customer_id, items.c.currency, sa.func.count().label("open_invoices"))
              .group_by(items.c.customer_id, items.c.currency).subquery("counts"))
    overdue = sa.select(
        items, bucket_index(items.c.due_date, as_of, edges).label("bucket"),
        sa.func.percent_rank().over(partition_by=[items.c.currency], order_by=items.c.balance).label("balance_rank"),
    ).where(items.c.due_date < sa.literal(as_of, sa.Date)).subquery("overdue")
    order = [overdue.c.bucket.desc(), overdue.c.balance_rank.desc(), overdue.c.due_date, overdue.c.id]
    # Rank and cut the page first; the page's rows alone then get their customer's name and count.
    page = (sa.select(overdue, sa.func.count().over().label("total_rows")).order_by(*order)
            .limit(limit).offset(offset).subquery("page"))
    rows = _rows(conn, sa.select(page, counts.c.open_invoices, customers.c.name.label("customer"))
                 .select_from(page.join(counts, sa.and_(counts.c.customer_id == page.c.customer_id,
                                                        counts.c.currency == page.c.currency))
                              .join(customers, customers.c.id == page.c.customer_id))
                 .order_by(page.c.bucket.desc(), page.c.balance_rank.desc(), page.c.due_date, page.c.id))
    if rows:
        total = int(rows[0]["total_rows"])
    else:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(overdue)).scalar_one())
    for row in rows:
        del row["total_rows"]
    return rows, total


def paying_habits(conn: Connection, as_of: date, customer_ids: Sequence[int]) -> Rows:
    """Per customer: invoices settled by payment, total days to pay, and how many by their due date."""
    i = invoices
    inner = (sa.select(i.c.customer_id, (i.c.last_activity_on - i.c.issue_date).label("days"),
                       sa.case((i.c.last_activity_on <= i.c.due_date, 1), else_=0).label("on_time"))
             .where(*_settled_by_payment(as_of), i.c.customer_id.in_(list(customer_ids))).subquery())
    return _rows(conn, sa.select(inner.c.customer_id, sa.func.count().label("settled"),
                                 sa.func.sum(inner.c.days).label("days"), sa.func.sum(inner.c.on_time).label("on_time"))
                 .group_by(inner.c.customer_id))


def forecast_items(conn: Connection, as_of: date, since: date, min_history: int, doubtful_before: date,
                   horizon: date, currencies: Sequence[str]) -> Rows:
    """Open invoices' balances by currency and week of expected payment (`week`, a Monday), and
    per currency the overdue balance of late payers to spread over the coming weeks (`week` NULL).

    The expected date is issue date + the customer's median days to pay (invoices settled since
    `since`, at least `min_history` of them), else the due date; when it has passed it becomes
    `as_of`, except for a late payer (a customer who paid fewer than half of those invoices by their
    due date), whose balance is spread. Invoices due before `doubtful_before` and those expected
    after `horizon` are left out. Grouped here, so a few dozen rows leave the database.
    """
    open_now = open_items(as_of, (), currencies)
    items = sa.select(open_now).cte("open_now").prefix_with("MATERIALIZED")
    i = invoices
    payers = sa.select(items.c.customer_id).distinct().subquery("payers")
    median = sa.func.percentile_disc(sa.literal_column("0.5")).within_group(i.c.last_activity_on - i.c.issue_date)
    habits = (sa.select(i.c.customer_id, median.label("median_days"), sa.func.count().label("settled"),
                        sa.func.sum(sa.case((i.c.last_activity_on <= i.c.due_date, 1), else_=0)).label("on_time"))
              .select_from(i.join(payers, payers.c.customer_id == i.c.customer_id))
              .where(*_settled_by_payment(as_of, since))
              .group_by(i.c.customer_id).having(sa.func.count() >= min_history).subquery("habits"))
    expected = sa.case((habits.c.median_days.is_(None), items.c.due_date),
                       else_=items.c.issue_date + sa.cast(habits.c.median_days, sa.Integer))
    day = sa.literal(as_of, sa.Date)
    dated = (sa.select(items.c.currency, expected.label("expected_on"),
                       sa.and_(habits.c.on_time * 2 < habits.c.settled, expected < day).label("spread"),
                       items.c.balance)
             .select_from(items.outerjoin(habits, habits.c.customer_id == items.c.customer_id))
             .where(items.c.due_date >= sa.literal(doubtful_before, sa.Date)).subquery("dated"))
    week = sa.case((dated.c.spread, sa.null()), else_=period_start(sa.func.greatest(dated.c.expected_on, day), "week"))
    inner = (sa.select(dated.c.currency, week.label("week"), dated.c.balance)
             .where(sa.or_(dated.c.spread, dated.c.expected_on <= sa.literal(horizon, sa.Date))).subquery())
    keys = [inner.c.currency, inner.c.week]
    return _rows(conn, sa.select(*keys, sa.func.sum(inner.c.balance).label("amount"),
                                 sa.func.count().label("invoices")).group_by(*keys))
