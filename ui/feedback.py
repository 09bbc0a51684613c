"""One consistent way to run an action and tell the user how it went."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from billing.errors import BillingError, PermissionDeniedError
from ui import access
from ui.format import plain

log = logging.getLogger("billing.ui")
T = TypeVar("T")


def show_unexpected(exc: BaseException) -> str:
    """Log a traceback under a short reference id and show only the id to the user."""
    reference = secrets.token_hex(4).upper()
    log.error("Unexpected error, reference %s", reference, exc_info=exc)
    st.error(f"Something went wrong on our side. Please try again; if it happens again, "
             f"quote reference {reference}.", icon=":material/error:")
    return reference


@contextmanager
def guarded() -> Iterator[None]:
    """Show a BillingError as a clear message, anything else as a reference id; never a traceback."""
    try:
        yield
    except BillingError as exc:
        show_refusal(exc)
    except Exception as exc:
        show_unexpected(exc)


def show_refusal(exc: BillingError) -> None:
    """A domain refusal as a clear message; a refusal because the user lost access meanwhile sends the tab
    back through app.py's gate instead (the sign-in form, or the pages of their new role)."""
    if isinstance(exc, PermissionDeniedError):
        access.refused(exc)
    st.error(plain(exc.message), icon=":material/error:")


def run_action(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run a domain call; on success toast `success`, on failure show why. Returns the result or None."""
    try:
        result = action()
    except BillingError as exc:
        show_refusal(exc)
        return None
    except Exception as exc:
        show_unexpected(exc)
        return None
    if success:
        flash(success)
    return result


def run_change(change: Callable[[], object], success: str | None = None) -> bool:
    """`run_action` for a change whose result does not matter: True if it was done (else why is shown)."""

    def done() -> bool:
        change()
        return True

    return bool(run_action(done, success))


def apply(change: Callable[[], object], success: str) -> None:
    """`run_change`; once it is done, rerun so that every panel of the page shows the new state."""
    if run_change(change, success):
        st.rerun()


def flash(message: str) -> None:
    """A toast that survives the rerun that usually follows a successful action (plain text, shown as typed)."""
    st.session_state.setdefault("_flash", []).append(message)


def show_flashes() -> None:
    for message in st.session_state.pop("_flash", []):
        st.toast(plain(message), icon=":material/check_circle:")
    access.show_notices()
