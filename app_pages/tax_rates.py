"""Tax rates: the VAT rates and EN 16931 categories that invoice lines are taxed with."""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from billing import catalog
from billing.logic import EXEMPTION_REASON_CATEGORIES, VAT_CATEGORIES
from billing.money import decimals_of
from ui import context
from ui.feedback import run_change
from ui.format import plain
from ui.tables import Column, clear_selection, list_fetch, paged_table

db, actor = context.db(), context.actor()
can_write = context.allowed("products.write")
# What each EN 16931 VAT category (UNCL5305) is for, in the words an accountant would use.
EXPLANATIONS = {
    "S": "Taxable at a normal or reduced rate, e.g. 19 % or 7 % in Germany. Needs a rate above 0 %.",
    "Z": "Taxable, but at a rate of 0 % (e.g. some food or books in certain countries).",
    "E": "Exempt from VAT by law (e.g. medical or financial services, small businesses). Rate 0 %, reason needed.",
    "AE": "Reverse charge: the buyer accounts for the VAT (e.g. B2B services to another EU country). "
          "Rate 0 %, reason needed; the buyer's VAT ID must be on the invoice.",
    "K": "Goods delivered to a VAT-registered business in another EU member state. Rate 0 %, reason needed.",
    "G": "Export of goods outside the EU: no VAT charged. Rate 0 %, reason needed.",
    "O": "Not subject to VAT at all (outside its scope). Rate 0 %, reason needed.",
    "L": "Canary Islands general indirect tax (IGIC) instead of VAT.",
    "M": "Ceuta and Melilla tax on production, services and imports (IPSI) instead of VAT.",
}
CATEGORIES = list(VAT_CATEGORIES)
REASON_NEEDED = [c for c in CATEGORIES if c in EXEMPTION_REASON_CATEGORIES]


def category_name(code: str) -> str:
    return f"{code} · {VAT_CATEGORIES.get(code, code)}"


def rate_form(key: str, current: dict[str, Any], submit: str) -> dict[str, Any] | None:
    """Every TaxRateIn field; returns what was entered when the form is submitted."""
    percent = current.get("percent")
    with st.form(key, border=False):
        left, right = st.columns(2)
        values = {
            "name": left.text_input("Name *", current.get("name", ""), max_chars=100,
                                    placeholder="e.g. VAT 19%", help="As it appears in pickers and reports."),
            "category": right.selectbox("VAT category (EN 16931)", CATEGORIES,
                                        CATEGORIES.index(current.get("category", "S")), format_func=category_name,
                                        help=" \n".join(f"**{c}**: {t}" for c, t in EXPLANATIONS.items())),
            "percent": left.text_input("Rate in percent *", "" if percent is None else
                                       str(round(percent, min(4, decimals_of(percent)))), placeholder="e.g. 19",
                                       help="0 for every category except S (and L, M). Up to 4 decimals."),
            "exemption_reason": right.text_input(
                "Exemption reason", current.get("exemption_reason", ""), max_chars=300,
                placeholder="e.g. Reverse charge (Art. 196 VAT Directive)",
                help=f"Printed on the invoice. Required for categories {', '.join(REASON_NEEDED)}."),
            "active": st.checkbox("Active (offered for new products and invoice lines)", current.get("active", True)),
        }
        clicked = st.form_submit_button(submit, type="primary", icon=":material/save:")
    return values if clicked else None


st.title("Tax rates")
with st.expander("What do the VAT categories mean?", icon=":material/help:"):
    st.markdown("\n".join(f"- **{c} · {VAT_CATEGORIES[c]}**: {EXPLANATIONS[c]}" for c in CATEGORIES))
tabs = st.tabs(["All tax rates", "New tax rate"] if can_write else ["All tax rates"])
with tabs[0]:
    rates = [{**r, "category_name": category_name(r["category"])} for r in catalog.list_tax_rates(db, actor)]
    chosen = paged_table(
        "tax_rates", list_fetch(rates),
        [Column("name", "Name", width="medium"), Column("category_name", "Category", width="medium"),
         Column("percent", "Rate", "percent", width="small"), Column("exemption_reason", "Exemption reason",
                                                                     width="large"),
         Column("active", "Active", "bool", width="small")],
        title="Tax rates", empty="No tax rates yet." + (" Add one in 'New tax rate'." if can_write else ""))
    if can_write and chosen is not None:
        with st.container(border=True):
            st.subheader(plain(chosen["name"]))
            st.caption("Issued invoices keep the rate they were issued with; a change applies to new lines only.")
            edited = rate_form(f"edit_rate{chosen['id']}", chosen, "Save changes")
            if edited is not None and run_change(partial(catalog.update_tax_rate, db, actor, chosen["id"], edited),
                                                 f"{edited['name']} saved."):
                clear_selection("tax_rates")
                st.rerun()
    elif can_write:
        st.caption("Select a tax rate to edit it. Rates are never deleted: make them inactive instead.")
if can_write:
    with tabs[1]:
        nonce = st.session_state.get("tax_rates:new", 0)
        entered = rate_form(f"new_rate{nonce}", {}, "Create tax rate")
        if entered is not None and run_change(partial(catalog.create_tax_rate, db, actor, entered),
                                              f"Tax rate {entered['name']} created."):
            st.session_state["tax_rates:new"] = nonce + 1
            st.rerun()
