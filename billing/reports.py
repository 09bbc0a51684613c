"""Reports: dashboard figures, revenue over time, AR aging as of any date, statements, tax,
payments, collections and a cash-in forecast. Exact Decimal money, per currency, never mixed.

CONTRACT (shared by the domain and the report pages; keep these names and shapes):
every function takes (db, actor, ...) first and calls require(db, actor, "reports.read");
tables are pandas DataFrames whose money columns hold Decimal values (object dtype) rounded to
the row's currency, with a `currency` column; dates are datetime.date.

Balances as of a past date come from the invoices' maintained sums corrected by what happened
after that date (see billing.store.reports.open_items); days to pay use each invoice's maintained
last activity date. SQL sums are exact; every division and rounding is done here in Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from billing import logic
from billing.errors import NotFoundError, ValidationError
from billing.money import ZERO, round_money
from billing.permissions import Actor, require
from billing.store import reports as store
from billing.store.db import Database

GRANULARITIES = ("day", "week", "month", "quarter", "year")
BREAKDOWNS = ("none", "customer", "product", "tax_rate", "currency")
DEFAULT_BUCKETS: tuple[int, ...] = (30, 60, 90)  # -> current, 1-30, 31-60, 61-90, 90+
MAX_BUCKET_DAYS = 3650  # ten years overdue is the oldest bucket worth telling apart
STATUSES = ("unpaid", "partially_paid", "paid", "overdue", "credited")  # as billing.logic.display_status
TOP_CUSTOMERS = 20
OTHER_CUSTOMERS = "Other customers"
NO_PRODUCT = "(no product)"
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ReportFilters:
    """Filters shared by the report pages (and kept in the URL query string by the UI).

    statuses: display statuses of invoices to include (unpaid, partially_paid, paid, overdue; also
    credited); empty means all issued invoices. Credit notes count negatively in invoiced figures
    and follow the status of the invoice they credit.
    """

    date_from: date
    date_to: date
    customer_ids: tuple[int, ...] = ()
    product_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    """A customer statement for a period in one currency."""

    customer: dict[str, object]
    currency: str
    date_from: date
    date_to: date
    opening_balance: Decimal
    # columns: date, kind (invoice|credit_note|payment|refund|reversal), number, description,
    #          debit, credit, balance (running)
    entries: pd.DataFrame
    closing_balance: Decimal
    notes: list[str] = field(default_factory=list)


# --- shared helpers ------------------------------------------------------------------------------

def _check_range(date_from: date, date_to: date) -> None:
    logic.check_date(date_from, "The start date")
    logic.check_date(date_to, "The end date")
    if date_from > date_to:
        raise ValidationError("The start date must be on or before the end date.")


def _check_filters(filters: ReportFilters) -> None:
    _check_range(filters.date_from, filters.date_to)
    unknown = [s for s in filters.statuses if s not in STATUSES]
    if unknown:
        raise ValidationError(f"Unknown status '{unknown[0]}'. Choose from: {', '.join(STATUSES)}.")


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ValidationError(f"Unknown granularity '{granularity}'. Choose from: {', '.join(GRANULARITIES)}.")


def bucket_labels(buckets: tuple[int, ...] = DEFAULT_BUCKETS) -> list[str]:
    """Column labels of the aging buckets: Current, 1-30, 31-60, 61-90, 90+ for (30, 60, 90)."""
    if not buckets or any(b <= 0 for b in buckets) or list(buckets) != sorted(set(buckets)):
        raise ValidationError("Aging buckets must be increasing whole numbers of days, such as 30, 60, 90.")
    if buckets[-1] > MAX_BUCKET_DAYS:
        raise ValidationError(f"Aging buckets can reach at most {MAX_BUCKET_DAYS} days.")
    starts = [1, *(b + 1 for b in buckets[:-1])]
    return ["Current", *(f"{lo}-{hi}" for lo, hi in zip(starts, buckets, strict=True)), f"{buckets[-1]}+"]


def _edges(as_of: date, buckets: tuple[int, ...]) -> list[date]:
    logic.check_date(as_of, "The as-of date")
    return [as_of - timedelta(days=b) for b in buckets]


def _money(value: Any, currency: str) -> Decimal:
    return round_money(Decimal(value if value is not None else 0), currency)


def _ratio(numerator: Decimal, denominator: Decimal, quantum: Decimal = TENTH) -> Decimal | None:
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(quantum, rounding=ROUND_HALF_UP)


def _frame(rows: Iterable[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A table of plain Python values: Decimal, date, int, str or None stay as they are (object
    columns; a column of ids with a None would otherwise turn into floats)."""
    records = list(rows)
    return pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object) for c in columns}, columns=columns)


def period_end(start: date, granularity: str) -> date:
    """Last day of the period of `granularity` that begins on `start`."""
    if granularity == "day":
        return start
    if granularity == "week":
        return start + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _rate_label(category: str, rate: Decimal) -> str:
    return f"{category} {logic.rate_key(rate)}%"


def _rate_id(category: str, rate: Decimal) -> str:
    return f"{category}:{logic.rate_key(rate)}"


# --- dashboard and revenue -----------------------------------------------------------------------

DASHBOARD_FIGURES = ("invoiced", "collected", "outstanding", "overdue", "dso", "avg_days_to_pay", "open_invoices")


def dashboard(db: Database, actor: Actor, filters: ReportFilters, as_of: date) -> pd.DataFrame:
    """One row per currency: invoiced, collected, outstanding, overdue, dso, avg_days_to_pay,
    open_invoices, each also as <name>_prev for the previous period of the same length.

    Invoiced and collected are sums over the period (see revenue_series); outstanding, overdue and
    open_invoices are balances at the period's end (or `as_of` if earlier), the previous period's
    at the day before date_from. DSO = outstanding / invoiced x days in the period.
    avg_days_to_pay: over invoices fully settled by payment in the period, days from issue to the
    last payment. With a product filter, invoiced counts those products' lines (and their VAT)
    only; the balances are those of invoices containing them.
    """
    require(db, actor, "reports.read")
    _check_filters(filters)
    logic.check_date(as_of, "The as-of date")
    f = filters
    days = (f.date_to - f.date_from).days + 1
    prev_from, prev_to = f.date_from - timedelta(days=days), f.date_from - timedelta(days=1)
    common = (f.customer_ids, f.currencies, f.product_ids, f.statuses, as_of)
    with db.connect() as conn:
        invoiced = store.revenue(conn, prev_from, f.date_to, "none", None, f.date_from, *common)
        collected = store.collected(conn, prev_from, f.date_to, "none", None, f.date_from, *common)
        balances = store.point_in_time(conn, {"current": min(f.date_to, as_of), "previous": min(prev_to, as_of)},
                                       f.customer_ids, f.currencies, f.product_ids, f.statuses)
        paid = store.days_to_pay(conn, prev_from, f.date_to, f.date_from, f.customer_ids, f.currencies,
                                 f.product_ids)
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
            figures: dict[str, Any] = {name: _money(v.get(name), currency)
                                       for name in ("invoiced", "collected", "outstanding", "overdue")}
            figures["dso"] = _ratio(figures["outstanding"] * days, figures["invoiced"])
            figures["avg_days_to_pay"] = _ratio(Decimal(v.get("days") or 0), Decimal(v.get("settled") or 0))
            figures["open_invoices"] = int(v.get("open_invoices") or 0)
            out.update({f"{name}{suffix}": value for name, value in figures.items()})
        result.append(out)
    columns = ["currency", *DASHBOARD_FIGURES, *(f"{name}_prev" for name in DASHBOARD_FIGURES)]
    return _frame(result, columns)


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
    _check_filters(filters)
    _check_granularity(granularity)
    if breakdown not in BREAKDOWNS:
        raise ValidationError(f"Unknown breakdown '{breakdown}'. Choose from: {', '.join(BREAKDOWNS)}.")
    f = filters
    on = as_of or date.today()
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
             "group_id": key, "invoiced": _money(v.get("invoiced"), currency), "net": _money(v.get("net"), currency),
             "collected": _money(v.get("collected"), currency)}
            for (period, currency, key), v in cells.items()]
    rows.sort(key=lambda r: (r["period"], r["currency"], r["group"]))
    return _frame(rows, ["period", "currency", "group", "group_id", "invoiced", "net", "collected"])


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
    _check_filters(filters)
    _check_granularity(granularity)
    f = filters
    on = as_of or date.today()
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
                       "invoiced": _money(row["invoiced"], currency), "net": _money(row["net"], currency),
                       "balance": _money(balance, currency), "status": status})
    columns = ["id", "kind", "number", "customer_id", "customer", "currency", "issue_date", "due_date", "invoiced",
               "net", "balance", "status"]
    return _frame(result, columns), total


# --- aging ---------------------------------------------------------------------------------------

def aging(db: Database, actor: Actor, as_of: date, buckets: tuple[int, ...] = DEFAULT_BUCKETS,
          currencies: tuple[str, ...] = (), customer_ids: tuple[int, ...] = ()) -> pd.DataFrame:
    """AR aging as of ANY date, rebuilt from issue, payment, allocation, credit and void dates.
    One row per currency: bucket columns labelled "Current", "1-30", "31-60", "61-90", "90+"
    (from `buckets`), and "Total" = exact sum of the buckets = total outstanding as of that date.
    Also open_invoices: how many invoices had a balance then."""
    require(db, actor, "reports.read")
    labels = bucket_labels(buckets)
    with db.connect() as conn:
        rows = store.aging_totals(conn, as_of, _edges(as_of, buckets), currencies, customer_ids)
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        currency = row["currency"]
        entry = table.setdefault(currency, {"currency": currency, **dict.fromkeys(labels, None), "open_invoices": 0})
        entry[labels[int(row["bucket"])]] = _money(row["amount"], currency)
        entry["open_invoices"] += int(row["invoices"])
    for currency, entry in table.items():
        for label in labels:
            entry[label] = entry[label] if entry[label] is not None else _money(0, currency)
        entry["Total"] = sum((entry[label] for label in labels), ZERO)
    return _frame((table[c] for c in sorted(table)), ["currency", *labels, "Total", "open_invoices"])


def aging_by_customer(db: Database, actor: Actor, as_of: date, buckets: tuple[int, ...] = DEFAULT_BUCKETS,
                      currencies: tuple[str, ...] = (), customer_ids: tuple[int, ...] = (), limit: int = 50,
                      offset: int = 0) -> tuple[pd.DataFrame, int]:
    """Rows per (customer, currency) with customer_id, customer, currency, bucket columns, Total,
    oldest_due (date); paged. Biggest debtors first: by the rank of their total within its currency
    (amounts in different currencies are never compared). Also open_invoices."""
    require(db, actor, "reports.read")
    labels = bucket_labels(buckets)
    with db.connect() as conn:
        rows, total = store.aging_by_customer(conn, as_of, _edges(as_of, buckets), currencies, customer_ids,
                                              limit, offset)
    result = []
    for row in rows:
        currency = row["currency"]
        amounts = {label: _money(row[f"b{n}"], currency) for n, label in enumerate(labels)}
        result.append({"customer_id": row["customer_id"], "customer": row["customer"], "currency": currency,
                       **amounts, "Total": sum(amounts.values(), ZERO), "oldest_due": row["oldest_due"],
                       "open_invoices": int(row["open_invoices"])})
    columns = ["customer_id", "customer", "currency", *labels, "Total", "oldest_due", "open_invoices"]
    return _frame(result, columns), total


def aging_invoices(db: Database, actor: Actor, as_of: date, currency: str, bucket: str | None = None,
                   customer_id: int | None = None, buckets: tuple[int, ...] = DEFAULT_BUCKETS, limit: int = 50,
                   offset: int = 0) -> tuple[pd.DataFrame, int]:
    """Drill-down: open invoices as of the date (id, number, customer, issue_date, due_date,
    days_overdue, balance) in one bucket and/or for one customer. Also customer_id, currency."""
    require(db, actor, "reports.read")
    logic.check_date(as_of, "The as-of date")
    labels = bucket_labels(buckets)
    due_from: date | None = None
    due_to: date | None = None
    if bucket is not None:
        if bucket not in labels:
            raise ValidationError(f"Unknown aging bucket '{bucket}'. Choose from: {', '.join(labels)}.")
        n = labels.index(bucket)
        # Bucket n holds the days past due in (buckets[n-2], buckets[n-1]]; "Current" is not yet due.
        if n == 0:
            due_from = as_of
        else:
            due_to = as_of - timedelta(days=1 if n == 1 else buckets[n - 2] + 1)
            due_from = as_of - timedelta(days=buckets[n - 1]) if n <= len(buckets) else None
    with db.connect() as conn:
        rows, total = store.aging_items(conn, as_of, currency, due_from, due_to, customer_id, limit, offset)
    result = [{"id": r["id"], "number": r["number"], "customer_id": r["customer_id"], "customer": r["customer"],
               "currency": currency, "issue_date": r["issue_date"], "due_date": r["due_date"],
               "days_overdue": max(0, (as_of - r["due_date"]).days), "balance": _money(r["balance"], currency)}
              for r in rows]
    columns = ["id", "number", "customer_id", "customer", "currency", "issue_date", "due_date", "days_overdue",
               "balance"]
    return _frame(result, columns), total


# --- statement, tax, payments --------------------------------------------------------------------

_DESCRIPTIONS = {"invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment", "refund": "Refund",
                 "reversal": "Payment reversed"}


def customer_statement(db: Database, actor: Actor, customer_id: int, currency: str, date_from: date,
                       date_to: date) -> Statement:
    """What the customer owes: opening balance (everything before date_from), then invoices as
    debits, credit notes and payments as credits, refunds and reversals as debits, with a running
    balance. A negative balance is money the customer has in credit. Voided invoices are left out."""
    require(db, actor, "reports.read")
    _check_range(date_from, date_to)
    with db.connect() as conn:
        customer = store.customer_row(conn, customer_id)
        if customer is None:
            raise NotFoundError(f"Customer {customer_id} does not exist.")
        rows = store.statement_entries(conn, customer_id, currency, date_to)
        voided = store.voided_in(conn, customer_id, currency, date_from, date_to)
    before = [row for row in rows if row["on"] < date_from]
    opening = sum((_money(r["debit"], currency) - _money(r["credit"], currency) for r in before), _money(0, currency))
    balance = opening
    entries = []
    for row in rows[len(before):]:
        debit, credit = _money(row["debit"], currency), _money(row["credit"], currency)
        balance += debit - credit
        entries.append({"date": row["on"], "kind": row["kind"], "number": row["number"],
                        "description": _describe(row), "debit": debit, "credit": credit, "balance": balance})
    shown = ", ".join(voided[:10]) + (f" and {len(voided) - 10} more" if len(voided) > 10 else "")
    many = len(voided) > 1
    notes = [f"Voided invoice{'s' if many else ''} {shown} {'are' if many else 'is'} not shown."] if voided else []
    frame = _frame(entries, ["date", "kind", "number", "description", "debit", "credit", "balance"])
    return Statement(customer=customer, currency=currency, date_from=date_from, date_to=date_to,
                     opening_balance=opening, entries=frame, closing_balance=balance, notes=notes)


def _describe(row: dict[str, Any]) -> str:
    text = _DESCRIPTIONS.get(str(row["kind"]), str(row["kind"]))
    if row["kind"] == logic.CREDIT_NOTE and row["reference"]:
        return f"{text} for invoice {row['reference']}"
    if row["kind"] in ("payment", "refund", "reversal"):
        method = str(row["detail"]).replace("_", " ")
        return f"{text} ({method})" + (f": {row['reference']}" if row["reference"] else "")
    return text


def tax_report(db: Database, actor: Actor, date_from: date, date_to: date,
               currencies: tuple[str, ...] = ()) -> pd.DataFrame:
    """Columns: currency, vat_category, vat_rate, invoices_taxable, invoices_tax, credit_taxable,
    credit_tax, taxable (net), tax (net): equal to the sum over issued invoices minus credit notes
    issued in the period. From each document's VAT breakdown as frozen at issue; voided invoices
    are not included. Also category_name and documents (invoices and credit notes counted)."""
    require(db, actor, "reports.read")
    _check_range(date_from, date_to)
    with db.connect() as conn:
        rows = store.tax_totals(conn, date_from, date_to, currencies)
    table: dict[tuple[str, str, Decimal], dict[str, Any]] = {}
    for row in rows:
        currency, category, rate = row["currency"], row["vat_category"], logic.rate_key(row["vat_rate"])
        zero = _money(0, currency)
        entry = table.setdefault((currency, category, rate), {
            "currency": currency, "vat_category": category, "vat_rate": rate,
            "category_name": logic.VAT_CATEGORIES.get(category, category), "invoices_taxable": zero,
            "invoices_tax": zero, "credit_taxable": zero, "credit_tax": zero, "documents": 0})
        prefix, sign = ("credit", -1) if row["kind"] == logic.CREDIT_NOTE else ("invoices", 1)
        # sales_facts are signed (negative on credit notes); the report shows credits as positive amounts.
        entry[f"{prefix}_taxable"] += sign * _money(row["taxable"], currency)
        entry[f"{prefix}_tax"] += sign * _money(row["tax"], currency)
        entry["documents"] += int(row["documents"])
    for entry in table.values():
        entry["taxable"] = entry["invoices_taxable"] - entry["credit_taxable"]
        entry["tax"] = entry["invoices_tax"] - entry["credit_tax"]
    columns = ["currency", "vat_category", "vat_rate", "invoices_taxable", "invoices_tax", "credit_taxable",
               "credit_tax", "taxable", "tax", "category_name", "documents"]
    return _frame((table[k] for k in sorted(table)), columns)


def payments_by_method(db: Database, actor: Actor, filters: ReportFilters,
                       granularity: str = "month") -> pd.DataFrame:
    """Columns: period, method, currency, count, amount (refunds and reversals negative).
    Only the date, customer and currency filters apply to payments."""
    require(db, actor, "reports.read")
    _check_filters(filters)
    _check_granularity(granularity)
    with db.connect() as conn:
        rows = store.payment_totals(conn, filters.date_from, filters.date_to, granularity, filters.customer_ids,
                                    filters.currencies)
    result = [{"period": r["period"], "method": r["method"], "currency": r["currency"], "count": int(r["count"]),
               "amount": _money(r["amount"], r["currency"])} for r in rows]
    result.sort(key=lambda r: (r["period"], r["currency"], r["method"]))
    return _frame(result, ["period", "method", "currency", "count", "amount"])


# --- collections and forecast --------------------------------------------------------------------

def collections(db: Database, actor: Actor, as_of: date, currencies: tuple[str, ...] = (), limit: int = 50,
                offset: int = 0) -> tuple[pd.DataFrame, int]:
    """Overdue invoices ranked by balance and age: id, number, customer_id, customer, currency,
    balance, due_date, days_overdue, and the customer's paying habits: avg_days_to_pay,
    on_time_share (0..1, Decimal), open_invoices.

    Oldest aging bucket first; within a bucket, larger balances first, compared by their rank in
    their own currency (amounts of different currencies are never compared). Habits come from the
    customer's invoices settled by payment up to as_of (None without history); open_invoices
    counts the customer's open invoices in that currency.
    """
    require(db, actor, "reports.read")
    with db.connect() as conn:
        rows, total = store.overdue_items(conn, as_of, _edges(as_of, DEFAULT_BUCKETS), currencies, limit, offset)
        habits = {int(h["customer_id"]): h for h in
                  store.paying_habits(conn, as_of, sorted({int(r["customer_id"]) for r in rows}))}
    result = []
    for row in rows:
        habit = habits.get(int(row["customer_id"]), {})
        settled = Decimal(habit.get("settled") or 0)
        result.append({
            "id": row["id"], "number": row["number"], "customer_id": row["customer_id"], "customer": row["customer"],
            "currency": row["currency"], "balance": _money(row["balance"], row["currency"]),
            "due_date": row["due_date"], "days_overdue": (as_of - row["due_date"]).days,
            "avg_days_to_pay": _ratio(Decimal(habit.get("days") or 0), settled),
            "on_time_share": _ratio(Decimal(habit.get("on_time") or 0), settled, Decimal("0.01")),
            "open_invoices": int(row["open_invoices"]), "issue_date": row["issue_date"]})
    columns = ["id", "number", "customer_id", "customer", "currency", "balance", "due_date", "days_overdue",
               "avg_days_to_pay", "on_time_share", "open_invoices", "issue_date"]
    return _frame(result, columns), total


HISTORY_DAYS = 365
MIN_HISTORY = 3
SPREAD_WEEKS = 4
DOUBTFUL_DAYS = 180

FORECAST_METHOD = (
    "Expected cash-in is built from the invoices still open on the chosen date, week by week "
    "(weeks start on Monday). For each customer we look at the invoices they paid in full over the "
    f"last {HISTORY_DAYS} days and take the typical (median) number of days between the invoice date "
    "and the last payment. Each open invoice is expected on its invoice date plus that "
    f"number of days. Customers with fewer than {MIN_HISTORY} paid invoices have no usable history: "
    "their invoices are expected on their due date. When that expected date has already passed, the "
    "money is expected in the current week; but for customers who usually pay late (fewer than half "
    "of their invoices paid by the due date), the late amount is spread evenly over "
    f"{SPREAD_WEEKS} weeks starting with the current one, since their payments rarely come on a "
    "predictable day. Invoices more than "
    f"{DOUBTFUL_DAYS} days past due are treated as doubtful and left out. Only the remaining balance "
    "of each invoice counts (part payments and credit notes are already taken off), amounts are never "
    "converted between currencies, and money expected after the horizon is not shown."
)


def cash_forecast(db: Database, actor: Actor, as_of: date, horizon_days: int = 90,
                  currencies: tuple[str, ...] = ()) -> pd.DataFrame:
    """Expected cash-in per week for the next `horizon_days` from open invoices: columns week
    (date), currency, expected, invoices. Method: each open invoice is expected on issue date +
    its customer's median historical days-to-pay (terms when the customer has no history),
    moved to as_of when that date has passed; the overdue part of a habitual late payer is
    spread as described in FORECAST_METHOD."""
    require(db, actor, "reports.read")
    logic.check_date(as_of, "The as-of date")
    if horizon_days <= 0:
        raise ValidationError("The forecast horizon must be at least one day.")
    horizon = as_of + timedelta(days=horizon_days)
    with db.connect() as conn:
        rows = store.forecast_items(conn, as_of, as_of - timedelta(days=HISTORY_DAYS), MIN_HISTORY,
                                    as_of - timedelta(days=DOUBTFUL_DAYS), horizon, currencies)
    this_week = as_of - timedelta(days=as_of.weekday())
    weeks = [this_week + timedelta(days=7 * n) for n in range((horizon - this_week).days // 7 + 1)]
    expected: dict[tuple[str, date], Decimal] = defaultdict(lambda: ZERO)
    counts: dict[tuple[str, date], int] = defaultdict(int)
    spread: dict[str, Decimal] = defaultdict(lambda: ZERO)
    spread_count: dict[str, int] = defaultdict(int)
    for row in rows:
        currency, amount = row["currency"], Decimal(row["amount"])
        if row["week"] is None:
            spread[currency] += amount
            spread_count[currency] += int(row["invoices"])
        else:
            expected[(currency, row["week"])] += amount
            counts[(currency, row["week"])] += int(row["invoices"])
    for currency, amount in spread.items():
        for week, part in zip(weeks, _split(round_money(amount, currency), min(SPREAD_WEEKS, len(weeks)), currency),
                              strict=False):
            expected[(currency, week)] += part
            counts[(currency, week)] += spread_count[currency]
    shown = sorted({currency for currency, _ in expected})
    result = [{"week": week, "currency": currency, "expected": _money(expected.get((currency, week)), currency),
               "invoices": counts.get((currency, week), 0)} for currency in shown for week in weeks]
    return _frame(result, ["week", "currency", "expected", "invoices"])


def _split(amount: Decimal, parts: int, currency: str) -> list[Decimal]:
    """`parts` amounts in the currency that add up to `amount` exactly (the last takes the rest)."""
    share = round_money(amount / parts, currency)
    return [*([share] * (parts - 1)), amount - share * (parts - 1)]
