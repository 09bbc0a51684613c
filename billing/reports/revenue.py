"""Revenue: dashboard figures, revenue over time and its documents, the tax report and payments by method."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from billing import logic
from billing.errors import ValidationError
from billing.money import ZERO
from billing.permissions import Actor, require
from billing.reports.common import (
    ReportFilters,
    check_filters,
    check_granularity,
    check_range,
    kept_report,
    money,
    period_end,
    ratio,
    to_frame,
)
from billing.settings import company_today
from billing.store import revenue as store
from billing.store.db import Database
from billing.store.receivables import point_in_time

BREAKDOWNS = ("none", "customer", "product", "tax_rate", "currency")
TOP_CUSTOMERS = 20
OTHER_CUSTOMERS = "Other customers"
NO_PRODUCT = "(no product)"


def _rate_label(category: str, rate: Decimal) -> str:
    return f"{category} {logic.rate_key(rate)}%"


def _rate_id(category: str, rate: Decimal) -> str:
    return f"{category}:{logic.rate_key(rate)}"


DASHBOARD_FIGURES = ("invoiced", "collected", "outstanding", "overdue", "dso", "avg_days_to_pay", "open_invoices")


def year_earlier(day: date) -> date:
    """The same day a year before (29 February -> 28 February)."""
    return day.replace(year=day.year - 1) if (day.month, day.day) != (2, 29) else date(day.year - 1, 2, 28)


def comparison_range(date_from: date, date_to: date, *, year_before: bool = False) -> tuple[date, date]:
    """The period a dashboard compares with: the same dates a year earlier (for a year's worth of months, so
    that each month meets itself), else the period of the same length just before."""
    if year_before:
        return year_earlier(date_from), year_earlier(date_to)
    days = (date_to - date_from).days + 1
    return date_from - timedelta(days=days), date_from - timedelta(days=1)


@kept_report
def dashboard(db: Database, actor: Actor, filters: ReportFilters, as_of: date, *,
              year_before: bool = False) -> pd.DataFrame:
    """One row per currency: invoiced, collected, outstanding, overdue, dso, avg_days_to_pay,
    open_invoices, each also as <name>_prev for the period `comparison_range` gives (the same dates a
    year earlier with `year_before`, else the period of the same length just before).

    Invoiced and collected are sums over the period (see revenue_series); outstanding, overdue and
    open_invoices are balances at the period's end (or `as_of` if earlier), the previous period's
    at the day before date_from. DSO = outstanding / invoiced x days in the period.
    avg_days_to_pay: over invoices fully settled by payment in the period, days from issue to the
    last payment. With a product filter, invoiced counts those products' lines (and their VAT)
    only; the balances are those of invoices containing them.
    """
    require(db, actor, "reports.read")
    check_filters(filters)
    logic.check_date(as_of, "The as-of date")
    f = filters
    days = (f.date_to - f.date_from).days + 1
    prev_from, prev_to = comparison_range(f.date_from, f.date_to, year_before=year_before)
    common = (f.customer_ids, f.currencies, f.product_ids, f.statuses, as_of)
    # One query over both periods, split at date_from, when they meet; else one per period (a day after
    # the period's end splits nothing off: all of it is "previous").
    spans = ([(prev_from, f.date_to, f.date_from)] if prev_to + timedelta(days=1) == f.date_from
             else [(prev_from, prev_to, prev_to + timedelta(days=1)), (f.date_from, f.date_to, f.date_from)])
    invoiced, collected, paid = [], [], []
    with db.connect() as conn:
        for start, end, split in spans:
            invoiced += store.revenue(conn, start, end, "none", None, split, *common)
            collected += store.collected(conn, start, end, "none", None, split, *common)
            paid += store.days_to_pay(conn, start, end, split, f.customer_ids, f.currencies, f.product_ids)
        balances = point_in_time(conn, {"current": min(f.date_to, as_of), "previous": min(prev_to, as_of)},
                                 f.customer_ids, f.currencies, f.product_ids, f.statuses)
    values: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for row in invoiced:
        values[(row["currency"], row["period"])]["invoiced"] = row["invoiced"]
    for row in collected:
        values[(row["currency"], row["period"])]["collected"] = row["collected"]
    for row in balances:
        values[(row["currency"], row["period"])].update(outstanding=row["outstanding"], overdue=row["overdue"],
                                                        open_invoices=row["open_invoices"])
    for row in paid:
        values[(row["currency"], row["period"])].update(settled=row["settled"], days=row["days"])
    result = []
    for currency in sorted({currency for currency, _ in values}):
        out: dict[str, Any] = {"currency": currency}
        for period, suffix in (("current", ""), ("previous", "_prev")):
            v = values.get((currency, period), {})
            figures: dict[str, Any] = {name: money(v.get(name), currency)
                                       for name in ("invoiced", "collected", "outstanding", "overdue")}
            figures["dso"] = ratio(figures["outstanding"] * days, figures["invoiced"])
            figures["avg_days_to_pay"] = ratio(Decimal(v.get("days") or 0), Decimal(v.get("settled") or 0))
            figures["open_invoices"] = int(v.get("open_invoices") or 0)
            out.update({f"{name}{suffix}": value for name, value in figures.items()})
        result.append(out)
    columns = ["currency", *DASHBOARD_FIGURES, *(f"{name}_prev" for name in DASHBOARD_FIGURES)]
    return to_frame(result, columns)


@kept_report
def revenue_series(db: Database, actor: Actor, filters: ReportFilters, granularity: str = "month",
                   breakdown: str = "none", as_of: date | None = None,
                   top: int | None = TOP_CUSTOMERS) -> pd.DataFrame:
    """Columns: period (date, start of the bucket), currency, group (label; "" for none), group_id,
    invoiced (issued invoices less credit notes, tax included), net (tax excluded), collected
    (payments received less refunds/reversals; for breakdowns where payments do not apply, e.g.
    product or tax_rate, collected is allocated money by invoice of that group).

    For product and tax_rate groups an invoice's payments count in full under each of its groups,
    so their collected figures do not add up to the total: take the total from breakdown "none".
    A product filter counts only those products' lines (with their VAT) as invoiced, and money
    allocated to invoices containing them as collected; a status filter also switches collected
    to allocated money. `as_of` is the day statuses are judged on (today by default). The
    customer breakdown keeps the `top` customers by invoiced amount in each currency and puts
    the rest together as "Other customers" (group_id None); top=None keeps every customer."""
    require(db, actor, "reports.read")
    check_filters(filters)
    check_granularity(granularity)
    if breakdown not in BREAKDOWNS:
        raise ValidationError(f"Unknown breakdown '{breakdown}'. Choose from: {', '.join(BREAKDOWNS)}.")
    f = filters
    on = as_of or company_today(db)
    args = (f.customer_ids, f.currencies, f.product_ids, f.statuses, on)
    with db.connect() as conn:
        top_ids = None
        if breakdown == "customer" and top is not None:
            top_ids = store.top_customers(conn, f.date_from, f.date_to, *args, limit=top)
        invoiced = store.revenue(conn, f.date_from, f.date_to, breakdown, granularity, None, *args, top_ids)
        collected = store.collected(conn, f.date_from, f.date_to, breakdown, granularity, None, *args, top_ids)
        keys = {_group_key(breakdown, row) for row in [*invoiced, *collected]}
        ids = [k for k in keys if isinstance(k, int)]
        names = (store.customer_names(conn, ids) if breakdown == "customer"
                 else store.product_names(conn, ids) if breakdown == "product" else {})
    cells: dict[tuple[date, str, Any], dict[str, Any]] = defaultdict(dict)
    for row in invoiced:
        cells[(row["period"], row["currency"], _group_key(breakdown, row))].update(invoiced=row["invoiced"],
                                                                                   net=row["net"])
    for row in collected:
        cells[(row["period"], row["currency"], _group_key(breakdown, row))]["collected"] = row["collected"]
    if breakdown in ("none", "currency"):
        _fill_periods(cells, f.date_from, f.date_to, granularity, breakdown)
    rows = [{"period": period, "currency": currency, "group": _group_label(breakdown, key, names),
             "group_id": key, "invoiced": money(v.get("invoiced"), currency), "net": money(v.get("net"), currency),
             "collected": money(v.get("collected"), currency)}
            for (period, currency, key), v in cells.items()]
    rows.sort(key=lambda r: (r["period"], r["currency"], r["group"]))
    return to_frame(rows, ["period", "currency", "group", "group_id", "invoiced", "net", "collected"])


def _group_key(breakdown: str, row: dict[str, Any]) -> Any:
    if breakdown == "tax_rate":
        return _rate_id(row["vat_category"], row["vat_rate"])
    if breakdown == "none":
        return None
    value = row["group_id"]
    return int(value) if breakdown in ("customer", "product") and value is not None else value


def _group_label(breakdown: str, key: Any, names: dict[int, str]) -> str:
    if breakdown == "none":
        return ""
    if breakdown == "tax_rate":
        category, rate = str(key).split(":")
        return _rate_label(category, Decimal(rate))
    if key is None:
        return OTHER_CUSTOMERS if breakdown == "customer" else NO_PRODUCT
    return names.get(key, str(key)) if isinstance(key, int) else str(key)


def _fill_periods(cells: dict[tuple[date, str, Any], dict[str, Any]], date_from: date, date_to: date,
                  granularity: str, breakdown: str) -> None:
    """Every period of the range for each currency shown, so charts have no gaps."""
    currencies = {currency for _, currency, _ in cells}
    start = _period_start(date_from, granularity)
    while start <= date_to:
        for currency in currencies:
            cells.setdefault((start, currency, currency if breakdown == "currency" else None), {})
        start = period_end(start, granularity) + timedelta(days=1)


def _period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if granularity == "year":
        return date(day.year, 1, 1)
    return day


@kept_report
def revenue_invoices(db: Database, actor: Actor, filters: ReportFilters, granularity: str, period: date,
                     currency: str, breakdown: str = "none", group_id: object = None, limit: int = 50,
                     offset: int = 0, as_of: date | None = None) -> tuple[pd.DataFrame, int]:
    """Drill-down: the invoices behind one bar/point of revenue_series (page, total count).

    Columns: id, kind, number, customer_id, customer, currency, issue_date, due_date, invoiced and
    net (the document's part in that bar: its lines of the product or its VAT entry of the rate;
    negative for credit notes), balance, status. For the "Other customers" group (group_id None),
    the documents of every customer are listed.
    """
    require(db, actor, "reports.read")
    check_filters(filters)
    check_granularity(granularity)
    f = filters
    on = as_of or company_today(db)
    start, end = max(period, f.date_from), min(period_end(period, granularity), f.date_to)
    value: Any = group_id
    if breakdown == "tax_rate":
        category, rate = str(group_id).split(":")
        value = (category, Decimal(rate))
    elif breakdown == "customer" and group_id is None:
        breakdown = "none"
    with db.connect() as conn:
        rows, total = store.revenue_documents(conn, start, end, currency, breakdown, value, f.customer_ids,
                                              f.product_ids, f.statuses, on, limit, offset)
    result = []
    for row in rows:
        credit_note = row["kind"] == logic.CREDIT_NOTE
        balance = ZERO if credit_note else logic.invoice_balance(row["payable"], row["paid_amount"],
                                                                 row["credited_amount"])
        status = "credit_note" if credit_note else logic.display_status(
            logic.ISSUED, row["payable"], row["paid_amount"], row["credited_amount"], row["due_date"], on)
        result.append({**{k: row[k] for k in ("id", "kind", "number", "customer_id", "customer", "currency",
                                               "issue_date", "due_date")},
                       "invoiced": money(row["invoiced"], currency), "net": money(row["net"], currency),
                       "balance": money(balance, currency), "status": status})
    columns = ["id", "kind", "number", "customer_id", "customer", "currency", "issue_date", "due_date", "invoiced",
               "net", "balance", "status"]
    return to_frame(result, columns), total


@kept_report
def tax_report(db: Database, actor: Actor, date_from: date, date_to: date,
               currencies: tuple[str, ...] = ()) -> pd.DataFrame:
    """Columns: currency, vat_category, vat_rate, invoices_taxable, invoices_tax, credit_taxable,
    credit_tax, taxable (net), tax (net): equal to the sum over issued invoices minus credit notes
    issued in the period. From each document's VAT breakdown as frozen at issue; voided invoices
    are not included. Also category_name and documents (invoices and credit notes counted)."""
    require(db, actor, "reports.read")
    check_range(date_from, date_to)
    with db.connect() as conn:
        rows = store.tax_totals(conn, date_from, date_to, currencies)
    table: dict[tuple[str, str, Decimal], dict[str, Any]] = {}
    for row in rows:
        currency, category, rate = row["currency"], row["vat_category"], logic.rate_key(row["vat_rate"])
        zero = money(0, currency)
        entry = table.setdefault((currency, category, rate), {
            "currency": currency, "vat_category": category, "vat_rate": rate,
            "category_name": logic.VAT_CATEGORIES.get(category, category), "invoices_taxable": zero,
            "invoices_tax": zero, "credit_taxable": zero, "credit_tax": zero, "documents": 0})
        prefix, sign = ("credit", -1) if row["kind"] == logic.CREDIT_NOTE else ("invoices", 1)
        # sales_facts are signed (negative on credit notes); the report shows credits as positive amounts.
        entry[f"{prefix}_taxable"] += sign * money(row["taxable"], currency)
        entry[f"{prefix}_tax"] += sign * money(row["tax"], currency)
        entry["documents"] += int(row["documents"])
    for entry in table.values():
        entry["taxable"] = entry["invoices_taxable"] - entry["credit_taxable"]
        entry["tax"] = entry["invoices_tax"] - entry["credit_tax"]
    columns = ["currency", "vat_category", "vat_rate", "invoices_taxable", "invoices_tax", "credit_taxable",
               "credit_tax", "taxable", "tax", "category_name", "documents"]
    return to_frame((table[k] for k in sorted(table)), columns)


@kept_report
def payments_by_method(db: Database, actor: Actor, filters: ReportFilters,
                       granularity: str = "month") -> pd.DataFrame:
    """Columns: period, method, currency, count, amount (refunds and reversals negative).
    Only the date, customer and currency filters apply to payments."""
    require(db, actor, "reports.read")
    check_filters(filters)
    check_granularity(granularity)
    with db.connect() as conn:
        rows = store.payment_totals(conn, filters.date_from, filters.date_to, granularity, filters.customer_ids,
                                    filters.currencies)
    result = [{"period": r["period"], "method": r["method"], "currency": r["currency"], "count": int(r["count"]),
               "amount": money(r["amount"], r["currency"])} for r in rows]
    result.sort(key=lambda r: (r["period"], r["currency"], r["method"]))
    return to_frame(result, ["period", "method", "currency", "count", "amount"])
