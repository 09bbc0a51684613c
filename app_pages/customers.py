"""customers page."""

import streamlit as st

st.title("customers")
