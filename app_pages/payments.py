"""payments page."""

import streamlit as st

st.title("payments")
