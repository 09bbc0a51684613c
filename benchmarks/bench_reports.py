"""Speed of every report at a demo scale, next to the same figures computed naively with pandas.

Usage: python -m benchmarks.bench_reports --scale L [--db PATH] [--runs 7] [--no-pandas] [--only WORD]
Builds the demo database at PATH (default /tmp/bench_reports_<scale>.duckdb) if it does not exist.
Prints the median ms of each report function (through billing.reports, DataFrames and Decimals
included): "computed" with nothing kept (the first view after a write), "kept" as a page shown again gets it
from the server (the result kept until the books change, billing.store.result_cache); then the pandas median
over the same data (tables loaded into DataFrames once, money as exact integers of 1/10000, not timed) and the
ratio pandas / computed, with the CPU ms of both (DuckDB's threads included). Server memory (RSS) is read after
all reports ran, before pandas loads anything.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from billing import reports
from billing.demo import load_demo
from billing.permissions import SYSTEM
from billing.reports import ReportFilters
from billing.store.db import Database
from billing.store.result_cache import ResultCache

AS_OF = date(2026, 11, 25)
YEAR_AGO = AS_OF - timedelta(days=365)
MONTH = ReportFilters(AS_OF - timedelta(days=29), AS_OF)
YEAR = ReportFilters(AS_OF - timedelta(days=364), AS_OF)
QUARTER = (date(2026, 7, 1), date(2026, 9, 30))
ONE_PRODUCT_MONTH = ReportFilters(MONTH.date_from, MONTH.date_to, product_ids=(3,))
ONE_PRODUCT_YEAR = ReportFilters(YEAR.date_from, YEAR.date_to, product_ids=(3,))


def median_ms(fn: Callable[[], object], runs: int) -> float:
    return timings(fn, runs)[0]


def timings(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU ms of `fn`."""
    fn()  # warm-up: first touch of the file pages and the statement cache
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_database(scale: str, path: Path) -> Database:
    return open_url(f"duckdb:///{path}", scale)


def open_url(url: str, scale: str) -> Database:
    """The database at `url`, migrated, loaded with the demo at `scale` if it holds no invoices yet."""
    db = Database(url)
    # Every call computes: DuckDB would otherwise answer a repeated report from its kept results in no time
    # (PostgreSQL keeps none), which measures nothing.
    db.results = ResultCache(enabled=False)
    db.migrate()
    with db.connect() as conn:
        empty = conn.exec_driver_sql("SELECT count(*) FROM invoices").scalar_one() == 0
    if empty:
        summary = load_demo(db, SYSTEM, scale, AS_OF)
        print(f"built scale {scale} in {summary.seconds} s: {summary.invoices:,} invoices, {summary.lines:,} lines, "
              f"{summary.payments:,} payments")
    return db


def report_calls(db: Database, big_customer: int) -> dict[str, Callable[[], object]]:
    s = SYSTEM
    return {
        "dashboard, last 30 days": lambda: reports.dashboard(db, s, MONTH, AS_OF),
        "dashboard, last 365 days": lambda: reports.dashboard(db, s, YEAR, AS_OF),
        "revenue by month, 12 months": lambda: reports.revenue_series(db, s, YEAR, "month", as_of=AS_OF),
        "  by customer (top 20)": lambda: reports.revenue_series(db, s, YEAR, "month", "customer", as_of=AS_OF),
        "  by product": lambda: reports.revenue_series(db, s, YEAR, "month", "product", as_of=AS_OF),
        "  by tax rate": lambda: reports.revenue_series(db, s, YEAR, "month", "tax_rate", as_of=AS_OF),
        "  one product (filter)": lambda: reports.revenue_series(db, s, ONE_PRODUCT_YEAR, "month", as_of=AS_OF),
        "dashboard, 30 days, one product": lambda: reports.dashboard(db, s, ONE_PRODUCT_MONTH, AS_OF),
        "revenue drill-down (1 month)": lambda: reports.revenue_invoices(db, s, YEAR, "month", date(2026, 10, 1),
                                                                         "EUR", as_of=AS_OF),
        "aging today": lambda: reports.aging(db, s, AS_OF),
        "aging 1 year ago": lambda: reports.aging(db, s, YEAR_AGO),
        "aging by customer today": lambda: reports.aging_by_customer(db, s, AS_OF),
        "aging by customer 1 year ago": lambda: reports.aging_by_customer(db, s, YEAR_AGO),
        "aging drill-down 90+ EUR": lambda: reports.aging_invoices(db, s, AS_OF, "EUR", "90+"),
        "collections": lambda: reports.collections(db, s, AS_OF),
        "cash forecast 90 days": lambda: reports.cash_forecast(db, s, AS_OF),
        "tax report, quarter": lambda: reports.tax_report(db, s, *QUARTER),
        "tax report, 12 months": lambda: reports.tax_report(db, s, YEAR.date_from, YEAR.date_to),
        "statement, biggest customer, 12 months": lambda: reports.customer_statement(
            db, s, big_customer, "EUR", YEAR.date_from, YEAR.date_to),
        "payments by method, 12 months": lambda: reports.payments_by_method(db, s, YEAR, "month"),
    }


# --- the naive pandas versions ---------------------------------------------------------------

def load_frames(db: Database) -> dict[str, pd.DataFrame]:
    units = "CAST({c} * 10000 AS BIGINT) AS {c}"  # exact integers of 1/10000: no float money

    def money(*names: str) -> str:
        return ", ".join(units.format(c=n) for n in names)

    queries = {
        "inv": f"SELECT id, kind, status, customer_id, currency, issue_date, due_date, voided_on, credited_invoice_id, "
               f"{money('payable', 'tax_exclusive', 'paid_amount', 'credited_amount')} FROM invoices",
        "alloc": f"SELECT invoice_id, allocated_on, {money('amount')} FROM allocations",
        "pay": f"SELECT id, kind, customer_id, currency, received_on, method, reference, {money('amount')} "
               f"FROM payments",
        "taxes": f"SELECT invoice_id, vat_category, vat_rate, {money('taxable', 'tax')} FROM invoice_taxes",
        "lines": f"SELECT invoice_id, product_id, vat_rate, {money('net_amount')} FROM invoice_lines",
        "cust": "SELECT id, name FROM customers",
    }
    with db.connect() as conn:
        raw = db.raw_duckdb(conn)
        frames = {name: raw.execute(sql).df() for name, sql in queries.items()}
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith(("_date", "_on")):
                frame[column] = pd.to_datetime(frame[column])
    return frames


def pandas_calls(f: dict[str, pd.DataFrame], big_customer: int) -> dict[str, Callable[[], object]]:
    inv, alloc, pay, taxes, lines, cust = f["inv"], f["alloc"], f["pay"], f["taxes"], f["lines"], f["cust"]
    ts = pd.Timestamp

    def as_of_balances(d: date) -> pd.DataFrame:
        t = ts(d)
        paid = alloc[alloc["allocated_on"] <= t].groupby("invoice_id")["amount"].sum()
        notes = inv[(inv["kind"] == "credit_note") & (inv["status"] == "issued") & (inv["issue_date"] <= t)]
        credited = notes.groupby("credited_invoice_id")["payable"].sum()
        docs = inv[(inv["kind"] == "invoice") & (inv["issue_date"] <= t) & (
            (inv["status"] == "issued") | ((inv["status"] == "void") & (inv["voided_on"] > t)))]
        balance = docs["payable"] - docs["id"].map(paid).fillna(0) - docs["id"].map(credited).fillna(0)
        return docs.assign(balance=balance)[balance > 0]

    def aging(d: date, by: list[str]) -> pd.DataFrame:
        open_items = as_of_balances(d)
        days = (ts(d) - open_items["due_date"]).dt.days
        bucket = pd.cut(days, [-np.inf, 0, 30, 60, 90, np.inf], labels=reports.bucket_labels())
        return open_items.assign(bucket=bucket).pivot_table(index=by, columns="bucket", values="balance",
                                                            aggfunc="sum", observed=False)

    def signed(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame[column].where(frame["kind"] == "invoice", -frame[column])

    def documents(filters: ReportFilters) -> pd.DataFrame:
        return inv[(inv["status"] == "issued") & (inv["issue_date"] >= ts(filters.date_from))
                   & (inv["issue_date"] <= ts(filters.date_to))]

    def monthly(by: list[str]) -> pd.DataFrame:
        docs = documents(YEAR)
        invoiced = docs.assign(invoiced=signed(docs, "payable"), month=docs["issue_date"].dt.to_period("M")) \
            .groupby(["month", "currency", *by])["invoiced"].sum()
        received = pay[(pay["received_on"] >= ts(YEAR.date_from)) & (pay["received_on"] <= ts(YEAR.date_to))]
        collected = received.assign(month=received["received_on"].dt.to_period("M")) \
            .groupby(["month", "currency", *by])["amount"].sum()
        return pd.concat([invoiced, collected], axis=1)

    def by_product() -> pd.DataFrame:
        docs = documents(YEAR)[["id", "kind", "currency", "issue_date"]]
        joined = lines.merge(docs, left_on="invoice_id", right_on="id")
        joined["net"] = signed(joined, "net_amount")
        return joined.assign(month=joined["issue_date"].dt.to_period("M")) \
            .groupby(["month", "currency", "product_id"])["net"].sum()

    def tax(date_from: date, date_to: date) -> pd.DataFrame:
        docs = documents(ReportFilters(date_from, date_to))[["id", "kind", "currency"]]
        joined = taxes.merge(docs, left_on="invoice_id", right_on="id")
        return joined.groupby(["currency", "vat_category", "vat_rate", "kind"])[["taxable", "tax"]].sum()

    def settled_days() -> pd.DataFrame:
        last = alloc.groupby("invoice_id")["allocated_on"].max()
        done = inv[(inv["kind"] == "invoice") & (inv["status"] == "issued") & (inv["paid_amount"] > 0)
                   & (inv["payable"] - inv["paid_amount"] - inv["credited_amount"] <= 0)]
        paid_on = done["id"].map(last)
        return done.assign(paid_on=paid_on, days=(paid_on - done["issue_date"]).dt.days)

    def dashboard(filters: ReportFilters) -> pd.DataFrame:
        length = (filters.date_to - filters.date_from).days + 1
        prev = ReportFilters(filters.date_from - timedelta(days=length), filters.date_from - timedelta(days=1))
        out = {}
        settled = settled_days()
        for name, period in (("", filters), ("_prev", prev)):
            docs = documents(period)
            received = pay[(pay["received_on"] >= ts(period.date_from)) & (pay["received_on"] <= ts(period.date_to))]
            open_items = as_of_balances(period.date_to)
            in_period = settled[(settled["paid_on"] >= ts(period.date_from))
                                & (settled["paid_on"] <= ts(period.date_to))]
            out[f"invoiced{name}"] = signed(docs, "payable").groupby(docs["currency"]).sum()
            out[f"collected{name}"] = received.groupby("currency")["amount"].sum()
            out[f"outstanding{name}"] = open_items.groupby("currency")["balance"].sum()
            out[f"overdue{name}"] = open_items[open_items["due_date"] < ts(period.date_to)] \
                .groupby("currency")["balance"].sum()
            out[f"avg_days{name}"] = in_period.groupby("currency")["days"].mean()
        return pd.DataFrame(out)

    def collections() -> pd.DataFrame:
        open_items = as_of_balances(AS_OF)
        overdue = open_items[open_items["due_date"] < ts(AS_OF)]
        settled = settled_days()
        habits = settled.groupby("customer_id").agg(avg_days=("days", "mean"),
                                                    on_time=("paid_on", "size"))
        return overdue.merge(habits, left_on="customer_id", right_index=True, how="left") \
            .sort_values(["due_date", "balance"], ascending=[True, False]).head(50) \
            .merge(cust, left_on="customer_id", right_on="id")

    def forecast() -> pd.DataFrame:
        open_items = as_of_balances(AS_OF)
        settled = settled_days()
        recent = settled[settled["paid_on"] >= ts(AS_OF - timedelta(days=730))]
        median = recent.groupby("customer_id")["days"].median()
        days = open_items["customer_id"].map(median)
        expected = (open_items["issue_date"] + pd.to_timedelta(days, unit="D")).fillna(open_items["due_date"])
        expected = expected.clip(lower=ts(AS_OF))
        week = expected.dt.to_period("W")
        return open_items.assign(week=week)[expected <= ts(AS_OF + timedelta(days=90))] \
            .groupby(["currency", "week"])["balance"].sum()

    def statement() -> pd.DataFrame:
        docs = inv[(inv["customer_id"] == big_customer) & (inv["currency"] == "EUR") & (inv["status"] == "issued")]
        docs = docs.assign(on=docs["issue_date"], debit=docs["payable"].where(docs["kind"] == "invoice", 0),
                           credit=docs["payable"].where(docs["kind"] == "credit_note", 0))
        money = pay[(pay["customer_id"] == big_customer) & (pay["currency"] == "EUR")]
        money = money.assign(on=money["received_on"], debit=(-money["amount"]).clip(lower=0),
                             credit=money["amount"].clip(lower=0))
        both = pd.concat([docs[["on", "kind", "debit", "credit"]], money[["on", "kind", "debit", "credit"]]])
        opening = both[both["on"] < ts(YEAR.date_from)]
        entries = both[(both["on"] >= ts(YEAR.date_from)) & (both["on"] <= ts(YEAR.date_to))].sort_values("on")
        start = opening["debit"].sum() - opening["credit"].sum()
        return entries.assign(balance=start + (entries["debit"] - entries["credit"]).cumsum())

    def payments_by_method() -> pd.DataFrame:
        received = pay[(pay["received_on"] >= ts(YEAR.date_from)) & (pay["received_on"] <= ts(YEAR.date_to))]
        return received.assign(month=received["received_on"].dt.to_period("M")) \
            .groupby(["month", "method", "currency"])["amount"].agg(["count", "sum"])

    return {
        "dashboard, last 30 days": lambda: dashboard(MONTH),
        "dashboard, last 365 days": lambda: dashboard(YEAR),
        "revenue by month, 12 months": lambda: monthly([]),
        "  by customer (top 20)": lambda: monthly(["customer_id"]),
        "  by product": by_product,
        "  by tax rate": lambda: tax(YEAR.date_from, YEAR.date_to),
        "aging today": lambda: aging(AS_OF, ["currency"]),
        "aging 1 year ago": lambda: aging(YEAR_AGO, ["currency"]),
        "aging by customer today": lambda: aging(AS_OF, ["customer_id", "currency"]),
        "aging by customer 1 year ago": lambda: aging(YEAR_AGO, ["customer_id", "currency"]),
        "collections": collections,
        "cash forecast 90 days": forecast,
        "tax report, quarter": lambda: tax(*QUARTER),
        "tax report, 12 months": lambda: tax(YEAR.date_from, YEAR.date_to),
        "statement, biggest customer, 12 months": statement,
        "payments by method, 12 months": payments_by_method,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--only", default="", help="only the reports whose name contains this")
    args = parser.parse_args()
    db = open_database(args.scale, Path(args.db or f"/tmp/bench_reports_{args.scale}.duckdb"))
    with db.connect() as conn:
        big_customer = int(conn.exec_driver_sql(
            "SELECT customer_id FROM invoices WHERE currency = 'EUR' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one())
    calls = {name: call for name, call in report_calls(db, big_customer).items() if args.only in name}
    ours = {name: timings(call, args.runs) for name, call in calls.items()}  # open_url keeps no results
    computing, db.results = db.results, ResultCache(enabled=True)  # as the server keeps them
    kept = {name: median_ms(call, args.runs) for name, call in calls.items()}
    db.results = computing
    current, peak = rss_mb()
    theirs: dict[str, tuple[float, float]] = {}
    if not args.no_pandas:
        started = time.perf_counter()
        frames = load_frames(db)
        loading = time.perf_counter() - started
        theirs = {name: timings(call, max(3, args.runs // 2))
                  for name, call in pandas_calls(frames, big_customer).items() if name in calls}
    print(f"\nscale {args.scale}, as of {AS_OF}, median of {args.runs} runs (ms, wall / CPU); "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'report':42} {'kept':>7} {'computed':>15} {'pandas':>15} {'pandas/computed':>16}")
    for name, (ms, cpu) in ours.items():
        other, other_cpu = theirs.get(name, (float("nan"), float("nan")))
        ratio = f"{other / ms:15.1f}x" if name in theirs else f"{'-':>16}"
        print(f"{name:42} {kept[name]:7.1f} {ms:7.1f} / {cpu:5.1f} {other:7.1f} / {other_cpu:5.1f} {ratio}")
    print(f"\nserver memory after all reports: RSS {current:.0f} MB (peak {peak:.0f} MB)")
    if theirs:
        print(f"pandas: loading the tables took {loading:.1f} s (not timed above); "
              f"RSS with them {rss_mb()[0]:.0f} MB")


if __name__ == "__main__":
    main()
