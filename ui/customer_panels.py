"""Panels of the customer page: customers whose address needs completing, and a customer's learned IBANs."""

from __future__ import annotations

from functools import partial

import streamlit as st

from billing import customer_accounts, customers
from billing.bank_accounts import format_iban
from billing.permissions import Actor
from billing.store.db import Database
from ui import format as fmt
from ui.feedback import run_change


def incomplete_addresses(db: Database, actor: Actor) -> None:
    """A notice listing the customers whose address is one text still (migration 10 could not split it surely)."""
    found, total = customers.incomplete_addresses(db, actor, limit=10)
    if not total:
        return
    with st.expander(f":material/edit_location_alt: {total} customer address(es) need completing", expanded=False):
        st.caption("These addresses were entered as one text and could not be split surely into street, post code "
                   "and city, which e-invoices need. Open a customer and fill in the parts under Profile.")
        for customer_id, name in found:
            st.page_link("app_pages/customers.py", label=fmt.plain(name), icon=":material/person:",
                         query_params={"customer": str(customer_id)})
        if total > len(found):
            st.caption(f"… and {total - len(found)} more.")


def learned_ibans(db: Database, actor: Actor, customer_id: int, can_write: bool) -> None:
    """The IBANs bank matching learned this customer pays from, each removable."""
    learned = customer_accounts.learned_ibans(db, actor, customer_id)
    st.markdown("**Bank accounts learned from statements**")
    if not learned:
        st.caption("None yet: confirming a bank statement line of this customer remembers the IBAN it came from, "
                   "so the next one from there is matched to them.")
        return
    for account in learned:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"`{format_iban(account.iban)}` · learned {account.learned_at:%Y-%m-%d}")
            remove = can_write and st.button("Remove", key=f"forget:{customer_id}:{account.iban}",
                                             icon=":material/close:", type="tertiary",
                                             help="Stop matching payments from this account to them")
            if remove and run_change(partial(customer_accounts.forget_iban, db, actor, customer_id, account.iban),
                                     f"IBAN {format_iban(account.iban)} removed."):
                st.rerun()
