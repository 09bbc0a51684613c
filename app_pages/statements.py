"""Customer statement for a period: opening balance, entries with a running balance, closing balance; PDF."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from billing import customers, exports, reports
from billing.errors import BillingError
from billing.money import KNOWN_CURRENCIES, ZERO
from billing.reports import Statement
from billing.statement_pdf import KINDS, statement_pdf, statement_totals
from ui import context, report_filters
from ui import format as fmt
from ui.feedback import guarded
from ui.send_mail import statement_send_button
from ui.tables import Column, list_fetch, paged_table

PICKER = "stmt:customer"
COLUMNS = [Column("date", "Date", "date"), Column("kind_label", "Type", width="small"),
           Column("number", "Number", width="medium"), Column("description", "Description", width="medium"),
           Column("debit", "Debit", "money", help="Invoices: what the customer was billed"),
           Column("credit", "Credit", "money", help="Payments and credit notes"),
           Column("balance", "Balance", "money", help="Running balance: what the customer owed after this entry")]


def choose() -> tuple[tuple[int, str, str] | None, str, report_filters.Chosen]:
    """Customer, currency and period; the customer and period travel in the URL like the report filters."""
    pick, find, currency_cell, period_cell = st.columns([2, 1.2, 1.3, 1.3], vertical_alignment="bottom")
    customer = customer_input(pick, find)
    if customer is not None:
        report_filters.remember("customer", (customer[0],), ())
    default = customer[2] if customer else context.base_currency()
    _, wanted = report_filters.bound("currency", ())
    key = f"stmt:currency:{default}"  # another customer starts from their own currency
    currency = st.session_state.get(key, wanted[0] if wanted else default)
    options = list(dict.fromkeys([default, context.base_currency(), *sorted(KNOWN_CURRENCIES)]))
    currency = currency_cell.selectbox("Currency", options, index=options.index(currency), key=key)
    report_filters.remember("currency", (currency,) if currency != default else (), ())
    chosen = report_filters.filter_bar(("period",), cells=[period_cell])
    return customer, currency, chosen


def customer_input(pick: Any, find: Any) -> tuple[int, str, str] | None:
    """One customer: a select box narrowed by a search box (there may be 100k); it starts from the shared
    customer filter, so a statement can be bookmarked and a customer chosen on another report carries over."""
    _, shared = report_filters.bound("customer", ())
    db, actor = context.db(), context.actor()
    current = st.session_state.get(PICKER, shared[0] if shared else None)
    if shared and shared[0] != current and report_filters.from_link("customer"):
        current = shared[0]
        report_filters.set_widget(PICKER, current)
    text = find.text_input("Find a customer", key="stmt:search", placeholder="Name contains…",
                           icon=":material/search:", label_visibility="collapsed")
    found = {cid: (cid, name, code) for cid, name, code in customers.customer_options(db, actor, text or "")}
    if current is not None and current not in found:
        try:
            row = customers.get_customer(db, actor, int(current))
            found = {int(current): (int(current), str(row["name"]), str(row["currency"])), **found}
        except BillingError:
            current = None
    options = list(found)
    chosen = pick.selectbox("Customer", options, key=PICKER, placeholder="Choose a customer",
                            index=report_filters.initial(PICKER, options.index(current) if current in found else None),
                            format_func=lambda cid: f"{found[cid][1]} · {found[cid][2]}" if cid in found else str(cid))
    return found.get(chosen) if chosen is not None else None


def entry_rows(statement: Statement) -> list[dict[str, Any]]:
    """The opening balance, the entries and the closing balance as table rows (all exported)."""
    currency = statement.currency
    rows = [{"date": statement.date_from, "kind_label": "", "number": "", "description": "Opening balance",
             "debit": None, "credit": None, "balance": statement.opening_balance, "currency": currency}]
    for row in report_filters.frame_rows(statement.entries):
        kind = str(row.get("kind") or "")
        rows.append({**row, "kind_label": KINDS.get(kind, fmt.label(kind)), "currency": currency,
                     "debit": row.get("debit") or None, "credit": row.get("credit") or None})
    rows.append({"date": statement.date_to, "kind_label": "", "number": "", "description": "Closing balance",
                 "debit": None, "credit": None, "balance": statement.closing_balance, "currency": currency})
    return rows


def show(statement: Statement, words: dict[str, str], today: date) -> None:
    currency = statement.currency
    debit, credit = statement_totals(statement)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        for label, amount in (("Opening balance", statement.opening_balance), ("Invoiced", debit),
                              ("Paid and credited", credit), ("Closing balance", statement.closing_balance)):
            st.metric(label, fmt.money(amount, currency), border=True)
    for note in statement.notes:
        st.caption(fmt.plain(note))
    company = context.company()
    name = str(statement.customer.get("name") or "customer")
    db, actor = context.db(), context.actor()  # the file is made on click, outside this run: checked then
    st.download_button("Statement PDF",
                       lambda: exports.export_rows(db, actor, lambda: statement_pdf(statement, company, today=today)),
                       file_name=f"statement-{statement.customer.get('id', '')}-{currency}-{statement.date_to}.pdf",
                       mime="application/pdf", type="primary", icon=":material/picture_as_pdf:", on_click="rerun",
                       key="stmt:pdf", help=f"The statement for {fmt.plain(name)} as a document to send.")
    statement_send_button(statement)
    paged_table("stmt:entries", list_fetch(entry_rows(statement)), COLUMNS, filters=words, selectable=False,
                page_size=100, visible_rows=20,
                title=f"Statement {name} {currency} {statement.date_from} to {statement.date_to}",
                totals=("debit", "credit"), empty="No entries in this period.")


def main() -> None:
    st.title("Customer statement", anchor=False)
    st.caption("Everything billed and paid in a period, with the balance after each entry.")
    customer, currency, chosen = choose()
    if customer is None:
        st.info("Choose a customer to see their statement.", icon=":material/person_search:")
        return
    statement = reports.customer_statement(context.db(), context.actor(), customer[0], currency, chosen.date_from,
                                           chosen.date_to)
    words = {"Customer": customer[1], "Currency": currency, **chosen.words()}
    if not len(statement.entries) and statement.opening_balance == ZERO:
        st.info(f"No {currency} entries for {fmt.plain(customer[1])} in this period, and nothing owed before it.",
                icon=":material/search_off:")
        return
    show(statement, words, context.today())


with guarded():
    main()
