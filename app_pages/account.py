"""My account: the signed-in user's name, role and sessions, and the change of their own password."""

from __future__ import annotations

import streamlit as st

from ui import context
from ui.account import password_form
from ui.format import plain

user = context.user()
st.title("My account")
left, right = st.columns([1, 1.4], gap="large")
with left:
    st.subheader("You")
    st.markdown(f"**{plain(user.name)}**  \n{plain(user.username)} · {user.role}"
                + (f"  \n{plain(user.email)}" if user.email else ""))
    st.caption("Your name, e-mail and role are changed by an administrator (Admin > Users).")
with right:
    st.subheader("Change your password")
    st.caption("Changing it signs you out everywhere else: other browsers and API access tokens.")
    password_form(context.real_db())
