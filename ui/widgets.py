"""Widgets shared by several pages: the customer picker, status badges, label/amount rows, money columns, a new
password typed twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import streamlit as st

from billing import customers, users
from billing.document_totals import TotalRow
from billing.errors import BillingError
from billing.money import plain_number
from ui import context
from ui import format as fmt
from ui.format import plain

STATUS_COLORS = {"draft": "gray", "unpaid": "blue", "issued": "blue", "partially_paid": "orange", "paid": "green",
                 "overdue": "red", "void": "gray", "credit_note": "violet", "credited": "violet"}
STATUS_ICONS = {"draft": ":material/edit_note:", "unpaid": ":material/schedule:", "issued": ":material/send:",
                "partially_paid": ":material/timelapse:", "paid": ":material/check_circle:",
                "overdue": ":material/warning:", "void": ":material/block:", "credit_note": ":material/undo:",
                "credited": ":material/undo:"}
PICKER_SIZE = 1000  # customers listed in one select box (the browser filters them as the user types)


@dataclass(frozen=True)
class CustomerChoice:
    """The customer chosen in a picker: id, name, and the currency their documents are in."""

    id: int
    name: str
    currency: str


# --- small display helpers -------------------------------------------------------------------------

def number_text(value: Decimal) -> str:
    """A quantity or rate as typed by a person: 2, 1.5, 19 (no trailing zeros, no exponent)."""
    return plain_number(value)


def status_badge(status: str) -> None:
    label = fmt.STATUS_LABELS.get(status, fmt.label(status))
    st.badge(label, icon=STATUS_ICONS.get(status), color=STATUS_COLORS.get(status, "gray"))  # type: ignore[arg-type]


def amount_rows(rows: list[tuple[str, str, bool]], key: str) -> None:
    """Label/amount rows, amounts right-aligned; bold rows are the ones that matter (total, due). `key` names the
    block on its page: its rows stay on one line on a phone (ui.phone)."""
    with st.container(gap="xsmall", key=f"amounts-{key}"):
        for label, amount, strong in rows:
            left, right = st.columns([3, 2], gap="small")
            left.markdown(f"**{label}**" if strong else label)
            right.markdown(f"**{plain(amount)}**" if strong else plain(amount), text_alignment="right")


def totals_rows(rows: Sequence[TotalRow], currency: str) -> list[tuple[str, str, bool]]:
    """A document's total rows (billing.document_totals) for `amount_rows`: a VAT row names what it is charged on."""
    return [(row.label if row.taxable is None else f"{row.label} on {plain(fmt.money(row.taxable, currency))}",
             fmt.money(row.amount, currency), row.strong) for row in rows]


def money_column(label: str) -> Any:
    return st.column_config.TextColumn(label, alignment="right")


# --- a new password ------------------------------------------------------------------------------

PASSWORD_RULES = f"At least {users.MIN_PASSWORD_LENGTH} characters, not the username, not a commonly used password."


def new_password(label: str, repeat_label: str, *, help: str = PASSWORD_RULES,
                 beside: Sequence[Any] = ()) -> str | None:
    """A new password and its repetition (in the two columns `beside`, else one under the other), offered to the
    browser's password generator. The password typed; None, with the mismatch said under the fields, when the two
    differ (in a form: only in the run its button sent)."""
    first, second = beside or (st, st)
    password = first.text_input(label, type="password", autocomplete="new-password", help=help)
    repeat = second.text_input(repeat_label, type="password", autocomplete="new-password")
    if password != repeat:
        st.error("The two passwords do not match.", icon=":material/error:")
        return None
    return str(password)


# --- customer picker -------------------------------------------------------------------------------

def customer_picker(key: str, *, label: str = "Customer", preselect: int | None = None,
                    placeholder: str = "Choose a customer") -> CustomerChoice | None:
    """A customer select box; type in it to narrow the list.

    Up to PICKER_SIZE customers are listed at once. A larger customer base also gets a search box
    that narrows the list in the database first. Returns the chosen customer or None.
    """
    db, actor = context.db(), context.actor()
    if preselect is not None and key not in st.session_state:
        st.session_state[key] = preselect
    text = st.session_state.get(f"{key}_search", "")
    rows, total = customers.search_customers(db, actor, text or "", limit=PICKER_SIZE)
    searching = bool(text) or total > PICKER_SIZE
    found = {int(r["id"]): CustomerChoice(int(r["id"]), str(r["name"]), str(r["currency"])) for r in rows}
    current = st.session_state.get(key)
    if current is not None and current not in found:
        try:
            row = customers.get_customer(db, actor, int(current))
            found = {int(current): CustomerChoice(int(current), row["name"], row["currency"]), **found}
        except BillingError:
            st.session_state.pop(key, None)
    if searching:
        # More customers than one list holds: the search comes first, and the list shows its matches.
        search, pick = st.columns([2, 3], vertical_alignment="bottom")
        search.text_input("Find a customer", key=f"{key}_search", placeholder=f"Name or email, {total:,} customers",
                          icon=":material/search:")
        if text and len(rows) == 1 and current is None:
            st.session_state[key] = int(rows[0]["id"])  # one match: take it
        if not text:
            placeholder = f"The first {len(rows):,}: search to find others"
        elif total > len(rows):
            placeholder = f"{total:,} matches, the first {len(rows):,} shown"
        else:
            placeholder = f"{total:,} match{'' if total == 1 else 'es'}"
    else:
        pick = st.container()
    chosen = pick.selectbox(
        label, list(found), key=key, placeholder=placeholder, index=None,
        format_func=lambda cid: f"{found[cid].name} · {found[cid].currency}" if cid in found else str(cid))
    return found.get(chosen) if chosen is not None else None
