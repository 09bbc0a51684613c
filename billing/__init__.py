"""Billing domain: models, money math, lifecycle rules and the store. Never imports Streamlit."""

__version__ = "0.1.0"
