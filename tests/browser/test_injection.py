"""Markdown payloads in a real browser: no page fetches anything from a payload's URL or shows its markup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from injection import HOST, PASSWORD, USERNAME, company_today, seed_payloads
from playwright.sync_api import BrowserContext, Page, expect

from billing.store.db import Database
from browser.harness import Server, copy_database, database_url, settle, sign_in

pytestmark = pytest.mark.browser

# What a payload would have become: a remote image or link, bold or LaTeX, a Material icon, the Streamlit logo.
RENDERED = f"""() => [
  ...document.querySelectorAll('[src*="{HOST}"], [href*="{HOST}"], svg a'),
  ...[...document.querySelectorAll('strong, em, b, del')].filter(e => /^Zq[A-Za-z]+$/.test(e.textContent)),
  ...document.querySelectorAll('.katex, [aria-label="home icon"], img[alt="Streamlit logo"]'),
].map(e => e.outerHTML.slice(0, 120))"""


def test_payload_pages_fetch_nothing_and_render_no_markup(server: Callable[..., Server], prepared_template: Path,
                                                          new_context: Callable[..., BrowserContext],
                                                          tmp_path: Path) -> None:
    database = copy_database(prepared_template, tmp_path / "db")
    db = Database(database_url(database))
    try:
        ids = seed_payloads(db, company_today())
    finally:
        db.dispose()
    app = server(database)
    page: Page = new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def check(path: str, visible: str) -> None:
        settle(page)
        expect(page.get_by_text(visible).first).to_be_visible()
        assert page.evaluate(RENDERED) == [], path

    page.goto(app.url)  # the sign-in page names the company
    check("sign-in", "**ZqCompany** $ZqCompany$")
    sign_in(page, app, USERNAME, PASSWORD)
    for path, visible in ((f"customers?customer={ids.customer}", "**ZqCustMail**"),
                          (f"invoices?invoice={ids.issued}", "**ZqNotes** $ZqNotes$"),
                          (f"payments?payment={ids.payment}", "**ZqRef** $ZqRef$"),
                          ("revenue?by=customer", "<b>ZqCustomer</b>")):  # the chart's legend
        page.goto(f"{app.url}/{path}")
        check(path, visible)
    foreign = {url for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")
               and urlsplit(url).hostname != "127.0.0.1"}
    assert not foreign, foreign
