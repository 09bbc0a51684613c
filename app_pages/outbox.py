"""Outbox (admin): every e-mail the portal sends, its state and the server's last reply; failed ones sent again."""

from __future__ import annotations

import streamlit as st

from billing import mailing
from billing.outbox import FAILED, QUEUED, SENDING, SENT
from billing.store.db import utcnow
from ui import context
from ui import format as fmt
from ui.feedback import run_change

STATES = {None: "All", QUEUED: "Waiting", SENDING: "Being sent", SENT: "Sent", FAILED: "Failed"}

db, actor = context.db(), context.actor()
st.title("Outbox", anchor=False)
st.caption("E-mails wait here until the server's sender hands them to the SMTP server (every few seconds). "
           "Temporary refusals are tried again with growing pauses; a permanent refusal shows the server's reply.")
counts = mailing.outbox_counts(db, actor)
with st.container(horizontal=True):
    for status in (QUEUED, SENDING, SENT, FAILED):
        st.metric(STATES[status], counts.get(status or "", 0), border=True)
chosen = st.segmented_control("Show", list(STATES), format_func=lambda s: STATES[s], default=None, key="outbox:state")
messages = mailing.list_outbox(db, actor, status=chosen)
if not messages:
    st.info("No messages.", icon=":material/inbox:")
for message in messages:
    with st.container(border=True):
        top = st.columns([5, 2, 1.5], vertical_alignment="center")
        top[0].markdown(f"**{fmt.plain(message.subject)}**  \n"
                        f"{fmt.plain(', '.join((*message.recipients, *message.cc)))}")
        when = message.sent_at or message.last_attempt_at or message.created_at
        top[1].markdown(f"{fmt.plain(STATES.get(message.status, message.status))} · {message.attempts} attempt(s)  \n"
                        f"{when:%Y-%m-%d %H:%M} UTC")
        if message.status in (FAILED, QUEUED) and top[2].button(
                "Send again" if message.status == FAILED else "Send now", key=f"outbox:resend:{message.id}",
                icon=":material/replay:") and run_change(
                    lambda message_id=message.id: mailing.resend(db, actor, message_id, utcnow()),  # type: ignore[misc]
                    "Queued again."):
            st.rerun()
        if message.last_error:
            st.caption(f"Last reply: {fmt.plain(message.last_error)}")
