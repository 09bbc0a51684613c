"""Collections and cash: what comes in over the next 90 days, whom to chase, how customers pay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from billing import reports
from ui import charts, context, report_filters
from ui import format as fmt
from ui.feedback import guarded
from ui.tables import Column, list_fetch, paged_table

HORIZON = 90
GRANULARITIES = {"week": "Week", "month": "Month", "quarter": "Quarter"}
CHASE = [Column("number", "Invoice", width="medium"), Column("customer", "Customer", width="medium"),
         Column("balance", "Balance", "money"), Column("due_date", "Due", "date"),
         Column("days_overdue", "Days overdue", "number"),
         Column("avg_days_to_pay", "Usually pays in", "number", help="The customer's average days to pay"),
         Column("on_time", "Paid on time", "percent", help="Share of the customer's invoices paid by the due date"),
         Column("open_invoices", "Open invoices", "number", help="The customer's open invoices")]
METHODS = [Column("method", "Method", "label"), Column("currency", "Currency", width="small"),
           Column("count", "Payments", "number"), Column("amount", "Amount", "money", help="Refunds and reversals "
                                                                                           "count negatively")]


def forecast(today: date, currencies: tuple[str, ...]) -> None:
    st.subheader(f"Expected cash-in, next {HORIZON} days", anchor=False)
    frame = reports.cash_forecast(context.db(), context.actor(), today, HORIZON, currencies)
    if frame.empty:
        st.info("No open invoices: nothing to expect.", icon=":material/check_circle:")
        return
    # the same forecast cut at 30 and 60 days: money expected after the horizon is left out, to the day
    horizons = {days: reports.cash_forecast(context.db(), context.actor(), today, days, currencies)
                for days in (30, 60)} | {HORIZON: frame}
    codes = report_filters.currency_order(frame["currency"].unique().tolist())
    for tab, currency in report_filters.currency_tabs("collections:forecast-tab", codes):
        with tab:
            with st.container(horizontal=True):
                for days, cut in horizons.items():
                    expected = sum(cut[cut["currency"] == currency]["expected"], Decimal(0))
                    st.metric(f"Next {days} days", fmt.money(expected, currency), border=True)
            st.plotly_chart(charts.forecast_figure(frame, currency), key=f"collections:forecast:{currency}",
                            config={"displayModeBar": False})
    with st.container(border=True):
        st.markdown("**How this forecast is made**")
        st.caption(fmt.plain(reports.FORECAST_METHOD))


@report_filters.panel
def chase(today: date, currencies: tuple[str, ...], words: dict[str, str]) -> None:
    st.subheader("Overdue invoices to chase", anchor=False)
    st.caption("Largest and oldest first, with how each customer usually pays. Select one to open the invoice.")
    db, actor = context.db(), context.actor()

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        frame, total = reports.collections(db, actor, today, currencies, limit, offset)
        rows = report_filters.frame_rows(frame)
        for row in rows:
            share = row.get("on_time_share")
            row["on_time"] = None if share is None else (Decimal(share) * 100).quantize(Decimal(1))
            days = row.get("avg_days_to_pay")
            row["avg_days_to_pay"] = None if days is None or pd.isna(days) else round(Decimal(str(days)))
        return rows, total

    selected = paged_table("collections:chase", fetch, CHASE, filters=words, title=f"Overdue invoices {today}",
                           totals=("balance",), empty="Nothing overdue. 🎉",
                           selectable=context.allowed("invoices.read"))
    if selected is not None:
        st.switch_page("app_pages/invoices.py", query_params={"invoice": str(selected["id"])})


@report_filters.panel
def methods(currencies: tuple[str, ...]) -> None:
    st.subheader("Payments by method", anchor=False)
    cells = st.columns([1.3, 2.4, 3], vertical_alignment="bottom")
    chosen = report_filters.filter_bar(("period",), cells=cells[:1])
    with cells[1]:
        granularity = report_filters.url_choice("every", "Interval", GRANULARITIES, "month")
    query = report_filters.Chosen(chosen.period, chosen.date_from, chosen.date_to, {}, {}, (), currencies).query
    frame = reports.payments_by_method(context.db(), context.actor(), query, granularity)
    if frame.empty:
        st.info("No payments received in this period.", icon=":material/search_off:")
        return
    codes = report_filters.currency_order(frame["currency"].unique().tolist())
    for tab, currency in report_filters.currency_tabs("collections:methods-tab", codes):
        with tab:
            st.plotly_chart(charts.methods_figure(frame, currency, granularity), key=f"collections:methods:{currency}",
                            config={"displayModeBar": False})
    totals = frame.groupby(["method", "currency"], as_index=False).agg(count=("count", "sum"), amount=("amount", "sum"))
    totals = totals.sort_values(["currency", "amount"], ascending=[True, False], key=_sort_key)
    paged_table("collections:methods", list_fetch(report_filters.frame_rows(totals)), METHODS, selectable=False,
                filters={**chosen.words(), **({"Currency": ", ".join(currencies)} if currencies else {})},
                title=f"Payments by method {chosen.date_from} to {chosen.date_to}", totals=("amount",))


def _sort_key(column: pd.Series[Any]) -> pd.Series[Any]:
    return column.map(float) if column.name == "amount" else column  # float ok: ordering only


def main() -> None:
    st.title("Collections & cash", anchor=False)
    cells = st.columns([1.3, 5], vertical_alignment="bottom")
    chosen = report_filters.filter_bar(("currency",), cells=cells[:1])
    today = context.today()
    forecast(today, chosen.currencies)
    chase(today, chosen.currencies, {"As of": fmt.day(today), **chosen.words(period=False)})
    methods(chosen.currencies)


with guarded():
    main()
