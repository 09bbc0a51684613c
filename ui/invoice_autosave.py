"""The invoice editor's autosave: each change that yields a valid draft is stored, so a sidebar click or a reload
finds it again; Cancel undoes what this editor stored.

It works on the editor's state (`ui.invoice_editor`'s session dict): `target` ("new" or the draft's id), and its
own keys `stored` (what the database holds, as compared text), `created` (this editor made the draft), `original`
(the draft's input when the editor opened it), `saved_at` and `unsaved` (what the editor says about saving).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from billing import invoices
from billing.errors import BillingError
from billing.models import InvoiceDraftIn
from ui import context
from ui.format import plain


def _mark(data: dict[str, Any] | None) -> str:
    return repr(data)


def autosave(state: dict[str, Any], data: dict[str, Any] | None) -> None:
    """Store `data` (None: no customer chosen yet) when it differs from what the editor opened with or last
    stored. The first run only notes what it opened with: an unsaved copy stays unsaved until the user changes
    it. A new invoice becomes a draft here, and the URL then names it (?edit=ID) for a reload."""
    mark = _mark(data)
    if "stored" not in state:
        state["stored"] = mark
        return
    if data is None or mark == state["stored"]:
        return
    db, actor = context.db(), context.actor()
    try:
        if state["target"] == "new":
            invoice_id = invoices.create_draft(db, actor, data)
            state["target"], state["created"] = invoice_id, True
            st.query_params["edit"] = str(invoice_id)
        else:
            invoices.update_draft(db, actor, int(state["target"]), data)
    except BillingError as exc:  # an amount half typed: said under the editor, stored at the next valid change
        state["unsaved"] = exc.message
        return
    state["stored"], state["unsaved"] = mark, None
    state["saved_at"] = datetime.now(context.timezone()).strftime("%H:%M")


def status_line(state: dict[str, Any], has_customer: bool) -> None:
    """What the editor has stored: "Saved as draft 12:03", why the last change is not stored, or when it will be."""
    if state.get("unsaved"):
        st.caption(f":material/edit_off: Not saved yet: {plain(state['unsaved'])}")
    elif state.get("saved_at"):
        st.caption(f":material/cloud_done: Saved as draft {state['saved_at']}")
    elif state["target"] == "new":
        st.caption("Saved as a draft as soon as you change something with a customer chosen." if has_customer
                   else "Choose a customer: the invoice is then saved as a draft as you type.")


def discard(state: dict[str, Any]) -> None:
    """Undo what the editor stored: the draft it created is deleted; a draft it changed gets back the content it
    had when the editor opened it. Raises BillingError when the database refuses."""
    db, actor = context.db(), context.actor()
    if state.get("created"):
        invoices.delete_draft(db, actor, int(state["target"]))
    elif state.get("saved_at") and isinstance(state.get("original"), InvoiceDraftIn):
        invoices.update_draft(db, actor, int(state["target"]), state["original"])


__all__ = ["autosave", "discard", "status_line"]
