"""Bank statement page: the lines with their proposed match and why, and deciding one line (confirm, pick
other invoices or split, or mark it as not a customer payment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import streamlit as st

from billing.bank import decisions, service
from billing.bank.matching import OTHER, PAYMENT, REVERSAL, SURE, Proposal
from billing.bank_accounts import format_iban
from ui import context
from ui import format as fmt
from ui.feedback import run_action, run_change
from ui.tables import Column, clear_selection, paged_table

TABLE = "bank_lines"
COLUMNS = [Column("booking_date", "Booked", "date", width=95), Column("amount", "Amount", "money", width=85),
           Column("counterparty_name", "From / to", width=140), Column("remittance", "Text", width=170),
           Column("confidence", "Match", "label", width=70), Column("proposed", "Proposal", width=190),
           Column("why", "Why", width=250)]
DECIDED = Column("decided", "Decided", width=140)
VIEWS = {"To review": True, "Decided": False, "All": None}
EMPTY = {"To review": "Nothing to review: every imported line is decided (see Decided). Import the next statement "
                      "above.", "Decided": "No line is decided yet.", "All": "No statement lines yet. Import a "
                      "statement above."}
SPLIT_ROWS = 4
PINNED = "bank_lines:pinned"  # (row index, line id) of the line whose panel the previous run showed


def describe(proposal: Proposal, currency: str, numbers: dict[int, str] | None = None) -> str:
    """What a proposal would record, in words: 'INV-1 €119.00, INV-2 €10.00; €5.00 as credit'."""
    if proposal.kind == PAYMENT:
        paid = ", ".join(f"{(numbers or {}).get(i, f'#{i}')} {fmt.money(a, currency)}" for i, a in proposal.allocations)
        credit = f"{fmt.money(proposal.credit, currency)} as credit" if proposal.credit else ""
        return "; ".join(filter(None, [paid, credit])) or "All as credit"
    if proposal.kind == REVERSAL:
        return f"Reversal of payment {proposal.reverses}"
    if proposal.kind == OTHER:
        return f"Not a customer payment: {fmt.label(proposal.category)}"
    return "No proposal"


def why(proposal: Proposal) -> str:
    """Why the matcher proposes it, as a sentence."""
    return proposal.reason[:1].upper() + proposal.reason[1:] + "."


def _decided(row: dict[str, Any]) -> str:
    if row["decision"] is None:
        return ""
    if row["decision"] == OTHER:
        return fmt.label(row["category"])
    return f"{fmt.label(row['decision'])} {row['payment_id']}"


def lines_table(view: str) -> dict[str, Any] | None:
    """The statement lines of a view, paged; returns the line the user selected."""
    db, actor = context.db(), context.actor()
    undecided = VIEWS[view]
    shown: list[int] = []  # the ids of this run's page, in order

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows, total = service.list_lines(db, actor, undecided=undecided, limit=limit, offset=offset)
        for row in rows:
            row["proposed"] = describe(row["proposal"], row["currency"], row["numbers"])
            row["why"] = why(row["proposal"])
            row["decided"] = _decided(row)
        if not shown:  # the page; an export fetches again later, from another thread
            shown.extend(int(row["id"]) for row in rows)
        return rows, total

    columns = COLUMNS if undecided else [*COLUMNS, DECIDED]  # nothing is decided among the lines to review
    selected = paged_table(TABLE, fetch, columns, filters={"View": view}, title="Bank statement lines",
                           empty=EMPTY[view])
    return _same_line(selected, shown)


def forget_selection() -> None:
    """After this tab changed the lines (an import, Confirm all): no line stays open, and the moved rows are no
    other user's doing."""
    clear_selection(TABLE)
    st.session_state.pop(PINNED, None)


def _same_line(selected: dict[str, Any] | None, shown: list[int]) -> dict[str, Any] | None:
    """The selected line, unless another line moved under the selection since the previous run (another user
    decided a line above it, or imported lines): a click meant for the line the user had open is then not taken
    for another line; they are told what became of theirs."""
    before = st.session_state.pop(PINNED, None)
    if selected is None:
        return None
    line_id = int(selected["id"])
    index = shown.index(line_id) if line_id in shown else -1
    if before is None or before[0] != index or before[1] == line_id:
        st.session_state[PINNED] = (index, line_id)
        return selected
    clear_selection(TABLE)
    old = service.get_line(context.db(), context.actor(), before[1])
    what = f"The line of {fmt.money(old['amount'], old['currency'])} from {old['counterparty_name'] or 'no name'}"
    if old["decision"] is not None:
        st.warning(fmt.plain(f"{what} was decided meanwhile by {old['decided_by']} ({_decided(old)}); nothing was "
                             "recorded from this tab."), icon=":material/warning:")
    else:
        st.warning(fmt.plain(f"The lines changed while you looked (another user imported or decided some). {what} "
                             "is still to review: select it again."), icon=":material/warning:")
    return None


def confirm_sure_button() -> None:
    db, actor = context.db(), context.actor()
    sure = service.list_lines(db, actor, undecided=True, confidence=SURE, limit=1)[1]
    cells = st.columns(2)
    if cells[0].button(f"Confirm all sure matches ({sure})", type="primary", disabled=not sure,
                       icon=":material/done_all:"):
        result = run_action(lambda: decisions.confirm_sure(db, actor))
        if result is not None:
            forget_selection()  # this tab decided the lines: the one it had open may be among them
            done, problems = result
            st.success(f"{done} payment(s) recorded.", icon=":material/check_circle:")
            for problem in problems:
                st.warning(fmt.plain(problem), icon=":material/warning:")
    if cells[1].button("Match the open lines again", icon=":material/refresh:",
                       help="After invoices were issued or paid elsewhere."):
        count = run_action(lambda: service.rematch(db, actor))
        if count is not None:
            st.success(f"{count} line(s) matched again.", icon=":material/check_circle:")


def line_panel(row: dict[str, Any]) -> None:
    """One line: its details, the proposal, and what the user may decide."""
    db, actor = context.db(), context.actor()
    proposal: Proposal = row["proposal"]
    currency = row["currency"]
    with st.container(border=True):
        payer = f"{row['counterparty_name'] or 'no name'} {format_iban(row['counterparty_iban'])}"
        st.markdown(f"**{fmt.money(row['amount'], currency)}** on {fmt.day(row['booking_date'])} · {fmt.plain(payer)}")
        st.caption(fmt.plain(row["remittance"] or "(no remittance text)"))
        if row["decision"] is not None:
            st.info(f"Decided: {fmt.plain(_decided(row))} by {fmt.plain(row['decided_by'])}.", icon=":material/info:")
            return
        st.markdown(f"**Proposal ({fmt.plain(proposal.confidence)}):** "
                    f"{fmt.plain(describe(proposal, currency, row.get('numbers')))}  \n"
                    f"**Why:** {fmt.plain(why(proposal))}")
        seen = _seen_proposal(int(row["id"]), proposal)
        confirmable = (proposal.kind == PAYMENT and proposal.customer_id is not None) or \
            (proposal.kind == REVERSAL and proposal.reverses is not None)
        if confirmable and st.button("Confirm", type="primary", icon=":material/check:",
                                     key=f"bank_confirm_{row['id']}"):
            _done(run_change(lambda: decisions.confirm_line(db, actor, int(row["id"]), seen=seen),
                             "Payment recorded."))
        if row["amount"] > 0:
            _split_form(row, proposal)
        _not_payment_form(row, proposal)


def _seen_proposal(line_id: int, proposal: Proposal) -> Proposal:
    """The proposal this tab showed for the line in its previous run, which a click on Confirm approves (this run
    reads the line again: another user may have matched it anew since); remembers the one shown now."""
    key = f"bank_shown_{line_id}"
    seen = st.session_state.get(key, proposal)
    st.session_state[key] = proposal
    return seen if isinstance(seen, Proposal) else proposal


def _split_form(row: dict[str, Any], proposal: Proposal) -> None:
    """Pick other invoices, or split the amount across several: what is left stays customer credit."""
    db, actor = context.db(), context.actor()
    currency = row["currency"]
    with st.expander("Pick other invoices or split", key=f"bank_split_open_{row['id']}"):
        search = st.text_input("Find open invoices (number or customer)", key=f"bank_find_{row['id']}",
                               max_chars=100)
        found = run_action(lambda: decisions.find_open_invoices(db, actor, search, currency)) or []
        options = {int(r["id"]): f"{r['number']} · {r['customer']} · {fmt.money(r['balance'], currency)} open"
                   for r in found}
        prefilled = list(proposal.allocations)
        with st.form(f"bank_split_{row['id']}", border=False):
            chosen: list[tuple[int | None, str]] = []
            for index in range(SPLIT_ROWS):
                invoice_id, amount = prefilled[index] if index < len(prefilled) else (None, Decimal(0))
                ids = list(options) + ([invoice_id] if invoice_id is not None and invoice_id not in options else [])
                left, right = st.columns([3, 1])
                picked = left.selectbox(f"Invoice {index + 1}", ids, index=ids.index(invoice_id) if invoice_id in ids
                                        else None, format_func=lambda i: options.get(i, f"invoice #{i}"),
                                        key=f"bank_split_inv_{row['id']}_{index}")
                value = right.text_input("Amount", str(amount) if amount else "", max_chars=20,
                                         key=f"bank_split_amt_{row['id']}_{index}")
                chosen.append((picked, value))
            if st.form_submit_button("Record payment to these invoices"):
                plan = [(int(i), value.strip()) for i, value in chosen if i is not None and value.strip()]
                if not plan:
                    st.error("Pick at least one invoice and its amount.")
                    return
                _done(run_change(lambda: decisions.confirm_line(db, actor, int(row["id"]), allocations=plan),
                                 "Payment recorded."))


def _not_payment_form(row: dict[str, Any], proposal: Proposal) -> None:
    db, actor = context.db(), context.actor()
    with st.form(f"bank_other_{row['id']}", border=False):
        categories = list(decisions.CATEGORIES)
        default = categories.index(proposal.category) if proposal.category in categories else 0
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        category = left.selectbox("Not a customer payment", categories, index=default, format_func=fmt.label)
        if right.form_submit_button("Mark"):
            _done(run_change(lambda: decisions.mark_not_payment(db, actor, int(row["id"]), category), "Line marked."))


def _done(changed: bool) -> None:
    if changed:
        forget_selection()
        st.rerun()
