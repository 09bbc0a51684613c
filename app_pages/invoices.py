"""invoices page."""

import streamlit as st

st.title("invoices")
