"""The sign-in gate of a script run: the tab's session, read from its cookie and re-checked on every run; sign-out.

The cookie is set by the sign-in form's HTTP response (signin/routes.py) and read here from `st.context.cookies`:
no component, no second run. A token counts only while its session row is live (`billing.users.session_user`);
a page load without one never reaches the script (the server's gate answers it with the form). A tab whose
session ended meanwhile says so and goes to the form, which opens the same page again after signing in.

Session state: `auth_username` is the signed-in user (AppTest signs in by setting only this key, as it has no
cookies); `auth_token` the tab's session token, taken from the cookie at its first run and kept (signing in again
in another tab changes the browser's cookie, not this tab's session), re-checked on every run, so signing out
elsewhere or being disabled ends this tab's access at its next click.
"""

from __future__ import annotations

import functools
import json
import logging
from html import escape
from urllib.parse import urlencode

import streamlit as st

from billing import auth_keys, settings, users
from billing.store.db import Database
from billing.users import User
from signin.links import NOTICES, sign_in_url
from ui import format as fmt
from ui.pages import ACCOUNT, PAGES

log = logging.getLogger("billing.ui.auth")

_NOTICE = "_auth_notice"  # a key of signin.links.NOTICES: what the tab says when it goes to the form
_SIGNED_OUT = "_auth_signed_out"  # this tab signed out: its first request's cookie is not read again
_USERNAME = "login_username"  # the username the form is filled in with
_NEXT = "_auth_next"  # where the form leads after the first-run set-up (the demo sandbox, if asked for)


def sign_in_gate(db: Database) -> User | None:
    """The signed-in user, re-read from the database on this run; otherwise the tab goes to the sign-in form."""
    if not st.session_state.get("auth_username") and not st.session_state.get(_SIGNED_OUT):
        token = st.context.cookies.get(auth_keys.COOKIE_NAME)
        if isinstance(token, str) and token:  # (AppTest has no cookies)
            st.session_state["auth_token"] = token
    token = st.session_state.get("auth_token")
    username = st.session_state.get("auth_username")
    if token or username:
        user = current_user(db, username, token)
        if user is not None:
            st.session_state["auth_username"] = user.username
            st.session_state.pop(_NOTICE, None)
            return user
        forget_sign_in("ended")
    _show_signed_out(db)
    return None


def current_user(db: Database, username: str | None, token: str | None) -> User | None:
    """The user as stored now, if still allowed in. In a browser the tab's session must still be live (and be
    `username`'s once the tab knows its user); only a test signs in with a username and no token."""
    if token is None:
        user = users.get_user(db, username) if username else None
        return user if user is not None and user.active else None
    user = users.session_user(db, token)
    return user if user is not None and username in (None, user.username) else None


def _show_signed_out(db: Database) -> None:
    """Under every page's URL (a deep link keeps its page for after the sign-in), why the tab is signed out,
    and the way to the form, which the browser takes at once."""
    pages = [st.Page(functools.partial(_signed_out, db, spec.url_path), title="Sign in", url_path=spec.url_path,
                     default=spec.default, visibility="visible" if spec.default else "hidden")
             for spec in (*PAGES, ACCOUNT)]
    st.navigation(pages, position="hidden").run()


def _signed_out(db: Database, url_path: str) -> None:
    notice = st.session_state.get(_NOTICE)
    query = urlencode(st.query_params.to_dict())
    target = f"/{url_path}" + (f"?{query}" if query else "") if notice == "ended" else \
        st.session_state.get(_NEXT, "/")
    url = sign_in_url(target, notice, st.session_state.get(_USERNAME))
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.space("large")
        company = (settings.get_company(db) or {}).get("legal_name")
        st.markdown(f"### :material/receipt_long: {fmt.plain(company) if company else 'Billing portal'}")
        if notice in NOTICES:
            st.info(NOTICES[notice], icon=":material/info:")
        # The form is a page of its own (it sets the cookie): the browser goes there now; the link is for the
        # moment it takes. The URL is the app's own, its parameters URL-encoded (JSON-quoted for the script).
        st.html(f'<a href="{escape(url)}" target="_self">Sign in</a>')
        st.html(f"<script>window.location.replace({json.dumps(url)})</script>", unsafe_allow_javascript=True)


def signed_up(username: str, next_path: str = "/") -> None:
    """After the first-run set-up: the tab goes to the form, with the owner's username filled in; after signing
    in, to `next_path`."""
    st.session_state[_NEXT] = next_path
    st.session_state[_NOTICE] = "ready"
    st.session_state[_USERNAME] = username
    st.session_state[_SIGNED_OUT] = True


def sign_out_button(db: Database) -> None:
    st.button("Sign out", icon=":material/logout:", on_click=_sign_out, args=(db,), width="stretch")


def _sign_out(db: Database) -> None:
    """The tab's session is revoked at once (a copy of its cookie stops working); the form then drops the
    browser's cookie, which no longer counts."""
    token = st.session_state.get("auth_token")
    try:
        if token:
            users.end_session(db, token)
    except Exception:  # still sign this tab out; the session expires on its own
        log.exception("Could not revoke a session at sign-out")
    st.session_state.clear()  # nothing of the previous user's page state survives
    st.session_state[_SIGNED_OUT] = True
    st.session_state[_NOTICE] = "signed-out"


def forget_sign_in(notice: str | None = None) -> None:
    """Forget the tab's user and session (its page state is the caller's to clear); `notice` is what the tab
    says on its way to the form."""
    for key in ("auth_username", "auth_token", "user"):
        st.session_state.pop(key, None)
    st.session_state[_SIGNED_OUT] = True
    if notice:
        st.session_state[_NOTICE] = notice
