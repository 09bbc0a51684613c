"""Payment reminders: the levels (days after due, text, late fee), the reminders due, and disputed invoices."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from billing import catalog, invoices, reminders
from ui import context
from ui.feedback import run_action, run_change
from ui.format import plain
from ui.tables import Column, list_fetch, paged_table

db, actor = context.db(), context.actor()
can_write = context.allowed("invoices.write")
can_set_levels = context.allowed("settings.write")


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{value.normalize():f}" if isinstance(value, Decimal) \
        else str(value).strip()


def levels_editor() -> None:
    """The levels as an editable table; saved all at once (the service numbers them by their days)."""
    rates = {f"{rate['name']} ({rate['category']})": int(rate["id"])
             for rate in catalog.list_tax_rates(db, actor) if rate["active"]}
    names = {rate_id: name for name, rate_id in rates.items()}
    current = pd.DataFrame([{"Days after due": level["days_after_due"], "Subject": level["subject"],
                             "Text": level["body"], "Fee amount": _text(level["fee_amount"]),
                             "Fee %": _text(level["fee_percent"]), "Fee VAT": names.get(level["fee_tax_rate_id"])}
                            for level in reminders.list_levels(db, actor)],
                           columns=["Days after due", "Subject", "Text", "Fee amount", "Fee %", "Fee VAT"])
    with st.form("reminder_levels", border=False):
        edited = st.data_editor(
            current.astype({"Subject": "string", "Text": "string", "Fee amount": "string", "Fee %": "string"}),
            num_rows="dynamic", hide_index=True, width="stretch", key="levels_grid",
            column_config={"Days after due": st.column_config.NumberColumn(min_value=1, max_value=365, step=1),
                           "Text": st.column_config.TextColumn(help="Placeholders: {number}, {due_date}, {balance}, "
                                                                    "{currency}, {customer}"),
                           "Fee VAT": st.column_config.SelectboxColumn(options=list(rates))},
            disabled=not can_set_levels)
        clicked = st.form_submit_button("Save levels", type="primary", disabled=not can_set_levels)
    if clicked:
        levels = [{"days_after_due": int(row["Days after due"]) if not pd.isna(row["Days after due"]) else 0,
                   "subject": _text(row["Subject"]), "body": _text(row["Text"]),
                   "fee_amount": _text(row["Fee amount"]) or None, "fee_percent": _text(row["Fee %"]) or None,
                   "fee_tax_rate_id": rates.get(str(row["Fee VAT"]))}
                  for row in edited.to_dict("records") if _text(row["Subject"]) or not pd.isna(row["Days after due"])]
        if run_change(partial(reminders.save_levels, db, actor, levels), "Reminder levels saved."):
            st.rerun()


def disputes() -> None:
    with st.form("dispute", border=False):
        left, right = st.columns([1, 2])
        number = left.text_input("Invoice number", placeholder="e.g. INV-2026-00042")
        reason = right.text_input("Why it is disputed", max_chars=500)
        clicked = st.form_submit_button("Mark disputed (pauses its reminders)")
    if clicked:
        rows, _ = invoices.list_invoices(db, actor, context.today(), search=number.strip(), limit=2)
        found = [row for row in rows if row.number == number.strip()]
        if not number.strip() or not found:
            st.error(f"No invoice numbered '{plain(number.strip())}'.")
        elif run_change(partial(reminders.set_disputed, db, actor, found[0].id, reason, context.today()),
                        f"{number.strip()} is disputed: no reminders until it is cleared."):
            st.rerun()
    with st.form("undispute", border=False):
        number = st.text_input("Invoice number to clear", placeholder="e.g. INV-2026-00042")
        if st.form_submit_button("Clear the dispute (reminders resume)"):
            rows, _ = invoices.list_invoices(db, actor, context.today(), search=number.strip(), limit=2)
            found = [row for row in rows if row.number == number.strip()]
            if not found:
                st.error(f"No invoice numbered '{plain(number.strip())}'.")
            else:
                run_change(partial(reminders.clear_disputed, db, actor, found[0].id), "Dispute cleared.")


st.title("Payment reminders")
st.caption("Never for a paid, credited, void or disputed invoice. `python -m billing run-due` gives the due ones "
           "every day; a late fee is issued as its own invoice.")
tabs = st.tabs(["Due now", "Levels", *(["Disputes"] if can_write else [])])
with tabs[0]:
    due = [{"number": item.number, "customer": item.customer, "due_date": item.due_date, "balance": item.balance,
            "currency": item.currency, "level": item.level}
           for item in reminders.due_reminders(db, actor, context.today())]
    paged_table("due_reminders", list_fetch(due),
                [Column("number", "Invoice"), Column("customer", "Customer", width="medium"),
                 Column("due_date", "Due", "date"), Column("balance", "Balance", "money"),
                 Column("level", "Level", "number")],
                title="Reminders due", selectable=False, empty="No reminders are due.")
    if can_write and due and st.button("Give the due reminders now", icon=":material/send:"):
        report = run_action(partial(reminders.send_reminders, db, actor, context.today()))
        if report is not None:
            st.success(f"{len(report.given)} reminders given, {len(report.fee_invoices)} late fee invoices issued.")
with tabs[1]:
    if not can_set_levels:
        st.caption("Only an administrator changes the levels.")
    levels_editor()
if can_write:
    with tabs[2]:
        disputes()
