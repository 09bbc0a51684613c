"""The report pages in a real browser: a click on a revenue bar drills down, both exports download, bookmarks work,
a typed date applies on Enter."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browser.harness import Server, copy_database, download, prepared_database, screenshot, settle, start_server

pytestmark = pytest.mark.browser

REPORT_PAGES = {"": "Dashboard", "revenue": "Revenue", "aging": "AR aging", "collections": "Collections & cash",
                "statements?customer=1": "Customer statement", "tax-report": "Tax report"}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on the demo data (scale S) for this module's tests, which only read."""
    template = prepared_database(tmp_path_factory.mktemp("reports-demo"), demo=True)
    running = start_server(copy_database(template, tmp_path_factory.mktemp("reports-server")))
    yield running
    running.stop()


def open_report(page_as: Callable[..., Page], server: Server, path: str) -> Page:
    page = page_as("analyst", server)
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
    settle(page)
    return page


def click_bar(page: Page, index: int) -> None:
    """Click the middle of a bar: Plotly picks the point under the pointer (its drag layer covers the bars)."""
    bar = page.get_by_test_id("stPlotlyChart").first.locator("g.point").nth(index)
    box = bar.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.6)


def test_revenue_bar_drills_down_and_both_exports_download(page_as: Callable[..., Page], demo_server: Server,
                                                           tmp_path: Path) -> None:
    page = open_report(page_as, demo_server, "revenue?period=this_year&currency=EUR")
    expect(page.get_by_test_id("stPlotlyChart").first.locator("g.point").first).to_be_attached()
    click_bar(page, 1)  # February's "Invoiced" bar
    heading = page.get_by_role("heading", name=re.compile(r"^Invoices · Feb \d{4} · EUR"))
    expect(heading).to_be_visible(timeout=30_000)
    settle(page)
    screenshot(page, "reports-revenue-drill-down")
    drill = page.get_by_test_id("stVerticalBlock").filter(has=heading).last
    count = page.get_by_text(re.compile(r"^1–\d+ of [\d,]+$")).first.inner_text()
    total = int(count.rsplit(" ", 1)[-1].replace(",", ""))
    assert total > 0

    csv_file = download(page, drill.get_by_role("button", name="Export CSV").first)
    text = Path(csv_file.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["Number", "Customer"] and "Invoiced" in rows[0]
    assert len(rows) == total + 1 and all(row[rows[0].index("Currency")] == "EUR" for row in rows[1:])
    assert csv_file.suggested_filename.endswith(".csv")

    # An export's click reruns its panel (so a tab that lost access shows the sign-in form); the new run
    # makes new download buttons, and the PDF button of the run before no longer has its file.
    pdf_file = download(page, drill.get_by_role("button", name="Export PDF").first)
    assert Path(pdf_file.path()).read_bytes().startswith(b"%PDF")

    page.get_by_role("button", name="Close").click()
    expect(heading).to_have_count(0)
    settle(page)
    click_bar(page, 1)  # the same bar again: closing reset the chart's selection
    expect(heading).to_be_visible(timeout=30_000)


def test_a_bookmarked_view_opens_as_it_was_shared(page_as: Callable[..., Page], demo_server: Server) -> None:
    page = open_report(page_as, demo_server, "revenue?period=this_quarter&currency=USD&by=product&every=week")
    expect(page.get_by_role("combobox", name="Period")).to_have_value("This quarter")
    expect(page.get_by_test_id("stMultiSelect").filter(has_text="Currency")).to_contain_text("USD")
    expect(page.get_by_role("radio", name="Product")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("heading", name="Revenue by week")).to_be_visible()
    page.get_by_role("link", name="AR aging").click()  # the filters travel with the user, into the new URL
    settle(page)
    expect(page).to_have_url(re.compile(r"/aging\?currency=USD$"))
    expect(page.get_by_text("Outstanding · USD")).to_be_visible()


def test_every_report_page_renders(page_as: Callable[..., Page], demo_server: Server) -> None:
    page = page_as("analyst", demo_server)
    for path, title in REPORT_PAGES.items():
        page.goto(f"{demo_server.url}/{path}")
        # each goto is a fresh session restored from the cookie: allow for a busy machine
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=30_000)
        settle(page)
        expect(page.get_by_text("Something went wrong")).to_have_count(0)
        screenshot(page, f"reports-{path.split('?')[0] or 'dashboard'}", height=2000)


def test_a_date_typed_into_a_filter_applies_on_enter(page_as: Callable[..., Page], demo_server: Server) -> None:
    page = open_report(page_as, demo_server, "revenue?period=custom&dates=2026-03-01..2026-03-31")
    page.get_by_role("spinbutton", name="year, From – to start date").click()
    page.keyboard.type("2025")
    page.keyboard.press("Enter")  # no click elsewhere, no Escape: Enter alone applies it
    expect(page).to_have_url(re.compile(r"dates=2025-03-01(\.\.|%2E%2E)2026-03-31"), timeout=30_000)
