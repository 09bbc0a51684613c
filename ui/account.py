"""The user's own account: who they are, and the change of their own password (required while an admin's is set)."""

from __future__ import annotations

import functools

import streamlit as st

from billing import users
from billing.store.db import Database
from ui import context
from ui.auth import sign_out_button
from ui.feedback import run_change
from ui.format import plain
from ui.pages import ACCOUNT, PAGES
from ui.widgets import new_password

_CHANGED = "Your password was changed. Your other sessions (other browsers, API access tokens) were signed out."


def password_form(db: Database, *, forced: bool = False) -> None:
    """Current password, new password twice. The run after a change shows the portal as usual."""
    with st.form("change_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", autocomplete="current-password")
        new = new_password("New password", "Repeat new password")
        if st.form_submit_button("Change password", type="primary", icon=":material/password:") and new is not None \
                and run_change(lambda: users.change_own_password(db, context.actor(), current, new), _CHANGED) \
                and forced:
            st.rerun()  # on to the page asked for


def password_change_pages(db: Database) -> list[st.Page]:
    """Under every page's URL, only the change of a password an admin set: the page asked for opens after it."""
    return [st.Page(functools.partial(_required_change, db), title="Choose your password", url_path=spec.url_path,
                    default=spec.default, visibility="visible" if spec.default else "hidden")
            for spec in (*PAGES, ACCOUNT)]


def _required_change(db: Database) -> None:
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.space("large")
        st.markdown("### :material/password: Choose your own password")
        st.info(f"Hello {plain(context.user().name)}: your password was set by an administrator. Choose one that "
                "only you know to go on.", icon=":material/info:")
        password_form(db, forced=True)
        sign_out_button(db)
