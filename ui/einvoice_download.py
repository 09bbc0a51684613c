"""E-invoices in the UI: the download of an issued document (its customer's format first), the check before issuing,
the customer's preferred format."""

from __future__ import annotations

from datetime import date

import streamlit as st

from billing import logic
from billing.documents import InvoiceDocument
from billing.einvoice.export import FORMATS, export_document, file_name
from billing.einvoice.preissue import check_before_issue, formats_for, preferred_format
from billing.errors import BillingError
from billing.models import EINVOICE_FORMATS
from ui import context
from ui.format import plain

_CHECKED = "einvoice_checked"  # (invoice id, format, company profile's updated_at) -> the problem, or "" if none


def _problem(invoice_id: int, fmt: str) -> str:
    """Why the document cannot be exported in the format ("" if it can): checked once per document, format and
    company profile (an issued document never changes; the profile may), as the download will check it."""
    key = (invoice_id, fmt, str(context.company().get("updated_at")))
    checked: dict[tuple[int, str, str], str] = st.session_state.setdefault(_CHECKED, {})
    if key not in checked:
        try:
            export_document(context.db(), context.actor(), invoice_id, fmt, today=context.today)
            checked[key] = ""
        except BillingError as exc:
            checked[key] = exc.message
    return checked[key]


def einvoice_format_input(current: str, disabled: bool = False) -> str:
    """The customer's preferred e-invoice format ("" for none): offered first on their documents, and issuing
    checks a document against its rules."""
    options = ["", *EINVOICE_FORMATS]
    return str(st.selectbox("Preferred e-invoice format", options, options.index(current if current in options else ""),
                            format_func=lambda name: FORMATS[name].label if name else "None (PDF only)",
                            disabled=disabled, help="Offered first under E-invoice on this customer's documents; "
                            "an invoice is checked against the format's rules before it is issued."))


def einvoice_check(invoice_id: int, today: date) -> bool:
    """The draft checked against the rules of its customer's e-invoice format, each failed rule listed with the
    field to fix; False if it fails (issuing is then refused), True if it passes or the customer has no format."""
    try:
        checked = check_before_issue(context.db(), context.actor(), invoice_id, today)
    except BillingError as exc:
        st.error(plain(exc.message))
        return False
    if checked.fmt is None:
        return True
    label = plain(checked.fmt.label)
    if checked.passed:
        st.caption(f"Checked against the rules of the customer's e-invoice format, {label}: passed.")
        return True
    st.error(f"The customer receives e-invoices as **{label}**, and this invoice does not pass its rules yet. "
             "Fix these, then issue:\n\n" + "\n".join(f"- {plain(problem)}" for problem in checked.problems),
             icon=":material/rule:")
    return False


def einvoice_button(view: InvoiceDocument) -> None:
    """For an issued invoice or credit note: pick a format, then download it, or read why it cannot be made."""
    if view.header.status != logic.ISSUED:
        return
    db, actor, today = context.db(), context.actor(), context.today()
    with st.popover("E-invoice", icon=":material/receipt_long:"):
        preferred = preferred_format(db, actor, view.header.customer_id)
        fmt = st.selectbox("Format", formats_for(preferred), key="einvoice_format",
                           format_func=lambda name: FORMATS[name].label + (
                               " (the customer's format)" if preferred and name == preferred.name else ""))
        problem = _problem(view.id, fmt)
        if problem:
            st.warning(plain(problem), icon=":material/rule:")
            return

        def xml() -> bytes:
            # Made on click from the document as stored then, by a call that checks the session and role live and
            # validates the file against the format's rules (as the PDF download does, see ui.invoice_actions).
            return export_document(db, actor, view.id, fmt, today=lambda: today)[2]

        st.download_button("Download e-invoice", data=xml, file_name=file_name(view, FORMATS[fmt]),
                           mime=FORMATS[fmt].media_type, icon=":material/download:", on_click="rerun",
                           key="einvoice_download")
        st.caption(f"Checked against the rules of {plain(FORMATS[fmt].label)}.")
