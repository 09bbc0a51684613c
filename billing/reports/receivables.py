"""Receivables: AR aging as of any date, the overdue invoices to collect and the cash-in forecast."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from billing import logic
from billing.errors import ValidationError
from billing.money import ZERO, round_money
from billing.permissions import Actor, require
from billing.reports.common import (
    kept_report,
    money,
    ratio,
    to_frame,
)
from billing.store import receivables as store
from billing.store.db import Database
from billing.store.result_cache import BOOKS

FORECAST_SPAN = 90  # days of forecast items read at once, whatever the horizon asked (up to it)
DEFAULT_BUCKETS: tuple[int, ...] = (30, 60, 90)  # -> current, 1-30, 31-60, 61-90, 90+
MAX_BUCKET_DAYS = 3650  # ten years overdue is the oldest bucket worth telling apart


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


@kept_report
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
        entry[labels[int(row["bucket"])]] = money(row["amount"], currency)
        entry["open_invoices"] += int(row["invoices"])
    for currency, entry in table.items():
        for label in labels:
            entry[label] = entry[label] if entry[label] is not None else money(0, currency)
        entry["Total"] = sum((entry[label] for label in labels), ZERO)
    return to_frame((table[c] for c in sorted(table)), ["currency", *labels, "Total", "open_invoices"])


@kept_report
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
        amounts = {label: money(row[f"b{n}"], currency) for n, label in enumerate(labels)}
        result.append({"customer_id": row["customer_id"], "customer": row["customer"], "currency": currency,
                       **amounts, "Total": sum(amounts.values(), ZERO), "oldest_due": row["oldest_due"],
                       "open_invoices": int(row["open_invoices"])})
    columns = ["customer_id", "customer", "currency", *labels, "Total", "oldest_due", "open_invoices"]
    return to_frame(result, columns), total


@kept_report
def top_overdue(db: Database, actor: Actor, as_of: date, currencies: tuple[str, ...] = (),
                limit: int = 6) -> pd.DataFrame:
    """Per currency, the `limit` customers owing the most past their due dates as of `as_of`, largest first:
    customer_id, customer, currency, overdue, oldest_due (the due date of their oldest overdue invoice)."""
    require(db, actor, "reports.read")
    logic.check_date(as_of, "The as-of date")
    with db.connect() as conn:
        rows = store.top_overdue(conn, as_of, currencies, limit)
    result = [{**row, "overdue": money(row["overdue"], row["currency"])} for row in rows]
    return to_frame(result, ["customer_id", "customer", "currency", "overdue", "oldest_due"])


@kept_report
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
               "days_overdue": max(0, (as_of - r["due_date"]).days), "balance": money(r["balance"], currency)}
              for r in rows]
    columns = ["id", "number", "customer_id", "customer", "currency", "issue_date", "due_date", "days_overdue",
               "balance"]
    return to_frame(result, columns), total


@kept_report
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
            "currency": row["currency"], "balance": money(row["balance"], row["currency"]),
            "due_date": row["due_date"], "days_overdue": (as_of - row["due_date"]).days,
            "avg_days_to_pay": ratio(Decimal(habit.get("days") or 0), settled),
            "on_time_share": ratio(Decimal(habit.get("on_time") or 0), settled, Decimal("0.01")),
            "open_invoices": int(row["open_invoices"]), "issue_date": row["issue_date"]})
    columns = ["id", "number", "customer_id", "customer", "currency", "balance", "due_date", "days_overdue",
               "avg_days_to_pay", "on_time_share", "open_invoices", "issue_date"]
    return to_frame(result, columns), total


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
    rows = _forecast_items(db, as_of, max(horizon_days, FORECAST_SPAN), tuple(currencies))
    this_week = as_of - timedelta(days=as_of.weekday())
    weeks = [this_week + timedelta(days=7 * n) for n in range((horizon - this_week).days // 7 + 1)]
    expected: dict[tuple[str, date], Decimal] = defaultdict(lambda: ZERO)
    counts: dict[tuple[str, date], int] = defaultdict(int)
    spread: dict[str, Decimal] = defaultdict(lambda: ZERO)
    spread_count: dict[str, int] = defaultdict(int)
    for row in rows:
        currency, amount, day = row["currency"], Decimal(row["amount"]), row["day"]
        if day is None:
            spread[currency] += amount
            spread_count[currency] += int(row["invoices"])
        elif day <= horizon:
            week = day - timedelta(days=day.weekday())
            expected[(currency, week)] += amount
            counts[(currency, week)] += int(row["invoices"])
    for currency, amount in spread.items():
        for week, part in zip(weeks, _split(round_money(amount, currency), min(SPREAD_WEEKS, len(weeks)), currency),
                              strict=False):
            expected[(currency, week)] += part
            counts[(currency, week)] += spread_count[currency]
    shown = sorted({currency for currency, _ in expected})
    result = [{"week": week, "currency": currency, "expected": money(expected.get((currency, week)), currency),
               "invoices": counts.get((currency, week), 0)} for currency in shown for week in weeks]
    return to_frame(result, ["week", "currency", "expected", "invoices"])


def _forecast_items(db: Database, as_of: date, span_days: int, currencies: tuple[str, ...]) -> list[dict[str, Any]]:
    """The store's forecast items by day for `span_days` (kept: every horizon up to FORECAST_SPAN days, the
    Collections page's three and the dashboard's, is cut from one query)."""

    def fetch() -> list[dict[str, Any]]:
        with db.connect() as conn:
            return store.forecast_items(conn, as_of, as_of - timedelta(days=HISTORY_DAYS), MIN_HISTORY,
                                        as_of - timedelta(days=DOUBTFUL_DAYS), as_of + timedelta(days=span_days),
                                        currencies)

    return db.results.get(("forecast_items", as_of, span_days, currencies), (BOOKS,), fetch)


def _split(amount: Decimal, parts: int, currency: str) -> list[Decimal]:
    """`parts` amounts in the currency that add up to `amount` exactly (the last takes the rest)."""
    share = round_money(amount / parts, currency)
    return [*([share] * (parts - 1)), amount - share * (parts - 1)]
