"""Products: the catalogue invoice lines are picked from, with unit prices and default tax rates."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import streamlit as st

from billing import catalog
from billing.money import KNOWN_CURRENCIES, decimals_of, minor_unit, round_to
from ui import access, context
from ui import format as fmt
from ui.feedback import run_change
from ui.tables import Column, clear_selection, csv_import, list_fetch, paged_table

db, actor = context.db(), context.actor()
can_write = context.allowed("products.write")
CURRENCIES = list(dict.fromkeys([context.base_currency(), "EUR", "USD", "GBP", "CHF", "JPY",
                                 *sorted(KNOWN_CURRENCIES)]))
UNITS = ["pcs", "h", "day", "month", "year", "job", "trip", "kg", "m", "licence"]
RATES = {r["id"]: r for r in catalog.list_tax_rates(db, actor)}
PRODUCT_FIELDS = ("name", "sku", "unit", "unit_price", "currency", "tax_rate_id")


def rate_name(rate_id: int) -> str:
    rate = RATES.get(rate_id)
    return f"{rate['name']} · {rate['category']} {fmt.percent(rate['percent'])}" if rate else f"Tax rate {rate_id}"


def product_form(key: str, current: dict[str, Any], submit: str) -> dict[str, Any] | None:
    """Every ProductIn field; returns what was entered when the form is submitted."""
    rate_ids = [i for i, r in RATES.items() if r["active"] or i == current.get("tax_rate_id")]
    unit = current.get("unit", "pcs")
    units = UNITS if unit in UNITS else [unit, *UNITS]
    with st.form(key, border=False):
        left, right = st.columns(2)
        values = {
            "name": left.text_input("Name *", current.get("name", ""), max_chars=200),
            "sku": right.text_input("SKU *", current.get("sku", ""), max_chars=64,
                                    help="Your article number; unique in the catalogue."),
            "unit_price": left.text_input("Unit price (net) *", price_text(current.get("unit_price"),
                                                                     current.get("currency", CURRENCIES[0])),
                                          placeholder="e.g. 120.00", help="Up to 6 decimals, dot as decimal point."),
            "currency": right.selectbox("Currency", CURRENCIES, CURRENCIES.index(current.get("currency",
                                                                                         CURRENCIES[0])),
                                        format_func=fmt.currency),
            "unit": left.selectbox("Unit", units, units.index(unit), accept_new_options=True,
                                   help="Pick one or type your own (e.g. 'box')."),
            "tax_rate_id": right.selectbox("Default tax rate", rate_ids, format_func=rate_name,
                                           index=rate_ids.index(current["tax_rate_id"]) if current.get(
                                               "tax_rate_id") in rate_ids else 0, placeholder="No tax rate yet"),
        }
        clicked = st.form_submit_button(submit, type="primary", icon=":material/save:")
    return values if clicked else None


def price_text(value: Decimal | None, currency: str) -> str:
    """120.000000 EUR -> '120.00', 0.012500 EUR -> '0.0125': what the user typed, not the stored scale."""
    return "" if value is None else str(round_to(value, max(decimals_of(value), minor_unit(currency))))


def ask(archived: bool | None) -> None:
    """Remember the archive flag awaiting confirmation: the dialog stays open across reruns until answered."""
    st.session_state["products:confirm"] = archived


@access.dialog("Please confirm", on_dismiss=lambda: ask(None))
def confirm_archive(product: dict[str, Any], archived: bool) -> None:
    verb = "Archive" if archived else "Unarchive"
    st.write(f"**{verb}** {fmt.plain(product['name'])} ({fmt.plain(product['sku'])})?")
    st.caption("Archived products are no longer offered on new invoice lines; issued invoices keep them."
               if archived else "The product is offered on new invoice lines again.")
    data = {k: product[k] for k in PRODUCT_FIELDS}
    with st.container(horizontal=True):
        confirmed = st.button(verb, type="primary", key="products:confirmed")
        cancelled = st.button("Cancel", key="products:cancel")
    done = confirmed and run_change(
        lambda: catalog.update_product(db, actor, product["id"], data, archived=archived),
        f"{product['name']}: {verb.lower()}d.")
    if done or cancelled:
        ask(None)
        if done:
            clear_selection("products")
        st.rerun()


def edit_panel(product: dict[str, Any]) -> None:
    with st.container(border=True):
        st.subheader(fmt.plain(product["name"]))
        st.caption(f"SKU {fmt.plain(product['sku'])}" + (" · archived" if product["archived"] else ""))
        edited = product_form(f"edit_product{product['id']}", product, "Save changes")
        if edited is not None and run_change(partial(catalog.update_product, db, actor, product["id"], edited),
                                             f"{edited['name']} saved."):
            clear_selection("products")
            st.rerun()
        archived = not product["archived"]
        st.button("Archive" if archived else "Unarchive", on_click=ask, args=(archived,),
                  icon=":material/archive:" if archived else ":material/unarchive:")
        if st.session_state.get("products:confirm") is not None:
            confirm_archive(product, st.session_state["products:confirm"])


st.title("Products")
tabs = st.tabs(["Catalogue", "New product", "Import CSV"] if can_write else ["Catalogue"])
with tabs[0]:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        text = st.text_input("Search", placeholder="Name or SKU", icon=":material/search:", width=360)
        include_archived = st.toggle("Include archived")
    needle = text.strip().lower()
    rows = [{**p, "tax_rate": rate_name(p["tax_rate_id"])}
            for p in catalog.list_products(db, actor, include_archived=include_archived)
            if needle in p["name"].lower() or needle in p["sku"].lower()]
    chosen = paged_table(
        "products", list_fetch(rows),
        [Column("sku", "SKU", width="small"), Column("name", "Name", width="large"), Column("unit", "Unit"),
         Column("unit_price", "Unit price", "price"), Column("tax_rate", "Default tax rate", width="medium"),
         *([Column("archived", "Archived", "bool", width="small")] if include_archived else [])],
        filters={k: v for k, v in {"Search": text.strip(), "Archived": "included" if include_archived else ""}.items()
                 if v},
        title="Products", empty="No products match. Add one in 'New product'." if can_write else "No products.")
    if can_write and chosen is not None:
        edit_panel(chosen)
    elif can_write:
        st.caption("Select a product to edit or archive it.")
if can_write:
    with tabs[1]:
        if not RATES:
            st.info("Create a tax rate first: every product needs a default tax rate.", icon=":material/percent:")
            st.page_link("app_pages/tax_rates.py", label="Tax rates", icon=":material/arrow_forward:")
        else:
            nonce = st.session_state.get("products:new", 0)
            entered = product_form(f"new_product{nonce}", {}, "Create product")
            if entered is not None and run_change(partial(catalog.create_product, db, actor, entered),
                                                  f"Product {entered['name']} created."):
                st.session_state["products:new"] = nonce + 1
                st.rerun()
    with tabs[2]:
        st.caption("Columns: name, sku, unit_price and tax_rate_id (required); unit (default pcs), currency "
                   "(default EUR). All rows are imported or none. Tax rate ids:")
        st.dataframe([{"tax_rate_id": i, "Tax rate": rate_name(i)} for i in RATES], hide_index=True, width=480)
        template = f"name,sku,unit,unit_price,currency,tax_rate_id\nConsulting hour,CONS-H,h,120.00,EUR," \
                   f"{next(iter(RATES), 1)}\n"
        if csv_import("products", "products:import", template):
            st.rerun()
