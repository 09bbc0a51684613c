"""Quotes: draft, send by e-mail, accepted or declined by the customer (also through the quote's link), converted
into an invoice; the quote's PDF and what was sent."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from billing import quotes
from billing.document_links import QUOTE
from billing.money import format_money
from ui import context
from ui.feedback import run_change
from ui.format import plain
from ui.lines_input import lines_input
from ui.send_mail import document_mail_history, send_quote_dialog
from ui.tables import Column, list_fetch, paged_table, row_actions
from ui.widgets import customer_picker

db, actor = context.db(), context.actor()
can_write = context.allowed("invoices.write")
STATUS_NAMES = {"": "All", **{status: status.capitalize() for status in quotes.STATUSES}}
_SEND_DIALOG = "quote_send_dialog"  # the id of the quote whose Send dialog is open


def close_send_dialog() -> None:
    st.session_state.pop(_SEND_DIALOG, None)


def actions_of(quote: quotes.Quote) -> list[tuple[str, Callable[[], object]]]:
    """The buttons a quote in its status offers (to a user who may write)."""
    today = context.today()
    found: dict[str, list[tuple[str, Callable[[], object]]]] = {
        quotes.SENT: [("Mark accepted", partial(quotes.accept_quote, db, actor, quote.id, today)),
                      ("Mark declined", partial(quotes.decline_quote, db, actor, quote.id, today)),
                      ("Convert to invoice", partial(quotes.convert_quote, db, actor, quote.id))],
        quotes.ACCEPTED: [("Convert to invoice", partial(quotes.convert_quote, db, actor, quote.id))],
    }
    return found.get(quote.status, [])


def decision(quote: quotes.Quote) -> str:
    """Who accepted or declined the quote and when ('' while undecided)."""
    if quote.decided_on is None or quote.status not in (quotes.ACCEPTED, quotes.DECLINED, quotes.CONVERTED):
        return ""
    who = "the customer through its link" if (quote.decided_by or "").startswith("customer via link") else (
        quote.decided_by or "a user")
    verb = "declined" if quote.status == quotes.DECLINED else "accepted"
    return f" · {verb} by {who} on {quote.decided_on}"


def quote_panel(quote_id: int) -> None:
    quote = quotes.get_quote(db, actor, quote_id)
    with st.container(border=True):
        st.subheader(plain(quote.number or f"Draft quote {quote.id}"))
        st.caption(plain(f"{quote.customer} · {quote.status} · dated {quote.quote_date or '-'} · valid until "
                         f"{quote.valid_until or '30 days after sending'}{decision(quote)}"
                         + (f" · invoice id {quote.invoice_id}" if quote.invoice_id else "")))
        st.dataframe([{"Description": line.description, "Quantity": f"{line.quantity.normalize():f}",
                       "Unit price": f"{line.unit_price.normalize():f}", "VAT %": f"{line.vat_rate.normalize():f}",
                       "Net": format_money(line.net_amount, quote.currency)} for line in quote.lines],
                     hide_index=True)
        st.write(f"Net {format_money(quote.totals.tax_exclusive, quote.currency)} · VAT "
                 f"{format_money(quote.totals.tax_total, quote.currency)} · **Total "
                 f"{format_money(quote.totals.payable, quote.currency)}**")
        buttons = st.container(horizontal=True)
        if can_write and quote.status in (quotes.DRAFT, quotes.SENT):
            label = "Send…" if quote.status == quotes.DRAFT else "Send again…"
            if buttons.button(label, type="primary", icon=":material/forward_to_inbox:", key="quote_send"):
                st.session_state[_SEND_DIALOG] = quote.id
        if can_write:
            row_actions(buttons, actions_of(quote), "quotes")
        # Made on click by a call that checks the session and role then (as an invoice's PDF): a tab left open
        # after its user lost access gets no file, and showing the quote renders no PDF.
        buttons.download_button("Download PDF", partial(quotes.quote_pdf, db, actor, quote.id),
                                file_name=f"{quote.number or f'quote-{quote.id}'}.pdf", mime="application/pdf",
                                icon=":material/download:", on_click="rerun", key="quote_pdf")
        document_mail_history(quote.id, QUOTE)
    if st.session_state.get(_SEND_DIALOG) == quote.id:
        send_quote_dialog(quote.id, close_send_dialog)


def new_quote() -> None:
    customer = customer_picker("quote_customer")
    with st.form("new_quote", border=False):
        left, right = st.columns(2)
        quote_date = left.date_input("Quote date (empty: the day it is sent)", value=None, format="YYYY-MM-DD")
        valid_until = right.date_input("Valid until (empty: 30 days after sending)", value=None, format="YYYY-MM-DD")
        notes = st.text_area("Notes", max_chars=4000)
        lines = lines_input("quote_lines")
        clicked = st.form_submit_button("Save draft quote", type="primary", icon=":material/save:")
    if not clicked:
        return
    if customer is None:
        st.error("Choose the customer first.")
        return
    data = {"customer_id": customer.id, "issue_date": quote_date, "valid_until": valid_until, "notes": notes,
            "lines": lines}
    if run_change(partial(quotes.create_quote, db, actor, data), "Draft quote saved."):
        st.rerun()


st.title("Quotes")
tabs = st.tabs(["Quotes", *(["New quote"] if can_write else [])])
with tabs[0]:
    status = st.segmented_control("Status", list(STATUS_NAMES), format_func=STATUS_NAMES.__getitem__, default="")
    rows = [{**row, "number": row["number"] or f"draft {row['id']}"}
            for row in quotes.list_quotes(db, actor, status or None)]
    chosen = paged_table(
        "quotes", list_fetch(rows),
        [Column("number", "Number"), Column("customer", "Customer", width="medium"), Column("status", "Status"),
         Column("quote_date", "Date", "date"), Column("valid_until", "Valid until", "date"),
         Column("payable", "Total", "money")],
        filters={"Status": STATUS_NAMES[status or ""]}, title="Quotes",
        empty="No quotes." + (" Make one in 'New quote'." if can_write else ""))
    if chosen is not None:
        quote_panel(int(chosen["id"]))
if can_write:
    with tabs[1]:
        new_quote()
