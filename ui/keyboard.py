"""Enter applies a date typed into a date field (Streamlit 1.67's fields take a typed date only on Escape)."""

from __future__ import annotations

import streamlit as st

# A fixed script with no user data in it. A typed date reaches the app when its field's editing ends, which
# Escape does and Enter did not (seen in Chromium: typing a year and pressing Enter left the old range).
ENTER_APPLIES_DATES = """<script>
if (!window.billingEnterAppliesDates) {
  window.billingEnterAppliesDates = true;
  document.addEventListener("keydown", (event) => {
    const inField = event.target instanceof Element && event.target.closest("[data-testid='stDateInputField']");
    if (event.key !== "Enter" || !inField || event.isComposing) return;
    event.target.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", code: "Escape", bubbles: true}));
  }, true);
}
</script>"""


def enter_applies_dates() -> None:
    """Once per page (in the sidebar, where its empty element takes no room from the page)."""
    st.html(ENTER_APPLIES_DATES, unsafe_allow_javascript=True)
