"""Customers: find, create and import them; one customer's balance, credit, documents and activity."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

import streamlit as st

from billing import customer_overview, customers, i18n, logic, payments
from billing.bank_accounts import format_iban
from billing.i18n import DEFAULT_LANGUAGE
from billing.invoices import list_invoices
from billing.money import KNOWN_CURRENCIES, ZERO
from ui import access, context, customer_panels, party_form
from ui import format as fmt
from ui.einvoice_download import einvoice_format_input
from ui.feedback import run_action, run_change
from ui.tables import Column, clear_selection, csv_import, paged_table

db, actor, today = context.db(), context.actor(), context.today()
can_write = context.allowed("customers.write")
COMMON = [context.base_currency(), "EUR", "USD", "GBP", "CHF", "JPY"]
CURRENCIES = list(dict.fromkeys([*COMMON, *sorted(KNOWN_CURRENCIES)]))
TEMPLATE = ("name,email,address,country,tax_id,currency,terms_days,notes,language\n"
            "Example Ltd,ap@example.com,,GB,,GBP,30,,en\n")
LANGUAGES = list(i18n.LANGUAGES)


def customer_form(key: str, current: dict[str, Any], submit: str, disabled: bool = False) -> dict[str, Any] | None:
    """Every CustomerIn field; returns what was entered when the form is submitted (read-only if disabled)."""
    with st.container() if disabled else st.form(key, border=False):
        left, right = st.columns(2)
        values = {
            "name": left.text_input("Name *", current.get("name", ""), max_chars=200, disabled=disabled),
            "email": right.text_input("Billing email", current.get("email", ""), max_chars=200, disabled=disabled),
            "currency": left.selectbox("Currency", CURRENCIES, CURRENCIES.index(current.get("currency", COMMON[0])),
                                       format_func=fmt.currency, disabled=disabled),
            "terms_days": right.number_input("Payment terms (days)", 0, 365, int(current.get("terms_days", 30)),
                                             disabled=disabled),
            "einvoice_format": einvoice_format_input(current.get("einvoice_format", ""), disabled),
            "language": left.selectbox("Language of documents", LANGUAGES,
                                       LANGUAGES.index(current.get("language") or DEFAULT_LANGUAGE),
                                       format_func=i18n.LANGUAGES.__getitem__, disabled=disabled,
                                       help="Invoices, credit notes, statements and e-mails to this customer are "
                                            "written in this language, amounts and dates as its country writes them."),
        }
        st.markdown("**Address**")
        values |= party_form.address_fields(current, current.get("country", ""), disabled=disabled)
        st.markdown("**Identifiers**")
        values |= party_form.identifier_fields(current, seller=False, disabled=disabled)
        values["iban"] = st.text_input("IBAN for SEPA direct debit", format_iban(current.get("iban") or ""),
                                       max_chars=50, disabled=disabled,
                                       help="The account the customer's direct debit mandate lets you debit (BT-91): "
                                            "needed for invoices paid by direct debit.")
        values["notes"] = st.text_area("Internal notes", current.get("notes", ""), max_chars=4000, height=80,
                                       disabled=disabled)
        clicked = not disabled and st.form_submit_button(submit, type="primary", icon=":material/save:")
    return values if clicked else None


def open_customer(customer_id: int | None) -> None:
    if customer_id is None:
        st.query_params.pop("customer", None)
    else:
        st.query_params["customer"] = str(customer_id)
    clear_selection("customers")
    st.rerun()


def ask(action: str | None) -> None:
    """Remember which action awaits confirmation: the dialog stays open across reruns until answered."""
    st.session_state["customers:confirm"] = action


@access.dialog("Please confirm", on_dismiss=lambda: ask(None))
def confirm(customer: dict[str, Any], action: str) -> None:
    texts = {"archive": "It disappears from lists and pickers; its invoices and payments stay. You can undo this.",
             "unarchive": "It shows in lists and pickers again and can be invoiced.",
             "delete": "This cannot be undone. Customers with invoices or payments cannot be deleted: archive them."}
    st.write(f"**{action.capitalize()}** {fmt.plain(customer['name'])}?")
    st.caption(texts[action])
    calls = {"archive": lambda: customers.set_archived(db, actor, customer["id"], True),
             "unarchive": lambda: customers.set_archived(db, actor, customer["id"], False),
             "delete": lambda: customers.delete_customer(db, actor, customer["id"])}
    with st.container(horizontal=True):
        confirmed = st.button(action.capitalize(), type="primary", key="customers:confirmed")
        if st.button("Cancel", key="customers:cancel"):
            ask(None)
            st.rerun()
    if confirmed and run_change(calls[action], f"{customer['name']}: {action}d."):
        ask(None)
        open_customer(None if action == "delete" else customer["id"])


def balance_panel(customer: dict[str, Any]) -> None:
    balances = {b.currency: b for b in customer_overview.open_balances(db, actor, customer["id"], today)}
    credit = payments.customer_credit(db, actor, customer["id"]) if context.allowed("payments.read") else {}
    for currency in sorted({customer["currency"], *balances, *credit}):
        balance = balances.get(currency)
        cells = st.columns(3)
        cells[0].metric(f"Outstanding ({currency})", fmt.money(balance.outstanding if balance else ZERO, currency),
                        help=f"{balance.open_count if balance else 0} open invoice(s)", border=True)
        cells[1].metric(f"Overdue ({currency})", fmt.money(balance.overdue if balance else ZERO, currency),
                        help=f"{balance.overdue_count if balance else 0} invoice(s) past their due date", border=True)
        cells[2].metric(f"Credit ({currency})", fmt.money(credit.get(currency, ZERO), currency), border=True,
                        help="Money received and not yet put against an invoice")


def customer_view(customer_id: int) -> None:
    if st.button("All customers", icon=":material/arrow_back:", type="tertiary"):
        open_customer(None)
    customer = run_action(lambda: customers.get_customer(db, actor, customer_id))
    if customer is None:
        return
    cid, archived = customer["id"], customer["archived"]
    st.title(fmt.plain(customer["name"]))
    facts = [customer["email"], fmt.country(customer["country"]), customer["tax_id"] and f"VAT {customer['tax_id']}",
             customer["tax_registration"] and f"Tax no. {customer['tax_registration']}",
             f"Bills in {customer['currency']}", f"Net {customer['terms_days']} days",
             f"Documents in {i18n.LANGUAGES.get(customer.get('language') or '', 'English')}", archived and "Archived"]
    st.caption(" · ".join(fmt.plain(f) for f in facts if f))
    with st.container(horizontal=True):
        if context.allowed("invoices.write") and not archived and st.button(
                "New invoice", type="primary", icon=":material/post_add:"):
            st.session_state["new_invoice_customer"] = cid
            st.switch_page("app_pages/invoices.py")
        if context.allowed("payments.write") and st.button("Record payment", icon=":material/payments:"):
            st.session_state["payment_customer"] = cid
            st.switch_page("app_pages/payments.py")
        if can_write:
            label = "Unarchive" if archived else "Archive"
            st.button(label, icon=":material/unarchive:" if archived else ":material/archive:", on_click=ask,
                      args=(label.lower(),))
            st.button("Delete", icon=":material/delete:", on_click=ask, args=("delete",))
    if can_write and st.session_state.get("customers:confirm"):
        confirm(customer, st.session_state["customers:confirm"])
    balance_panel(customer)
    tabs = st.tabs(["Open invoices", "Payments", "Activity", "Profile"])
    with tabs[0]:
        st.caption("Select an invoice to open it.")
        def open_invoices(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
            rows, total = list_invoices(db, actor, today, customer_id=cid, status=logic.OPEN, limit=limit,
                                        offset=offset)
            return [asdict(row) for row in rows], total

        chosen_invoice = paged_table(f"c{cid}:open", open_invoices,
                    [Column("number", "Invoice"), Column("issue_date", "Issued", "date"),
                     Column("due_date", "Due", "date"), Column("display_status", "Status", "status"),
                     Column("payable", "Total", "money"), Column("paid_amount", "Paid", "money"),
                     Column("credited_amount", "Credited", "money"), Column("balance", "Balance", "money")],
                    page_size=20, title=f"Open invoices {customer['name']}",
                    totals=("payable", "paid_amount", "credited_amount", "balance"),
                    filters={"Customer": customer["name"]}, empty="No open invoices.")
        if chosen_invoice is not None:
            st.switch_page("app_pages/invoices.py", query_params={"invoice": str(chosen_invoice["id"])})
    with tabs[1]:
        its_payments = functools.partial(payments.list_payments, db, actor, customer_id=cid)
        chosen_payment = paged_table(f"c{cid}:payments", lambda n, o: its_payments(limit=n, offset=o),
                    [Column("received_on", "Received", "date"), Column("kind", "Kind", "label"),
                     Column("method", "Method", "label"), Column("reference", "Reference"),
                     Column("amount", "Amount", "money"), Column("unallocated", "Unallocated", "money")],
                    page_size=20, title=f"Payments {customer['name']}",
                    filters={"Customer": customer["name"]}, empty="No payments yet.")
        if chosen_payment is not None:
            st.switch_page("app_pages/payments.py", query_params={"payment": str(chosen_payment["id"])})
    with tabs[2]:
        activity(customer)
    with tabs[3]:
        customer_panels.learned_ibans(db, actor, cid, can_write)
        values = customer_form(f"edit{cid}", customer, "Save changes", disabled=not can_write)
        if values is not None and run_change(functools.partial(customers.update_customer, db, actor, cid, values),
                                             "Customer saved."):
            st.rerun()


def activity(customer: dict[str, Any]) -> None:
    cid = customer["id"]
    views = ["Documents", "Audit trail"] if context.allowed("audit.read") else ["Documents"]
    view = st.segmented_control("Show", views, default="Documents", key=f"c{cid}:activity",
                                label_visibility="collapsed") if len(views) > 1 else "Documents"
    if view == "Audit trail":
        paged_table(f"c{cid}:audit", lambda n, o: customer_overview.audit_trail(db, actor, cid, n, o),
                    [Column("occurred_at", "When (UTC)", "datetime"), Column("actor", "By"),
                     Column("action", "Action"), Column("entity", "Record", "label"), Column("entity_id", "Id")],
                    page_size=20, selectable=False, title=f"Audit trail {customer['name']}",
                    empty="No audit events for this customer yet.")
        return
    paged_table(f"c{cid}:timeline", lambda n, o: customer_overview.documents_timeline(db, actor, cid, n, o),
                [Column("on", "Date", "date"), Column("kind", "Document", "label"),
                 Column("reference", "Number / reference"), Column("detail", "Status / method", "label"),
                 Column("amount", "Amount", "money")],
                page_size=20, selectable=False, title=f"Activity {customer['name']}", empty="Nothing yet.")


def customer_list() -> None:
    st.title("Customers")
    tabs = st.tabs(["All customers", "New customer", "Import CSV"] if can_write else ["All customers"])
    with tabs[0], st.container(horizontal=True, vertical_alignment="bottom"):
        text = st.text_input("Search", placeholder="Name, email or tax ID", icon=":material/search:",
                             key="customers:search", width=360)
        currency = st.selectbox("Currency", [None, *CURRENCIES], key="customers:currency", width=220,
                                format_func=lambda c: fmt.currency(c) if c else "All currencies")
        archived = st.toggle("Include archived", key="customers:archived")
    with tabs[0]:
        customer_panels.incomplete_addresses(db, actor)
        filters = {k: v for k, v in {"Search": text.strip(), "Currency": currency or "",
                                     "Archived": "included" if archived else ""}.items() if v}
        def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
            rows, total = customers.search_customers(db, actor, text, include_archived=archived, currency=currency,
                                                     limit=limit, offset=offset)
            return (customer_overview.with_balances(db, actor, rows) if show_balance else rows), total

        show_balance = context.allowed("invoices.read")
        balance_columns = [Column("balance", "Balance", "money", width="small",
                                  help="What the customer's open invoices in its own currency still owe"),
                           Column("other_balances", "Open in other currencies", width="small")] if show_balance else []
        chosen = paged_table("customers", fetch,
            [Column("name", "Name", width="large"), Column("email", "Email", width="medium"),
             Column("country", "Country", "country"), Column("currency", "Currency", width="small"),
             *balance_columns, Column("terms_days", "Terms (days)", "number", width="small"),
             *([Column("archived", "Archived", "bool", width="small")] if archived else [])],
            filters=filters, title="Customers", empty="No customers match. Clear the search or add a customer.")
        st.caption("Select a row to open the customer.")
        if chosen is not None:
            open_customer(int(chosen["id"]))
    if can_write:
        with tabs[1]:
            nonce = st.session_state.get("customers:new", 0)
            values = customer_form(f"new_customer{nonce}", {}, "Create customer")
            new_id = values and run_action(lambda: customers.create_customer(db, actor, values),
                                           f"Customer {values['name']} created.")
            if new_id:
                st.session_state["customers:new"] = nonce + 1
                open_customer(new_id)
        with tabs[2]:
            st.caption("Columns: name (required), email, street, additional_line, postcode, city, subdivision "
                       "(or address as one text, split where that is sure), country (two letters), tax_id (VAT ID, "
                       "checked), tax_registration, legal_id, electronic_address, electronic_scheme, currency (ISO "
                       "code, default EUR), terms_days (default 30), notes, language (en, de, fr, es, it, nl, pl; "
                       "default en). All rows are imported or none.")
            if csv_import("customers", "customers:import", TEMPLATE):
                st.rerun()


raw_id = st.query_params.get("customer", "")
if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 19:  # an id fits a BIGINT
    customer_view(int(raw_id))
else:
    if raw_id:
        st.warning("That customer link is not valid.", icon=":material/link_off:")
    customer_list()
