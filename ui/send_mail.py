"""Sending a document by e-mail: the Send dialog of an invoice, a credit note, a quote or a statement, and what a
document's view shows of what was sent (when, to whom, whether the customer's link was opened)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import streamlit as st

from billing import document_links, mailing
from billing.attachments import DOCUMENT_ATTACHMENTS
from billing.documents import InvoiceDocument
from billing.einvoice.export import FORMATS
from billing.mail_templates import PLACEHOLDERS
from billing.mailing import Draft
from billing.outbox import OutboxMessage
from billing.reports.statements import Statement
from billing.store.db import utcnow
from ui import access, context
from ui.feedback import run_action
from ui.format import plain

ATTACHMENT_NAMES = {"document_pdf": "the document as PDF", "statement_pdf": "the statement as PDF",
                    "quote_pdf": "the quote as PDF"}
STATUS_WORDS = {"queued": "waiting to be sent", "sending": "being sent", "sent": "sent", "failed": "failed"}
_STATEMENT_DIALOG = "statement_send_dialog"


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _compose(draft: Draft, key: str, attached: str) -> tuple[str, str, str, str]:
    to = st.text_input("To", ", ".join(draft.to), key=f"{key}:to", help="Separate several addresses by commas.")
    cc = st.text_input("Cc", "", key=f"{key}:cc")
    subject = st.text_input("Subject", draft.subject, key=f"{key}:subject")
    body = st.text_area("Message", draft.body, height=220, key=f"{key}:body",
                        help="{link} becomes the customer's link when the e-mail is sent. Placeholders: "
                             + ", ".join("{" + name + "} " + meaning for name, meaning in PLACEHOLDERS.items()))
    st.caption(f"Attached: {attached}. The e-mail waits in the outbox and is sent within seconds.")
    return to, cc, subject, body


def send_dialog(view: InvoiceDocument, close: Callable[[], None]) -> None:
    """The Send dialog of an issued invoice or credit note (called while its dialog is open); `close` forgets
    that it is open (also when it is dismissed)."""
    access.dialog("Send by e-mail", width="large", on_dismiss=close)(_document_dialog)(view.header.kind, view.id,
                                                                                        close)


def send_quote_dialog(quote_id: int, close: Callable[[], None]) -> None:
    """The Send dialog of a draft or sent quote: sending numbers a draft and marks it sent."""
    access.dialog("Send the quote by e-mail", width="large", on_dismiss=close)(_document_dialog)(
        document_links.QUOTE, quote_id, close)


def _document_dialog(kind: str, document_id: int, close: Callable[[], None]) -> None:
    draft = run_action(lambda: mailing.draft_for_document(context.db(), context.actor(), kind, document_id,
                                                          context.today()))
    if draft is None:
        return
    attached = ", ".join(ATTACHMENT_NAMES.get(name, name) for name in DOCUMENT_ATTACHMENTS.get(kind, ()))
    if draft.einvoice_format in FORMATS:
        attached += f", the e-invoice ({FORMATS[draft.einvoice_format].label}, the customer's format)"
    key = f"send:quote:{document_id}" if kind == document_links.QUOTE else f"send:{document_id}"
    to, cc, subject, body = _compose(draft, key, attached)
    _send_or_cancel("send", lambda: mailing.send_document(context.db(), context.actor(), kind, document_id, to=[to],
                                                          cc=[cc], subject=subject, body=body, now=utcnow()),
                    f"E-mail to {to} queued for sending.", close)


def _send_or_cancel(key: str, send: Callable[[], int], success: str, close: Callable[[], None]) -> None:
    """The dialog's Send and Cancel buttons (keys confirm_<key>, cancel_<key>): Send queues and closes it."""
    yes, no = st.columns(2)
    if yes.button("Send", type="primary", icon=":material/send:", key=f"confirm_{key}",
                  width="stretch") and run_action(send, success) is not None:
        close()
        st.rerun()
    if no.button("Cancel", key=f"cancel_{key}", width="stretch"):
        close()
        st.rerun()


def _message_line(message: OutboxMessage) -> str:
    state = STATUS_WORDS.get(message.status, message.status)
    when = _moment(message.sent_at or message.created_at)
    extra = f" ({message.last_error})" if message.status in ("failed", "queued") and message.last_error else ""
    return f"{when} · {', '.join((*message.recipients, *message.cc))} · {state}{extra}"


def mail_history(view: InvoiceDocument) -> None:
    """When the document was sent, to whom, whether its link was opened; revoking a live link."""
    document_mail_history(view.id, document_links.INVOICE)


def document_mail_history(document_id: int, document_kind: str) -> None:
    """The mail history of an invoice or credit note (document_links.INVOICE) or of a quote (QUOTE)."""
    history = mailing.mail_history(context.db(), context.actor(), document_id, document_kind)
    if not history.messages and not history.links:
        return
    st.markdown("**E-mail**")
    now = utcnow()
    with st.container(border=True, gap="xsmall"):
        for message in history.messages:
            st.markdown(plain(_message_line(message)))
        for link in history.links:
            opened = (f"opened first {_moment(link.first_opened_at)}, {link.open_count} times" if link.first_opened_at
                      else "not opened yet")
            state = ("revoked" if link.revoked_at else "expired" if not link.is_live(now)
                     else f"valid until {_moment(link.expires_at)}")
            row = st.columns([6, 1.4], vertical_alignment="center")
            row[0].caption(plain(f"Customer link: {opened}; {state}."))
            if (link.is_live(now) and context.allowed("invoices.write")
                    and row[1].button("Revoke", key=f"revoke_link_{link.id}", type="tertiary",
                                      icon=":material/link_off:")
                    and run_action(lambda link_id=link.id: document_links.revoke_link(  # type: ignore[misc]
                        context.db(), context.actor(), link_id, utcnow()), "Link revoked") is not None):
                st.rerun()


def statement_send_button(statement: Statement) -> None:
    """A 'Send…' button beside a statement and its dialog."""
    if not context.allowed("invoices.write"):
        return
    if st.button("Send…", icon=":material/send:", key="stmt:send"):
        st.session_state[_STATEMENT_DIALOG] = True
    if st.session_state.get(_STATEMENT_DIALOG):
        _statement_dialog(statement)


def _close_statement() -> None:
    st.session_state.pop(_STATEMENT_DIALOG, None)


@access.dialog("Send the statement by e-mail", width="large", on_dismiss=_close_statement)
def _statement_dialog(statement: Statement) -> None:
    draft = run_action(lambda: mailing.draft_for_statement(context.db(), context.actor(), statement))
    if draft is None:
        return
    to, cc, subject, body = _compose(draft, f"stmt-send:{statement.customer.get('id')}", "the statement as PDF")
    _send_or_cancel("stmt_send", lambda: mailing.send_statement(context.db(), context.actor(), statement, to=[to],
                                                                cc=[cc], subject=subject, body=body, now=utcnow()),
                    f"Statement to {to} queued for sending.", _close_statement)
