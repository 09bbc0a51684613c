"""Sign-in flows in a real browser: setup, cookies, sign-out, lockout, pages a role may not open."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from portal import PASSWORD

from billing import auth_keys
from browser.harness import ScriptRuns, Server, mint_session, pick, screenshot, sign_in

pytestmark = pytest.mark.browser

SIGNED_IN = "Signed in as"
NewContext = Callable[..., BrowserContext]


def expect_sign_in_form(page: Page) -> None:
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text(SIGNED_IN)).to_have_count(0)


def session_cookie(page: Page) -> dict[str, str]:
    found = [c for c in page.context.cookies() if c["name"] == auth_keys.COOKIE_NAME]
    assert len(found) == 1, page.context.cookies()
    return {"name": found[0]["name"], "value": found[0]["value"], "domain": found[0]["domain"], "path": "/"}


def test_first_run_setup_creates_the_owner_who_then_signs_in(server: Callable[..., Server],
                                                             new_context: NewContext) -> None:
    app = server()
    page = new_context().new_page()
    page.goto(app.url)
    expect(page.get_by_role("heading", name="Set up your billing portal")).to_be_visible()
    for label, value in {"Username": "owner", "Full name": "Olga Owner", "Legal name": "Olga's Bakery GmbH",
                         "Tax ID (VAT number)": "DE136695976"}.items():
        page.get_by_label(label, exact=True).fill(value)
    pick(page, page.get_by_role("combobox", name="Country"), "Germany (DE)")
    page.get_by_label("Password", exact=True).fill("a long owner secret")
    page.get_by_label("Repeat password", exact=True).fill("a long owner secret")
    page.get_by_label("Address", exact=True).fill("Marktplatz 1\n04109 Leipzig")
    screenshot(page, "setup")
    page.get_by_role("button", name="Create the portal").click()
    expect(page.get_by_text("Your portal is ready.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("owner")
    page.get_by_label("Password", exact=True).fill("a long owner secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    page.goto(f"{app.url}/users")  # the owner is an admin
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    assert (app.database.parent / ".cookie_key").stat().st_mode & 0o777 == 0o600


def test_a_sign_in_survives_a_reload_and_signing_out_ends_it(page_as: Callable[..., Page]) -> None:
    page = page_as("admin")
    page.reload()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect_sign_in_form(page)
    screenshot(page, "login")
    page.reload()
    expect_sign_in_form(page)


def test_a_page_load_runs_the_script_once(new_context: NewContext, shared_server: Server) -> None:
    page = new_context().new_page()
    runs = ScriptRuns.of(page)
    sign_in(page, shared_server, "accountant", path="customers")  # a deep link: the form, then the page
    expect(page).to_have_url(f"{shared_server.url}/customers")
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    assert runs.after(page) == 1
    for load in (page.reload, lambda: page.goto(f"{shared_server.url}/payments?payment=1")):
        runs.full = 0
        load()
        expect(page.get_by_text(SIGNED_IN)).to_be_visible()
        assert runs.after(page) == 1
    runs.full = 0
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_role("heading", name="Invoices", exact=True)).to_be_visible()
    assert runs.after(page) == 1


def test_a_copied_cookie_stops_working_after_sign_out(page_as: Callable[..., Page], new_context: NewContext,
                                                      shared_server: Server) -> None:
    page = page_as("accountant")
    thief = new_context()
    thief.add_cookies([session_cookie(page)])  # type: ignore[list-item]
    stolen = thief.new_page()
    stolen.goto(f"{shared_server.url}/customers")
    expect(stolen.get_by_text(SIGNED_IN)).to_be_visible()  # the copy works while the session lives
    page.get_by_role("button", name="Sign out").click()
    expect_sign_in_form(page)
    stolen.reload()
    expect_sign_in_form(stolen)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_cookie_the_server_did_not_issue_is_refused(new_context: NewContext, shared_server: Server) -> None:
    claims = {"username": "admin", "exp_date": time.time() + 3600}
    installation_key = (shared_server.database.parent / ".cookie_key").read_text()
    forged = [
        jwt.encode(claims, "some_key", algorithm="HS256"),  # streamlit-authenticator's default key
        jwt.encode(claims, "x" * 64, algorithm="HS256"),  # some other key
        jwt.encode(claims, installation_key, algorithm="HS256"),  # the right key, but no session behind it
        jwt.encode(claims, "", algorithm="none"),  # unsigned
        "not.a.jwt",
    ]
    context = new_context()
    page = context.new_page()
    for token in forged:
        context.clear_cookies()
        context.add_cookies([{"name": auth_keys.COOKIE_NAME, "value": token, "url": shared_server.url}])
        page.goto(f"{shared_server.url}/users")
        expect_sign_in_form(page)
        expect(page.get_by_text("Something went wrong")).to_have_count(0)


def test_five_failures_lock_the_account_even_for_the_right_password(new_context: NewContext,
                                                                     shared_server: Server) -> None:
    page = new_context().new_page()
    page.goto(shared_server.url)
    page.get_by_label("Username").fill("clerk")
    password = page.get_by_label("Password", exact=True)
    for attempt in range(6):
        password.fill(PASSWORD if attempt == 5 else f"wrong password {attempt}")
        page.get_by_role("button", name="Sign in").click()
        expect(password).to_have_value("")  # the run that answered this attempt has finished
        expected = "This account is locked for 15 minutes" if attempt == 5 else "Wrong username or password."
        expect(page.get_by_text(expected)).to_be_visible()
    expect_sign_in_form(page)


def test_an_analyst_opening_admin_pages_by_url_sees_no_data(page_as: Callable[..., Page],
                                                            shared_server: Server) -> None:
    page = page_as("analyst")
    for path in ("users", "settings", "audit-log"):
        page.goto(f"{shared_server.url}/{path}")
        expect(page.get_by_text(SIGNED_IN)).to_be_visible()
        expect(page.get_by_text("Page not found")).to_be_visible()
        for marker in ("Ada Admin", "Create user", "Company profile", "Verify chain"):
            expect(page.get_by_text(marker)).to_have_count(0)
    expect(page.get_by_role("link", name="Users", exact=True)).to_have_count(0)


def test_the_first_request_to_a_fresh_server_cannot_open_an_admin_page(
        server: Callable[..., Server], fresh_database: Path, new_context: NewContext) -> None:
    token = mint_session(fresh_database, "analyst")  # signed in earlier, before this server started
    app = server(fresh_database)
    context = new_context()
    context.add_cookies([{"name": auth_keys.COOKIE_NAME, "value": token, "url": app.url}])
    page = context.new_page()
    page.goto(f"{app.url}/users")  # the very first request this process serves
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_be_visible()
    for marker in ("Ada Admin", "Create user", "Initial password"):
        expect(page.get_by_text(marker)).to_have_count(0)
    anonymous = new_context().new_page()
    anonymous.goto(f"{app.url}/settings")
    expect_sign_in_form(anonymous)
    sign_in(anonymous, app, "analyst", path="settings")
    expect(anonymous.get_by_text("Company profile")).to_have_count(0)


def test_admin_pages_render_in_the_browser(page_as: Callable[..., Page], shared_server: Server) -> None:
    page = page_as("admin")
    for path, heading in (("users", "Users"), ("settings", "Settings"), ("audit-log", "Audit log")):
        page.goto(f"{shared_server.url}/{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_text("Something went wrong")).to_have_count(0)
        screenshot(page, path)
