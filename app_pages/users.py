"""users page."""

import streamlit as st

st.title("users")
