"""Open tabs of a user who loses access act no more: for each kind of element (dialog, fragment, download,
form, button callback) and each way of losing access (disabled, demoted, signed out in another tab).

The tabs are opened and left waiting first; then the admin (or the user's other tab) takes access away;
then every tab is clicked. Nothing may be written, exported or audited in the user's name after that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from billing import catalog, customers, invoices
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.store.schema import audit_events
from browser.harness import Server, database_url, pick, settle, sign_in

pytestmark = pytest.mark.browser

NewContext = Callable[..., BrowserContext]
ENDED = "Your session has ended. Please sign in again."


@dataclass(frozen=True)
class Books:
    customer: int  # its profile form is left open
    spare: int  # its delete confirmation is left open
    to_issue: int  # a draft, its issue dialog left open
    to_edit: int  # a draft, open in the editor (a fragment)
    to_void: int  # issued, its void dialog left open


def keep_books(database: Path) -> Books:
    """Customers and invoices written while no server holds the file."""
    db = Database(database_url(database))
    try:
        customer = customers.create_customer(db, SYSTEM, {"name": "Nordwind GmbH", "currency": "EUR"})
        spare = customers.create_customer(db, SYSTEM, {"name": "Spare Parts Ltd", "currency": "EUR"})
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
        lines = [{"description": "Consulting", "quantity": "2", "unit_price": "100.00", "tax_rate_id": rate}]
        to_issue, to_edit, to_void = (invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": lines})
                                      for _ in range(3))
        invoices.issue_invoice(db, SYSTEM, to_void, today=date.today())
        return Books(customer, spare, to_issue, to_edit, to_void)
    finally:
        db.dispose()


def open_tab(context: BrowserContext, server: Server, path: str) -> Page:
    page = context.new_page()
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    settle(page)
    return page


def leave_waiting(context: BrowserContext, server: Server, books: Books) -> dict[str, Page]:
    """One tab per kind of element, each left one click away from acting."""
    tabs: dict[str, Page] = {}
    tabs["issue dialog"] = page = open_tab(context, server, f"invoices?invoice={books.to_issue}")
    page.get_by_role("button", name="Issue…").click()
    expect(page.get_by_role("dialog").get_by_role("button", name="Issue invoice")).to_be_visible()
    tabs["void dialog"] = page = open_tab(context, server, f"invoices?invoice={books.to_void}")
    page.get_by_role("button", name="Void…").click()
    page.get_by_role("dialog").get_by_role("textbox").fill("Sent twice")
    expect(page.get_by_role("dialog").get_by_role("button", name="Void invoice")).to_be_visible()
    tabs["editor fragment"] = page = open_tab(context, server, f"invoices?edit={books.to_edit}")
    expect(page.get_by_role("button", name="Save draft")).to_be_enabled()
    tabs["export download"] = page = open_tab(context, server, "customers")
    expect(page.get_by_role("button", name="Export CSV")).to_be_enabled()
    tabs["profile form"] = page = open_tab(context, server, f"customers?customer={books.customer}")
    page.get_by_role("tab", name="Profile").click()
    page.get_by_label("Name *").fill("Nordwind Renamed GmbH")
    tabs["delete callback"] = page = open_tab(context, server, f"customers?customer={books.spare}")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("dialog").get_by_role("button", name="Delete")).to_be_visible()
    return tabs


def act(name: str, page: Page) -> None:
    """The one click each waiting tab was left at."""
    if name == "issue dialog":
        page.get_by_role("dialog").get_by_role("button", name="Issue invoice").click()
    elif name == "void dialog":
        page.get_by_role("dialog").get_by_role("button", name="Void invoice").click()
    elif name == "editor fragment":
        page.get_by_role("button", name="Save draft").click()
    elif name == "export download":
        page.get_by_role("button", name="Export CSV").click()
    elif name == "profile form":
        page.get_by_role("button", name="Save changes").click()
    else:
        page.get_by_role("dialog").get_by_role("button", name="Delete").click()


def take_access_away(how: str, admin: Page, own_context: BrowserContext, server: Server) -> None:
    if how == "signed out elsewhere":
        other = open_tab(own_context, server, "")
        other.get_by_role("button", name="Sign out").click()
        expect(other.get_by_text("You have signed out.")).to_be_visible()
        return
    admin.goto(f"{server.url}/users")
    admin.get_by_role("tab", name="Manage a user").click()
    pick(admin, admin.get_by_role("combobox", name="User"), "Accountant (accountant) · accountant")
    if how == "demoted":
        form = admin.get_by_test_id("stForm").filter(has_text="Role")
        pick(admin, form.get_by_role("combobox", name="New role"), "Analyst")
        form.get_by_role("button", name="Change role").click()
        expect(admin.get_by_text("accountant is now analyst.")).to_be_visible()
    else:
        admin.get_by_text("Yes, disable accountant and sign them out").click()
        admin.get_by_role("button", name="Disable user").click()
        expect(admin.get_by_text("accountant disabled.")).to_be_visible()


def events_by(database: Path, username: str) -> list[str]:
    db = Database(database_url(database))
    try:
        with db.connect() as conn:
            return list(conn.execute(sa.select(audit_events.c.action).where(audit_events.c.actor == username)
                                     .order_by(audit_events.c.id)).scalars())
    finally:
        db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["disabled", "demoted", "signed out elsewhere"])
def test_waiting_tabs_act_no_more_once_access_is_gone(how: str, server: Callable[..., Server], fresh_database: Path,
                                                      new_context: NewContext) -> None:
    books = keep_books(fresh_database)
    app = server(fresh_database)
    admin = sign_in(new_context().new_page(), app, "admin")
    own = new_context()
    sign_in(own.new_page(), app, "accountant")
    tabs = leave_waiting(own, app, books)

    take_access_away(how, admin, own, app)
    downloads: list[str] = []
    for name, page in tabs.items():
        page.on("download", lambda d, name=name: downloads.append(name))
        act(name, page)
        settle(page)  # the rerun's elements, not the previous run's stale ones
        if how == "demoted":  # still signed in, as an analyst: the pages of that role, and why nothing happened
            expect(page.get_by_text("Signed in as")).to_contain_text("analyst")
            if name != "export download":  # which an analyst may do
                expect(page.get_by_text("Your role was changed to analyst meanwhile, so nothing was done.")) \
                    .to_be_visible()
        else:
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            # Said once, when the reruns are over (on a loaded machine the sign-in form of the dialog's own
            # rerun can still stand beside the full run's for a moment).
            expect(page.get_by_text(ENDED)).to_have_count(1, timeout=30_000)
            expect(page.get_by_text(ENDED)).to_be_visible()
    for page in tabs.values():
        settle(page)
    assert downloads == (["export download"] if how == "demoted" else [])  # an analyst may export

    admin.goto(f"{app.url}/invoices?invoice={books.to_issue}")
    expect(admin.get_by_text("Draft invoice")).to_be_visible()  # not issued
    admin.goto(f"{app.url}/invoices?invoice={books.to_void}")
    expect(admin.get_by_role("button", name="Void…")).to_be_visible()  # not voided
    admin.goto(f"{app.url}/customers?customer={books.spare}")
    expect(admin.get_by_role("heading", name="Spare Parts Ltd")).to_be_visible()  # not deleted
    admin.goto(f"{app.url}/customers?customer={books.customer}")
    expect(admin.get_by_role("heading", name="Nordwind GmbH")).to_be_visible()  # not renamed
    app.stop()
    assert events_by(fresh_database, "accountant") == [], "the accountant acted after losing access"
