"""In a real browser, as the issue's flow asks: a recurring schedule created on the Recurring invoices page (its
lines typed into the lines table), run from that page, its invoice sent from the invoice's page; the server's own
sender thread delivers it to an SMTP server, and the link in the e-mail opens the invoice in a fresh browser
context without signing in, with its PDF downloading."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from billing import catalog, customers, invoices
from billing.mail_settings import MailSettings, save_mail_settings
from billing.permissions import SYSTEM
from billing.store.db import Database, utcnow
from browser.harness import Server, click_canvas, database_url, pick
from tests.mail_server import smtp_server

pytestmark = pytest.mark.browser

ROW_HEIGHT = 35  # pixels of a row of Streamlit's table (the header row is one too)
ROW_MARKERS = 33  # pixels of the column of row check boxes left of the first column (rows can be added)


def customer_and_mail(database: Path, smtp_url: str) -> int:
    """A customer (Globex GmbH, with an e-mail address), a 19 % rate and the SMTP settings; the id the next
    invoice will get (a draft takes it and is deleted: ids are never reused)."""
    db = Database(database_url(database))
    try:
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
        customer = customers.create_customer(db, SYSTEM, {"name": "Globex GmbH", "email": "ap@globex.example",
                                                          "currency": "EUR", "country": "DE", "terms_days": 14})
        draft = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
            {"description": "Placeholder", "quantity": "1", "unit_price": "1.00", "tax_rate_id": rate}]})
        invoices.delete_draft(db, SYSTEM, draft)
        save_mail_settings(db, SYSTEM, MailSettings(smtp_url=smtp_url, sender_email="billing@acme.example",
                                                    public_url="https://billing.example.com"),
                           password=None, now=utcnow())
    finally:
        db.dispose()
    return draft + 1


def type_first_line(page: Page, grid: Locator, description: str, unit_price: str) -> None:
    """Fill the first row of a lines table from the keyboard as a user does: click its description cell, Enter
    opens the cell's editor, type, Tab to the quantity (1 already), arrow on to the price, Enter, type, Enter.
    The VAT column starts with the first rate. (The table is drawn on a canvas: the mouse moves onto the cell
    before pressing, as a hand does, for it to take the click.)"""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    x, y = box["x"] + ROW_MARKERS + 40, box["y"] + ROW_HEIGHT * 1.5  # row 0 is the header
    selected = grid.locator("td[aria-selected='true']")  # the table behind the canvas, for assistive technology
    click_canvas(page, x, y, lambda: expect(selected).to_have_count(1, timeout=3_000))
    editor = page.get_by_test_id("portal").locator(".gdg-clip-region textarea")
    for key, text in (("Tab", description), ("Enter", unit_price)):
        page.keyboard.press("Enter")
        editor.fill(text)  # typed keys would be lost while the editor opens
        page.keyboard.press(key)
        expect(editor).to_have_count(0)
        page.keyboard.press("ArrowRight")
    cells = grid.locator("td")
    expect(cells.nth(0)).to_have_text(description)
    expect(cells.nth(2)).to_have_text(unit_price)


def create_schedule(page: Page, running: Server) -> None:
    """A monthly schedule for Globex from today, issuing each invoice, made on the Recurring invoices page."""
    page.goto(f"{running.url}/recurring")
    page.get_by_role("tab", name="New schedule").click()
    pick(page, page.get_by_role("combobox", name="Customer"), "Globex GmbH · EUR")
    form = page.get_by_test_id("stForm")
    form.get_by_role("textbox", name="Name *").fill("Monthly hosting")
    form.get_by_text("Issue automatically", exact=True).click()
    type_first_line(page, form.get_by_test_id("stDataFrame"), "Hosting", "50.00")
    form.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_text("Schedule Monthly hosting created.")).to_be_visible()


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


def test_a_schedule_made_and_run_on_its_page_gives_an_invoice_sent_and_opened_by_the_customer(
        server: Callable[..., Server], fresh_database: Path, page_as: Callable[..., Page],
        new_context: Callable[..., BrowserContext]) -> None:
    with smtp_server() as (smtp_url, mailbox):
        invoice = customer_and_mail(fresh_database, smtp_url)
        running = server(fresh_database)
        page = page_as("accountant", running)
        create_schedule(page, running)
        page.get_by_role("tab", name="Schedules").click()
        page.get_by_role("button", name="Run what is due now").click()  # the server's runner may have been first
        expect(page.get_by_text(re.compile(r"Recurring invoices created: [01] \([01] issued\)\."))).to_be_visible()
        send_and_open_the_link(page, running, invoice, mailbox, new_context, "€59.50")
