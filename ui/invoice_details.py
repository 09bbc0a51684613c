"""The draft editor's collapsed "More details": references, delivery, payment and VAT exemption (EN 16931 terms)."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from billing import logic
from billing.documents import InvoiceHeader

TEXTS = ("buyer_reference", "order_reference", "mandate_reference", "payment_terms", "exemption_reason",
         "exemption_code")
DATES = ("delivery_date", "period_start", "period_end")
MEANS = {"": "As the company profile says (credit transfer to its IBAN)", "credit_transfer": "Credit transfer",
         "direct_debit": "SEPA direct debit"}


def _key(name: str) -> str:
    return f"ie_d_{name}"


def load(header: InvoiceHeader | None, copied: dict[str, Any] | None = None) -> None:
    """Put a stored draft's details (or blanks for a new invoice, with what a copy takes over) into the widgets'
    state."""
    for name in TEXTS:
        st.session_state[_key(name)] = getattr(header, name) if header else ""
    for name in DATES:
        day: date | None = getattr(header, name) if header else None
        st.session_state[_key(name)] = day if day is not None and logic.date_problem(day) is None else None
    st.session_state[_key("payment_means")] = header.payment_means if header else ""
    for name, value in (copied or {}).items():
        if name in (*TEXTS, "payment_means"):
            st.session_state[_key(name)] = value or ""


def data() -> dict[str, Any]:
    """The details as `InvoiceDraftIn` takes them."""
    values: dict[str, Any] = {name: st.session_state.get(_key(name)) or "" for name in TEXTS}
    values |= {name: st.session_state.get(_key(name)) for name in DATES}
    values["payment_means"] = st.session_state.get(_key("payment_means")) or ""
    return values


def section() -> None:
    """The collapsed section: empty fields change nothing, so a simple invoice never needs to open it."""
    filled = sum(1 for value in data().values() if value)
    with st.expander("More details" + (f" ({filled} filled)" if filled else ""), icon=":material/tune:"):
        left, right = st.columns(2)
        left.text_input("Buyer reference / Leitweg-ID", key=_key("buyer_reference"), max_chars=200,
                        help="BT-10: the reference the buyer asked you to quote; German public buyers: their "
                             "Leitweg-ID (required for XRechnung).")
        right.text_input("Purchase order", key=_key("order_reference"), max_chars=200,
                         help="BT-13: the buyer's purchase order number.")
        left, middle, right = st.columns(3)
        for column, name, label, hint in ((left, "delivery_date", "Delivery date", "BT-72: when goods or services "
                                           "were delivered (required on a German invoice, §14 UStG)"),
                                          (middle, "period_start", "Period from", "BG-14: the invoicing period"),
                                          (right, "period_end", "Period to", "BG-14: the invoicing period")):
            column.date_input(label, key=_key(name), value=None, format="YYYY-MM-DD", min_value=logic.FIRST_DATE,
                              max_value=logic.LAST_DATE, help=hint)
        left, right = st.columns(2)
        left.selectbox("Payment means", list(MEANS), key=_key("payment_means"), format_func=MEANS.__getitem__,
                       help="BT-81: credit transfer to the company's IBAN (BT-84/86), or SEPA direct debit.")
        right.text_input("Direct debit mandate reference", key=_key("mandate_reference"), max_chars=35,
                         help="BT-89: needed for a SEPA direct debit.")
        st.text_area("Payment terms", key=_key("payment_terms"), max_chars=1000, height=68,
                     help="BT-20, e.g. '2 % discount if paid within 10 days'.")
        left, right = st.columns([2, 1])
        left.text_input("VAT exemption reason", key=_key("exemption_reason"), max_chars=300,
                        help="BT-120: replaces the tax rate's reason on this invoice (exempt, reverse charge ...).")
        right.text_input("Exemption reason code", key=_key("exemption_code"), max_chars=30,
                         help="BT-121: a VATEX code, e.g. VATEX-EU-IC or VATEX-EU-AE.")
