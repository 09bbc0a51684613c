"""Streamlit helpers shared by the pages: context, feedback, formatting, tables. No domain logic."""
