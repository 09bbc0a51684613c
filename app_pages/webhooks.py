"""Webhooks (admin): endpoints that other systems register to hear of invoices and payments, and every delivery."""

from __future__ import annotations

import streamlit as st

from billing.webhooks import endpoints
from ui import context
from ui.webhooks import add_endpoint_form, deliveries_panel, endpoints_panel

db, actor = context.db(), context.actor()

st.title("Webhooks")
st.caption("Each event is POSTed as JSON to the endpoints that take it, signed with the endpoint's secret in the "
           "`Billing-Signature` header (`t=<unix time>,v1=<HMAC-SHA256 of \"t.body\">`), and delivered at least once: "
           "a receiver recognises a repeat by the event id.")
listed = endpoints.list_endpoints(db, actor)
add, manage, deliveries = st.tabs([":material/add_link: Add an endpoint", ":material/webhook: Endpoints",
                                   ":material/outbox: Deliveries"])
with add:
    add_endpoint_form(db, actor)
with manage:
    endpoints_panel(db, actor, listed)
with deliveries:
    deliveries_panel(db, actor, listed)
