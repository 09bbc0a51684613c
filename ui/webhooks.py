"""The Webhooks page's panels: register an endpoint (its secret shown once), manage endpoints, see deliveries."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from billing.permissions import Actor
from billing.store.db import Database
from billing.webhooks import EVENT_TYPES, endpoints
from ui.feedback import run_action, run_change
from ui.format import plain

STATUSES = ("pending", "delivered", "failed")


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if hasattr(moment, "strftime") else ""


def add_endpoint_form(db: Database, actor: Actor) -> None:
    with st.form("add_webhook", clear_on_submit=True):
        url = st.text_input("Endpoint URL", placeholder="https://erp.example.com/billing-events",
                            help="http:// or https://; not an address of the server's own network.")
        events = st.multiselect("Events", EVENT_TYPES, default=list(EVENT_TYPES))
        description = st.text_input("Description", placeholder="ERP", max_chars=200)
        if st.form_submit_button("Add endpoint", type="primary", icon=":material/webhook:"):
            made = run_action(lambda: endpoints.create_endpoint(db, actor, url, events, description),
                              success="Webhook endpoint added.")
            if made is not None:
                endpoint, secret = made
                st.success(f"Endpoint {endpoint.id} added. Its signing secret is shown this once: copy it to the "
                           "receiving system now.", icon=":material/key:")
                st.code(secret, language=None)


def endpoints_panel(db: Database, actor: Actor, listed: list[endpoints.Endpoint]) -> None:
    if not listed:
        st.caption("No webhook endpoints yet.")
        return
    st.dataframe(pd.DataFrame([{
        "Id": e.id, "URL": e.url, "Description": e.description, "Events": ", ".join(e.events),
        "Secret": f"{e.secret_hint}…", "Status": "Active" if e.active else "Disabled"} for e in listed]),
        hide_index=True, width="stretch")
    by_id = {e.id: e for e in listed}
    picked = st.selectbox("Endpoint", list(by_id), key="webhook_endpoint",
                          format_func=lambda i: f"{i} · {by_id[i].url}")
    if picked is None:
        return
    chosen = by_id[picked]
    with st.form("change_webhook"):
        url = st.text_input("URL", value=chosen.url)
        events = st.multiselect("Events", EVENT_TYPES, default=list(chosen.events))
        description = st.text_input("Description", value=chosen.description, max_chars=200)
        active = st.checkbox("Active (off: no new events; what is pending is still sent)", value=chosen.active)
        if st.form_submit_button("Save endpoint") and run_change(
                lambda: endpoints.update_endpoint(db, actor, picked, url=url, events=events, description=description,
                                                  active=active), "Webhook endpoint saved."):
            st.rerun()
    left, right = st.columns(2)
    if left.button("New signing secret", icon=":material/autorenew:", key="roll_webhook_secret"):
        rolled = run_action(lambda: endpoints.roll_secret(db, actor, picked), success="New secret made.")
        if rolled is not None:
            st.success("The old secret no longer signs. The new one is shown this once:", icon=":material/key:")
            st.code(rolled[1], language=None)
    with right.popover("Delete endpoint", icon=":material/delete:"):
        st.caption("What is still pending for it fails; its deliveries stay listed.")
        if st.button("Delete it", type="primary", key="delete_webhook") and run_change(
                lambda: endpoints.delete_endpoint(db, actor, picked), "Webhook endpoint deleted."):
            st.rerun()


def deliveries_panel(db: Database, actor: Actor, listed: list[endpoints.Endpoint]) -> None:
    left, middle, right = st.columns(3)
    names = {e.id: e.url for e in listed}
    endpoint_id = left.selectbox("Endpoint", [None, *names], format_func=lambda i: "all" if i is None else names[i],
                                 key="delivery_endpoint")
    status = middle.selectbox("Status", [None, *STATUSES], format_func=lambda s: s or "all", key="delivery_status")
    event_type = right.selectbox("Event", [None, *EVENT_TYPES], format_func=lambda t: t or "all", key="delivery_type")
    rows = endpoints.deliveries_before(db, actor, before_id=None, limit=100, endpoint_id=endpoint_id, status=status,
                                       event_type=event_type)
    if not rows:
        st.caption("No deliveries.")
        return
    st.caption("The newest 100 deliveries. Failed attempts are retried with growing pauses (30 s, 1 min, 2 min, "
               "... at most 6 h) for three days; receivers recognise a repeat by its event id.")
    st.dataframe(pd.DataFrame([{
        "Id": d.id, "Event": d.type, "Record": f"{d.entity} {d.entity_id}", "Endpoint": d.endpoint_id,
        "Status": d.status, "Attempts": d.attempts, "Last answer": d.last_status or d.last_error[:60],
        "Next attempt": _when(d.next_attempt_at), "Created": _when(d.created_at), "Event id": d.event_id}
        for d in rows]), hide_index=True, width="stretch")
    picked = st.selectbox("Delivery", [d.id for d in rows], key="webhook_delivery")
    if picked is None:
        return
    delivery = endpoints.get_delivery(db, actor, picked)
    st.markdown(f"**{plain(delivery.type)}** · event `{plain(delivery.event_id)}` · {plain(delivery.status)}")
    if delivery.tries:
        st.dataframe(pd.DataFrame([{"Attempted": _when(t.attempted_at), "HTTP status": t.status_code,
                                    "Error": t.error, "Took (ms)": t.duration_ms} for t in delivery.tries]),
                     hide_index=True, width="stretch")
    st.json(json.loads(delivery.payload), expanded=False)
    if st.button("Resend", icon=":material/send:", key="resend_webhook") and run_change(
            lambda: endpoints.resend_delivery(db, actor, picked), "The delivery will be sent again."):
        st.rerun()
