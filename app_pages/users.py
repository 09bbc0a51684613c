"""Users (admin): who can sign in, with which role; create, disable/enable, reset passwords, change roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from billing import users
from billing.permissions import ACTIONS, PERMISSIONS, ROLES
from ui import context
from ui.api_keys import api_keys_panel
from ui.feedback import apply
from ui.format import plain
from ui.widgets import PASSWORD_RULES, new_password

db, actor = context.real_db(), context.actor()  # users live in the real books, also seen from the sandbox


ROLE_HELP = "  \n".join(
    f"**{role.capitalize()}**: {len(PERMISSIONS[role])} of {len(ACTIONS)} permissions" for role in ROLES)

st.title("Users")
everyone = users.list_users(db, actor)
st.dataframe(
    pd.DataFrame([{"Username": u.username, "Name": u.name, "Email": u.email, "Role": u.role.capitalize(),
                   "Status": "Active" if u.active else "Disabled"} for u in everyone]),
    hide_index=True, width="stretch")

add, manage, api_keys = st.tabs([":material/person_add: Add a user", ":material/manage_accounts: Manage a user",
                                 ":material/key: API keys"])

with add, st.form("add_user", clear_on_submit=True):
    left, right = st.columns(2)
    username = left.text_input("Username", help="2-40 characters: lower-case letters, digits, dot, dash, underscore.")
    name = right.text_input("Full name")
    email = left.text_input("Email")
    role = right.selectbox("Role", ROLES, index=ROLES.index("analyst"), format_func=str.capitalize, help=ROLE_HELP)
    password = new_password("Initial password", "Repeat password", beside=(left, right),
                            help=f"{PASSWORD_RULES} The user chooses their own password at the first sign-in.")
    if st.form_submit_button("Create user", type="primary", icon=":material/person_add:") and password is not None:
        initial = password  # (a str for the lambda: mypy does not narrow `password` into it)
        apply(lambda: users.create_user(db, actor, username, initial, role, name=name, email=email,
                                        must_change_password=True), f"User {username.strip().lower()} created.")

with manage:
    by_name = {u.username: u for u in everyone}
    picked = st.selectbox("User", list(by_name), key="users_manage_pick",
                          format_func=lambda n: f"{by_name[n].name} ({n}) · {by_name[n].role}"
                          + ("" if by_name[n].active else " · disabled"))
    chosen = by_name.get(picked) if picked else None
    if chosen is not None:
        target = chosen.username  # a str for the callbacks below (mypy cannot narrow `chosen` into a lambda)
        is_me = target == actor.username
        role_col, password_col, access_col = st.columns(3, border=True)
        with role_col, st.form("change_role"):
            st.markdown("**Role**")
            new_role = st.selectbox("New role", ROLES, index=ROLES.index(chosen.role), format_func=str.capitalize,
                                    disabled=is_me, help=ROLE_HELP)
            if st.form_submit_button("Change role", disabled=is_me):
                apply(lambda: users.update_user(db, actor, target, role=new_role),
                      f"{chosen.username} is now {new_role}.")
            if is_me:
                st.caption("You cannot change your own role.")
        with password_col, st.form("reset_password", clear_on_submit=True):
            st.markdown("**Reset password**")
            reset = new_password("New password", "Repeat new password")
            st.caption("Signs the user out everywhere; they choose their own password at the next sign-in."
                       if not is_me else "Signs you out everywhere.")
            if st.form_submit_button("Reset password") and reset is not None:
                apply(lambda: users.update_user(db, actor, target, password=reset),
                      f"Password of {chosen.username} reset.")
        with access_col, st.form("access"):
            st.markdown("**Access**")
            if chosen.active:
                st.write(f"{plain(chosen.username)} can sign in.")
                confirmed = st.checkbox(f"Yes, disable {plain(chosen.username)} and sign them out", disabled=is_me)
                if st.form_submit_button("Disable user", type="primary", disabled=is_me):
                    if not confirmed:
                        st.warning("Tick the box to confirm.", icon=":material/warning:")
                    else:
                        apply(lambda: users.update_user(db, actor, target, active=False),
                              f"{chosen.username} disabled.")
            else:
                st.write(f"{plain(chosen.username)} is disabled and cannot sign in.")
                if st.form_submit_button("Enable user"):
                    apply(lambda: users.update_user(db, actor, target, active=True),
                          f"{chosen.username} enabled.")

with api_keys:
    api_keys_panel(db, actor, everyone)
