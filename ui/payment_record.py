"""Recording a payment: the customer, the amount, and where it goes, shown as it is typed.

The common case needs no grid: the amount pays the open invoices in order (the invoice the user came
from first, then oldest due), the list shows what each invoice gets, and unticking an invoice leaves it
out. Amounts by hand (a grid) and "all as credit" are the other choices. The chosen customer and the
invoice the user came from live in the URL, so a reload keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import streamlit as st

from billing import logic, payments
from billing.errors import BillingError, ChangedMeanwhileError
from billing.money import ZERO, amount_text, parse_money
from ui import context
from ui import format as fmt
from ui.feedback import flash, show_refusal, show_unexpected
from ui.format import plain
from ui.payment_forms import Allocate, allocation_editor, chosen_allocations
from ui.widgets import customer_picker

_SHOWN = "pay_shown"  # (customer id, currency, open invoices) the form showed last
_PENDING = "pay_pending"  # a payment refused because its invoices changed meanwhile, awaiting a confirmation
_SUBMIT = "pay_submit"  # the record button: True in the run that takes the click
Replan = tuple[set[int], int | None] | None  # an automatic allocation's left-out invoices and first invoice
ROWS_SHOWN = 12  # open invoices listed before "Show all"
ALLOCATION_MODES = {"auto": "Oldest due first", "manual": "Amounts by hand", "none": "Keep it all as credit"}


def preselect(customer_id: int | None, invoice_id: int | None) -> None:
    """Start the form afresh for a customer (and one of their invoices, its balance as the amount)."""
    for key in [k for k in st.session_state if str(k).startswith("pay_")]:
        del st.session_state[key]
    if customer_id is not None:
        st.session_state["pay_customer"] = int(customer_id)
    st.session_state["pay_for_invoice"] = invoice_id


def restore_from_url() -> None:
    """After a reload (fresh session state), take the customer and invoice the URL names."""
    params = st.query_params
    if "pay_customer" not in st.session_state and context.as_id(params.get("customer", "")) is not None:
        preselect(context.as_id(params.get("customer", "")), context.as_id(params.get("invoice", "")))


def _keep_in_url(customer_id: int | None) -> None:
    params = st.query_params
    wanted = {"record": "1"}
    if customer_id is not None:
        wanted["customer"] = str(customer_id)
        invoice_id = st.session_state.get("pay_for_invoice")
        if invoice_id is not None:
            wanted["invoice"] = str(invoice_id)
    if dict(params) != wanted:
        params.from_dict(wanted)


def _typed_amount(text: str, currency: str) -> Decimal | None:
    """The amount as typed, or None (with the reason shown) while it is not an amount."""
    if not text.strip():
        return None
    try:
        amount = parse_money(text, currency)
    except BillingError as exc:
        st.error(plain(exc.message), icon=":material/error:")
        return None
    if amount <= 0:
        st.error("The amount must be greater than zero.", icon=":material/error:")
        return None
    return amount


def _auto_plan(items: list[dict[str, Any]], amount: Decimal | None, first: int | None,
               currency: str) -> list[tuple[int, Decimal]]:
    """Each ticked invoice's share of the amount, in the order the list shows, and the list itself."""
    ordered = sorted(items, key=lambda i: (int(i["id"]) != first, i["due_date"], int(i["id"])))
    show_all = st.session_state.get("pay_show_all", False) or len(ordered) <= ROWS_SHOWN
    shown = ordered if show_all else ordered[:ROWS_SHOWN]
    included = [(int(i["id"]), i["due_date"], Decimal(i["balance"])) for i in ordered
                if st.session_state.get(f"pay_use_{i['id']}", True)]
    plan = logic.allocate_oldest_first(amount, included, first) if amount else []
    share = dict(plan)
    with st.container(border=True, gap="xsmall"):
        head = st.columns([0.5, 2.2, 1.6, 1.8, 1.8], vertical_alignment="center")
        for cell, title in zip(head[1:], ("Invoice", "Due", "Balance", "This payment"), strict=True):
            cell.caption(title)
        for item in shown:
            invoice_id = int(item["id"])
            row = st.columns([0.5, 2.2, 1.6, 1.8, 1.8], vertical_alignment="center")
            row[0].checkbox("Pay", key=f"pay_use_{invoice_id}", value=True, label_visibility="collapsed",
                            help="Untick to leave this invoice out")
            overdue = item["due_date"] < context.today()
            row[1].markdown(plain(item["number"]) + (" · :orange[overdue]" if overdue else ""))
            row[2].markdown(fmt.day(item["due_date"]))
            row[3].markdown(plain(fmt.money(item["balance"], currency)), text_alignment="right")
            paid = share.get(invoice_id)
            in_full = paid is not None and paid == Decimal(item["balance"])
            text = "—" if paid is None else f"**{plain(fmt.money(paid, currency))}**" + ("" if in_full else " (part)")
            row[4].markdown(text, text_alignment="right")
        if not show_all:
            st.button(f"Show all {len(ordered)} open invoices", key="pay_show_all_button", type="tertiary",
                      on_click=lambda: st.session_state.update(pay_show_all=True))
    return plan


def _summary(plan: list[tuple[int, Decimal]], amount: Decimal | None, items: list[dict[str, Any]],
             currency: str) -> None:
    if amount is None:
        st.caption("Type the amount received: the list shows which invoices it pays.")
        return
    balances = {int(i["id"]): Decimal(i["balance"]) for i in items}
    full = sum(1 for invoice_id, paid in plan if paid == balances[invoice_id])
    part = len(plan) - full
    used = sum((paid for _, paid in plan), ZERO)
    if full:
        text = f"pays {full} invoice{'' if full == 1 else 's'} in full" + (f" and {part} in part" if part else "")
    else:
        text = f"pays {part} invoice{'' if part == 1 else 's'} in part" if part else "pays no invoice"
    left = amount - used
    credit = f"; {plain(fmt.money(left, currency))} stays as credit for the customer" if left > 0 else ""
    st.markdown(f"This payment {text}{credit}.")


def record_payment_form(saved: Callable[[int], None], cancel: Callable[[], None]) -> None:
    """Customer first (their open invoices and currency follow), then the payment and where it goes."""
    db, actor, today = context.db(), context.actor(), context.today()
    restore_from_url()
    customer = customer_picker("pay_customer", label="Received from")
    _keep_in_url(customer.id if customer else None)
    if customer is None:
        st.info("Choose the customer who paid to see their open invoices.", icon=":material/person_search:")
        if st.button("Cancel", key="pay_cancel_empty"):
            cancel()
        return
    customer_id, name, currency = customer.id, customer.name, customer.currency
    shown = st.session_state.get(_SHOWN)
    shown_items: list[dict[str, Any]] | None = shown[2] if shown and shown[:2] == (customer_id, currency) else None
    # The run that takes the click lays the form out over the invoices the user allocated against (a grid
    # keeps its edits by row, so a list that changed meanwhile would move them); the domain then compares
    # those with the invoices as they are now.
    submitting = bool(st.session_state.get(_SUBMIT))
    items = shown_items if submitting and shown_items is not None else \
        payments.open_invoices(db, actor, customer_id, currency)
    st.session_state[_SHOWN] = (customer_id, currency, items)
    first = st.session_state.get("pay_for_invoice")
    first = first if any(int(i["id"]) == first for i in items) else None
    if first is not None and "pay_amount" not in st.session_state:
        st.session_state["pay_amount"] = next(amount_text(i["balance"], currency) for i in items if i["id"] == first)
    credit = payments.customer_credit(db, actor, customer_id).get(currency, ZERO)
    open_total = sum((Decimal(i["balance"]) for i in items), ZERO)
    st.caption(f"{len(items)} open invoice{'' if len(items) == 1 else 's'}, "
               f"{plain(fmt.money(open_total, currency))} outstanding"
               + (f" · {plain(fmt.money(credit, currency))} unallocated credit" if credit else ""))

    cells = st.columns([1.4, 1.4, 1.6, 2.6])
    text = cells[0].text_input(f"Amount ({currency})", key="pay_amount", placeholder="0.00")
    received = cells[1].date_input("Received on", value=today, key="pay_date", format="YYYY-MM-DD")
    method = cells[2].selectbox("Method", payments.PAYMENT_METHODS, key="pay_method", format_func=fmt.label)
    reference = cells[3].text_input("Reference", key="pay_reference", placeholder="Bank reference, cheque no.")
    amount = _typed_amount(text or "", currency)
    labels = dict(ALLOCATION_MODES, auto="This invoice first, then oldest due" if first else ALLOCATION_MODES["auto"])
    mode = st.radio("Allocate the payment", list(ALLOCATION_MODES), key="pay_mode", horizontal=True,
                    format_func=labels.get, index=0 if items else 2, disabled=not items)
    allocate: Allocate = None
    if not items:
        st.caption("No open invoices: the payment becomes credit for this customer.")
    elif mode == "auto":
        plan = _auto_plan(items, amount, first, currency)
        _summary(plan, amount, items, currency)
        allocate = [(invoice_id, str(paid)) for invoice_id, paid in plan]
    elif mode == "manual":
        edited = allocation_editor(f"pay_alloc_{customer_id}", items, currency)
        st.caption("Type the amount for each invoice in the Allocate column. What is not allocated stays "
                   "as credit for the customer.")
        allocate = chosen_allocations(edited)
    else:
        st.caption("The whole amount stays as credit, to allocate or refund later.")
    with st.container(horizontal=True):
        submitted = st.button("Record payment", type="primary", icon=":material/check:", key=_SUBMIT)
        cancelled = st.button("Cancel", key="pay_cancel")
    if cancelled:
        st.session_state.pop(_PENDING, None)
        cancel()
    if submitted:
        data = {"customer_id": customer_id, "amount": text or "", "currency": currency,
                "received_on": received or today, "method": method or payments.PAYMENT_METHODS[0],
                "reference": reference or ""}
        st.session_state.pop(_PENDING, None)
        excluded = {int(i["id"]) for i in items if not st.session_state.get(f"pay_use_{i['id']}", True)}
        replan = (excluded, first) if mode == "auto" else None
        _record(data, allocate or None, replan, name, saved, {int(i["id"]): Decimal(i["balance"]) for i in items})
    _changed_meanwhile(customer_id, saved)


def _record(data: dict[str, Any], allocate: Allocate, replan: Replan, name: str, saved: Callable[[int], None],
            seen: dict[int, Decimal] | None) -> None:
    """Record the payment; if its invoices changed since the form showed them, keep it for a confirmation
    and show the form again over the invoices as they are now."""
    db, actor = context.db(), context.actor()
    try:
        payment_id = payments.record_payment(db, actor, data, allocate=allocate, seen=seen)
    except ChangedMeanwhileError as exc:
        st.session_state[_PENDING] = (data, allocate, replan, name, exc.message)
        st.rerun()
    except BillingError as exc:
        show_refusal(exc)
        return
    except Exception as exc:
        show_unexpected(exc)
        return
    flash(f"Payment from {name} recorded")
    st.session_state.pop("pay_for_invoice", None)
    saved(payment_id)


def _changed_meanwhile(customer_id: int, saved: Callable[[int], None]) -> None:
    """The payment refused because its invoices changed meanwhile: record it as things are now, or not.
    Choosing another customer drops it (it was theirs)."""
    pending = st.session_state.get(_PENDING)
    if pending is None:
        return
    data, allocate, replan, name, message = pending
    if data["customer_id"] != customer_id:
        st.session_state.pop(_PENDING, None)
        return
    if replan is not None:  # in order over the invoices as they are now, leaving out the same ones
        excluded, first = replan
        open_now = payments.open_invoices(context.db(), context.actor(), customer_id, data["currency"])
        included = [(int(i["id"]), i["due_date"], Decimal(i["balance"])) for i in open_now if i["id"] not in excluded]
        plan = logic.allocate_oldest_first(parse_money(data["amount"], data["currency"]), included, first)
        allocate = [(invoice_id, str(paid)) for invoice_id, paid in plan] or None
        where = ("pays the invoices open now, " + ("that invoice first, then " if first else "") + "oldest due first; "
                 "what is left stays as credit")
    else:
        where = ("stays as credit" if not allocate else
                 f"goes to the {len(allocate)} invoice(s) you allocated it to, if their balances still allow it")
    amount = fmt.money(parse_money(data["amount"], data["currency"]), data["currency"])
    st.warning(f"{plain(message)}  \nThe form now shows the invoices as they are. Record the payment of "
               f"{plain(amount)} from {plain(name)} anyway? It {where}.", icon=":material/sync_problem:")
    yes, no = st.columns(2)
    if yes.button("Record it anyway", type="primary", key="pay_anyway", width="stretch"):
        st.session_state.pop(_PENDING, None)
        _record(data, allocate, None, name, saved, None)
    if no.button("Don't record it", key="pay_drop", width="stretch"):
        st.session_state.pop(_PENDING, None)
        st.rerun()
