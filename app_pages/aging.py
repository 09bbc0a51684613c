"""AR aging as of any date: who owes us what, and since when; drill down by customer or bucket."""

from __future__ import annotations

import functools
import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from billing import reports
from ui import charts, context, report_filters
from ui import format as fmt
from ui.feedback import guarded
from ui.format import plain
from ui.tables import Column, clear_selection, list_fetch, paged_table

DEFAULT_BUCKETS = ",".join(str(days) for days in reports.DEFAULT_BUCKETS)
DRILL = "aging:drill"  # {"currency", "bucket", "customer_id", "customer"}: what the invoice list shows
CUSTOMERS = "aging:customers"
CLOSED = "aging:closed"  # how many drill-downs were closed


def parse_buckets(text: str) -> tuple[int, ...] | None:
    """'30, 60,90' -> (30, 60, 90); None unless 1-6 increasing whole numbers of days, up to ten years."""
    try:
        days = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        return None
    ok = (0 < len(days) <= 6 and days[0] > 0 and all(a < b for a, b in itertools.pairwise(days))
          and days[-1] <= reports.MAX_BUCKET_DAYS)
    return days if ok else None


def controls() -> tuple[date, tuple[int, ...], report_filters.Chosen]:
    cells = st.columns([1.1, 1.1, 1.6, 1.3, 2], vertical_alignment="bottom")
    with cells[0]:
        as_of = report_filters.url_date("as_of", "As of", context.today())
    codec = report_filters.Codec(lambda raw: ",".join(map(str, parse_buckets(raw[0]) or ())) or None,
                                 lambda value: [value])
    key, text = report_filters.bound("buckets", DEFAULT_BUCKETS, codec)
    text = cells[1].text_input("Buckets (days)", value=report_filters.initial(key, text), key=key,
                               help="Upper ends of the overdue buckets: 30,60,90 gives Current, 1-30, 31-60, "
                               "61-90 and 90+ days past due.")
    buckets = parse_buckets(text)
    if buckets is None:
        cells[4].warning(f"Buckets: up to six increasing numbers of days, like 30,60,90, at most "
                         f"{reports.MAX_BUCKET_DAYS}.", icon=":material/warning:")
        buckets = reports.DEFAULT_BUCKETS
    report_filters.remember("buckets", ",".join(map(str, buckets)), DEFAULT_BUCKETS, codec)
    chosen = report_filters.filter_bar(("customers", "currency"), cells=cells[2:4])
    return as_of, buckets, chosen


def headline(summary: pd.DataFrame, labels: list[str]) -> None:
    """A card per currency: outstanding, overdue and its share, the oldest bucket: the answer at a glance."""
    rows = {row["currency"]: row for row in report_filters.frame_rows(summary)}
    currencies = report_filters.currency_order(list(rows))
    for start in range(0, len(currencies), 4):
        for cell, currency in zip(st.columns(4), currencies[start:start + 4], strict=False):
            row = rows[currency]
            total = row["Total"]
            overdue = total - (row.get("Current") or Decimal(0))
            with cell.container(border=True, key=f"card-{currency}"):
                st.metric(f"Outstanding · {currency}", fmt.money(total, currency))
                share = f" ({overdue / total:.0%})" if total else ""
                oldest = fmt.money(row.get(labels[-1]) or Decimal(0), currency)
                st.caption(plain(f"Overdue {fmt.money(overdue, currency)}{share}") + "  \n"
                           + plain(f"Over {labels[-1][:-1]} days {oldest}"))


def bucket_chart(summary: pd.DataFrame, labels: list[str]) -> None:
    rows = {row["currency"]: row for row in report_filters.frame_rows(summary)}
    currencies = report_filters.currency_order(list(rows))
    for tab, currency in report_filters.currency_tabs("aging:tab", currencies):
        chart_key = f"aging:chart:{currency}:{'|'.join(labels)}:{st.session_state.get(CLOSED, 0)}"
        with tab:
            st.plotly_chart(charts.aging_figure(rows[currency], labels, currency), key=chart_key,
                            on_select=functools.partial(_bucket_clicked, chart_key, currency),
                            selection_mode=("points",), config={"displayModeBar": False})


def _bucket_clicked(chart_key: str, currency: str) -> None:
    point = charts.clicked(st.session_state.get(chart_key))
    if point:
        st.session_state[DRILL] = {"currency": currency, "bucket": point[0], "customer_id": None, "customer": None}
        clear_selection(CUSTOMERS)


def by_customer(as_of: date, buckets: tuple[int, ...], labels: list[str], chosen: report_filters.Chosen,
                words: dict[str, str]) -> None:
    db, actor = context.db(), context.actor()
    customer_ids, currencies = tuple(chosen.customers), chosen.currencies

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        frame, total = reports.aging_by_customer(db, actor, as_of, buckets, currencies, customer_ids, limit, offset)
        rows = report_filters.frame_rows(frame)
        for row in rows:
            oldest = row.get("oldest_due")
            row["days"] = (as_of - oldest).days if oldest and oldest < as_of else 0
        return rows, total

    columns = [Column("customer", "Customer", width=190), Column("currency", "Currency", width="small"),
               *(Column(label, label, "money") for label in labels), Column("Total", "Total", "money"),
               Column("oldest_due", "Oldest due", "date", help="Due date of the oldest open invoice"),
               Column("days", "Days late", "number", help="Days since the oldest open invoice fell due",
                      width="small"),
               Column("open_invoices", "Invoices", "number", help="Open invoices", width="small")]
    st.subheader("By customer", anchor=False)
    st.caption("Largest balances first in each currency. Select a customer to see the invoices behind the balance.")
    selected = paged_table(CUSTOMERS, fetch, columns, filters=words, title=f"AR aging by customer {as_of}",
                           totals=(*labels, "Total"), empty="Nobody owes anything as of this date.")
    seen = (selected or {}).get("customer_id"), (selected or {}).get("currency")
    if st.session_state.get("aging:seen", (None, None)) == seen:
        return
    st.session_state["aging:seen"] = seen
    if selected:  # a new selection: its invoices replace whatever the page listed (a bucket's, further down)
        st.session_state[DRILL] = {"currency": selected["currency"], "bucket": None,
                                   "customer_id": selected["customer_id"], "customer": selected["customer"]}
        st.rerun()


def invoices(as_of: date, buckets: tuple[int, ...], labels: list[str], words: dict[str, str]) -> None:
    drill = st.session_state.get(DRILL)
    if not drill or (drill["bucket"] and drill["bucket"] not in labels):
        return
    db, actor = context.db(), context.actor()
    currency, bucket, customer_id = drill["currency"], drill["bucket"], drill["customer_id"]
    described = {"Currency": currency, **({"Bucket": bucket} if bucket else {}),
                 **({"Customer": drill["customer"]} if customer_id else {}), **words}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        heading = [currency, bucket or "", drill["customer"] if customer_id else ""]
        st.subheader(f"Open invoices · {' · '.join(plain(part) for part in heading if part)}", anchor=False)
        st.space("stretch")
        if st.button("Close", icon=":material/close:", key="aging:close", type="tertiary"):
            st.session_state[DRILL] = None
            st.session_state[CLOSED] = st.session_state.get(CLOSED, 0) + 1  # new charts: the same bar clicks again
            clear_selection(CUSTOMERS)
            st.rerun()

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        frame, total = reports.aging_invoices(db, actor, as_of, currency, bucket, customer_id, buckets, limit, offset)
        return [{"currency": currency, **row} for row in report_filters.frame_rows(frame)], total

    columns = [Column("number", "Number", width="medium"), Column("customer", "Customer", width="medium"),
               Column("issue_date", "Issued", "date"), Column("due_date", "Due", "date"),
               Column("days_overdue", "Days overdue", "number"), Column("balance", "Balance", "money")]
    paged_table("aging:invoices", fetch, columns, filters=described, selectable=False, totals=("balance",),
                title=f"Open invoices {as_of}", empty="No open invoices here.")


def main() -> None:
    st.title("AR aging", anchor=False)
    report_filters.compact_metrics()
    st.caption("Who owes us what, and since when: open balances as they stood on any date.")
    as_of, buckets, chosen = controls()
    labels = reports.bucket_labels(buckets)
    summary = reports.aging(context.db(), context.actor(), as_of, buckets, chosen.currencies, tuple(chosen.customers))
    words = {"As of": fmt.day(as_of), "Buckets": ",".join(map(str, buckets)), **chosen.words(period=False)}
    if summary.empty or not any(summary["Total"]):
        st.success(f"Nothing outstanding as of {fmt.day(as_of)}.", icon=":material/check_circle:")
        return
    headline(summary, labels)
    customers_panel(as_of, buckets, labels, chosen, words)
    st.subheader("By bucket", anchor=False)
    st.caption("Click a bar to list the invoices in that bucket.")
    bucket_chart(summary, labels)
    paged_table("aging:summary", list_fetch(report_filters.frame_rows(summary)),
                [Column("currency", "Currency", width="small"), *(Column(b, b, "money") for b in labels),
                 Column("Total", "Total", "money")], filters=words, selectable=False,
                title=f"AR aging summary {as_of}", totals=(*labels, "Total"))
    if (st.session_state.get(DRILL) or {}).get("bucket"):
        bucket_invoices(as_of, buckets, labels, words)


bucket_invoices = report_filters.panel(invoices)


@report_filters.panel
def customers_panel(as_of: date, buckets: tuple[int, ...], labels: list[str], chosen: report_filters.Chosen,
                    words: dict[str, str]) -> None:
    """The customers table and, when one is selected, its invoices: paging reruns only this part."""
    by_customer(as_of, buckets, labels, chosen, words)
    if (st.session_state.get(DRILL) or {}).get("customer_id") is not None:
        invoices(as_of, buckets, labels, words)


with guarded():
    main()
