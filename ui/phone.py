"""The layout on a phone (narrower than 641 px, where Streamlit stacks columns): invoice lines as cards whose
values carry their labels, and label/amount rows kept on one line. Static CSS only (no user data), scoped by
container keys: "amounts-*" rows of `ui.widgets.amount_rows`, "ieline-*" the editor's line rows, "lines-table"
and "line-cards" the invoice view's two forms of its lines."""

from __future__ import annotations

import streamlit as st

PHONE_STYLE = """<style>
[class*="st-key-amounts-"] [data-testid="stHorizontalBlock"] { flex-wrap: nowrap; }
[class*="st-key-amounts-"] [data-testid="stColumn"] { min-width: 0 !important; width: auto !important;
  flex: 1 1 0 !important; }
.st-key-line-cards { display: none; }
@media (max-width: 640px) {
  .st-key-line-cards { display: flex; }
  .st-key-lines-table, .st-key-ieline-head { display: none; }
  [class*="st-key-ieline-"] { border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 0.5rem; padding: 0.75rem; }
  [class*="st-key-ieline-"] [data-testid="stWidgetLabel"] { display: flex !important; visibility: visible !important;
    height: auto !important; min-height: 1.5rem; margin-bottom: 0.25rem; }
}
</style>"""


def phone_layout() -> None:
    """Put the phone layout's rules on this page (they change nothing on a wider screen but the hidden cards)."""
    st.html(PHONE_STYLE)
