"""Real-browser test harness: Streamlit servers on prepared databases, sign-in and screenshot helpers.

The fixtures built on it live in conftest.py; tests import helpers from here (`from browser.harness import ...`),
never from a conftest (tests/conftest.py and this folder's conftest.py would shadow each other).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Download, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from portal import PASSWORD, seeded_database
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from billing import auth_keys, catalog, customers, invoices, signing, users
from billing.permissions import SYSTEM, Actor
from billing.store.db import Database, forget_database

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("BILLING_SCREENSHOTS")  # a folder to save screenshots into, when set


@dataclass
class Server:
    """A `streamlit run app.py` process on one database file."""

    url: str
    database: Path
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Terminate; kill after a second (its database is a throwaway copy, and a graceful Streamlit
        shutdown takes seconds on a busy machine)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(1)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(database: Path) -> str:
    return f"duckdb:///{database}"


def start_server(database: Path, **env: str) -> Server:
    """Start the app on `database` and wait until it answers /_stcore/health."""
    port = _free_port()
    log = database.with_name(f"streamlit-{port}.log")
    environment = {**os.environ, "BILLING_DATABASE_URL": database_url(database), "BILLING_BCRYPT_ROUNDS": "4",
                   "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **env}
    if "BILLING_COOKIE_KEY" not in env:  # the key file next to the database, as in production
        environment.pop("BILLING_COOKIE_KEY", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", database, log, process)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60  # a loaded 2-core machine (the whole suite) can take over 30 s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log_text()}")
        try:
            with opener.open(f"{server.url}/_stcore/health", timeout=1) as answer:
                if answer.read().strip() == b"ok":
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"streamlit did not become healthy:\n{server.log_text()}")


def prepared_database(folder: Path, demo: bool = False) -> Path:
    """tests/portal.seeded_database in `folder`, closed again so a server process can lock the file."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BILLING_BCRYPT_ROUNDS", "4")  # as the servers have it
        db = seeded_database(folder, demo=demo)
        # a user of its own for lockout tests, so that locking it spoils no other test
        users.create_user(db, Actor("admin", "admin"), "clerk", PASSWORD, "accountant", name="Clerk Kent")
    forget_database(db.url)
    return folder / "app.duckdb"


def mint_session(database: Path, username: str) -> str:
    """A live session for `username`, written while no server holds the file: its cookie's value."""
    url = database_url(database)
    key = auth_keys.cookie_key(url)
    token, expires = auth_keys.issue_token(key, username, auth_keys.session_lifetime())
    db = Database(url)
    try:
        users.start_session(db, username, token, expires)
    finally:
        db.dispose()
    return token


def sign_in(page: Page, server: Server, username: str, password: str = PASSWORD, path: str = "") -> Page:
    """Sign in through the form as a user does: open the page at `path` (the server answers with the sign-in
    form, whose response sets the session cookie and leads back to the page), then wait for the portal."""
    page.goto(f"{server.url}/{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    return page


def wait_for_cookie(page: Page) -> None:
    """Until the browser holds the session cookie (the sign-in form's answer sets it, so after `sign_in` it is
    there already; kept for tests that sign in by other means)."""
    deadline = time.monotonic() + 15
    while not any(c["name"] == auth_keys.COOKIE_NAME for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the session cookie was never stored"
        page.wait_for_timeout(50)


@dataclass
class ScriptRuns:
    """The script runs the server reports to a page: each full run ends with a `script_finished` message
    (a fragment's run too, counted apart)."""

    full: int = 0
    fragments: int = 0

    @classmethod
    def of(cls, page: Page) -> ScriptRuns:
        runs = cls()
        page.on("websocket", lambda socket: socket.on("framereceived", runs._frame))
        return runs

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            if message.WhichOneof("type") == "script_finished":
                if message.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    self.fragments += 1
                else:
                    self.full += 1

    def after(self, page: Page, quiet_ms: int = 1500) -> int:
        """The full runs so far, once the page has settled and stayed quiet (a second run would come now)."""
        settle(page)
        page.wait_for_timeout(quiet_ms)
        settle(page)
        return self.full


def pick(page: Page, box: Locator, option: str) -> None:
    """Choose an option of a Streamlit select box the way a user does: type to narrow the list, click the option
    (a long list renders only the options in view)."""
    box.click()
    # An open list hides the rest of the page from assistive technology, so `box` may no longer resolve.
    page.get_by_role("combobox", expanded=True).fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_role("listbox")).to_have_count(0)


def click_canvas(page: Page, x: float, y: float, took: Callable[[], None], attempts: int = 3) -> None:
    """Click a point of a table drawn on a canvas as a hand does (the mouse moves onto it before pressing, for
    the canvas to take the click), until `took` (an expect) passes: a click while the canvas is still being
    laid out can be lost, so click again."""
    for attempt in range(attempts):
        page.mouse.move(x, y - 5)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.up()
        try:
            took()
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def settle(page: Page) -> None:
    """Wait until the app has finished its run: no element is still a loading skeleton, and none is left
    over from the previous run (Streamlit marks those stale until the run ends)."""
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    expect(page.locator("[data-stale='true']")).to_have_count(0)


def download(page: Page, button: Locator, attempts: int = 3) -> Download:
    """Click a download button and return its download. A click that lands while a run replaces the button
    (its file is made on the click, by the run it starts) can be lost on a busy machine: like a user, wait
    for the page to settle and click again."""
    for attempt in range(attempts):
        settle(page)
        try:
            with page.expect_download(timeout=20_000) as started:
                button.click()
            return started.value
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def screenshot(page: Page, name: str, height: int = 1300) -> None:
    """Save a screenshot to $BILLING_SCREENSHOTS when set (for looking at the layout).

    Streamlit scrolls inside its main block, so a tall viewport stands in for a full-page shot.
    """
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.set_viewport_size({"width": size["width"] if size else 1440, "height": height})
        settle(page)
        page.wait_for_timeout(300)  # fonts, icons, toasts
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
        if size:
            page.set_viewport_size(size)


def copy_database(database: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / database.name
    shutil.copyfile(database, target)
    wal = database.with_name(database.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    signing.copy_installation_files(database_url(database), database_url(target))  # the audit chain's key and head
    return target


def add_issued_invoice(database: Path, customer_name: str) -> int:
    """A tax rate, a customer named `customer_name` and an issued two-line invoice for it in the closed
    `database` (before a server opens it): the invoice's id."""
    url = database_url(database)
    db = Database(url)
    try:
        rate = catalog.create_tax_rate(db, SYSTEM, {"name": "VAT 20%", "category": "S", "percent": "20"})
        customer = customers.create_customer(db, SYSTEM, {"name": customer_name, "currency": "EUR"})
        invoice_id = invoices.create_draft(db, SYSTEM, {"customer_id": customer, "lines": [
            {"description": "Croissants", "quantity": "40", "unit_price": "1.20", "tax_rate_id": rate},
            {"description": "Catering for the spring reception, two days", "quantity": "2", "unit": "day",
             "unit_price": "1250.00", "discount_percent": "5", "tax_rate_id": rate}]})
        invoices.issue_invoice(db, SYSTEM, invoice_id, today=date.today())
    finally:
        db.dispose()
        forget_database(url)
    return invoice_id
