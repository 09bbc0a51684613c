"""The actions on one invoice or credit note: its toolbar and the confirmation dialogs (issue, void, credit, delete)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import streamlit as st

from billing import credit_notes, invoices, logic
from billing.documents import InvoiceDocument
from billing.einvoice.preissue import issue_checked
from billing.errors import BillingError, ValidationError
from ui import access, context
from ui import format as fmt
from ui.einvoice_download import einvoice_button, einvoice_check
from ui.feedback import run_action
from ui.format import plain
from ui.send_mail import send_dialog
from ui.widgets import number_text

_DIALOG = "invoice_dialog"  # (action, invoice id) of the open confirmation dialog, if any


# --- dialogs: one open at a time, remembered across reruns until done or dismissed ---------------

def _open_dialog(action: str, invoice_id: int) -> None:
    st.session_state[_DIALOG] = (action, invoice_id)


def close_dialog() -> None:
    st.session_state.pop(_DIALOG, None)


def _finish(action: Callable[[], Any], success: str, then: Callable[[Any], None] | None = None) -> None:
    """Run a confirmed action; on success close the dialog, remember the toast and rerun."""
    results: list[Any] = []
    run_action(lambda: results.append(action()), success)
    if not results:
        return  # run_action has shown why
    close_dialog()
    if then is not None:
        then(results[0])
    st.rerun()


@access.dialog("Issue invoice", on_dismiss=close_dialog)
def _issue_dialog(view: InvoiceDocument) -> None:
    today = context.today()
    on = view.header.issue_date or today
    try:
        due = fmt.day(logic.due_date_for(on, int(view.customer.terms_days or 0), view.header.due_date))
    except BillingError:  # the domain explains a bad due date when issuing
        due = "—"
    st.markdown(f"Issue this invoice to **{plain(view.customer.name)}** for "
                f"**{plain(fmt.money(view.totals.payable, view.currency))}**?")
    st.markdown(f"It gets the next invoice number, is dated **{fmt.day(on)}** and falls due on **{due}**. "
                "After that it can no longer be edited, only voided or credited.")
    passed = einvoice_check(view.id, today)
    yes, no = st.columns(2)
    if yes.button("Issue invoice", type="primary", key="confirm_issue", width="stretch", disabled=not passed):
        _finish(lambda: issue_checked(context.db(), context.actor(), view.id, today=today), "Invoice issued")
    if no.button("Cancel", key="cancel_issue", width="stretch"):
        close_dialog()
        st.rerun()


@access.dialog("Void invoice", on_dismiss=close_dialog)
def _void_dialog(view: InvoiceDocument) -> None:
    st.markdown(f"Voiding cancels invoice **{plain(view.header.number)}**. It keeps its number and stays on "
                "record, marked void. Only an invoice without payments or credit notes can be voided.")
    reason = st.text_area("Reason", key="void_reason", placeholder="e.g. issued to the wrong customer", height=80)
    yes, no = st.columns(2)
    if yes.button("Void invoice", type="primary", key="confirm_void", width="stretch"):
        _finish(lambda: invoices.void_invoice(context.db(), context.actor(), view.id, reason or "",
                                              today=context.today()), "Invoice voided")
    if no.button("Cancel", key="cancel_void", width="stretch"):
        close_dialog()
        st.rerun()


@access.dialog("Credit note", width="large", on_dismiss=close_dialog)
def _credit_dialog(view: InvoiceDocument) -> None:
    currency = view.currency
    header = view.header
    remaining = logic.creditable_amount(header.payable, header.credited_amount)
    intro = f"Credit invoice **{plain(header.number)}** of **{plain(fmt.money(header.payable, currency))}**"
    if header.credited_amount:
        intro += f", of which **{plain(fmt.money(remaining, currency))}** can still be credited"
    if header.paid_amount:
        intro += ". What was paid beyond what then remains becomes credit for the customer"
    st.markdown(intro + ".")
    options = ["whole", "lines"] if logic.can_credit_whole(header.credited_amount) else ["lines"]
    scope = st.radio("What to credit", options, key="credit_scope", horizontal=True,
                     format_func={"whole": "The whole invoice", "lines": "Chosen lines and quantities"}.get)
    quantities: dict[int, str] = {}
    if scope == "lines":
        head = st.columns([5, 2, 2])
        head[0].caption("Line")
        head[1].caption("Invoiced")
        head[2].caption("Quantity to credit")
        for line in view.lines:
            row = st.columns([5, 2, 2], vertical_alignment="center")
            row[0].markdown(plain(line.description))
            quantity = f"{number_text(line.quantity)} {line.unit}".strip()
            row[1].markdown(f"{plain(quantity)} × {plain(fmt.price(line.unit_price, currency))}")
            quantities[line.position] = row[2].text_input(
                "Quantity to credit", key=f"credit_qty_{line.position}", label_visibility="collapsed",
                placeholder="0") or ""
    reason = st.text_input("Reason (printed on the credit note)", key="credit_reason",
                           placeholder=f"Credit note for invoice {header.number}")

    chosen: dict[int, Decimal | str] = {position: text for position, text in quantities.items() if text.strip()}

    def credit() -> int:
        if scope == "lines" and not chosen:
            raise ValidationError("Enter the quantity to credit on at least one line.")
        return credit_notes.create_credit_note(context.db(), context.actor(), view.id, today=context.today(),
                                           reason=reason or "", quantities=chosen if scope == "lines" else None)

    _credit_preview(view, scope == "whole", chosen)
    yes, no = st.columns(2)
    if yes.button("Issue credit note", type="primary", key="confirm_credit", width="stretch"):
        _finish(credit, "Credit note issued")
    if no.button("Cancel", key="cancel_credit", width="stretch"):
        close_dialog()
        st.rerun()


def _credit_preview(view: InvoiceDocument, whole: bool, chosen: dict[int, Decimal | str]) -> None:
    """The credit note's total before it is issued, checked as issuing it will be."""
    currency = view.currency
    if whole:
        st.markdown(f"Credit note total: **{plain(fmt.money(view.header.payable, currency))}**")
        return
    if not chosen:
        return
    try:
        totals = credit_notes.preview_credit_note(context.db(), context.actor(), view.id, chosen)
    except BillingError as exc:
        st.caption(plain(exc.message))
        return
    st.markdown(f"Credit note total: **{plain(fmt.money(totals.payable, currency))}** "
                f"({plain(fmt.money(totals.tax_exclusive, currency))} + VAT "
                f"{plain(fmt.money(totals.tax_total, currency))})")


@access.dialog("Delete draft", on_dismiss=close_dialog)
def _delete_dialog(view: InvoiceDocument, on_deleted: Callable[[], None]) -> None:
    st.markdown(f"Delete this draft for **{plain(view.customer.name)}**? This cannot be undone.")
    yes, no = st.columns(2)
    if yes.button("Delete draft", type="primary", key="confirm_delete", width="stretch"):
        _finish(lambda: invoices.delete_draft(context.db(), context.actor(), view.id), "Draft deleted",
                then=lambda _: on_deleted())
    if no.button("Cancel", key="cancel_delete", width="stretch"):
        close_dialog()
        st.rerun()


# --- the toolbar ---------------------------------------------------------------------------------

def pdf_button(view: InvoiceDocument) -> None:
    from billing.pdf import render_invoice_pdf  # fonts and fpdf2 load on the first invoice shown, not at start

    name = view.header.number or f"draft-{view.id}"
    db, actor, company, today = context.db(), context.actor(), context.company(), context.today()

    def pdf() -> bytes:
        # Made on click (~25 ms warm) from the invoice as stored then, read by a call that checks the session
        # and role live: a tab left open after its user lost access gets no file. The click also reruns the
        # page, so that tab then shows the sign-in form; the browser asks for the file as the rerun starts.
        return render_invoice_pdf(invoices.get_invoice(db, actor, view.id, as_of=today), company)

    st.download_button("Download PDF", data=pdf, file_name=f"{name}.pdf",
                       mime="application/pdf", icon=":material/picture_as_pdf:", on_click="rerun", key="pdf")


def toolbar(view: InvoiceDocument, *, edit: Callable[[int], None], duplicate: Callable[[int], None],
            pay: Callable[[InvoiceDocument], None], on_deleted: Callable[[], None]) -> None:
    """The actions the signed-in user may take on the document, and the dialog one of them opened."""
    write = context.allowed("invoices.write")
    status = view.header.status
    with st.container(horizontal=True, gap="small"):
        if write and status == logic.DRAFT:
            if st.button("Issue…", type="primary", icon=":material/send:", key="issue"):
                _open_dialog("issue", view.id)
            if st.button("Edit", icon=":material/edit:", key="edit"):
                edit(view.id)
        can_pay = (not view.is_credit_note and status == logic.ISSUED and view.balance > 0
                   and context.allowed("payments.write"))
        if can_pay and st.button("Record payment", type="primary", icon=":material/payments:", key="pay"):
            pay(view)
        header = view.header
        if write and logic.can_credit(header.kind, status, header.payable, header.credited_amount) and st.button(
                "Credit note…", icon=":material/undo:", key="credit"):
            _open_dialog("credit", view.id)
        if write and not view.is_credit_note and logic.can_void(status, header.paid_amount, header.credited_amount) \
                and st.button("Void…", icon=":material/block:", key="void"):
            _open_dialog("void", view.id)
        if write and not view.is_credit_note and st.button("Duplicate", icon=":material/content_copy:",
                                                           key="duplicate"):
            duplicate(view.id)
        if write and status == logic.ISSUED and st.button("Send…", icon=":material/forward_to_inbox:", key="send"):
            _open_dialog("send", view.id)
        pdf_button(view)
        einvoice_button(view)
        if write and status == logic.DRAFT and st.button("Delete…", icon=":material/delete:", key="delete",
                                                         type="tertiary"):
            _open_dialog("delete", view.id)
    action, invoice_id = st.session_state.get(_DIALOG) or ("", 0)
    if not write or invoice_id != view.id:
        return
    if action == "issue":
        _issue_dialog(view)
    elif action == "void":
        _void_dialog(view)
    elif action == "credit":
        _credit_dialog(view)
    elif action == "delete":
        _delete_dialog(view, on_deleted)
    elif action == "send":
        send_dialog(view, close_dialog)
