"""The Users page's API keys panel (admin): create a key for a user (its secret shown once), list, revoke."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from billing import api_access, users
from billing.permissions import ROLES, Actor
from billing.store.db import Database
from ui import format as fmt
from ui.feedback import run_action, run_change
from ui.format import plain


def api_keys_panel(db: Database, actor: Actor, everyone: list[users.User]) -> None:
    """Keys act over the REST API as their user, with their role or the user's, whichever is lower."""
    st.caption("An API key lets another system (a shop, a CRM, a script) use the REST API as a user, with a role "
               "no higher than that user's. Only a hash is kept: the key is shown once, when it is made.")
    active = [u for u in everyone if u.active]
    with st.form("create_api_key", clear_on_submit=True):
        left, middle, right = st.columns(3)
        owner = left.selectbox("Key's user", [u.username for u in active], key="api_key_user")
        role = middle.selectbox("Key's role", ROLES, index=ROLES.index("analyst"), format_func=str.capitalize,
                                help="At most the user's own role.")
        name = right.text_input("Key name", placeholder="Web shop", help="What the key is for.")
        if st.form_submit_button("Create API key", icon=":material/key:") and owner is not None:
            made = run_action(lambda: api_access.create_key(db, actor, owner, role, name),
                              success="API key created.")
            if made is not None:
                key, secret = made
                st.success(f"Key {plain(key.id)} for {plain(key.username)} ({key.role}). Copy it now: it is not "
                           "shown again.", icon=":material/key:")
                st.code(secret, language=None)
    keys = api_access.list_keys(db, actor)
    if not keys:
        st.caption("No API keys yet.")
        return
    st.dataframe(pd.DataFrame([{
        "Key": f"bk_{k.id}_…", "Name": k.name, "User": k.username, "Role": k.role.capitalize(),
        "Created": fmt.moment(k.created_at),
        "Last used": fmt.moment(k.last_used_at) if k.last_used_at else "never",
        "Status": "Revoked" if k.revoked_at else "Live"} for k in keys]), hide_index=True, width="stretch")
    live = {k.id: k for k in keys if k.revoked_at is None}
    if not live:
        return
    with st.form("revoke_api_key"):
        picked = st.selectbox("Key to revoke", list(live), key="api_key_revoke",
                              format_func=lambda i: f"bk_{i}_… · {live[i].name} · {live[i].username}")
        confirmed = st.checkbox("Yes, revoke this key: calls made with it are refused from now on")
        if st.form_submit_button("Revoke API key", type="primary") and picked is not None:
            if not confirmed:
                st.warning("Tick the box to confirm.", icon=":material/warning:")
            elif run_change(lambda: api_access.revoke_key(db, actor, picked), f"API key {picked} revoked."):
                st.rerun()

