"""dashboard page."""

import streamlit as st

st.title("dashboard")
