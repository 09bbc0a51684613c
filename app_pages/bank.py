"""Bank statements: import a statement file, review each line's proposed match, confirm, re-assign or mark it."""

from __future__ import annotations

import streamlit as st

from ui.bank_lines import VIEWS, confirm_sure_button, line_panel, lines_table
from ui.bank_upload import auto_confirm_setting, mapping_form, upload_panel

st.title("Bank statements", anchor=False)
st.caption("Import the bank's statement (camt.053, MT940 or CSV). Each line gets a proposed match; nothing is "
           "recorded until you confirm it.")
upload_panel()
mapping_form()
auto_confirm_setting()
view = st.segmented_control("Lines", list(VIEWS), default="To review", key="bank_view") or "To review"
confirm_sure_button()
selected = lines_table(view)
if selected is not None:
    line_panel(selected)
