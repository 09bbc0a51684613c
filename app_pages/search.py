"""Search: customers, invoices and payments at once, by name, number, reference or notes."""

from __future__ import annotations

import streamlit as st

from billing import search
from billing.search import Hit
from ui import context
from ui import format as fmt
from ui.feedback import run_action

db, actor = context.db(), context.actor()
PAGES = {"customer": ("app_pages/customers.py", "customer"), "invoice": ("app_pages/invoices.py", "invoice"),
         "credit_note": ("app_pages/invoices.py", "invoice"), "payment": ("app_pages/payments.py", "payment"),
         "refund": ("app_pages/payments.py", "payment"), "reversal": ("app_pages/payments.py", "payment")}


def hit_line(hit: Hit) -> None:
    """One result: a link to it, and what tells it apart (customer, date, amount, status)."""
    page, param = PAGES[hit.kind]
    facts = [hit.customer, fmt.day(hit.day), fmt.money(hit.amount, hit.currency) if hit.amount is not None else "",
             fmt.status(hit.status) if hit.kind in ("invoice", "credit_note") else fmt.label(hit.status)]
    with st.container(horizontal=True, vertical_alignment="center"):
        st.page_link(page, label=fmt.plain(hit.title or "(no reference)"), query_params={param: str(hit.id)},
                     icon=":material/arrow_forward:")
        st.caption(" · ".join(fmt.plain(fact) for fact in facts if fact))


def section(title: str, hits: list[Hit]) -> None:
    if hits:
        st.subheader(f"{title} ({len(hits)})", anchor=False)
        for hit in hits:
            hit_line(hit)


st.title("Search", anchor=False)
text = st.text_input("Search", value=st.query_params.get("q", ""), key="search:text",
                     placeholder="Customer name, e-mail or VAT ID · invoice number, PO reference or notes · "
                                 "payment reference", label_visibility="collapsed", icon=":material/search:")
if text != st.query_params.get("q", ""):
    st.query_params["q"] = text
if len(text.strip()) < search.MIN_LENGTH:
    st.caption("Type at least two characters. Press Enter to search.")
else:
    results = run_action(lambda: search.search_everything(db, actor, text))
    if results is not None and results.count == 0:
        st.info(f"Nothing found for “{fmt.plain(text.strip())}”.", icon=":material/search_off:")
    elif results is not None:
        section("Customers", results.customers)
        section("Invoices and credit notes", results.invoices)
        section("Payments", results.payments)
