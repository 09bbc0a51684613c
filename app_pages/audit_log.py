"""Audit log (admin): browse and filter the hash-chained trail of changes, and verify the chain."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from billing import audit
from ui import context
from ui import format as fmt

PAGE_SIZE = 50
ENTITIES = ["", "company", "customer", "database", "invoice", "payment", "product", "quote", "recurring_run",
            "recurring_schedule", "series", "settings", "tax_rate", "user"]

db, actor = context.db(), context.actor()
zone = context.timezone()


def _utc(day: date) -> datetime:
    """Local midnight of `day` in the company's time zone, as the store's naive UTC."""
    return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)


def _local(moment: datetime) -> str:
    return fmt.moment(moment.replace(tzinfo=UTC).astimezone(zone), seconds=True)


def _events(offset: int, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    return audit.list_events(db, actor, limit=PAGE_SIZE, offset=offset, **filters)


def _reset_page() -> None:
    st.session_state["audit_page"] = 1


st.title("Audit log")
st.caption(f"Every change, newest first, in the company's time zone ({zone.key}). Each event is chained "
           "to the one before it by a keyed hash (HMAC-SHA256, with a key kept outside the database) and the "
           "latest event is recorded outside the database too, so a later edit, insertion or deletion shows "
           "when the chain is verified.")

verify_col, result_col = st.columns([1, 4], vertical_alignment="center")
if verify_col.button("Verify chain", icon=":material/verified:"):
    with st.spinner("Checking every event..."):
        report = audit.verify_chain(db, actor)
    if report.ok:
        result_col.success(f"The audit trail is intact: all {report.events:,} events verify.",
                           icon=":material/check_circle:")
    else:
        result_col.error(f"The audit trail has been tampered with: {fmt.plain(report.problem)} "
                         f"(first affected event #{report.first_bad_id}).", icon=":material/gpp_bad:")

with st.form("audit_filters", border=False):
    who_col, entity_col, action_col, dates_col = st.columns([1, 1, 1, 1.4], vertical_alignment="bottom")
    who = who_col.text_input("Actor", placeholder="username")
    entity = entity_col.selectbox("Entity", ENTITIES, format_func=lambda e: e.replace("_", " ").capitalize() or "All")
    action = action_col.text_input("Action contains", placeholder="e.g. issue")
    dates: Any = dates_col.date_input("Date range", value=[], format="YYYY-MM-DD")
    st.form_submit_button("Apply filters", icon=":material/filter_alt:", on_click=_reset_page)

filters: dict[str, Any] = {"actor": who.strip() or None, "entity": entity or None, "action": action.strip() or None}
if len(dates) >= 1:
    filters["since"] = _utc(dates[0])
    filters["until"] = _utc((dates[1] if len(dates) == 2 else dates[0]) + timedelta(days=1))

page = int(st.session_state.get("audit_page") or 1)
events, total = _events((page - 1) * PAGE_SIZE, **filters)
pages = max(1, math.ceil(total / PAGE_SIZE))
if page > pages:
    page = 1
    events, total = _events(0, **filters)
st.session_state["audit_page"] = page

if not events:
    st.info("No events match these filters.", icon=":material/search_off:")
else:
    names = audit.record_labels(db, actor, events)  # document numbers and names, not internal ids
    table = pd.DataFrame([{"#": e["id"], "When": _local(e["occurred_at"]), "Actor": e["actor"],
                           "Action": fmt.audit_action(e["action"]), "Record": fmt.label(e["entity"]),
                           "Number / name": names[(str(e["entity"]), str(e["entity_id"]))]}
                          for e in events])
    picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=f"audit_table_{page}")
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.caption(f"{total:,} events · page {page} of {pages} · select a row to see what changed")
    if pages > 1:
        with right:
            st.pagination(pages, key="audit_page")
    rows = picked.selection.rows if picked is not None else []
    if rows:
        event = events[rows[0]]
        label = names[(str(event["entity"]), str(event["entity_id"]))]
        st.subheader(f"Event #{event['id']}: {fmt.audit_action(event['action'])}, {fmt.label(event['entity'])} "
                     f"{fmt.plain(label)}")
        st.caption(f"{_local(event['occurred_at'])} by {fmt.plain(event['actor'])} · hash {event['hash'][:16]}…")
        before_col, after_col = st.columns(2)
        for column, title, payload in ((before_col, "Before", event["before"]), (after_col, "After", event["after"])):
            column.markdown(f"**{title}**")
            if payload:
                column.json(json.loads(payload), expanded=True)
            else:
                column.caption("—")
