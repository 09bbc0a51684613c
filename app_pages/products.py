"""products page."""

import streamlit as st

st.title("products")
