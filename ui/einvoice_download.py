"""The "E-invoice" download of an issued document: a format, the refusal or failed rules in words, or the file."""

from __future__ import annotations

import streamlit as st

from billing import logic
from billing.documents import InvoiceDocument
from billing.einvoice.export import FORMATS, export_document, file_name
from billing.errors import BillingError
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


def einvoice_button(view: InvoiceDocument) -> None:
    """For an issued invoice or credit note: pick a format, then download it, or read why it cannot be made."""
    if view.header.status != logic.ISSUED:
        return
    db, actor, today = context.db(), context.actor(), context.today()
    with st.popover("E-invoice", icon=":material/receipt_long:"):
        fmt = st.selectbox("Format", list(FORMATS), format_func=lambda name: FORMATS[name].label,
                           key="einvoice_format")
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
