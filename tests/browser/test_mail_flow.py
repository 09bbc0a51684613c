"""In a real browser: send an issued invoice from its page (one issued by hand, one made by a recurring schedule
run from the Recurring invoices page), the server's own sender thread delivers it to an SMTP server, and the link in the
e-mail opens the invoice in a fresh browser context without signing in, with its PDF downloading."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from billing import catalog, customers, invoices, recurring
from billing.mail_settings import MailSettings, save_mail_settings
from billing.permissions import SYSTEM
from billing.store.db import Database, utcnow
from browser.harness import Server, database_url
from tests.mail_server import smtp_server

pytestmark = pytest.mark.browser


def invoice_to_send(database: Path, smtp_url: str, *, issue: bool = True) -> int:
    """A customer (Globex GmbH, with an e-mail address), a 19 % rate and the SMTP settings; an issued invoice
    (its id), or with `issue=False` a monthly schedule issuing 50.00 + VAT from today: the id its first invoice
    will get. (The schedule's lines are a canvas grid in the portal that Playwright cannot type into.)"""
    db = Database(database_url(database))
    try:
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
        customer = customers.create_customer(db, SYSTEM, {"name": "Globex GmbH", "email": "ap@globex.example",
                                                          "currency": "EUR", "country": "DE", "terms_days": 14})
        invoice = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
            {"description": "Consulting", "quantity": "3", "unit_price": "120.00", "tax_rate_id": rate}]})
        if issue:
            invoices.issue_invoice(db, SYSTEM, invoice, today=date.today())
        else:
            invoices.delete_draft(db, SYSTEM, invoice)
            invoice += 1
            recurring.create_schedule(db, SYSTEM, {
                "name": "Monthly hosting", "frequency": "month", "start_date": date.today(), "action": "issue",
                "template": {"customer_id": customer, "lines": [
                    {"description": "Hosting", "quantity": "1", "unit_price": "50.00", "tax_rate_id": rate}]}})
        save_mail_settings(db, SYSTEM, MailSettings(smtp_url=smtp_url, sender_email="billing@acme.example",
                                                    public_url="https://billing.example.com"),
                           password=None, now=utcnow())
    finally:
        db.dispose()
    return invoice


def send_and_open_the_link(page: Page, running: Server, invoice: int, mailbox: Any,
                           new_context: Callable[..., BrowserContext], total: str) -> None:
    """Send the invoice from its page, wait for the e-mail, open its link signed out and download the PDF."""
    page.goto(f"{running.url}/invoices?invoice={invoice}")
    page.get_by_role("button", name="Send…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("textbox", name="To")).to_have_value("ap@globex.example")
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Customer link: not opened yet")).to_be_visible()
    deadline = time.monotonic() + 60
    while not mailbox.received and time.monotonic() < deadline:
        time.sleep(0.2)  # the server's sender thread runs every 5 seconds
    [item] = mailbox.received
    body = item.message.get_body(("plain",)).get_content()
    token = re.search(r"https://billing\.example\.com/d/([A-Za-z0-9_-]+)", body)
    assert token is not None, body

    customer = new_context().new_page()  # a fresh context: no cookie, never signed in
    customer.goto(f"{running.url}/d/{token.group(1)}")
    expect(customer.get_by_role("heading", name=re.compile(r"Invoice INV-\d{4}-\d+ from Acme Consulting GmbH"))
           ).to_be_visible()
    expect(customer.get_by_text(total).first).to_be_visible()
    with customer.expect_download() as download:
        customer.get_by_role("link", name="Download PDF").click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    assert not customer.get_by_text("Signed in as").is_visible()


def test_send_then_open_the_customer_link_without_signing_in(
        server: Callable[..., Server], fresh_database: Path, page_as: Callable[..., Page],
        new_context: Callable[..., BrowserContext]) -> None:
    with smtp_server() as (smtp_url, mailbox):
        invoice = invoice_to_send(fresh_database, smtp_url)
        running = server(fresh_database)
        page = page_as("accountant", running)
        send_and_open_the_link(page, running, invoice, mailbox, new_context, "€428.40")


def test_a_scheduled_invoice_run_from_its_page_is_sent_and_opened_by_the_customer(
        server: Callable[..., Server], fresh_database: Path, page_as: Callable[..., Page],
        new_context: Callable[..., BrowserContext]) -> None:
    with smtp_server() as (smtp_url, mailbox):
        invoice = invoice_to_send(fresh_database, smtp_url, issue=False)
        running = server(fresh_database)
        page = page_as("accountant", running)
        page.goto(f"{running.url}/recurring")
        expect(page.get_by_role("button", name="Run what is due now")).to_be_visible()
        page.get_by_role("button", name="Run what is due now").click()  # the server's runner may have been first
        expect(page.get_by_text(re.compile(r"Recurring invoices created: [01] \([01] issued\)\."))).to_be_visible()
        send_and_open_the_link(page, running, invoice, mailbox, new_context, "€59.50")
