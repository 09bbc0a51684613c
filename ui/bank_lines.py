"""Bank statement page: the lines with their proposed match and why, and deciding one line (confirm, pick
other invoices or split, or mark it as not a customer payment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import streamlit as st

from billing.bank import decisions, service
from billing.bank.matching import OTHER, PAYMENT, REVERSAL, SURE, Proposal
from ui import context
from ui import format as fmt
from ui.feedback import run_action, run_change
from ui.tables import Column, clear_selection, paged_table

TABLE = "bank_lines"
COLUMNS = [Column("booking_date", "Booked", "date", width="small"), Column("amount", "Amount", "money"),
           Column("counterparty_name", "From / to"), Column("remittance", "Text", width="large"),
           Column("confidence", "Match", "label", width="small"), Column("why", "Proposal and why", width="large"),
           Column("decided", "Decided", width="small")]
VIEWS = {"To review": True, "Decided": False, "All": None}
SPLIT_ROWS = 4


def describe(proposal: Proposal, numbers: dict[int, str] | None = None) -> str:
    """A proposal in words for the table: what it would record, and why."""
    if proposal.kind == PAYMENT:
        paid = ", ".join(f"{(numbers or {}).get(i, f'#{i}')} {a}" for i, a in proposal.allocations)
        credit = f"; credit {proposal.credit}" if proposal.credit else ""
        return f"Payment: {paid or 'credit only'}{credit}. {proposal.reason}"
    if proposal.kind == REVERSAL:
        return f"Reversal of payment {proposal.reverses}. {proposal.reason}"
    if proposal.kind == OTHER:
        return f"Not a customer payment ({fmt.label(proposal.category)}). {proposal.reason}"
    return proposal.reason.capitalize()


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

    def fetch(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows, total = service.list_lines(db, actor, undecided=undecided, limit=limit, offset=offset)
        for row in rows:
            row["why"] = describe(row["proposal"], row["numbers"])
            row["decided"] = _decided(row)
        return rows, total

    return paged_table(TABLE, fetch, COLUMNS, filters={"View": view}, title="Bank statement lines",
                       empty="No statement lines here. Import a statement above.")


def confirm_sure_button() -> None:
    db, actor = context.db(), context.actor()
    sure = service.list_lines(db, actor, undecided=True, confidence=SURE, limit=1)[1]
    cells = st.columns(2)
    if cells[0].button(f"Confirm all sure matches ({sure})", type="primary", disabled=not sure,
                       icon=":material/done_all:"):
        result = run_action(lambda: decisions.confirm_sure(db, actor))
        if result is not None:
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
        st.markdown(f"**{fmt.money(row['amount'], currency)}** on {fmt.day(row['booking_date'])} · "
                    f"{fmt.plain(row['counterparty_name'] or 'no name')} {fmt.plain(row['counterparty_iban'])}")
        st.caption(fmt.plain(row["remittance"] or "(no remittance text)"))
        if row["decision"] is not None:
            st.info(f"Decided: {fmt.plain(_decided(row))} by {fmt.plain(row['decided_by'])}.", icon=":material/info:")
            return
        st.markdown(f"**Proposal ({fmt.plain(proposal.confidence)}):** "
                    f"{fmt.plain(describe(proposal, row.get('numbers')))}")
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
    with st.expander("Pick other invoices or split"):
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
        clear_selection(TABLE)
        st.rerun()
