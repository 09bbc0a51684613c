"""The demo sandbox in a real browser: set up with "Explore with demo data", work in the sandbox under its banner,
go back to the real books (empty, numbering at 1) and delete the sandbox."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from billing import sandbox
from browser.harness import Server, pick, screenshot, settle
from ui.sandbox import BANNER

pytestmark = pytest.mark.browser

OWNER_PASSWORD = "a long owner secret"
DEMO_INVOICES = re.compile(r"of 10,\d{3}$")
BANNER_START = BANNER.split(":")[0].strip("*")  # "Demo sandbox", shown in bold


def banner(page: Page) -> object:
    return page.get_by_test_id("stAlert").filter(has_text="kept apart from your real books")


def set_up_exploring(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Set up your billing portal")).to_be_visible()
    for label, value in {"Username": "owner", "Full name": "Olga Owner", "Legal name": "Olga's Bakery GmbH",
                         "Tax ID (VAT number)": "DE136695976"}.items():
        page.get_by_label(label, exact=True).fill(value)
    pick(page, page.get_by_role("combobox", name="Country"), "Germany (DE)")
    page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
    page.get_by_label("Repeat password", exact=True).fill(OWNER_PASSWORD)
    page.get_by_label("Address", exact=True).fill("Marktplatz 1\n04109 Leipzig")
    page.get_by_text("Explore with demo data").click()
    page.get_by_role("button", name="Create the portal").click()
    expect(page.get_by_text("Your portal is ready.")).to_be_visible(timeout=90_000)  # the demo is generated first


def test_explore_with_demo_data_then_back_to_the_real_books(server: Callable[..., Server],
                                                            new_context: Callable[..., BrowserContext]) -> None:
    app = server()
    page = new_context().new_page()
    set_up_exploring(page, app.url)
    page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Signed in, the owner is in the sandbox: its banner on every page, its invented invoices.
    expect(banner(page)).to_be_visible()
    expect(banner(page)).to_contain_text(BANNER_START)
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_role("heading", name="Invoices", exact=True)).to_be_visible()
    expect(banner(page)).to_be_visible()
    expect(page.get_by_text(DEMO_INVOICES)).to_be_visible()  # "1–50 of 10,146" above the table
    screenshot(page, "sandbox-invoices")

    # Back to the real books: no banner, no invoices.
    page.get_by_role("button", name="Back to my real books").click()
    expect(banner(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Open the demo sandbox")).to_be_visible()
    page.get_by_role("link", name="Invoices", exact=True).click()
    settle(page)
    expect(page.get_by_role("heading", name="Invoices", exact=True)).to_be_visible()
    expect(page.get_by_text(DEMO_INVOICES)).to_have_count(0)

    # Into the sandbox again, and a reload opens the real books: nobody is in the sandbox without asking.
    page.get_by_role("button", name="Open the demo sandbox").click()
    expect(banner(page)).to_be_visible()
    page.reload()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(banner(page)).to_have_count(0)

    # The owner deletes it under Settings: the folder goes, the real books stay.
    page.goto(f"{app.url}/settings")
    page.get_by_role("tab", name="Backup and verify").click()
    page.get_by_role("button", name="Delete the demo sandbox").click()
    page.get_by_role("button", name="Delete it now").click()
    expect(page.get_by_role("button", name="Create a demo sandbox")).to_be_visible()
    expect(page.get_by_role("button", name="Open the demo sandbox")).to_have_count(0)
    assert not (app.database.parent / sandbox.FOLDER).exists()
