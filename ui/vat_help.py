"""The VAT help panel of the invoice editor: billing.vat_help's advice for the chosen customer, and the
reverse-charge rate offered for every line in one click."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from billing import catalog, customers, i18n, vat_help
from billing.errors import BillingError
from ui import context
from ui.feedback import run_action
from ui.format import plain


def vat_help_panel(customer_id: int, rates: dict[int, dict[str, Any]], use_rate: Callable[[int], None]) -> None:
    """The advice for invoicing this customer; with reverse charge, a button putting an AE rate on every line
    and discount (creating the rate with its exemption text first when the books have none)."""
    db, actor = context.db(), context.actor()
    try:
        customer = customers.get_customer(db, actor, customer_id)
    except BillingError:
        return  # the picker shows what is wrong with the customer
    advice = vat_help.vat_advice(str(context.company().get("country") or ""), str(customer.get("country") or ""),
                                 str(customer.get("tax_id") or ""), str(customer.get("language") or "en"))
    if advice.kind == vat_help.DOMESTIC:
        return
    if advice.category is None:
        st.info(plain(advice.note), icon=":material/info:")
        return
    reverse_charge = next((rate_id for rate_id, rate in rates.items() if rate.get("category") == advice.category), None)
    with st.container(border=True):
        st.markdown(f":material/lightbulb: **VAT help** · {plain(advice.note)}")
        st.caption(f"Printed on the invoice: {plain(advice.exemption_text)}")
        if reverse_charge is not None:
            st.button("Use reverse charge on every line", key="ie_vat_help", icon=":material/swap_horiz:",
                      on_click=use_rate, args=(reverse_charge,))
        elif context.allowed("products.write") and st.button("Create the reverse-charge rate and use it",
                                                               key="ie_vat_help_create", icon=":material/add:"):
            # Stored in English: the PDF prints a reverse-charge text of the catalogue in the invoice's language.
            created = run_action(lambda: catalog.create_tax_rate(db, actor, {
                "name": "Reverse charge", "category": advice.category, "percent": "0",
                "exemption_reason": i18n.translate("en", "vat.reverse_charge")}), "Tax rate 'Reverse charge' created.")
            if created is not None:
                use_rate(created)
                st.rerun()
        else:
            st.caption("Ask the owner to add a tax rate of category AE (reverse charge) on the Tax rates page.")
