"""settings page."""

import streamlit as st

st.title("settings")
