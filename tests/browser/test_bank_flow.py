"""The bank statement page in a real browser (issue 15): upload a camt.053, read the proposals and why, confirm
all sure matches, split a line, mark a fee, pick another invoice for a line, and the balances afterwards."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from billing import catalog, customers, invoices, payments
from billing.permissions import SYSTEM
from billing.references import creditor_reference, format_reference
from billing.store.db import Database
from browser.harness import Server, click_canvas, database_url, screenshot, settle
from tests.bank_statements import camt053

pytestmark = pytest.mark.browser

ROW_HEIGHT = 35  # pixels of a row of Streamlit's table (the header row is one too)
ROW_MARKERS = 33  # pixels of the column of row check boxes left of the first column


@dataclass(frozen=True)
class Books:
    """The open invoices the statement pays, by the net amount they were issued for (19 % VAT on top)."""

    numbers: dict[str, str]  # "a".."f" -> invoice number
    ids: dict[str, int]
    acme: int


def open_invoices(database: Path) -> Books:
    """Acme GmbH owes a 119.00, b 59.50, c 23.80, e 47.60; Beta Handel d 238.00; Gamma KG f 238.00 (written
    while no server holds the file)."""
    db = Database(database_url(database))
    try:
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
        owners = {name: customers.create_customer(db, SYSTEM, {"name": name, "currency": "EUR", "terms_days": 14})
                  for name in ("Acme GmbH", "Beta Handel GmbH", "Gamma KG")}
        ids, numbers = {}, {}
        for key, owner, net in (("a", "Acme GmbH", "100.00"), ("b", "Acme GmbH", "50.00"), ("c", "Acme GmbH", "20.00"),
                                ("e", "Acme GmbH", "40.00"), ("d", "Beta Handel GmbH", "200.00"),
                                ("f", "Gamma KG", "200.00")):
            invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": owners[owner], "lines": [
                {"description": "Work", "quantity": "1", "unit_price": net, "tax_rate_id": rate}]})
            invoices.issue_invoice(db, SYSTEM, invoice_id, today=date(2026, 11, 2))
            ids[key] = invoice_id
            numbers[key] = str(invoices.get_invoice(db, SYSTEM, invoice_id, date.today()).header.number)
        return Books(numbers, ids, owners["Acme GmbH"])
    finally:
        db.dispose()


def statement(books: Books) -> bytes:
    acme = {"name": "Acme GmbH", "iban": "DE02100100109307118603", "date": "2026-11-20", "currency": "EUR"}
    return camt053([
        {**acme, "amount": "119.00", "text": format_reference(creditor_reference(books.numbers["a"])), "ref": "B-1"},
        {**acme, "amount": "59.50", "text": f"Invoice {books.numbers['b']}", "ref": "B-2"},
        {**acme, "amount": "80.00", "text": "Zahlung Maerz", "ref": "B-3"},
        {"name": "Sparkasse", "iban": "", "date": "2026-11-20", "currency": "EUR", "amount": "-2.50",
         "text": "Kontofuehrungsgebuehr", "ref": "B-4"},
        {"name": "Gamma KG", "iban": "DE75512108001245126199", "date": "2026-11-21", "currency": "EUR",
         "amount": "238.00", "text": "Danke", "ref": "B-5"},
    ])


def grid(page: Page) -> Locator:
    return page.get_by_test_id("stDataFrame").first


def select_line(page: Page, text: str) -> Locator:
    """Tick the row check box of the line whose cells hold `text` (the table is a canvas: its rows are read from
    the table behind it for assistive technology); returns the panel of that line."""
    table = grid(page)
    rows = table.get_by_role("row", include_hidden=True)
    expect(rows.filter(has_text=text)).to_have_count(1)
    index = next(i for i, row in enumerate(rows.all()) if text in row.inner_text())
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    x, y = box["x"] + ROW_MARKERS / 2, box["y"] + ROW_HEIGHT * (index + 0.5)
    panel = page.get_by_test_id("stVerticalBlock").filter(has_text="Not a customer payment").filter(
        has_text="Proposal (")
    click_canvas(page, x, y, lambda: expect(panel.last).to_be_visible(timeout=5_000))
    settle(page)
    return panel.last


def choose(page: Page, box: Locator, option: str) -> None:
    """browser.harness.pick, clicking the box again when the click that should open its list was lost (it lands
    while the expander around it is still opening)."""
    opened = page.get_by_role("combobox", expanded=True)
    for attempt in range(3):
        box.click()
        try:
            expect(opened).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    opened.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_role("listbox")).to_have_count(0)


def test_import_review_and_decide_a_statement(server: Callable[..., Server], fresh_database: Path,
                                              page_as: Callable[..., Page], tmp_path: Path) -> None:
    books = open_invoices(fresh_database)
    camt = tmp_path / "statement.xml"
    camt.write_bytes(statement(books))
    app = server(fresh_database)
    page = page_as("accountant", app)
    page.goto(f"{app.url}/bank")
    expect(page.get_by_role("heading", name="Bank statements")).to_be_visible()
    settle(page)

    # 1. Upload: five lines, each with its proposal and why; nothing recorded yet.
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(camt)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("5 new line(s) imported, 0 already there")).to_be_visible()
    settle(page)
    screenshot(page, "bank-imported")
    rows = grid(page).get_by_role("row", include_hidden=True)
    rf = format_reference(creditor_reference(books.numbers["a"]))
    expect(rows.filter(has_text=f"{rf} found in the text; the amount fits")).to_have_count(1)
    expect(rows.filter(has_text=f"invoice number {books.numbers['b']} found in the text")).to_have_count(1)
    expect(rows.filter(has_text="bank charges or interest by the text")).to_have_count(1)

    # 2. Confirm all sure matches: the two named invoices are paid.
    page.get_by_role("button", name=re.compile(r"Confirm all sure matches \(2\)")).click()
    expect(page.get_by_text("2 payment(s) recorded.")).to_be_visible()
    settle(page)
    expect(grid(page).get_by_role("row", include_hidden=True)).to_have_count(4)  # the header and three lines

    # 3. Split Acme's 80.00 across two invoices: the rest stays credit.
    panel = select_line(page, "Zahlung Maerz")
    screenshot(page, "bank-line-selected")
    panel.get_by_text("Pick other invoices or split").click()
    expect(panel.get_by_role("combobox").nth(0)).to_be_visible()
    choose(page, panel.get_by_role("combobox").nth(0), f"{books.numbers['c']} · Acme GmbH · €23.80 open")
    choose(page, panel.get_by_role("combobox").nth(1), f"{books.numbers['e']} · Acme GmbH · €47.60 open")
    panel.get_by_label("Amount").nth(0).fill("23.80")
    panel.get_by_label("Amount").nth(1).fill("47.60")
    screenshot(page, "bank-split")
    panel.get_by_role("button", name="Record payment to these invoices").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    settle(page)

    # 4. The bank fee: not a customer payment.
    panel = select_line(page, "Kontofuehrungsgebuehr")
    expect(panel.get_by_role("combobox", name="Not a customer payment")).to_have_value("Fee")
    panel.get_by_role("button", name="Mark").click()
    expect(page.get_by_text("Line marked.")).to_be_visible()
    settle(page)

    # 5. Gamma's transfer is proposed for Gamma's invoice; the user knows it pays Beta's: another invoice.
    panel = select_line(page, "Danke")
    expect(panel).to_contain_text(books.numbers["f"])
    panel.get_by_text("Pick other invoices or split").click()
    expect(panel.get_by_role("combobox").nth(0)).to_be_visible()
    choose(page, panel.get_by_role("combobox").nth(0), f"{books.numbers['d']} · Beta Handel GmbH · €238.00 open")
    panel.get_by_label("Amount").nth(0).fill("238.00")
    panel.get_by_role("button", name="Record payment to these invoices").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    settle(page)
    expect(page.get_by_text("Nothing to review: every imported line is decided")).to_be_visible()
    screenshot(page, "bank-all-decided")

    # 6. The balances: everything paid but Gamma's invoice; Acme keeps 8.60 credit.
    page.goto(f"{app.url}/invoices")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    settle(page)
    screenshot(page, "bank-invoices-after")
    app.stop()  # the server holds the file
    db = Database(database_url(fresh_database))
    try:
        balances = [invoices.get_invoice(db, SYSTEM, books.ids[k], date.today()).balance for k in "abcedf"]
        assert balances == [0, 0, 0, 0, 0, Decimal("238.00")]
        assert payments.customer_credit(db, SYSTEM, books.acme) == {"EUR": Decimal("8.60")}
    finally:
        db.dispose()
