"""A German customer's invoice PDF downloaded for real (issue 13): German words, amounts and dates."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from billing import catalog, customers, invoices
from billing.permissions import SYSTEM
from billing.store.db import Database
from browser.harness import Server, database_url, download

pytestmark = pytest.mark.browser


def german_invoice(database: Path) -> int:
    """An issued invoice of 1,234.56 net to a German customer, written while no server holds the file."""
    db = Database(database_url(database))
    try:
        customer = customers.create_customer(db, SYSTEM, {"name": "Muster GmbH", "country": "DE", "language": "de",
                                                          "currency": "EUR"})
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "USt 19%", "category": "S", "percent": "19"})
        invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
            {"description": "Beratung", "quantity": "1", "unit_price": "1234.56", "tax_rate_id": rate}]})
        invoices.issue_invoice(db, SYSTEM, invoice_id, today=date.today(), issue_date=date(2026, 12, 4))
        return invoice_id
    finally:
        db.dispose()


def test_a_german_customer_downloads_a_german_invoice(server: Callable[..., Server], fresh_database: Path,
                                                      page_as: Callable[..., Page]) -> None:
    invoice_id = german_invoice(fresh_database)
    app = server(fresh_database)
    page = page_as("accountant", app)
    page.goto(f"{app.url}/invoices?invoice={invoice_id}")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    data = Path(download(page, page.get_by_role("button", name="Download PDF")).path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for expected in ("RECHNUNG", "Rechnungsdatum", "4. Dezember 2026", "1.234,56\xa0€", "Offener Betrag"):
        assert expected in text, text
