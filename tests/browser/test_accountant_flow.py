"""An accountant's day in a real browser (issue #3): tax rates, a customer, an invoice with live totals, issue,
a partial payment, the customer's balance, the invoice PDF, and a credit note."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader

from billing import invoices
from billing.permissions import ACCOUNTANT, SYSTEM, Actor
from billing.store.db import Database
from billing.verify import verify_database
from browser.harness import Server, database_url, download, pick, screenshot, settle

pytestmark = pytest.mark.browser

CUSTOMER = "Łódź Bakery Sp. z o.o."
STANDARD, REDUCED = "Standard 20%", "Reduced 7%"
# (description, quantity, unit price, discount, tax rate): worked out by hand, ROUND_HALF_UP to the cent.
LINES = [
    ("Sourdough loaves", "12", "3.45", "12.5%", REDUCED),  # 41.40 - 5.175 (5.18) = 36.22
    ("Catering service", "2", "120.00", "15.00", STANDARD),  # 240.00 - 15.00 = 225.00
    ("Delivery", "1", "19.99", "", STANDARD),  # 19.99
]
LINE_NETS = ["€36.22", "€225.00", "€19.99"]
TOTALS = [  # the editor's live totals and, after issuing, the invoice's
    ("Lines", "€281.21"),
    ("Net amount", "€281.21"),
    ("VAT 7% on €36.22", "€2.54"),  # 2.5354
    ("VAT 20% on €244.99", "€49.00"),  # 225.00 + 19.99 = 244.99; 48.998
    ("Total", "€332.75"),  # 281.21 + 2.54 + 49.00
]
TOTAL = "€332.75"
PAID = "150.00"
BALANCE_AFTER_PAYMENT = "€182.75"  # 332.75 - 150.00
# Credit one of the two catering days: its 15.00 discount is credited by half, 120.00 - 7.50 = 112.50, + 20% VAT.
CREDIT_NOTE = "€135.00"  # 112.50 + 22.50
BALANCE_AFTER_CREDIT = "€47.75"  # 182.75 - 135.00


def type_into(field: Locator, text: str) -> None:
    """Fill a text input and leave it (Tab), which sends its value to the app."""
    field.fill(text)
    field.press("Tab")


def amount_row(scope: Locator | Page, label: str) -> Locator:
    """The innermost row of columns holding `label` (a totals row: label left, amount right)."""
    return scope.get_by_test_id("stHorizontalBlock").filter(has=scope.get_by_text(label, exact=True)).last


def expect_totals(scope: Locator | Page) -> None:
    for label, amount in TOTALS:
        expect(amount_row(scope, label)).to_contain_text(amount)


def expect_badge(page: Page, status: str) -> None:
    """The one status badge on the page reads `status` (after its icon's ligature name)."""
    expect(page.locator(".stMarkdownBadge")).to_have_text(re.compile(rf"^[a-z_]* ?{re.escape(status)}$"))


def metric(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text=label)


def open_url(page: Page, server: Server, path: str) -> None:
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    settle(page)


def create_tax_rate(page: Page, server: Server, name: str, percent: str) -> None:
    open_url(page, server, "tax-rates")
    page.get_by_role("tab", name="New tax rate").click()
    form = page.get_by_test_id("stForm")
    type_into(form.get_by_label("Name *", exact=True), name)
    type_into(form.get_by_label("Rate in percent *", exact=True), percent)
    form.get_by_role("button", name="Create tax rate").click()
    expect(page.get_by_text(f"Tax rate {name} created.")).to_be_visible()


def test_an_accountant_bills_collects_and_credits_a_new_customer(
    server: Callable[..., Server], fresh_database: Path, page_as: Callable[..., Page]
) -> None:
    app = server(fresh_database)
    page = page_as("accountant", app)

    # The prepared database has no tax rates: the accountant adds a standard and a reduced one.
    create_tax_rate(page, app, STANDARD, "20")
    create_tax_rate(page, app, REDUCED, "7")

    # 1. A new customer, through the Customers page form.
    open_url(page, app, "customers")
    page.get_by_role("tab", name="New customer").click()
    form = page.get_by_test_id("stForm")
    type_into(form.get_by_label("Name *", exact=True), CUSTOMER)
    pick(page, form.get_by_role("combobox", name="Country"), "Poland (PL)")
    pick(page, form.get_by_role("combobox", name="Currency"), "EUR · Euro")
    form.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name=CUSTOMER)).to_be_visible()
    customer_id = re.search(r"customer=(\d+)", page.url)
    assert customer_id, page.url
    customer_page = f"customers?customer={customer_id[1]}"

    # 2. An invoice draft with three lines, live totals checked before saving.
    open_url(page, app, "invoices")
    page.get_by_role("button", name="New invoice").click()
    expect(page.get_by_role("heading", name="New invoice")).to_be_visible()
    settle(page)  # until then the list's own "Customer" filter is still on the page
    pick(page, page.get_by_role("combobox", name="Customer"), f"{CUSTOMER} · EUR")
    for _ in LINES[1:]:
        settle(page)  # a click while a run replaces the button is lost
        count = page.get_by_label("Description", exact=True).count()
        page.get_by_role("button", name="Add line").click()
        expect(page.get_by_label("Description", exact=True)).to_have_count(count + 1)
    for row, (description, quantity, price, discount, rate) in enumerate(LINES):
        type_into(page.get_by_label("Description", exact=True).nth(row), description)
        type_into(page.get_by_label("Quantity", exact=True).nth(row), quantity)
        type_into(page.get_by_label("Unit price", exact=True).nth(row), price)
        if discount:
            type_into(page.get_by_label("Discount", exact=True).nth(row), discount)
        pick(page, page.get_by_role("combobox", name="Tax rate").nth(row), rate)
    settle(page)
    rows = page.get_by_test_id("stHorizontalBlock").filter(has=page.get_by_label("Description", exact=True))
    for row, net in enumerate(LINE_NETS):
        expect(rows.nth(row)).to_contain_text(net)
    expect_totals(page)
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name="Draft invoice")).to_be_visible()
    invoice_id = re.search(r"invoice=(\d+)", page.url)
    assert invoice_id, page.url
    invoice_page = f"invoices?invoice={invoice_id[1]}"
    page.get_by_role("button", name="Issue…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Issue this invoice to {CUSTOMER} for {TOTAL}?")
    dialog.get_by_role("button", name="Issue invoice").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Invoice \S+$"))
    expect(heading).to_be_visible()
    number = heading.inner_text().removeprefix("Invoice ").strip()
    assert re.fullmatch(r"INV-\d{4}-\d+", number), number
    expect_badge(page, "Unpaid")
    expect_totals(page)
    screenshot(page, "accountant-invoice-issued")

    # 3. A partial payment, on the Payments page, allocated to that invoice.
    open_url(page, app, "payments")
    page.get_by_role("button", name="Record payment").click()
    pick(page, page.get_by_role("combobox", name="Received from"), f"{CUSTOMER} · EUR")
    expect(page.get_by_text(f"1 open invoice, {TOTAL} outstanding", exact=True)).to_be_visible()
    # A payment not started from an invoice goes to the oldest due first; the list follows the amount typed.
    expect(page.get_by_role("radio", name="Oldest due first")).to_be_checked()
    amount = page.get_by_label("Amount (EUR)", exact=True)
    amount.fill(PAID)
    amount.press("Enter")
    expect(page.get_by_text("This payment pays 1 invoice in part.", exact=True)).to_be_visible()
    expect(page.get_by_text("(part)")).to_be_visible()
    settle(page)
    screenshot(page, "accountant-record-payment", height=900)
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("heading", name=f"Payment from {CUSTOMER}")).to_be_visible()
    expect_badge(page, "Fully allocated")
    expect(amount_row(page, number)).to_contain_text(f"€{PAID}")

    # 4. The customer's page: what is still owed, and the invoice partially paid.
    open_url(page, app, customer_page)
    expect(page.get_by_role("heading", name=CUSTOMER)).to_be_visible()
    expect(metric(page, "Outstanding (EUR)")).to_contain_text(BALANCE_AFTER_PAYMENT)
    expect(metric(page, "Overdue (EUR)")).to_contain_text("€0.00")
    expect(metric(page, "Credit (EUR)")).to_contain_text("€0.00")
    open_invoices = page.get_by_test_id("stDataFrame").first  # the grid's cells are a canvas: read its a11y table
    invoice_row = open_invoices.get_by_role("row", include_hidden=True).filter(has_text=number)
    expect(invoice_row).to_contain_text("Partially paid")
    expect(invoice_row).to_contain_text(TOTAL)
    expect(invoice_row).to_contain_text(BALANCE_AFTER_PAYMENT)
    screenshot(page, "accountant-customer-after-payment")

    # 5. The invoice PDF, downloaded for real.
    open_url(page, app, invoice_page)
    expect_badge(page, "Partially paid")
    pdf_file = download(page, page.get_by_role("button", name="Download PDF"))
    assert pdf_file.suggested_filename == f"{number}.pdf"
    data = Path(pdf_file.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert number in text and TOTAL in text and CUSTOMER in text, text

    # 6. A credit note for one of the two catering days, then the customer's balance again.
    page.get_by_role("button", name="Credit note…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Chosen lines and quantities").click()
    type_into(dialog.get_by_label("Quantity to credit", exact=True).nth(1), "1")
    expect(dialog).to_contain_text(f"Credit note total: {CREDIT_NOTE} (€112.50 + VAT €22.50)")
    dialog.get_by_role("button", name="Issue credit note").click()
    expect(dialog).to_have_count(0)
    expect(amount_row(page, "Credited")).to_contain_text(f"-{CREDIT_NOTE}")
    expect(amount_row(page, "Paid")).to_contain_text(f"-€{PAID}")
    expect(amount_row(page, "Balance due")).to_contain_text(BALANCE_AFTER_CREDIT)
    expect(page.get_by_text("Credit notes", exact=True)).to_be_visible()
    expect(page.get_by_text(CREDIT_NOTE, exact=True)).to_be_visible()  # the credit note's row
    expect_badge(page, "Partially paid")
    open_url(page, app, customer_page)
    expect(metric(page, "Outstanding (EUR)")).to_contain_text(BALANCE_AFTER_CREDIT)
    expect(invoice_row).to_contain_text(BALANCE_AFTER_CREDIT)
    expect(invoice_row).to_contain_text(CREDIT_NOTE)  # the Credited column explains the drop
    screenshot(page, "accountant-customer-after-credit")

    # The database agrees, read after the server has stopped.
    app.stop()
    db = Database(database_url(app.database))
    try:
        view = invoices.get_invoice(db, Actor("accountant", ACCOUNTANT), int(invoice_id[1]), as_of=date.today())
        report = verify_database(db, SYSTEM)
    finally:
        db.dispose()
    assert view.header.number == number and view.status == "partially_paid"
    assert (view.header.payable, view.header.paid_amount, view.header.credited_amount, view.balance) == (
        Decimal("332.75"),
        Decimal("150.00"),
        Decimal("135.00"),
        Decimal("47.75"),
    )
    assert [note.payable for note in view.credit_notes] == [Decimal("135.00")]
    assert report.ok, report.problems
