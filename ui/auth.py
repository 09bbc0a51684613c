"""The sign-in gate: login form with lockout, cookie sessions that survive a reload, sign-out that revokes.

streamlit-authenticator handles the cookie: its CookieManager writes and deletes it, and its
`login(location="unrendered")` verifies the JWT with this installation's key. Passwords are
checked by `billing.users.authenticate` (lockout in the database), never by the library, and a
verified token is honoured only while its session row is live (`billing.users.session_user`).

Session state: `auth_username` is the signed-in user (AppTest signs in by setting only this key,
as it cannot run the cookie component); `auth_token` the browser's session token, re-checked on
every run, so signing out elsewhere or being disabled ends this tab's access at its next click.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC

import jwt
import streamlit as st
import streamlit_authenticator as stauth

from billing import auth_keys, settings, users
from billing.errors import BillingError
from billing.store.db import Database
from billing.users import User
from ui import format as fmt
from ui.pages import PAGES

log = logging.getLogger("billing.ui.auth")

_LIBRARY_KEYS = ("name", "username", "authentication_status", "email", "roles")
_ENDED = "Your session has ended. Please sign in again."


@st.cache_resource(show_spinner=False)
def _cookie_key(database_url: str) -> str:
    return auth_keys.cookie_key(database_url)


# The cookie component is an invisible iframe; without this its empty container takes a line at the top.
_HIDE_COOKIE_COMPONENT = """<style>
.stElementContainer:has(iframe[title="extra_streamlit_components.CookieManager.cookie_manager"]) {display: none;}
</style>"""


def _authenticator(db: Database) -> stauth.Authenticate:
    st.html(_HIDE_COOKIE_COMPONENT)
    lifetime = auth_keys.session_lifetime()
    return stauth.Authenticate({"usernames": users.password_hashes(db)}, auth_keys.COOKIE_NAME,
                               _cookie_key(db.url), lifetime.total_seconds() / 86400, auto_hash=False,
                               login_sleep_time=0)


def sign_in_gate(db: Database) -> User | None:
    """The signed-in user, re-read from the database on this run; otherwise show the login form."""
    authenticator = _authenticator(db)  # once per run: it renders the cookie component
    if st.session_state.pop("_auth_forget_cookie", False):
        authenticator.cookie_controller.delete_cookie()
    pending = st.session_state.pop("_auth_password_ok", None)
    if pending:  # the password was right a moment ago, in the form's callback
        _start_session(db, authenticator, pending)
    elif not st.session_state.get("auth_username"):
        _restore_from_cookie(db, authenticator)
    username = st.session_state.get("auth_username")
    if username:
        user = current_user(db, username, st.session_state.get("auth_token"))
        if user is not None:
            st.session_state.pop("_auth_notice", None)
            return user
        forget_sign_in()
        st.session_state["_auth_notice"] = _ENDED
    _show_login(db)
    return None


def current_user(db: Database, username: str, token: str | None) -> User | None:
    """The user as stored now, if still allowed in. In a browser `auth_username` is only ever set together
    with `auth_token`, whose session must still be live; only a test sets the username alone."""
    if token is None:  # signed in without a browser cookie (AppTest)
        user = users.get_user(db, username)
        return user if user is not None and user.active else None
    user = users.session_user(db, token)
    return user if user is not None and user.username == username else None


def _restore_from_cookie(db: Database, authenticator: stauth.Authenticate) -> None:
    """Sign in from the cookie sent with this tab's first request, if it is a live session's."""
    try:
        authenticator.login(location="unrendered")
    except (stauth.LoginError, jwt.InvalidTokenError):  # a user no longer active, a malformed token
        _reset_library_state()
        return
    if not st.session_state.get("authentication_status"):
        return
    token = st.context.cookies.get(auth_keys.COOKIE_NAME)
    user = users.session_user(db, token) if token else None
    if user is None or user.username != st.session_state.get("username"):
        log.info("Refused a cookie for %r: no live session", st.session_state.get("username"))
        _reset_library_state()
        return
    st.session_state["auth_username"] = user.username
    st.session_state["auth_token"] = token


def _start_session(db: Database, authenticator: stauth.Authenticate, username: str) -> None:
    """After a password sign-in: issue a token, record its session, hand it to the browser.

    The tab counts as signed in only once the session row exists (if writing it fails, it is not).
    """
    token, expires = auth_keys.issue_token(_cookie_key(db.url), username, auth_keys.session_lifetime())
    users.start_session(db, username, token, expires)
    st.session_state["auth_token"] = token
    st.session_state["auth_username"] = username
    user = users.get_user(db, username)
    st.session_state.update({"name": user.name if user else username, "username": username,
                             "authentication_status": True, "email": user.email if user else "",
                             "roles": [user.role] if user else [], "logout": False})
    model = authenticator.cookie_controller.cookie_model
    # No st.rerun() after this: the component must reach the browser to store the cookie.
    # The component hands the expiry to the browser as local wall-clock time, like the library does.
    local_expiry = expires.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
    secure = (st.context.url or "").startswith("https:")  # never sent over plain HTTP once served over TLS
    model.cookie_manager.set(auth_keys.COOKIE_NAME, token, expires_at=local_expiry, secure=secure or None)


def _show_login(db: Database) -> None:
    """The login form as the only page, under every page's URL: a deep link shows the form (not "page not
    found") and, once signed in, opens the page asked for if this user may see it."""
    pages = [st.Page(functools.partial(_login_form, db), title="Sign in", url_path=spec.url_path, default=spec.default,
                     visibility="visible" if spec.default else "hidden") for spec in PAGES]
    st.navigation(pages, position="hidden").run()


def _login_form(db: Database) -> None:
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.space("large")
        company = (settings.get_company(db) or {}).get("legal_name")
        st.markdown(f"### :material/receipt_long: {fmt.plain(company) if company else 'Billing portal'}")
        if company:
            st.caption("Billing portal: invoices, payments and reports")
        notice = st.session_state.get("_auth_notice")
        if notice:  # Markdown written by the app (user data in it is escaped where it is written)
            st.info(notice, icon=":material/info:")
        with st.form("sign_in", border=True):
            st.markdown("**Sign in**")
            st.text_input("Username", key="login_username", autocomplete="username")
            st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
            st.form_submit_button("Sign in", type="primary", width="stretch", on_click=_submit_login, args=(db,))
        error = st.session_state.pop("_auth_error", None)
        if error:
            st.error(fmt.plain(error), icon=":material/error:")


def _submit_login(db: Database) -> None:
    """Form callback (runs before the script, so the page can render signed in on this very run)."""
    username = st.session_state.get("login_username") or ""
    password = st.session_state.get("login_password") or ""
    st.session_state["login_password"] = ""
    try:
        user = users.authenticate(db, username, password)
    except BillingError as exc:
        st.session_state["_auth_error"] = exc.message
        return
    except Exception:  # a callback's traceback would reach the user
        log.exception("Sign-in failed unexpectedly")
        st.session_state["_auth_error"] = "Signing in is not possible right now. Please try again."
        return
    st.session_state["_auth_password_ok"] = user.username


def sign_out_button(db: Database) -> None:
    st.button("Sign out", icon=":material/logout:", on_click=_sign_out, args=(db,), width="stretch")


def _sign_out(db: Database) -> None:
    token = st.session_state.get("auth_token")
    try:
        if token:
            users.end_session(db, token)
    except Exception:  # still sign this tab out; the session expires on its own
        log.exception("Could not revoke a session at sign-out")
    st.session_state.clear()  # nothing of the previous user's page state survives
    _reset_library_state()
    st.session_state["logout"] = True  # the library must not restore from this tab's first-request cookie
    st.session_state["_auth_forget_cookie"] = True
    st.session_state["_auth_notice"] = "You have signed out."


def forget_sign_in() -> None:
    for key in ("auth_username", "auth_token", "user"):
        st.session_state.pop(key, None)
    _reset_library_state()


def _reset_library_state() -> None:
    for key in _LIBRARY_KEYS:
        st.session_state[key] = None
