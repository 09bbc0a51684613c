"""Invoices page: the filtered list, one invoice or credit note with its actions, and the draft editor.

Where the user is lives in the URL: ?invoice=ID opens a document, ?edit=ID (or ?edit=new) the editor.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, NoReturn

import streamlit as st

from billing import invoices, logic
from billing.documents import InvoiceDocument
from billing.errors import BillingError
from billing.money import KNOWN_CURRENCIES
from ui import context
from ui import format as fmt
from ui.context import go
from ui.format import plain
from ui.invoice_editor import invoice_editor
from ui.invoice_view import invoice_view
from ui.tables import Column, clear_selection, paged_table
from ui.widgets import customer_picker

TABLE = "invoices"
EDITOR = "invoice_editor"  # the editor's state (ui.invoice_editor)
COPY_OF = "invoice_copy_of"  # the invoice Duplicate copies, for the editor's next start
ALL = "all"
STATUSES = {ALL: "All", logic.DRAFT: "Drafts", logic.UNPAID: "Unpaid", logic.PARTIALLY_PAID: "Partially paid",
            logic.PAID: "Paid", logic.OVERDUE: "Overdue", logic.CREDITED: "Credited", logic.VOID: "Void",
            logic.CREDIT_NOTE: "Credit notes"}
COLUMNS = [Column("number", "Number", width=125), Column("customer", "Customer", width="medium"),
           Column("issue_date", "Issued", "date"), Column("due_date", "Due", "date"),
           Column("display_status", "Status", "status"), Column("tax_exclusive", "Net", "money"),
           Column("payable", "Total", "money"), Column("balance", "Balance", "money")]


def back_to_list() -> NoReturn:
    clear_selection(TABLE)
    go()


def duplicate(invoice_id: int) -> NoReturn:
    """The editor on an unsaved copy of the invoice: stored at its first change, gone on Cancel."""
    st.session_state.pop(EDITOR, None)
    st.session_state[COPY_OF] = invoice_id
    go(edit="new")


def new_invoice() -> NoReturn:
    st.session_state.pop(EDITOR, None)  # not the draft a previous "new invoice" became
    go(edit="new")


def record_payment(view: InvoiceDocument) -> NoReturn:
    st.session_state["payment_customer"] = view.header.customer_id
    st.session_state["payment_invoice"] = view.id
    st.switch_page("app_pages/payments.py")


def open_payment(payment_id: int) -> NoReturn:
    st.switch_page("app_pages/payments.py", query_params={"payment": str(payment_id)})


def invoice_list() -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.title("Invoices", anchor=False, width="content")
        st.space("stretch")
        if context.allowed("invoices.write") and st.button("New invoice", type="primary", icon=":material/add:"):
            new_invoice()
    editing = (st.session_state.get(EDITOR) or {}).get("target")
    if isinstance(editing, int) and context.allowed("invoices.write"):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info("The draft you were editing is kept.", icon=":material/edit_note:")
            if st.button("Continue editing", icon=":material/edit:", key="inv_continue"):
                go(edit=editing)
    status = st.segmented_control("Status", list(STATUSES), format_func=lambda s: STATUSES[s], key="inv_status",
                                  default=ALL, label_visibility="collapsed") or ALL
    cells = st.columns([1.6, 3.4, 1.2, 2], vertical_alignment="bottom")
    search = cells[0].text_input("Invoice number", key="inv_search", placeholder="INV-2026-…",
                                 icon=":material/search:")
    with cells[1]:
        customer = customer_picker("inv_customer", placeholder="All customers")
    base = context.base_currency()
    currency = cells[2].selectbox("Currency", [base, *sorted(KNOWN_CURRENCIES - {base})], index=None,
                                  key="inv_currency", placeholder="All")
    dates = cells[3].date_input("Issued between", value=[], key="inv_dates", format="YYYY-MM-DD")
    date_from, date_to = (*dates, None, None)[:2] if isinstance(dates, tuple | list) else (dates, None)

    query: dict[str, Any] = {"status": None if status in (ALL, logic.CREDIT_NOTE) else status,
                             "kind": logic.CREDIT_NOTE if status == logic.CREDIT_NOTE else None,
                             "customer_id": customer.id if customer else None, "currency": currency,
                             "date_from": date_from, "date_to": date_to, "search": (search or "").strip()}
    db, actor, today = context.db(), context.actor(), context.today()

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows, total = invoices.list_invoices(db, actor, as_of=today, limit=limit, offset=offset, **query)
        return [{**asdict(row), "number": row.number or "Draft"} for row in rows], total

    words = {"Status": STATUSES[status], "Customer": customer.name if customer else "", "Currency": currency or "",
             "Issued from": fmt.day(date_from), "Issued to": fmt.day(date_to), "Number": query["search"]}
    selected = paged_table(TABLE, fetch, COLUMNS, filters={k: v for k, v in words.items() if v},
                           title="Invoices", empty="No invoices match these filters.")
    if selected is not None:
        go(invoice=selected["id"])


def main() -> None:
    params = st.query_params
    preselect = st.session_state.pop("new_invoice_customer", None)
    copy_of = st.session_state.pop(COPY_OF, None)
    if preselect is not None and context.allowed("invoices.write"):
        st.session_state.pop(EDITOR, None)  # start a fresh draft for that customer
        params.from_dict({"edit": "new"})
    if "edit" in params and context.allowed("invoices.write"):
        target = params["edit"] if params["edit"] == "new" else context.as_id(params["edit"])
        if target is not None:
            st.title("New invoice" if target == "new" else "Edit draft", anchor=False)
            invoice_editor(target, saved=lambda invoice_id: go(invoice=invoice_id),
                           cancel=lambda kept: go(invoice=kept) if kept is not None else back_to_list(),
                           preselect_customer=preselect, copy_of=copy_of)
            return
    invoice_id = context.as_id(params.get("invoice", ""))
    if invoice_id is not None:
        try:
            invoice_view(invoice_id, back=back_to_list, open_invoice=lambda i: go(invoice=i),
                         edit=lambda i: go(edit=i), duplicate=duplicate, pay=record_payment, open_payment=open_payment)
        except BillingError as exc:
            st.error(plain(exc.message), icon=":material/error:")
            if st.button("All invoices", icon=":material/arrow_back:"):
                back_to_list()
        return
    invoice_list()


main()  # app.py runs every page inside ui.feedback.guarded: no traceback reaches the user
