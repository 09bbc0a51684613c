"""Reports: dashboard, revenue, AR aging as of any date, statements, tax, payments, collections, forecast.

Exact Decimal money, per currency, never mixed.

CONTRACT (shared by the domain and the report pages; keep these names and shapes):
every function takes (db, actor, ...) first and calls require(db, actor, "reports.read");
tables are pandas DataFrames whose money columns hold Decimal values (object dtype) rounded to
the row's currency, with a `currency` column; dates are datetime.date.

Balances as of a past date come from the invoices' maintained sums corrected by what happened
after that date (see billing.store.receivables.open_items); days to pay use each invoice's maintained
last activity date. SQL sums are exact; every division and rounding is done here in Decimal.

The modules mirror the store's: common (filters, checks, money and tables), receivables (aging,
collections, forecast), revenue (dashboard, revenue, tax, payments) and statements; callers import
from billing.reports.
"""

from billing.reports.common import GRANULARITIES, STATUSES, TENTH, ReportFilters, period_end
from billing.reports.receivables import (
    DEFAULT_BUCKETS,
    DOUBTFUL_DAYS,
    FORECAST_METHOD,
    HISTORY_DAYS,
    MAX_BUCKET_DAYS,
    MIN_HISTORY,
    SPREAD_WEEKS,
    aging,
    aging_by_customer,
    aging_invoices,
    bucket_labels,
    cash_forecast,
    collections,
    top_overdue,
)
from billing.reports.revenue import (
    BREAKDOWNS,
    DASHBOARD_FIGURES,
    NO_PRODUCT,
    OTHER_CUSTOMERS,
    TOP_CUSTOMERS,
    comparison_range,
    dashboard,
    payments_by_method,
    revenue_invoices,
    revenue_series,
    tax_report,
)
from billing.reports.statements import Statement, customer_statement

__all__ = [
    "BREAKDOWNS",
    "DASHBOARD_FIGURES",
    "DEFAULT_BUCKETS",
    "DOUBTFUL_DAYS",
    "FORECAST_METHOD",
    "GRANULARITIES",
    "HISTORY_DAYS",
    "MAX_BUCKET_DAYS",
    "MIN_HISTORY",
    "NO_PRODUCT",
    "OTHER_CUSTOMERS",
    "SPREAD_WEEKS",
    "STATUSES",
    "TENTH",
    "TOP_CUSTOMERS",
    "ReportFilters",
    "Statement",
    "aging",
    "aging_by_customer",
    "aging_invoices",
    "bucket_labels",
    "cash_forecast",
    "collections",
    "comparison_range",
    "customer_statement",
    "dashboard",
    "payments_by_method",
    "period_end",
    "revenue_invoices",
    "revenue_series",
    "tax_report",
    "top_overdue",
]
