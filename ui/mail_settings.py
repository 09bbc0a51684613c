"""Settings > E-mail: the SMTP server, sender and reply-to, the customer links, a test e-mail, the templates."""

from __future__ import annotations

import streamlit as st

from billing import mail_settings, mailing
from billing.mail_settings import MailSettings
from billing.mail_templates import DEFAULT_LANGUAGE, KINDS, PLACEHOLDERS, MailTemplate
from billing.permissions import Actor
from billing.smtp import URL_FORMS
from billing.store.db import Database, utcnow
from ui import format as fmt
from ui.feedback import run_action, run_change

KIND_NAMES = {"invoice": "Invoice", "credit_note": "Credit note", "statement": "Statement", "test": "Test e-mail"}


def delivery_form(db: Database, actor: Actor) -> None:
    """The SMTP server, sender, reply-to, the portal's address and the links' lifetime."""
    current = mail_settings.get_mail_settings(db, actor)
    with st.form("mail_settings"):
        if current.from_environment:
            st.info(f"The SMTP server is set by BILLING_SMTP_URL: {fmt.plain(current.smtp_url)} (its password is "
                    "not shown). Change it there; the fields below still apply.", icon=":material/info:")
            url = current.smtp_url
        else:
            url = st.text_input("SMTP server", current.smtp_url, placeholder="smtp+starttls://user@smtp.example.com:587",
                                help=f"One of {URL_FORMS}.")
        left, right = st.columns(2)
        password = left.text_input("SMTP password", type="password", disabled=current.from_environment,
                                   placeholder="stored (leave empty to keep it)" if current.has_password else "",
                                   help="Stored encrypted with this installation's key; never shown again.")
        remove = right.checkbox("Remove the stored password", disabled=not current.has_password)
        left, right = st.columns(2)
        sender_name = left.text_input("Sender name", current.sender_name)
        sender_email = right.text_input("Sender address (From)", current.sender_email)
        left, right = st.columns(2)
        reply_to = left.text_input("Reply-to address", current.reply_to, help="Where customers' replies go.")
        public_url = right.text_input("Portal address for customer links", current.public_url,
                                      help="How customers reach this server, e.g. https://billing.example.com")
        days = st.number_input("Customer links open their document for (days)", min_value=1, max_value=3660,
                               value=current.link_days, step=1)
        if st.form_submit_button("Save e-mail settings", type="primary", icon=":material/save:"):
            changed = MailSettings(smtp_url="" if current.from_environment else url, sender_name=sender_name,
                                   sender_email=sender_email, reply_to=reply_to, public_url=public_url,
                                   link_days=int(days))
            secret = "" if remove else (password or None)
            if run_change(lambda: mail_settings.save_mail_settings(db, actor, changed, password=secret, now=utcnow()),
                          "E-mail settings saved."):
                st.rerun()


def test_panel(db: Database, actor: Actor) -> None:
    with st.form("mail_test"):
        to = st.text_input("Send a test e-mail to", placeholder="you@example.com")
        if st.form_submit_button("Send test e-mail", icon=":material/outgoing_mail:"):
            answer = run_action(lambda: mail_settings.send_test_email(db, actor, to, utcnow()))
            if answer is not None:
                st.success(fmt.plain(answer), icon=":material/check_circle:")


def templates_panel(db: Database, actor: Actor) -> None:
    """Subject and body per document kind and language."""
    st.caption("Placeholders: " + ", ".join(f"{{{name}}} {meaning}" for name, meaning in PLACEHOLDERS.items()))
    left, right = st.columns([2, 1])
    kind = left.selectbox("Template", KINDS, format_func=lambda k: KIND_NAMES.get(k, k), key="mail_tpl_kind")
    language = right.text_input("Language", DEFAULT_LANGUAGE, max_chars=8, key="mail_tpl_lang",
                                help="A language code such as en or de; a language without its own template "
                                     "uses the English one.").strip().lower() or DEFAULT_LANGUAGE
    current = {t.kind: t for t in mailing.templates(db, actor, language)}[kind]
    if current.language != language:
        st.caption(f"No template in {fmt.plain(language)} yet: showing the {fmt.plain(current.language)} one.")
    with st.form(f"mail_tpl_{kind}_{language}"):
        subject = st.text_input("Subject", current.subject)
        body = st.text_area("Body", current.body, height=220)
        save, reset = st.columns(2)
        if save.form_submit_button("Save template", type="primary", width="stretch") and run_change(
                lambda: mailing.save_mail_template(db, actor, MailTemplate(kind, language, subject, body), utcnow()),
                "Template saved."):
            st.rerun()
        if reset.form_submit_button("Back to the default", width="stretch", disabled=not current.stored) and \
                run_change(lambda: mailing.reset_mail_template(db, actor, kind, language), "Template reset."):
            st.rerun()


def mail_tab(db: Database, actor: Actor) -> None:
    delivery_form(db, actor)
    test_panel(db, actor)
    st.subheader("Templates", anchor=False)
    templates_panel(db, actor)
