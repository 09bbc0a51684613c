"""In a real browser, signed out: the customer opens a sent quote by its link and accepts it with the page's form
(no script; the SameSite=Strict nonce cookie and the form-action policy as Chromium applies them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy.engine import Connection

from billing import catalog, customers, document_links, mailing, quotes
from billing.permissions import SYSTEM
from billing.store.db import Database, utcnow
from browser.harness import Server, database_url

pytestmark = pytest.mark.browser


def sent_quote(database: Path) -> tuple[int, str]:
    """A quote e-mailed to Globex GmbH (queued; no SMTP needed): its id and its link's token."""
    db = Database(database_url(database))
    try:
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
        customer = customers.create_customer(db, SYSTEM, {"name": "Globex GmbH", "email": "ap@globex.example",
                                                          "currency": "EUR", "country": "DE"})
        quote_id = quotes.create_quote(db, SYSTEM, {"customer_id": customer, "lines": [
            {"description": "Website", "quantity": "1", "unit_price": "1000.00", "tax_rate_id": rate}]})
        mailing.send_document(db, SYSTEM, "quote", quote_id, to=["ap@globex.example"], cc=[],
                              subject="Quote {number}", body="{link}", now=utcnow())
        [link] = mailing.mail_history(db, SYSTEM, quote_id, document_links.QUOTE).links

        def token(conn: Connection) -> str:
            return document_links.token_for_link(conn, link.id)
        return quote_id, db.transaction(token)
    finally:
        db.dispose()


def test_the_customer_accepts_a_quote_on_its_page(server: Callable[..., Server], fresh_database: Path,
                                                  new_context: Callable[..., BrowserContext]) -> None:
    quote_id, token = sent_quote(fresh_database)
    running = server(fresh_database)
    customer = new_context().new_page()  # never signed in
    customer.goto(f"{running.url}/d/{token}")
    expect(customer.get_by_role("heading", name="Quote QUO-")).to_be_visible()
    expect(customer.get_by_text("€1,190.00").first).to_be_visible()
    customer.get_by_role("button", name="Accept quote").click()
    expect(customer.get_by_text(f"You accepted this quote on {date.today()}")).to_be_visible()
    expect(customer.get_by_role("button", name="Accept quote")).to_have_count(0)
    assert customer.url.endswith(f"/d/{token}")
    running.stop()
    db = Database(database_url(fresh_database))
    try:
        assert quotes.get_quote(db, SYSTEM, quote_id).status == "accepted"
    finally:
        db.dispose()
