"""Payments on screen: the allocation grid, and one payment with its allocations and actions (apply its
remainder, refund the customer's credit, reverse it). Recording a payment: ui/payment_record.py.

Amounts stay text until the domain parses them: st.number_input (a float) is never used for money.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import streamlit as st

from billing import customers, payments
from billing.money import ZERO, amount_text
from ui import access, context
from ui import format as fmt
from ui.feedback import run_action
from ui.format import plain
from ui.widgets import amount_rows, money_column

_DIALOG = "payment_dialog"  # (action, payment id) of the open confirmation dialog
TITLES = {"payment": "Payment from", "refund": "Refund to", "reversal": "Reversed payment from"}
Allocate = list[tuple[int, str]] | Literal["auto"] | None


# --- allocation table -------------------------------------------------------------------------

def _open_items_frame(items: list[dict[str, Any]], currency: str, prefill: dict[int, str]) -> pd.DataFrame:
    rows = [{"id": int(item["id"]), "Invoice": item["number"], "Issued": fmt.day(item["issue_date"]),
             "Due": fmt.day(item["due_date"]), "Total": fmt.money(item["payable"], currency),
             "Balance": fmt.money(item["balance"], currency), "Allocate": prefill.get(int(item["id"]), "")}
            for item in items]
    return pd.DataFrame(rows, columns=["id", "Invoice", "Issued", "Due", "Total", "Balance", "Allocate"])


def allocation_editor(key: str, items: list[dict[str, Any]], currency: str,
                      prefill: dict[int, str] | None = None) -> pd.DataFrame:
    """Open invoices with an editable "Allocate" text column (amounts in the payment's currency)."""
    return st.data_editor(
        _open_items_frame(items, currency, prefill or {}), key=key, hide_index=True, width="stretch",
        column_order=["Invoice", "Issued", "Due", "Total", "Balance", "Allocate"],
        disabled=["id", "Invoice", "Issued", "Due", "Total", "Balance"],
        column_config={"Total": money_column("Total"), "Balance": money_column("Balance"),
                       "Allocate": st.column_config.TextColumn(f"Allocate ({currency})", alignment="right",
                                                               help="Amount of this payment to put on the invoice")})


def chosen_allocations(edited: pd.DataFrame) -> list[tuple[int, str]]:
    """(invoice id, amount as typed) for every row with an amount."""
    return [(int(row["id"]), str(row["Allocate"]).strip()) for _, row in edited.iterrows()
            if isinstance(row["Allocate"], str) and row["Allocate"].strip()]


def _allocation(mode: str, edited: pd.DataFrame | None) -> Allocate:
    if mode == "auto":
        return "auto"
    if mode == "manual" and edited is not None:
        return chosen_allocations(edited)
    return None


# --- one payment ----------------------------------------------------------------------------------

def close_dialog() -> None:
    st.session_state.pop(_DIALOG, None)


def _done(action: Callable[[], Any], success: str) -> bool:
    results: list[Any] = []
    run_action(lambda: results.append(action()), success)
    if results:
        close_dialog()
        st.rerun()
    return bool(results)


@access.dialog("Refund credit", on_dismiss=close_dialog)
def _refund_dialog(payment: dict[str, Any], credit: Decimal) -> None:
    currency = payment["currency"]
    st.markdown(f"Pay credit back to the customer. They have **{plain(fmt.money(credit, currency))}** of "
                "unallocated credit.")
    if "refund_amount" not in st.session_state:
        st.session_state["refund_amount"] = amount_text(credit, currency)
    amount = st.text_input(f"Amount to refund ({currency})", key="refund_amount")
    method = st.selectbox("Paid back by", payments.PAYMENT_METHODS, key="refund_method", format_func=fmt.label)
    reference = st.text_input("Reference", key="refund_reference")
    yes, no = st.columns(2)
    if yes.button("Refund", type="primary", key="confirm_refund", width="stretch"):
        _done(lambda: payments.refund_credit(context.db(), context.actor(), payment["customer_id"], currency,
                                             amount or "", on=context.today(), method=method or "bank_transfer",
                                             reference=reference or ""), "Refund recorded")
    if no.button("Cancel", key="cancel_refund", width="stretch"):
        close_dialog()
        st.rerun()


@access.dialog("Reverse payment", on_dismiss=close_dialog)
def _reverse_dialog(payment: dict[str, Any]) -> None:
    st.markdown(f"Reverse this payment of **{plain(fmt.money(payment['amount'], payment['currency']))}** "
                "(a bounced transfer, a mistake)? Its allocations are released, so the invoices it paid are open "
                "again. The payment stays on record with a reversal entry.")
    reason = st.text_area("Reason", key="reverse_reason", height=80, placeholder="e.g. transfer bounced")
    yes, no = st.columns(2)
    if yes.button("Reverse payment", type="primary", key="confirm_reverse", width="stretch"):
        _done(lambda: payments.reverse_payment(context.db(), context.actor(), payment["id"], on=context.today(),
                                               reason=reason or ""), "Payment reversed")
    if no.button("Cancel", key="cancel_reverse", width="stretch"):
        close_dialog()
        st.rerun()


def _apply_remainder(payment: dict[str, Any], remainder: Decimal) -> None:
    db, actor, currency = context.db(), context.actor(), payment["currency"]
    items = payments.open_invoices(db, actor, payment["customer_id"], currency)
    if not items:
        st.caption("The customer has no open invoices to apply the remainder to.")
        return
    with st.form(f"apply_{payment['id']}", border=True):
        st.markdown(f"**Apply the remaining {plain(fmt.money(remainder, currency))}** to open invoices")
        mode = st.radio("How", ["auto", "manual"], key="apply_mode", horizontal=True, label_visibility="collapsed",
                        format_func={"auto": "Oldest due first", "manual": "To the invoices below"}.get)
        edited = allocation_editor(f"apply_alloc_{payment['id']}", items, currency)
        if st.form_submit_button("Apply credit", type="primary", icon=":material/playlist_add_check:"):
            allocate = _allocation(mode or "auto", edited)
            if not allocate:
                st.error("Enter an amount for at least one invoice.", icon=":material/error:")
                return
            _done(lambda: payments.allocate_payment(db, actor, payment["id"], allocate, on=context.today()),
                  "Credit applied")


def payment_view(payment_id: int, *, back: Callable[[], None], open_invoice: Callable[[int], None]) -> None:
    """One payment (or refund, or reversal): amounts, allocations, and what can still be done with it."""
    db, actor = context.db(), context.actor()
    payment = payments.get_payment(db, actor, payment_id)
    currency, kind = payment["currency"], payment["kind"]
    customer = customers.get_customer(db, actor, payment["customer_id"])
    allocated = sum((a["amount"] for a in payment["allocations"]), ZERO)
    remainder = payment["amount"] - allocated if kind == "payment" and not payment["reversed"] else ZERO
    credit = payments.customer_credit(db, actor, payment["customer_id"]).get(currency, ZERO)
    if st.button("All payments", icon=":material/arrow_back:", type="tertiary", key="back"):
        back()
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.subheader(f"{TITLES.get(kind, fmt.label(kind))} {plain(customer['name'])}", anchor=False, width="content")
        if payment["reversed"]:
            st.badge("Reversed", icon=":material/undo:", color="red")
        elif remainder > 0:
            st.badge("Unallocated" if allocated == 0 else "Partly allocated", icon=":material/savings:",
                     color="orange")
        elif kind == "payment":
            st.badge("Fully allocated", icon=":material/check:", color="green")
    _actions(payment, remainder, credit)
    with st.container(border=True):
        facts, figures = st.columns([3, 2], gap="large")
        facts.markdown("  \n".join([f"Received on: **{fmt.day(payment['received_on'])}**",
                                    f"Method: **{plain(fmt.label(payment['method']))}**",
                                    f"Reference: **{plain(payment['reference'] or '—')}**",
                                    f"Recorded by {plain(payment['created_by'])}"]))
        with figures:
            rows = [("Amount", fmt.money(payment["amount"], currency), True)]
            if kind == "payment":
                rows += [("Allocated", fmt.money(allocated, currency), False),
                         ("Unallocated", fmt.money(remainder, currency), False)]
            rows.append((f"Customer credit ({currency})", fmt.money(credit, currency), False))
            amount_rows(rows, "payment")
    if payment["allocations"]:
        st.markdown("**Allocated to**")
        with st.container(border=True, gap="xsmall"):
            for item in payment["allocations"]:
                row = st.columns([4, 2, 1], vertical_alignment="center")
                row[0].markdown(plain(item["number"] or "Draft"))
                row[1].markdown(plain(fmt.money(item["amount"], currency)), text_alignment="right")
                if row[2].button("Open", key=f"open_invoice_{item['invoice_id']}", type="tertiary",
                                 icon=":material/open_in_new:"):
                    open_invoice(int(item["invoice_id"]))
    elif kind == "payment":
        st.caption("Not allocated to any invoice.")
    if remainder > 0 and credit > 0 and context.allowed("payments.write"):
        _apply_remainder(payment, min(remainder, credit))


def _actions(payment: dict[str, Any], remainder: Decimal, credit: Decimal) -> None:
    if not context.allowed("payments.write"):
        return
    with st.container(horizontal=True, gap="small"):
        if credit > 0 and st.button("Refund credit…", icon=":material/currency_exchange:", key="refund"):
            st.session_state.pop("refund_amount", None)
            st.session_state[_DIALOG] = ("refund", payment["id"])
        if payment["kind"] == "payment" and not payment["reversed"] and st.button(
                "Reverse…", icon=":material/undo:", key="reverse"):
            st.session_state[_DIALOG] = ("reverse", payment["id"])
    action, payment_id = st.session_state.get(_DIALOG) or ("", 0)
    if payment_id != payment["id"]:
        return
    if action == "refund":
        _refund_dialog(payment, credit)
    elif action == "reverse":
        _reverse_dialog(payment)


def filter_dates(value: Any) -> tuple[date | None, date | None]:
    """A date_input range (empty, one day chosen, or both) as (from, to)."""
    if isinstance(value, tuple | list):
        return (*value, None, None)[:2]
    return value, None
