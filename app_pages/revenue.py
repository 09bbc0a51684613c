"""Revenue analysis: invoiced vs collected over time, broken down; a click on a bar lists its invoices."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from billing import reports
from billing.money import ZERO
from ui import charts, context, report_filters
from ui.feedback import guarded
from ui.format import plain
from ui.tables import Column, list_fetch, money_total, paged_table

GRANULARITIES = {"day": "Day", "week": "Week", "month": "Month", "quarter": "Quarter", "year": "Year"}
BREAKDOWNS = {"none": "Total", "customer": "Customer", "product": "Product", "tax_rate": "Tax rate",
              "currency": "Currency"}
DRILL = charts.REVENUE_DRILL  # what the user last clicked: (view signature, currency, customdata)
CLOSED = "revenue:closed"  # how many drill-downs were closed
# Breakdowns whose groups add up to the total; by product or tax rate, an invoice's payments count in each
# of its groups (and document-level discounts belong to none), so totals come from the series without one.
ADDITIVE = ("none", "customer", "currency")
INVOICE_COLUMNS = [Column("number", "Number", width="medium"), Column("customer", "Customer", width="medium"),
                   Column("issue_date", "Issued", "date"), Column("due_date", "Due", "date"),
                   Column("status", "Status", "status"),
                   Column("invoiced", "Invoiced", "money", help="The document's part in this bar, tax included "
                          "(negative for credit notes)"),
                   Column("net", "Net", "money"), Column("balance", "Balance", "money")]


def series_columns(breakdown: str) -> list[Column]:
    group = [Column("group", BREAKDOWNS[breakdown], width="large")] if breakdown not in ("none", "currency") else []
    collected = ("Payments received less refunds and reversals" if breakdown in ADDITIVE else
                 f"Paid on invoices with this {BREAKDOWNS[breakdown].lower()}: an invoice counts in each of its "
                 "groups, so these do not add up")
    return [Column("period_label", "Period", width="small"), *group, Column("currency", "Currency", width="small"),
            Column("invoiced", "Invoiced", "money", help="Issued invoices less credit notes, tax included"),
            Column("net", "Net", "money", help="Invoiced, tax excluded"),
            Column("collected", "Collected", "money", help=collected)]


def remember_click(chart_key: str, signature: str, currency: str) -> None:
    """on_select callback: the chart clicked last decides the drill-down (several currencies, several charts)."""
    point = charts.clicked(st.session_state.get(chart_key))
    st.session_state[DRILL] = (signature, currency, point) if point else None


def chart_tabs(series: pd.DataFrame, totals: pd.DataFrame, granularity: str, breakdown: str,
               signature: str, by_product: bool = False) -> None:
    """A chart per currency; `totals` is the series without breakdown (what the headline adds up)."""
    currencies = report_filters.currency_order(series["currency"].unique().tolist())
    for tab, currency in report_filters.currency_tabs("revenue:tab", currencies):
        rows = totals[totals["currency"] == currency]
        with tab:
            invoiced, collected = ({currency: sum(rows[name].tolist(), ZERO)} for name in ("invoiced", "collected"))
            st.caption(f"Invoiced **{plain(money_total(invoiced))}** · collected "
                       f"**{plain(money_total(collected))}** · click a bar to see the invoices behind it")
            if by_product:
                st.caption("With a product filter, invoiced counts those products' lines, while collected counts "
                           "the whole payments of the invoices that include them, so it can be the larger.")
            # a new key after "Close": the chart forgets its selection, so the same bar can be clicked again
            chart_key = f"revenue:chart:{currency}:{signature}:{st.session_state.get(CLOSED, 0)}"
            figure = charts.revenue_figure(series, currency, granularity, breakdown, totals=totals)
            st.plotly_chart(figure, key=chart_key,
                            on_select=functools.partial(remember_click, chart_key, signature, currency),
                            selection_mode=("points",), config={"displayModeBar": False})


@report_filters.panel
def drill_down(chosen: report_filters.Chosen, series: pd.DataFrame, granularity: str, breakdown: str,
               signature: str) -> None:
    clicked = st.session_state.get(DRILL)
    if not clicked or clicked[0] != signature:
        return
    _, currency, (period_text, group_text, group_label) = clicked
    if group_text == charts.ALL:  # the collected line: the whole period, every group
        breakdown, group_text = "none", ""
    group_ids = {str(group_id): group_id for group_id in series["group_id"]}
    group_id = group_ids.get(group_text) if breakdown != "none" and group_text is not None else None
    if group_text is None or (breakdown == "customer" and group_id is None):
        st.info(f"“{plain(group_label)}” puts the smaller ones together: pick them in the filters to list their "
                "invoices.",
                icon=":material/info:")
        return
    period = date.fromisoformat(period_text)
    words = {"Period": charts.period_label(period, granularity), "Currency": currency,
             **({BREAKDOWNS[breakdown]: group_label} if breakdown != "none" else {}),
             **chosen.words(period=False)}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.subheader(f"Invoices · {' · '.join(plain(word) for word in words.values())}", anchor=False)
        st.space("stretch")
        if st.button("Close", icon=":material/close:", key="revenue:close", type="tertiary"):
            st.session_state[DRILL] = None
            st.session_state[CLOSED] = st.session_state.get(CLOSED, 0) + 1
            st.rerun()
    db, actor, query, today = context.db(), context.actor(), chosen.query, context.today()

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        frame, total = reports.revenue_invoices(db, actor, query, granularity, period, currency, breakdown, group_id,
                                                limit=limit, offset=offset, as_of=today)
        return report_filters.frame_rows(frame), total

    paged_table("revenue:invoices", fetch, INVOICE_COLUMNS, filters=words, selectable=False,
                title=f"Invoices {charts.period_label(period, granularity)} {currency}", totals=("invoiced", "balance"),
                empty="No invoices behind this point.")


@report_filters.panel
def series_table(chosen: report_filters.Chosen, series: pd.DataFrame, granularity: str, breakdown: str) -> None:
    """The chart's figures as a table: currency by currency (the base one first), then period by period."""
    order = {code: position for position, code in enumerate(report_filters.currency_order(series["currency"].tolist()))}
    table = series.assign(rank=series["currency"].map(order)).sort_values(["rank", "period", "group"])
    table = table.assign(period_label=[charts.period_label(period, granularity) for period in table["period"]])
    st.subheader(f"Revenue by {granularity}", anchor=False)
    paged_table("revenue:series", list_fetch(report_filters.frame_rows(table)), series_columns(breakdown),
                filters={**chosen.words(), "Interval": GRANULARITIES[granularity],
                         "Break down by": BREAKDOWNS[breakdown]},
                title=f"Revenue by {granularity} {chosen.date_from} to {chosen.date_to}",
                totals=("invoiced", "net", "collected") if breakdown in ADDITIVE else ("invoiced", "net"),
                selectable=False)



def main() -> None:
    st.title("Revenue", anchor=False)
    chosen = report_filters.filter_bar()
    with st.container(horizontal=True, vertical_alignment="bottom"):
        breakdown = report_filters.url_choice("by", "Break down by", BREAKDOWNS, "none")
        granularity = report_filters.url_choice("every", "Interval", GRANULARITIES, "month")
        st.space("stretch")
        st.caption(report_filters.span(chosen.date_from, chosen.date_to))
    series = reports.revenue_series(context.db(), context.actor(), chosen.query, granularity, breakdown,
                                    as_of=context.today())
    if series.empty:
        st.info("No invoices or payments in this period with these filters.", icon=":material/search_off:")
        return
    signature = charts.view_signature(chosen.query, granularity, breakdown)
    totals = series if breakdown in ADDITIVE else reports.revenue_series(
        context.db(), context.actor(), chosen.query, granularity, "none", as_of=context.today())
    chart_tabs(series, totals, granularity, breakdown, signature, by_product=bool(chosen.query.product_ids))
    drill_down(chosen, series, granularity, breakdown, signature)
    series_table(chosen, series, granularity, breakdown)


with guarded():
    main()
