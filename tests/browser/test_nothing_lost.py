"""Nothing typed into the invoice editor is lost in a real browser (issue #13): a sidebar click and a reload
find the autosaved draft; Duplicate opens an unsaved copy that Cancel leaves no trace of."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from billing import invoices, logic
from billing.permissions import SYSTEM
from billing.store.db import Database
from browser.harness import Server, add_issued_invoice, database_url, pick, settle, sign_in

pytestmark = pytest.mark.browser

CUSTOMER = "Brioche & Co"


@pytest.fixture
def books(fresh_database: Path) -> tuple[Path, int]:
    """The prepared database with a customer, a tax rate and one issued invoice (its id)."""
    return fresh_database, add_issued_invoice(fresh_database, CUSTOMER)


def drafts_after(server: Server) -> list[tuple[str, str]]:
    """Stop the server (it holds the file) and list each draft's customer and first line."""
    server.stop()
    db = Database(database_url(server.database))
    try:
        rows, _ = invoices.list_invoices(db, SYSTEM, as_of=date.today(), status=logic.DRAFT)
        return [(row.customer, invoices.get_invoice(db, SYSTEM, row.id, date.today()).lines[0].description)
                for row in rows]
    finally:
        db.dispose()


def type_line(page: Page, description: str, price: str) -> None:
    """Type a line's description and price, each sent to the app (Tab) before the next."""
    for name, text in (("Description", description), ("Unit price", price)):
        settle(page)
        field = page.get_by_role("textbox", name=name).first
        field.fill(text)
        field.press("Tab")


def test_a_draft_survives_a_sidebar_click_and_a_reload(page: Page, server: Callable[..., Server],
                                                       books: tuple[Path, int]) -> None:
    database, _ = books
    running = server(database)
    sign_in(page, running, "accountant", path="invoices?edit=new")
    expect(page.get_by_text("Choose a customer: the invoice is then saved as a draft")).to_be_visible()
    pick(page, page.get_by_role("combobox", name="Customer"), f"{CUSTOMER} · EUR")
    type_line(page, "Wedding cake", "350")
    expect(page.get_by_text("Saved as draft")).to_be_visible()
    assert "edit=" in page.url and "edit=new" not in page.url  # the URL names the draft

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Customers", exact=True).click()
    settle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Invoices", exact=True).click()
    page.get_by_role("button", name="Continue editing").click()
    expect(page.get_by_role("textbox", name="Description").first).to_have_value("Wedding cake")
    type_line(page, "Wedding cake, three tiers", "420")
    # "Saved as draft" still shows from the first save: the new net total says the change was run and stored.
    expect(page.get_by_text("420.00").first).to_be_visible()
    settle(page)
    expect(page.get_by_text("Saved as draft")).to_be_visible()

    page.reload()
    expect(page.get_by_role("textbox", name="Description").first).to_have_value("Wedding cake, three tiers")
    expect(page.get_by_role("textbox", name="Unit price").first).to_have_value("420.00")
    assert drafts_after(running) == [(CUSTOMER, "Wedding cake, three tiers")]


def test_duplicate_then_cancel_leaves_no_draft(page: Page, server: Callable[..., Server],
                                               books: tuple[Path, int]) -> None:
    database, invoice_id = books
    running = server(database)
    sign_in(page, running, "accountant", path=f"invoices?invoice={invoice_id}")
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("heading", name="New invoice")).to_be_visible()
    expect(page.get_by_role("textbox", name="Description").first).to_have_value("Croissants")
    settle(page)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="New invoice")).to_be_visible()
    settle(page)
    assert drafts_after(running) == []
