"""AppTest of e-mail: the Send dialog of an invoice, Settings > E-mail, the Outbox page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from portal import copy_portal, ok, open_page

from billing import catalog, customers, invoices, mailing, outbox
from billing.permissions import SYSTEM
from billing.store.db import Database, forget_database, get_database, utcnow
from billing.store.mail_schema import mail_settings

INVOICES = "app_pages/invoices.py"


@dataclass(frozen=True)
class Mailing:
    db: Database
    invoice: int  # issued to Acme GmbH (ap@acme.example), 238.00 EUR


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, portal_template: Path) -> tuple[Path, Mailing]:
    folder = tmp_path_factory.mktemp("mail_template")
    db = get_database(copy_portal(portal_template, folder))
    rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    acme = customers.create_customer(db, SYSTEM, {"name": "Acme GmbH", "currency": "EUR", "terms_days": 14,
                                                  "email": "ap@acme.example", "country": "DE"})
    invoice = invoices.create_draft(db, SYSTEM, {"customer_id": acme, "lines": [
        {"description": "Work", "quantity": "2", "unit_price": "100.00", "tax_rate_id": rate}]})
    invoices.issue_invoice(db, SYSTEM, invoice, today=date.today())
    forget_database(db.url)
    return folder, Mailing(db, invoice)


@pytest.fixture
def portal(database_copy: Callable[[Path], Database], template: tuple[Path, Mailing]) -> Mailing:
    folder, ids = template
    return replace(ids, db=database_copy(folder))


def queued(db: Database) -> list[outbox.OutboxMessage]:
    return mailing.list_outbox(db, SYSTEM)


def test_send_dialog_proposes_the_customer_and_template_and_queues_the_message(portal: Mailing) -> None:
    at = open_page("accountant", INVOICES, invoice=portal.invoice)
    at.button(key="send").click().run()
    key = f"send:{portal.invoice}"
    assert at.text_input(key=f"{key}:to").value == "ap@acme.example"
    number = invoices.get_invoice(portal.db, SYSTEM, portal.invoice, date.today()).header.number
    assert at.text_input(key=f"{key}:subject").value == f"Invoice {number} from Acme Consulting GmbH"
    assert "€238.00" in at.text_area(key=f"{key}:body").value
    at.text_input(key=f"{key}:cc").input("boss@acme.example")
    at.button(key="confirm_send").click().run()
    ok(at)
    assert [t.value.replace("\u2060", "") for t in at.toast] == ["E-mail to ap@acme.example queued for sending."]
    [message] = queued(portal.db)
    assert message.recipients == ("ap@acme.example",) and message.cc == ("boss@acme.example",)
    assert message.document_id == portal.invoice and message.status == outbox.QUEUED
    assert any("waiting to be sent" in m.value for m in at.markdown)
    assert any("not opened yet" in c.value for c in at.caption)


def test_a_bad_recipient_is_named_and_nothing_is_queued(portal: Mailing) -> None:
    at = open_page("accountant", INVOICES, invoice=portal.invoice)
    at.button(key="send").click().run()
    at.text_input(key=f"send:{portal.invoice}:to").input("ap at acme")
    at.button(key="confirm_send").click().run()
    assert [e.value.replace("\u2060", "") for e in at.error] == ["'ap' is not an e-mail address."]
    assert queued(portal.db) == []


def test_the_analyst_has_no_send_button(portal: Mailing) -> None:
    at = ok(open_page("analyst", INVOICES, invoice=portal.invoice))
    assert "send" not in {b.key for b in at.button}


def test_settings_refuse_a_bad_smtp_url_clearly(portal: Mailing) -> None:
    at = open_page("admin", "app_pages/settings.py")
    form = next(t for t in at.text_input if t.label == "SMTP server")
    form.input("http://mail.example.com")
    next(t for t in at.text_input if t.label == "Sender address (From)").input("billing@example.com")
    next(b for b in at.button if b.label == "Save e-mail settings").click().run()
    assert [e.value.replace("\u2060", "") for e in at.error] == [
        "The SMTP URL must start with smtp://, smtp+starttls:// or smtps:// (scheme 'http'); use smtp://host:port, "
        "smtp+starttls://user:password@host:587 or smtps://user:password@host:465."]


def test_settings_store_the_password_encrypted_and_never_show_it(portal: Mailing) -> None:
    at = open_page("admin", "app_pages/settings.py")
    next(t for t in at.text_input if t.label == "SMTP server").input("smtp+starttls://mailer@smtp.example.com:587")
    next(t for t in at.text_input if t.label == "SMTP password").input("s3cret-Pa55word")
    next(t for t in at.text_input if t.label == "Sender address (From)").input("billing@example.com")
    next(b for b in at.button if b.label == "Save e-mail settings").click().run()
    ok(at)
    password = next(t for t in at.text_input if t.label == "SMTP password")
    assert password.value == "" and "stored" in (password.placeholder or "")
    with portal.db.connect() as conn:
        row = conn.execute(sa.select(mail_settings)).mappings().one()
    assert "s3cret" not in str(dict(row)) and row["smtp_url"] == "smtp+starttls://mailer@smtp.example.com:587"
    with portal.db.connect() as conn:
        from billing.mail_settings import delivery

        settings = delivery(conn)
    assert settings is not None and settings.smtp.password == "s3cret-Pa55word"


def test_outbox_page_shows_a_failure_with_the_servers_reply_and_sends_it_again(portal: Mailing) -> None:
    message_id = mailing.send_document(portal.db, SYSTEM, "invoice", portal.invoice, to=["ap@acme.example"], cc=[],
                                       subject="Invoice", body="Hello", now=utcnow())
    portal.db.transaction(lambda conn: outbox.store.finish(conn, message_id, {
        "status": outbox.FAILED, "attempts": 1, "last_error": "550 5.1.1 Mailbox unavailable"}))
    at = ok(open_page("admin", "app_pages/outbox.py"))
    assert "Last reply: 550 5.1.1 Mailbox unavailable" in [c.value for c in at.caption]
    at.button(key=f"outbox:resend:{message_id}").click().run()
    ok(at)
    assert [m.status for m in queued(portal.db)] == [outbox.QUEUED]


def test_outbox_page_is_the_admins_only(portal: Mailing) -> None:
    at = open_page("accountant", "app_pages/outbox.py")
    assert not at.exception and not any(m.value == "Outbox" for m in at.title)


def test_a_statement_is_sent_with_its_pdf_from_the_statements_page(portal: Mailing) -> None:
    customer = invoices.get_invoice(portal.db, SYSTEM, portal.invoice, date.today()).customer.id
    at = ok(open_page("accountant", "app_pages/statements.py", customer=customer, period="this_year"))
    at.button(key="stmt:send").click().run()
    key = f"stmt-send:{customer}"
    assert at.text_input(key=f"{key}:to").value == "ap@acme.example"
    assert at.text_input(key=f"{key}:subject").value == "Statement of account from Acme Consulting GmbH"
    assert "€238.00" in at.text_area(key=f"{key}:body").value
    at.button(key="confirm_stmt_send").click().run()
    ok(at)
    [message] = queued(portal.db)
    assert message.kind == "statement" and message.customer_id == customer
    assert [spec.kind for spec in message.attachments] == ["statement_pdf"]
