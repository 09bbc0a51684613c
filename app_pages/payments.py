"""Payments page: the filtered list, recording a payment with its allocation, and one payment's view.

Where the user is lives in the URL: ?payment=ID opens a payment, ?record=1 the form (with &customer=ID and
&invoice=ID once chosen, so a reload keeps them; Cancel returns to that invoice).
"""

from __future__ import annotations

from typing import Any, NoReturn

import streamlit as st

from billing import payments
from billing.errors import BillingError
from billing.money import KNOWN_CURRENCIES
from ui import context
from ui import format as fmt
from ui.context import go
from ui.payment_forms import filter_dates, payment_view
from ui.payment_record import preselect, record_payment_form
from ui.tables import Column, clear_selection, paged_table
from ui.widgets import customer_picker

TABLE = "payments"
COLUMNS = [Column("received_on", "Date", "date"), Column("customer", "Customer"),
           Column("kind", "Kind", "label", width="small"), Column("method", "Method", "label"),
           Column("reference", "Reference"), Column("amount", "Amount", "money"),
           Column("allocated", "Allocated", "money"), Column("unallocated", "Unallocated", "money"),
           Column("reversed", "Reversed", "bool", width="small")]


def back_to_list() -> NoReturn:
    clear_selection(TABLE)
    go()


def open_invoice(invoice_id: int) -> NoReturn:
    st.switch_page("app_pages/invoices.py", query_params={"invoice": str(invoice_id)})


def payment_list() -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.title("Payments", anchor=False, width="content")
        st.space("stretch")
        if context.allowed("payments.write") and st.button("Record payment", type="primary", icon=":material/add:"):
            preselect(None, None)
            go(record=1)
    cells = st.columns([3.4, 1.2, 1.6, 2], vertical_alignment="bottom")
    with cells[0]:
        customer = customer_picker("payf_customer", placeholder="All customers")
    base = context.base_currency()
    currency = cells[1].selectbox("Currency", [base, *sorted(KNOWN_CURRENCIES - {base})], index=None,
                                  key="payf_currency", placeholder="All")
    method = cells[2].selectbox("Method", payments.PAYMENT_METHODS, index=None, key="payf_method",
                                placeholder="All", format_func=fmt.label)
    date_from, date_to = filter_dates(cells[3].date_input("Received between", value=[], key="payf_dates",
                                                          format="YYYY-MM-DD"))
    query = {"customer_id": customer.id if customer else None, "currency": currency, "method": method,
             "date_from": date_from, "date_to": date_to}
    db, actor = context.db(), context.actor()

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        return payments.list_payments(db, actor, limit=limit, offset=offset, **query)

    words = {"Customer": customer.name if customer else "", "Currency": currency or "", "Method": fmt.label(method),
             "Received from": date_from.isoformat() if date_from else "",
             "Received to": date_to.isoformat() if date_to else ""}
    selected = paged_table(TABLE, fetch, COLUMNS, filters={k: v for k, v in words.items() if v}, title="Payments",
                           empty="No payments match these filters.")
    if selected is not None:
        go(payment=selected["id"])


def main() -> None:
    params = st.query_params
    customer_id = st.session_state.pop("payment_customer", None)
    invoice_id = st.session_state.pop("payment_invoice", None)
    if customer_id is not None and context.allowed("payments.write"):
        preselect(customer_id, invoice_id)
        params.from_dict({"record": "1"})
    if "record" in params and context.allowed("payments.write"):
        st.title("Record payment", anchor=False)
        came_from = context.as_id(params.get("invoice", ""))
        record_payment_form(saved=lambda payment_id: go(payment=payment_id),
                            cancel=back_to_list if came_from is None else lambda: open_invoice(came_from))
        return
    payment_id = context.as_id(params.get("payment", ""))
    if payment_id is not None:
        try:
            payment_view(payment_id, back=back_to_list, open_invoice=open_invoice)
        except BillingError as exc:
            st.error(fmt.plain(exc.message), icon=":material/error:")
            if st.button("All payments", icon=":material/arrow_back:"):
                back_to_list()
        return
    payment_list()


main()  # app.py runs every page inside ui.feedback.guarded: no traceback reaches the user
