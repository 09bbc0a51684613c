"""One invoice or credit note on screen: header, customer, lines, VAT, totals, payments, and its actions."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from billing import invoices, logic
from billing.bank_accounts import format_iban
from billing.discounts import format_discount
from billing.document_details import detail_rows, identifier_texts
from billing.document_totals import total_rows, vat_label
from billing.documents import InvoiceDocument
from billing.money import ZERO
from billing.parties import company_as_issued
from billing.payment_qr import payment_details
from billing.references import format_reference
from ui import context
from ui import format as fmt
from ui.format import plain, plain_lines
from ui.invoice_actions import toolbar
from ui.phone import phone_layout
from ui.send_mail import mail_history
from ui.widgets import amount_rows, money_column, number_text, status_badge, totals_rows


def title_of(view: InvoiceDocument) -> str:
    if view.is_credit_note:
        return f"Credit note {view.header.number}"
    return f"Invoice {view.header.number}" if view.header.number else "Draft invoice"


def _parties(view: InvoiceDocument) -> None:
    header, customer, currency = view.header, view.customer, view.currency
    bill_to, details, due = st.columns([3, 3, 2], gap="large")
    with bill_to:
        st.caption("Bill to")
        st.markdown(f"**{plain(customer.name)}**  \n" + plain_lines(customer.address))
        extra = [plain(customer.email), *(plain(text) for text in identifier_texts(customer)),
                 plain(fmt.country(customer.country))]
        extra = [item for item in extra if item]
        if extra:
            st.caption(" · ".join(extra))
    with details:
        st.caption("Details")
        terms = customer.terms_days
        rows = [("Issue date", fmt.day(header.issue_date) or "set when issued")]
        if not view.is_credit_note:  # a credit note is settled, not paid: it has no due date
            rows.append(("Due date", fmt.day(header.due_date)
                         or (f"{terms} days after issue" if terms is not None else "set when issued")))
        rows.append(("Currency", currency))
        rows += [(label, plain(text)) for label, text in detail_rows(header, fmt.day)]
        st.markdown("  \n".join(f"{label}: **{value}**" for label, value in rows))
        if header.payment_terms:
            st.caption(plain_lines(header.payment_terms))
    with due:
        if view.is_credit_note:
            st.metric("Credited", fmt.money(view.totals.payable, currency))
        elif header.status == logic.VOID:
            st.metric("Amount due", fmt.money(ZERO, currency))
        elif header.status == logic.DRAFT:
            st.metric("Draft total", fmt.money(view.totals.payable, currency))
        else:
            st.metric("Balance due", fmt.money(view.balance, currency))


def _lines_table(view: InvoiceDocument) -> None:
    currency = view.currency
    rows = []
    for line in view.lines:
        rows.append({"Description": line.description,
                     "Qty": f"{number_text(line.quantity)} {line.unit}".strip(),
                     "Unit price": fmt.price(line.unit_price, currency),
                     "Discount": format_discount(line.discount_percent, line.discount_amount, currency,
                                                 money=fmt.money),
                     "VAT": vat_label(line.vat_category, line.vat_rate),
                     "Net": fmt.money(line.net_amount, currency)})
    st.container(key="lines-table").dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", key="view_lines",
        column_config={"Description": st.column_config.TextColumn(width="large"), "Qty": money_column("Qty"),
                       "Unit price": money_column("Unit price"), "Discount": money_column("Discount"),
                       "Net": money_column("Net")})
    with st.container(key="line-cards"):  # the same lines on a phone (ui.phone): one card each
        for number, row in enumerate(rows, start=1):
            with st.container(border=True):
                st.markdown(f"**{plain(row['Description'])}**")
                amount_rows([(label, str(row[label]), label == "Net") for label in ("Qty", "Unit price", "Discount",
                                                                                  "VAT", "Net") if row[label]],
                            f"line-{number}")
    if view.allowance_charges:
        charges = [{"On the whole invoice": ("Charge: " if item.is_charge else "Discount: ") + item.reason,
                    "Amount": (f"{number_text(item.percent)}% of lines" if item.percent is not None
                               else fmt.money(item.amount, currency)),
                    "VAT": vat_label(item.vat_category, item.vat_rate)} for item in view.allowance_charges]
        st.dataframe(pd.DataFrame(charges), hide_index=True, width="stretch", key="view_allowance_charges",
                     column_config={"On the whole invoice": st.column_config.TextColumn(width="large"),
                                    "Amount": money_column("Amount")})


def _history(view: InvoiceDocument, open_invoice: Callable[[int], None], open_payment: Callable[[int], None]) -> None:
    currency = view.currency
    if view.allocations:
        st.markdown("**Payments**")
        with st.container(border=True, gap="xsmall"):
            for item in view.allocations:
                row = st.columns([2, 4, 2, 1.2], vertical_alignment="center")
                row[0].markdown(fmt.day(item.allocated_on))
                row[1].markdown(plain(" · ".join(filter(None, [fmt.label(item.method), item.reference]))))
                row[2].markdown(plain(fmt.money(item.amount, currency)), text_alignment="right")
                if row[3].button("Open", key=f"open_payment_{item.id}", type="tertiary",
                                 icon=":material/open_in_new:"):
                    open_payment(item.payment_id)
    if view.credit_notes:
        st.markdown("**Credit notes**")
        with st.container(border=True, gap="xsmall"):
            for note in view.credit_notes:
                row = st.columns([2, 4, 2, 1.2], vertical_alignment="center")
                row[0].markdown(fmt.day(note.issue_date))
                row[1].markdown(plain(note.number))
                row[2].markdown(plain(fmt.money(note.payable, currency)), text_alignment="right")
                if row[3].button("Open", key=f"open_credit_{note.id}", type="tertiary",
                                 icon=":material/open_in_new:"):
                    open_invoice(note.id)


def _payment_details(view: InvoiceDocument) -> None:
    """How to pay an open invoice, as its PDF says: the account and the RF reference to quote."""
    details = payment_details(view, company_as_issued(view.seller, context.company()))
    if details is None:
        return
    st.caption("Payment details")
    rows = []
    if details.direct_debit:
        rows.append("Collected by **SEPA direct debit**" + (f" from IBAN **{plain(format_iban(details.debited_iban))}**"
                                                           if details.debited_iban else ""))
        rows += [f"{label} **{plain(value)}**" for label, value in (("Mandate reference", details.mandate),
                                                                   ("Creditor identifier", details.creditor_id))
                 if value]
    if details.iban:
        bic = f" · BIC {plain(details.bic)}" if details.bic else ""
        rows.append(f"IBAN **{plain(format_iban(details.iban))}**{bic}")
    if details.reference:
        rows.append(f"Reference **{plain(format_reference(details.reference))}**")
    if details.qr_payload:
        rows.append("The PDF carries a payment QR code for the amount due.")
    if rows:
        st.markdown("  \n".join(rows))


def invoice_view(invoice_id: int, *, back: Callable[[], None], open_invoice: Callable[[int], None],
                 edit: Callable[[int], None], duplicate: Callable[[int], None],
                 pay: Callable[[InvoiceDocument], None], open_payment: Callable[[int], None]) -> None:
    """Show one invoice or credit note with the actions the signed-in user may take on it."""
    view = invoices.get_invoice(context.db(), context.actor(), invoice_id, as_of=context.today())
    header, currency = view.header, view.currency
    if st.button("All invoices", icon=":material/arrow_back:", type="tertiary", key="back"):
        back()
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.subheader(plain(title_of(view)), anchor=False, width="content")
        status_badge(view.status)
    phone_layout()
    toolbar(view, edit=edit, duplicate=duplicate, pay=pay, on_deleted=back)
    if header.status == logic.VOID:
        st.warning(f"Voided on {fmt.day(header.voided_on)}: {plain(header.void_reason)}", icon=":material/block:")
    if view.credited_invoice and st.button(f"Open invoice {plain(view.credited_invoice.number)}", type="tertiary",
                                           icon=":material/open_in_new:", key="open_credited"):
        open_invoice(view.credited_invoice.id)
    with st.container(border=True):
        _parties(view)
    _lines_table(view)
    notes, totals = st.columns([3, 2], gap="large")
    with totals, st.container(border=True):
        rows = total_rows(view.totals, kind=header.kind, status=header.status, paid=header.paid_amount,
                          credited=header.credited_amount, balance=view.balance)
        amount_rows(totals_rows(rows, currency), "view-totals")
    with notes:
        if header.notes:
            st.caption("Notes")
            st.markdown(plain_lines(header.notes))
        _payment_details(view)
        _history(view, open_invoice, open_payment)
        mail_history(view)
