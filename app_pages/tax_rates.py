"""tax_rates page."""

import streamlit as st

st.title("tax_rates")
