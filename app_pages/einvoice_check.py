"""Check an e-invoice: upload a UBL/CII XML or a Factur-X PDF, see whether it passes the official rules, and read it."""

from __future__ import annotations

import streamlit as st

from billing.einvoice.check import check_einvoice
from billing.einvoice.source import MAX_FILE_BYTES
from billing.einvoice.validation import EN16931, PROFILES
from ui import context, einvoice_view
from ui.feedback import guarded, run_action

MEGABYTES = MAX_FILE_BYTES // (1024 * 1024)


def main() -> None:
    st.title("Check an e-invoice", anchor=False)
    st.caption("A UBL or CII e-invoice (XML), or a Factur-X / ZUGFeRD PDF, checked against its XML schema and the "
               "official rules of EN 16931, XRechnung or Peppol. Checked on this server: nothing is stored and "
               "nothing is sent anywhere.")
    profiles = st.multiselect("Rule sets", list(PROFILES), default=[EN16931], format_func=PROFILES.__getitem__,
                              key="einvoice:profiles", help="EN 16931 is the European core; XRechnung (Germany) and "
                              "Peppol add their own rules. With none chosen, EN 16931 is checked.")
    upload = st.file_uploader(f"E-invoice (XML or PDF, at most {MEGABYTES} MB)", type=["xml", "pdf"],
                              max_upload_size=MEGABYTES, key="einvoice:file")
    if upload is None:
        st.info("Choose a file to check it.", icon=":material/upload_file:")
        return
    data = upload.getvalue()
    result = run_action(lambda: check_einvoice(context.db(), context.actor(), data, profiles))
    if result is not None:
        einvoice_view.show_result(upload.name, result)


with guarded():
    main()
