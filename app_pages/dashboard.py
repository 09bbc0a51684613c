"""Dashboard, the home page: the period's figures per currency against the previous period, and who owes us."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import streamlit as st
from babel.numbers import format_compact_currency

from billing import reports
from ui import charts, context, report_filters, vega_charts
from ui import format as fmt
from ui.feedback import guarded
from ui.tables import Column, list_fetch, paged_table

# (field, label, kind, a rise is good?, width, help)
# field, label, kind, whether a rise is good (None: neither), width, help
METRICS: tuple[tuple[str, str, str, bool | None, Literal["stretch", "content"] | int, str], ...] = (
    ("invoiced", "Invoiced", "money", True, "stretch", "Issued invoices less credit notes in the period, tax "
     "included."),
    ("collected", "Collected", "money", True, "stretch", "Payments received in the period, less refunds and "
     "reversals."),
    ("outstanding", "Outstanding", "money", False, "stretch", "Everything customers owe us at the end of the "
     "period."),
    ("overdue", "Overdue", "money", False, "stretch", "The part of the outstanding amount past its due date."),
    ("dso", "DSO", "days", False, 90, "Days sales outstanding: outstanding ÷ invoiced × days in the period."),
    ("avg_days_to_pay", "Avg. days to pay", "days", False, 125, "From issue to the last payment, for invoices "
     "paid in full in the period."),
    ("open_invoices", "Open invoices", "count", None, 115, "Issued invoices not yet fully paid."),
)
TOP_OVERDUE = 6
DRILL_REQUEST = "dashboard:drill"  # a bar was clicked: open the Revenue page on it
YEAR_ON_YEAR = ("last_12_months", "this_year")  # periods compared with the same dates a year earlier
OVERDUE_COLUMNS = [Column("customer", "Customer", width="medium"), Column("overdue", "Overdue", "money"),
                   Column("oldest_due", "Since", "date", help="Due date of the oldest open invoice")]
LONGEST = 13  # characters of an exact amount that fit a metric of the row; beyond, the row's amounts are short


def shown(value: Any, kind: str, currency: str, short: bool) -> tuple[str, str]:
    """The figure as shown, and the exact amount for the tooltip when it is shown short (€151.34M)."""
    if value is None or pd.isna(value):
        return "—", ""
    if kind == "money":
        exact = fmt.money(value, currency)
        if not short:
            return exact, ""
        return format_compact_currency(value, currency, locale="en_US", fraction_digits=2), f" Exactly {exact}."
    if kind == "days":
        return f"{Decimal(str(value)):.0f} days", ""
    return f"{int(value):,}", ""


def change(value: Any, previous: Any, kind: str) -> str | None:
    """The delta shown under a metric: a percentage for money, a difference for days and counts."""
    if value is None or previous is None or pd.isna(value) or pd.isna(previous):
        return None
    current, before = Decimal(str(value)), Decimal(str(previous))
    if kind == "money":
        return f"{(current - before) / before:+.1%}" if before else None
    difference = (current - before).quantize(Decimal(1))
    if kind == "days":
        return f"{difference:+} day{'' if abs(difference) == 1 else 's'}" if difference else "same"
    return f"{int(difference):+,}" if difference else "same"


def needs_short(rows: list[dict[str, Any]]) -> bool:
    """Whether amounts are shown short (€151.34M): one style for every currency, so figures compare at a glance."""
    return any(len(fmt.money(row[field], row["currency"])) > LONGEST for row in rows
               for field, _, kind, *_ in METRICS if kind == "money" and row.get(field) is not None)


def metric_row(row: dict[str, Any], short: bool) -> None:
    currency = row["currency"]
    with st.container(border=True, key=f"kpis-{currency}", gap="small"):
        st.markdown(f"**{fmt.currency(currency)}**")
        row_of_metrics = st.container(horizontal=True, gap="medium")  # wraps on a narrow screen
        for field, label, kind, rise_is_good, width, help_text in METRICS:
            value, exact = shown(row.get(field), kind, currency, short)
            delta = change(row.get(field), row.get(f"{field}_prev"), kind)
            colour: Literal["off", "normal", "inverse"] = (
                "off" if rise_is_good is None or delta == "same" else "normal" if rise_is_good else "inverse")
            row_of_metrics.metric(label, value, delta, help=help_text + exact, delta_color=colour, width=width,
                                  delta_arrow="off" if delta == "same" else "auto")


def granularity_for(date_from: date, date_to: date) -> str:
    days = (date_to - date_from).days
    return "day" if days <= 45 else "week" if days <= 120 else "month"


def top_overdue(overdue: pd.DataFrame, currency: str, as_of: date) -> None:
    """The customers owing the most past their due date, with since when."""
    rows = report_filters.frame_rows(overdue[overdue["currency"] == currency])
    paged_table(f"dashboard:overdue:{currency}", list_fetch(rows), OVERDUE_COLUMNS,
                page_size=TOP_OVERDUE, selectable=False, filters={"As of": fmt.day(as_of), "Currency": currency},
                title=f"Top overdue customers {currency}", totals=("overdue",), empty="Nothing overdue.")


def expected_cash(forecast: pd.DataFrame, currency: str) -> None:
    total = sum(forecast[forecast["currency"] == currency]["expected"], Decimal(0))
    st.metric("Expected in, next 30 days", fmt.money(total, currency), help=reports.FORECAST_METHOD)


def open_in_revenue(chart_key: str, currency: str, signature: str) -> None:
    """on_select callback: a clicked bar opens its invoices on the Revenue page, as a click there does."""
    point = vega_charts.clicked(st.session_state.get(chart_key))
    if point:
        st.session_state[charts.REVENUE_DRILL] = (signature, currency, point)
        st.session_state[DRILL_REQUEST] = True


def currency_panels(series: pd.DataFrame, currencies: list[str], granularity: str, today: date,
                    signature: str) -> None:
    forecast = reports.cash_forecast(context.db(), context.actor(), today, 30, tuple(currencies))
    overdue = reports.top_overdue(context.db(), context.actor(), today, tuple(currencies), TOP_OVERDUE)
    for tab, currency in report_filters.currency_tabs("dashboard:tab", currencies):
        with tab:
            left, right = st.columns([1.3, 1], gap="large")
            with left:
                st.markdown("**Invoiced vs collected**")
                chart_key = f"dashboard:chart:{currency}:{signature}"
                data, spec = vega_charts.revenue_bars(series, currency, granularity, height=300)
                st.vega_lite_chart(data, spec, key=chart_key, width="stretch", selection_mode=vega_charts.SELECTION,
                                   on_select=functools.partial(open_in_revenue, chart_key, currency, signature))
                st.caption("Click a bar to see the invoices behind it.")
            with right:
                expected_cash(forecast, currency)
                st.markdown("**Top overdue customers** today")
                top_overdue(overdue, currency, today)
                with st.container(horizontal=True):
                    st.page_link("app_pages/aging.py", label="AR aging", icon=":material/arrow_forward:")
                    st.page_link("app_pages/cash_collections.py", label="Collections & forecast",
                                 icon=":material/arrow_forward:")


def main() -> None:
    st.title("Dashboard", anchor=False)
    report_filters.compact_metrics()
    cells = st.columns([1.2, 1.6, 3], vertical_alignment="bottom")
    chosen = report_filters.filter_bar(("period", "currency"), cells=cells[:2])
    today = context.today()
    year_before = chosen.period in YEAR_ON_YEAR  # twelve months meet the same months a year earlier
    before_from, before_to = reports.comparison_range(chosen.date_from, chosen.date_to, year_before=year_before)
    st.caption(f"{report_filters.span(chosen.date_from, chosen.date_to)}, compared with "
               f"{'the same months a year earlier, ' if year_before else ''}"
               f"{report_filters.span(before_from, before_to)}. Outstanding and overdue as of the period's end.")
    figures = reports.dashboard(context.db(), context.actor(), chosen.query, min(today, chosen.date_to),
                                year_before=year_before)
    if figures.empty:
        st.info("No invoices or payments yet in this period.", icon=":material/search_off:")
        return
    rows = {row["currency"]: row for row in report_filters.frame_rows(figures)}
    currencies = report_filters.currency_order(list(rows))
    short = needs_short(list(rows.values()))
    for currency in currencies:
        metric_row(rows[currency], short)
    granularity = granularity_for(chosen.date_from, chosen.date_to)
    series = reports.revenue_series(context.db(), context.actor(), chosen.query, granularity, as_of=today)
    signature = charts.view_signature(chosen.query, granularity, "none")
    if st.session_state.pop(DRILL_REQUEST, False):
        st.switch_page("app_pages/revenue.py", query_params={**st.query_params.to_dict(), "every": granularity})
    currency_panels(series, currencies, granularity, today, signature)


with guarded():
    main()
