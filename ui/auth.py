"""Sign-in gate (session only for now; cookie persistence comes with the hardened authenticator)."""

from __future__ import annotations

import streamlit as st

from billing import users
from billing.errors import AuthenticationError
from billing.store.db import Database
from billing.users import User


def sign_in_gate(db: Database) -> User | None:
    username = st.session_state.get("auth_username")
    if username:
        user = users.get_user(db, username)
        if user is not None and user.active:
            return user
        st.session_state.pop("auth_username", None)
    _, middle, _ = st.columns([1, 1, 1])
    with middle, st.form("sign_in"):
        st.subheader("Sign in")
        name = st.text_input("Username")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary", use_container_width=True):
            try:
                user = users.authenticate(db, name, password)
            except AuthenticationError as exc:
                st.error(exc.message)
            else:
                st.session_state["auth_username"] = user.username
                st.rerun()
    return None


def sign_out_button(db: Database) -> None:
    if st.button("Sign out", icon=":material/logout:"):
        st.session_state.clear()
        st.rerun()
