"""The invoice view and the invoice editor on a phone (390x844, issue #13): nothing wider than the screen,
lines as cards with their labels, and every totals row with its label and amount on one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from browser.harness import Server, add_issued_invoice, screenshot, settle, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TOTALS = ["Net amount", "Total"]


def no_overflow(page: Page) -> None:
    settle(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"


def label_and_amount_on_one_line(page: Page, label: str) -> None:
    """The row's label and its amount share a line: their boxes overlap vertically."""
    row = page.get_by_test_id("stHorizontalBlock").filter(has=page.get_by_text(label, exact=True)).last
    cells = row.get_by_test_id("stMarkdownContainer")
    first, last = cells.first.bounding_box(), cells.last.bounding_box()
    assert first and last and cells.count() == 2
    assert abs(first["y"] - last["y"]) < first["height"], f"{label!r}: label and amount on two lines"


def test_invoice_view_and_editor_fit_a_phone(new_context: Callable[..., BrowserContext],
                                             server: Callable[..., Server], fresh_database: Path) -> None:
    invoice_id = add_issued_invoice(fresh_database, "Brioche & Co")
    running = server(fresh_database)
    page = new_context().new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, running, "accountant", path=f"invoices?invoice={invoice_id}")
    cards = page.locator(".st-key-line-cards")
    expect(cards.get_by_text("Catering for the spring reception, two days")).to_be_visible()
    no_overflow(page)
    for label in TOTALS:
        label_and_amount_on_one_line(page, label)
    expect(cards.get_by_text("Unit price").first).to_be_visible()  # a card names its values
    screenshot(page, "phone-invoice-view", height=PHONE["height"] * 3)

    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("textbox", name="Description").first).to_have_value("Croissants")
    no_overflow(page)
    for label in TOTALS:
        label_and_amount_on_one_line(page, label)
    expect(page.locator("label").filter(has_text="Unit price").first).to_be_visible()
    screenshot(page, "phone-invoice-editor", height=PHONE["height"] * 3)
