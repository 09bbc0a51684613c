"""Tax report: taxable amounts and tax by VAT category and rate, per currency, for a period or split by month."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from billing import logic, reports
from ui import context, report_filters
from ui import format as fmt
from ui.feedback import guarded
from ui.tables import Column, list_fetch, paged_table

SPLITS = {"none": "Whole period", "month": "Month", "quarter": "Quarter"}
COLUMNS = [Column("currency", "Currency", width="small"), Column("category", "VAT category", width=150),
           Column("vat_rate", "Rate", "percent", width="small"),
           Column("invoices_taxable", "Invoiced net", "money", help="Taxable amount of invoices issued"),
           Column("invoices_tax", "Invoiced VAT", "money"),
           Column("credit_taxable", "Credited net", "money", help="Taxable amount of credit notes issued"),
           Column("credit_tax", "Credited VAT", "money"),
           Column("taxable", "Taxable", "money", help="Invoiced less credited"),
           Column("tax", "VAT due", "money", help="Invoiced VAT less credited VAT")]
MONEY = ("invoices_taxable", "invoices_tax", "credit_taxable", "credit_tax", "taxable", "tax")


def tax_rows(chosen: report_filters.Chosen, split: str) -> pd.DataFrame:
    frames = []
    for label, first, last in report_filters.sub_periods(chosen.date_from, chosen.date_to, split):
        frame = reports.tax_report(context.db(), context.actor(), first, last, chosen.currencies)
        frames.append(frame.assign(period=label))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if rows.empty:
        return rows
    names = rows["category_name"] if "category_name" in rows else rows["vat_category"].map(logic.VAT_CATEGORIES.get)
    return rows.assign(category=[f"{code} · {name}" for code, name in zip(rows["vat_category"], names, strict=True)])


def headline(rows: pd.DataFrame) -> None:
    """Per currency: the tax due for the whole period (what goes into the return)."""
    with st.container(horizontal=True):
        for currency in report_filters.currency_order(rows["currency"].unique().tolist()):
            part = rows[rows["currency"] == currency]
            with st.container(border=True, key=f"card-{currency}"):
                st.metric(f"VAT due · {currency}", fmt.money(sum(part["tax"]), currency),
                          help=f"Taxable {fmt.money(sum(part['taxable']), currency)}, after credit notes")


def main() -> None:
    st.title("Tax report", anchor=False)
    report_filters.compact_metrics()
    st.caption("VAT on invoices and credit notes issued in the period, by category and rate.")
    cells = st.columns([1.3, 1.3, 2.2, 1.5], vertical_alignment="bottom")
    chosen = report_filters.filter_bar(("period", "currency"), cells=cells[:2])
    with cells[2]:
        split = report_filters.url_choice("split", "Split by", SPLITS, "none")
    rows = tax_rows(chosen, split)
    if rows.empty:
        st.info("No invoices or credit notes issued in this period.", icon=":material/search_off:")
        return
    headline(rows)
    columns = ([Column("period", "Period", width="small")] if split != "none" else []) + COLUMNS
    ordered = rows.sort_values(["period", "currency", "vat_category", "vat_rate"], kind="stable") if split != "none" \
        else rows.sort_values(["currency", "vat_category", "vat_rate"], kind="stable")
    paged_table("tax:rows", list_fetch(report_filters.frame_rows(ordered)), columns, page_size=100, visible_rows=20,
                filters={**chosen.words(), "Split by": SPLITS[split]}, selectable=False,
                title=f"Tax report {chosen.date_from} to {chosen.date_to}", totals=MONEY,
                empty="No taxable amounts in this period.")
    st.caption("Amounts per currency, never converted. Totals in the PDF export when it holds one currency.")


with guarded():
    main()
