"""SQL of the receivables: open balances as of any date, aging, overdue invoices, paying habits and the forecast."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.logic import CREDIT_NOTE, INVOICE, ISSUED, VOID
from billing.store.invoices import balance_expr
from billing.store.report_filters import (
    Condition,
    Rows,
    fetch_page,
    fetch_rows,
    one_of,
    with_products,
    without_total,
)
from billing.store.schema import allocations, customers, invoices


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
                *one_of(i.c.customer_id, customer_ids), *one_of(i.c.currency, currencies)]
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
    return fetch_rows(conn, sa.select(tagged.c.currency, tagged.c.bucket, sa.func.sum(tagged.c.balance).label("amount"),
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
    return fetch_page(conn, page, order, limit, offset)


def top_overdue(conn: Connection, as_of: date, currencies: Sequence[str], limit: int) -> Rows:
    """Per currency, the `limit` customers owing the most past due as of `as_of` (largest first): customer_id,
    customer, currency, overdue, oldest_due. One query for every currency."""
    items = open_items(as_of, (), currencies)
    grouped = (sa.select(items.c.customer_id, items.c.currency, sa.func.sum(items.c.balance).label("overdue"),
                         sa.func.min(items.c.due_date).label("oldest_due"))
               .where(items.c.due_date < sa.literal(as_of, sa.Date))
               .group_by(items.c.customer_id, items.c.currency).subquery())
    ranked = sa.select(grouped, sa.func.row_number().over(
        partition_by=[grouped.c.currency], order_by=[grouped.c.overdue.desc(), grouped.c.customer_id]).label("n")
    ).subquery()
    return fetch_rows(conn, sa.select(ranked.c.customer_id, customers.c.name.label("customer"), ranked.c.currency,
                                      ranked.c.overdue, ranked.c.oldest_due)
                      .select_from(ranked.join(customers, customers.c.id == ranked.c.customer_id))
                      .where(ranked.c.n <= limit).order_by(ranked.c.currency, ranked.c.n))


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
    return fetch_page(conn, page, [items.c.due_date, items.c.id], limit, offset)


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
    return fetch_rows(conn, sa.select(*keys, sa.func.sum(both.c.balance).label("outstanding"),
                                      sa.func.sum(both.c.overdue).label("overdue"),
                                      sa.func.count().label("open_invoices"))
                      .where(*products).group_by(*keys))


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
    rows = fetch_rows(conn, sa.select(page, counts.c.open_invoices, customers.c.name.label("customer"))
                      .select_from(page.join(counts, sa.and_(counts.c.customer_id == page.c.customer_id,
                                                             counts.c.currency == page.c.currency))
                                   .join(customers, customers.c.id == page.c.customer_id))
                      .order_by(page.c.bucket.desc(), page.c.balance_rank.desc(), page.c.due_date, page.c.id))
    return without_total(conn, rows, overdue)


def paying_habits(conn: Connection, as_of: date, customer_ids: Sequence[int]) -> Rows:
    """Per customer: invoices settled by payment, total days to pay, and how many by their due date."""
    i = invoices
    inner = (sa.select(i.c.customer_id, (i.c.last_activity_on - i.c.issue_date).label("days"),
                       sa.case((i.c.last_activity_on <= i.c.due_date, 1), else_=0).label("on_time"))
             .where(*_settled_by_payment(as_of), i.c.customer_id.in_(list(customer_ids))).subquery())
    return fetch_rows(conn, sa.select(inner.c.customer_id, sa.func.count().label("settled"),
                                      sa.func.sum(inner.c.days).label("days"),
                                      sa.func.sum(inner.c.on_time).label("on_time"))
                      .group_by(inner.c.customer_id))


def forecast_items(conn: Connection, as_of: date, since: date, min_history: int, doubtful_before: date,
                   horizon: date, currencies: Sequence[str]) -> Rows:
    """Open invoices' balances by currency and day of expected payment (`day`), and per currency
    the overdue balance of late payers to spread over the coming weeks (`day` NULL).

    The expected date is issue date + the customer's median days to pay (invoices settled since
    `since`, at least `min_history` of them), else the due date; when it has passed it becomes
    `as_of`, except for a late payer (a customer who paid fewer than half of those invoices by their
    due date), whose balance is spread. Invoices due before `doubtful_before` and those expected
    after `horizon` are left out. Grouped here, so at most a row per currency and day leaves the database.
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
    expected_day = sa.case((dated.c.spread, sa.null()), else_=sa.func.greatest(dated.c.expected_on, day))
    inner = (sa.select(dated.c.currency, expected_day.label("day"), dated.c.balance)
             .where(sa.or_(dated.c.spread, dated.c.expected_on <= sa.literal(horizon, sa.Date))).subquery())
    keys = [inner.c.currency, inner.c.day]
    return fetch_rows(conn, sa.select(*keys, sa.func.sum(inner.c.balance).label("amount"),
                                      sa.func.count().label("invoices")).group_by(*keys))
