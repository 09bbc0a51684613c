"""Bank statement page: uploading a statement file, the saved CSV column mappings, and the auto-confirm setting."""

from __future__ import annotations

import streamlit as st

from billing.bank import service
from billing.bank.csv_format import COLUMNS, DATE_FORMATS, DELIMITERS, ENCODINGS, CsvMapping
from billing.bank.lines import MAX_FILE_BYTES
from ui import context
from ui.bank_lines import forget_selection
from ui.feedback import run_action, run_change
from ui.format import plain

_COLUMN_LABELS = {"booking_date": "Booking date *", "value_date": "Value date", "amount": "Amount (signed)",
                  "debit": "Debit (if no signed amount)", "credit": "Credit (if no signed amount)",
                  "currency": "Currency", "counterparty_name": "Payer / payee name", "counterparty_iban": "Payer IBAN",
                  "remittance": "Remittance text", "bank_reference": "Bank reference",
                  "end_to_end_id": "End-to-end id"}
_DELIMITER_NAMES = {";": "Semicolon ;", ",": "Comma ,", "\t": "Tab"}


def upload_panel() -> None:
    """The file uploader and its Import button; a CSV file is read through the mapping chosen here."""
    db, actor = context.db(), context.actor()
    with st.container(border=True):
        cells = st.columns([3, 2], vertical_alignment="bottom")
        upload = cells[0].file_uploader("Statement file (camt.052/053/054 XML, MT940, or CSV)",
                                        type=["xml", "sta", "mt940", "940", "txt", "csv"], key="bank_upload",
                                        max_upload_size=MAX_FILE_BYTES // 1_000_000)
        names = service.mapping_names(db, actor)
        bank = cells[1].selectbox("CSV mapping (CSV files only)", names, index=None, key="bank_mapping",
                                  placeholder="Choose the bank" if names else "Save a mapping below first")
        if st.button("Import", type="primary", icon=":material/upload:", disabled=upload is None):
            if upload is None:
                return
            if upload.size > MAX_FILE_BYTES:
                st.error(f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB: split the statement.")
                return
            # The upload's bytes only: its name is kept as a label, never used as a path.
            data, name = upload.getvalue(), upload.name

            def do_import() -> service.ImportReport:
                mapping = service.get_mapping(db, actor, bank) if bank else None
                return service.import_statement(db, actor, data, name, mapping)

            report = run_action(do_import)
            if report is not None:
                forget_selection()
                summary = (f"{report.lines_new} new line(s) imported, {report.lines_known} already there"
                           + (f"; {report.auto_confirmed} sure match(es) recorded" if report.auto_confirmed else ""))
                st.success(plain(summary), icon=":material/check_circle:")


def mapping_form() -> None:
    """Save a bank's CSV layout: which header holds what, dates, decimal mark, encoding."""
    db, actor = context.db(), context.actor()
    with st.expander("CSV column mapping of a bank"), st.form("bank_mapping_form", border=False):
        left, right = st.columns(2)
        values = {
            "bank": left.text_input("Bank *", max_chars=100, placeholder="e.g. Sparkasse Berlin"),
            "account_iban": right.text_input("Account (IBAN) *", max_chars=40),
            "currency": left.text_input("Currency when the file has none", "EUR", max_chars=3),
            "encoding": right.selectbox("Encoding", ENCODINGS),
            "delimiter": left.selectbox("Delimiter", DELIMITERS, format_func=_DELIMITER_NAMES.__getitem__),
            "date_format": right.selectbox("Date format", DATE_FORMATS),
            "decimal_comma": left.checkbox("Decimal comma (1.234,56)", True),
            "skip_rows": right.number_input("Lines before the header row", 0, 50, 0),
        }
        st.caption("The header of each column, exactly as in the file:")
        grid = st.columns(3)
        columns = {key: grid[index % 3].text_input(label, key=f"bank_col_{key}", max_chars=100)
                   for index, key in enumerate(COLUMNS) for label in [_COLUMN_LABELS[key]]}
        if st.form_submit_button("Save mapping"):
            data = {**values, "columns": {k: v.strip() for k, v in columns.items() if v.strip()}}

            def save() -> CsvMapping:
                return service.save_mapping(db, actor, data)

            saved = run_action(save, success="CSV mapping saved.")
            if saved is not None:
                st.rerun()


def auto_confirm_setting() -> None:
    """The owner's switch: record exact reference matches at import without review."""
    db, actor = context.db(), context.actor()
    if not context.allowed("settings.write"):
        return
    current = service.auto_confirm(db, actor)
    wanted = st.toggle("Record sure matches (exact reference, amount fits) at import, without review", current,
                       key="bank_auto_confirm")
    if wanted != current and run_change(lambda: service.set_auto_confirm(db, actor, wanted),
                                        "Auto-confirm is on." if wanted else "Auto-confirm is off."):
        st.rerun()
