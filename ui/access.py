"""Access re-checked where app.py's gate does not run: dialogs, fragments, and after a domain refusal.

A dialog's or fragment's rerun executes only its own function, with the user kept in session state,
so `dialog` and `fragment` re-read the browser's session before the function runs. A domain call
refused because the session ended (signed out elsewhere, expired, the user disabled or their password
reset) or because the user's role changed sends the whole tab back through app.py: the sign-in form,
or the pages of the new role. The domain refuses the act itself either way (`billing.permissions`);
this module only makes the tab show what happened instead of an error inside a stale dialog.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from billing.errors import BillingError, PermissionDeniedError, SessionEndedError
from billing.users import User
from ui import auth, context
from ui.format import plain

F = TypeVar("F", bound=Callable[..., Any])
_NOTICES = "_access_notices"
# Session-state keys of confirmations a page keeps open across runs (invoice_dialog, customers:confirm,
# pay_pending, ...): dropped when the role changes, so none asked of the old role opens again later.
_CONFIRMATIONS = ("_dialog", ":confirm", "_pending")


def dialog(title: str, **options: Any) -> Callable[[F], F]:
    """`st.dialog`, whose every run first checks that its user may still be here."""

    def wrap(func: F) -> F:
        return st.dialog(title, **options)(_checked(func))

    return wrap


def fragment(func: F) -> F:
    """`st.fragment`, whose every run first checks that its user may still be here."""
    return st.fragment(_checked(func))


def callback(func: F) -> F:
    """An on_click / on_change callback that calls the domain. Callbacks run before the script, so before
    app.py's gate and a fragment's re-check: a refusal because access was lost meanwhile becomes the state
    that the run after it shows (the sign-in form, or the new role's pages), and any other refusal a
    notice, never Streamlit's exception box."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PermissionDeniedError as exc:
            if not refused(exc, rerun=False):
                notice(exc.message)
        except BillingError as exc:
            notice(exc.message)
        return None

    return run  # type: ignore[return-value]


def _checked(func: F) -> F:
    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _is_partial_run():  # a full run has just been through app.py's gate: no second read
            recheck()
        return func(*args, **kwargs)

    return run  # type: ignore[return-value]


def _is_partial_run() -> bool:
    ctx = get_script_run_ctx()
    return ctx is None or bool(ctx.fragment_ids_this_run)


def recheck() -> None:
    """Leave for app.py's gate if the user lost access or changed role since the tab's last full run."""
    if st.session_state.get("user") is None:
        st.rerun(scope="app")
    _leave_if_changed(_live_user(), rerun=True)


def refused(exc: PermissionDeniedError, rerun: bool = True) -> bool:
    """After the domain refused an act: if the user lost access or their role changed meanwhile, rerun the
    tab through the gate (never returns then; in a callback, where no rerun can be asked, the state is
    prepared for the run that follows, and True returned); otherwise False: the caller shows the refusal."""
    return _leave_if_changed(None if isinstance(exc, SessionEndedError) else _live_user(), rerun)


def _live_user() -> User | None:
    kept: User | None = st.session_state.get("user")
    if kept is None:
        return None
    return auth.current_user(context.real_db(), kept.username, st.session_state.get("auth_token"))


def _leave_if_changed(live: User | None, rerun: bool) -> bool:
    """Send the tab to the sign-in form (no live user) or to the new role's pages; False if neither applies."""
    kept: User | None = st.session_state.get("user")
    if live is None:
        _signed_out(rerun)
        return True
    if kept is not None and live.role != kept.role:
        keep_user(live)
        if rerun:
            st.rerun(scope="app")
        return True
    return False


def _signed_out(rerun: bool = True) -> None:
    # Like signing out: nothing of this tab's page state survives for whoever signs in next.
    st.session_state.clear()
    auth.forget_sign_in("ended")
    if rerun:
        st.rerun(scope="app")


def keep_user(live: User) -> None:
    """Remember the user app.py's gate read for this run; a role changed since the last run is said once
    (a form sent or a button clicked by the old role did nothing: the page now runs as the new one)."""
    kept: User | None = st.session_state.get("user")
    if kept is not None and kept.username == live.username and kept.role != live.role:
        for key in [k for k in st.session_state if str(k).endswith(_CONFIRMATIONS)]:
            del st.session_state[key]  # a confirmation asked of the old role is not carried over
        notice(f"Your role was changed to {live.role} meanwhile, so nothing was done. The menu and this page now "
               "show what that role may do.")
    st.session_state["user"] = live


def notice(message: str) -> None:
    """A warning shown at the top of the next full run (after the rerun that usually follows)."""
    st.session_state.setdefault(_NOTICES, []).append(message)


def show_notices() -> None:
    for message in st.session_state.pop(_NOTICES, []):
        st.warning(plain(message), icon=":material/sync_problem:")
