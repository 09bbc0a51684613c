"""Recurring invoices: schedules per customer, the invoices coming up, and running what is due."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import streamlit as st

from billing import recurring
from billing.recurrence import FREQUENCIES, LAST_DAY
from billing.run_due import run_due
from ui import context
from ui.feedback import run_action, run_change
from ui.format import plain
from ui.lines_input import lines_input
from ui.tables import Column, list_fetch, paged_table, row_actions
from ui.widgets import customer_picker

db, actor = context.db(), context.actor()
can_write = context.allowed("invoices.write")
DAYS: dict[int | None, str] = {None: "The start date's day", LAST_DAY: "The last day of the month",
                               **{day: f"Day {day} (the month's last day if shorter)" for day in range(1, 32)}}


def schedule_rows() -> list[dict[str, Any]]:
    return [{"id": s.id, "name": s.name, "customer": s.customer, "frequency": FREQUENCIES[s.recurrence.frequency],
             "next": s.next_date, "action": recurring.ACTIONS[s.action], "status": s.status,
             "problem": s.last_error} for s in recurring.list_schedules(db, actor)]


def schedule_panel(chosen: dict[str, Any]) -> None:
    schedule, runs = recurring.get_schedule(db, actor, chosen["id"])
    with st.container(border=True):
        st.subheader(plain(schedule.name))
        st.caption(f"{plain(schedule.customer)} · {FREQUENCIES[schedule.recurrence.frequency]} from "
                   f"{schedule.recurrence.start_date} · {recurring.ACTIONS[schedule.action]} · {schedule.status}")
        if schedule.last_error:
            st.warning(f"The last run could not create its invoice: {plain(schedule.last_error)}")
        if can_write:
            buttons = st.container(horizontal=True)
            actions = {"active": [("Pause", partial(recurring.pause_schedule, db, actor, schedule.id))],
                       "paused": [("Resume", partial(recurring.resume_schedule, db, actor, schedule.id,
                                                     context.today()))]}.get(schedule.status, [])
            if schedule.status != "ended":
                actions.append(("End", partial(recurring.end_schedule, db, actor, schedule.id)))
            row_actions(buttons, actions, "schedules")
        st.write(f"Invoices created: {len(runs)}")
        if runs:
            st.dataframe([{"Period": run["period"] + 1, "Date": run["period_date"], "Invoice id": run["invoice_id"]}
                          for run in runs], hide_index=True)


def new_schedule() -> None:
    customer = customer_picker("schedule_customer")
    with st.form("new_schedule", border=False):
        left, right = st.columns(2)
        name = left.text_input("Name *", max_chars=200, placeholder="e.g. Monthly hosting")
        frequency = right.selectbox("Every", list(FREQUENCIES), format_func=FREQUENCIES.__getitem__, index=1)
        day = left.selectbox("Day of the month (months, quarters, years)", list(DAYS), format_func=DAYS.__getitem__)
        start = right.date_input("Start date", value=context.today(), format="YYYY-MM-DD")
        end = left.date_input("End date (optional)", value=None, format="YYYY-MM-DD")
        count = right.number_input("Number of invoices (optional)", min_value=0, max_value=10_000, value=0,
                                   help="0: no limit")
        action = st.radio("When due", list(recurring.ACTIONS), format_func=recurring.ACTIONS.__getitem__,
                          horizontal=True)
        notes = st.text_area("Notes on every invoice", max_chars=4000)
        lines = lines_input("schedule_lines")
        clicked = st.form_submit_button("Create schedule", type="primary", icon=":material/event_repeat:")
    if not clicked:
        return
    if customer is None:
        st.error("Choose the customer first.")
        return
    data = {"name": name, "frequency": frequency, "day_of_month": day, "start_date": start, "end_date": end,
            "max_count": int(count) or None, "action": action,
            "template": {"customer_id": customer.id, "notes": notes, "lines": lines}}
    if run_change(partial(recurring.create_schedule, db, actor, data), f"Schedule {name} created."):
        st.rerun()


def run_now(as_of: date) -> None:
    summary = run_action(partial(run_due, db, actor, as_of))
    if summary is not None:
        st.success(" \n".join(plain(line) for line in summary.lines()))


st.title("Recurring invoices")
tabs = st.tabs(["Schedules", "Upcoming", *(["New schedule"] if can_write else [])])
with tabs[0]:
    chosen = paged_table(
        "schedules", list_fetch(schedule_rows()),
        [Column("name", "Name", width="medium"), Column("customer", "Customer", width="medium"),
         Column("frequency", "Every"), Column("next", "Next invoice", "date"), Column("action", "When due"),
         Column("status", "Status"), Column("problem", "Problem", width="medium")],
        title="Recurring schedules",
        empty="No schedules yet." + (" Create one in 'New schedule'." if can_write else ""))
    if chosen is not None:
        schedule_panel(chosen)
    if can_write:
        st.caption("`python -m billing run-due` (cron) creates what is due every day; this does it now.")
        if st.button("Run what is due now", icon=":material/play_arrow:"):
            run_now(context.today())
with tabs[1]:
    upcoming = [{"on": item.on, "schedule": item.schedule, "customer": item.customer}
                for item in recurring.upcoming_invoices(db, actor, context.today())]
    paged_table("upcoming", list_fetch(upcoming),
                [Column("on", "Date", "date"), Column("schedule", "Schedule", width="medium"),
                 Column("customer", "Customer", width="medium")],
                title="Upcoming invoices", selectable=False, empty="No invoices coming up.")
if can_write:
    with tabs[2]:
        new_schedule()
