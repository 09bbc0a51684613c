"""The demo sandbox in the portal: the banner on every page, the switch in the sidebar, creating and deleting it.

Which books a tab works in is the tab's own choice (session state): a new tab or a reload opens the real books,
so nobody ends up in the sandbox without having asked for it on that page. The sign-in after "Explore with demo
data" opens the sandbox through `/?demo=open`.
"""

from __future__ import annotations

import streamlit as st

from billing import sandbox
from billing.permissions import Actor, can
from billing.store.db import Database
from ui import context
from ui.feedback import flash, run_change

OPEN_PARAM = "demo"
OPEN_VALUE = "open"
OPEN_PATH = f"/?{OPEN_PARAM}={OPEN_VALUE}"
BANNER = ("**Demo sandbox**: invented customers, invoices and payments, kept apart from your real books. Nothing "
          "done here reaches them, and no e-mail or webhook is ever sent from here.")


def choose_books(real: Database) -> None:
    """At the start of a run: follow `/?demo=open`, and bring a tab whose sandbox was deleted back to the real
    books, saying so."""
    if st.query_params.get(OPEN_PARAM) == OPEN_VALUE:
        del st.query_params[OPEN_PARAM]
        if sandbox.sandbox_exists(real):
            st.session_state[context.SANDBOX] = True
    if context.in_sandbox() and not sandbox.sandbox_exists(real):
        st.session_state.pop(context.SANDBOX, None)
        st.warning(context.SANDBOX_GONE, icon=":material/warning:")


def banner() -> None:
    """Above every page while the tab is in the sandbox."""
    if context.in_sandbox():
        st.warning(BANNER, icon=":material/science:")


def switch(real: Database) -> None:
    """The sidebar's way into the sandbox and back out."""
    if context.in_sandbox():
        st.button("Back to my real books", icon=":material/logout:", on_click=_use_sandbox, args=(False,),
                  width="stretch", type="primary")
    elif sandbox.sandbox_exists(real):
        st.button("Open the demo sandbox", icon=":material/science:", on_click=_use_sandbox, args=(True,),
                  width="stretch")


def _use_sandbox(on: bool) -> None:
    for key in list(st.session_state):  # no page state (a chosen invoice, a draft) crosses between the books
        if not str(key).startswith(("auth_", "_auth")) and key not in ("user", "_flash"):
            del st.session_state[key]
    st.session_state[context.SANDBOX] = on
    st.query_params.clear()
    flash("You are in the demo sandbox." if on else "You are back in your real books.")


def settings_panel(real: Database, actor: Actor) -> None:
    """Settings > Database: create the sandbox, or delete it (admins)."""
    st.subheader("Demo sandbox")
    st.caption("A separate database with invented customers, invoices and payments (about 1,000 customers and "
               "10,000 invoices) to try the portal out. Your real books, their numbering and their audit trail "
               "are never touched; everybody signed in can switch to it in the sidebar.")
    if not can(actor, "settings.write"):
        return
    if sandbox.sandbox_exists(real):
        with st.popover("Delete the demo sandbox", icon=":material/delete:"):
            st.caption("Everything in the sandbox goes; your real books stay as they are.")
            if st.button("Delete it now", type="primary") and run_change(
                    lambda: sandbox.delete_sandbox(real, actor), "The demo sandbox was deleted."):
                st.session_state.pop(context.SANDBOX, None)
                st.rerun()
    elif st.button("Create a demo sandbox", icon=":material/science:"):
        with st.spinner("Creating the demo sandbox..."):
            created = run_change(lambda: sandbox.create_sandbox(real, actor, context.today()),
                                 "The demo sandbox is ready: open it in the sidebar.")
        if created:
            st.rerun()
