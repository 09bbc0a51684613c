"""The portal the page and browser tests run: a seeded database file, and AppTest runs of app.py signed in."""

from __future__ import annotations

import html
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from billing import settings, signing, users
from billing.demo import load_demo
from billing.permissions import ROLES, SYSTEM
from billing.store.db import Database, forget_database, get_database

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "purple tugboat jingles at noon"
AS_OF = date(2026, 11, 25)


def file_url(folder: Path) -> str:
    """The URL of the portal's database file in `folder`."""
    return f"duckdb:///{folder}/app.duckdb"


def seeded_database(folder: Path, demo: bool = True) -> Database:
    """A database in `folder` with a company, one user per role (username = role) and, by default, demo data S.

    It creates users: set BILLING_BCRYPT_ROUNDS=4 first (monkeypatch.setenv) or each password costs ~0.2 s."""
    url = file_url(folder)
    forget_database(url)
    db = get_database(url)
    settings.save_company(db, SYSTEM, {"legal_name": "Acme Consulting GmbH", "address": "Hauptstr. 1\n10115 Berlin",
                                       "country": "DE", "tax_id": "DE136695976", "base_currency": "EUR",
                                       "timezone": "Europe/Berlin", "bank_details": "IBAN DE89 3704 0044 0532 0130 00"})
    users.create_user(db, None, "admin", PASSWORD, "admin", name="Ada Admin")
    for role in ROLES[1:]:
        users.create_user(db, SYSTEM, role, PASSWORD, role, name=role.capitalize())
    if demo:
        load_demo(db, SYSTEM, "S", AS_OF)
    return db


def copy_portal(template: Path, folder: Path) -> str:
    """Copy the (closed) portal database in `template` into `folder`, with the installation files that go
    with it (the audit chain's key and head): its URL."""
    for source in template.glob("app.duckdb*"):
        shutil.copyfile(source, folder / source.name)
    url = file_url(folder)
    signing.copy_installation_files(file_url(template), url)
    return url


def app_as(role: str, page: str | None = None, timeout: float = 30) -> AppTest:
    """app.py signed in as the user named after `role`; optionally switched to a page script."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["auth_username"] = role
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def open_page(role: str, page: str, timeout: float = 30, **params: Any) -> AppTest:
    """Like app_as, but straight to the page (and its query parameters) in one run: the default page
    (the dashboard) is not rendered first."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["auth_username"] = role
    at.query_params.update({name: str(value) for name, value in params.items()})
    return at.switch_page(page).run()


def sign_in_link(at: AppTest) -> str | None:
    """Where a run that found no live session sends the tab (the sign-in form of signin/), else None."""
    for element in at.get("html"):
        found = re.search(r'href="(/auth/sign-in[^"]*)"', element.proto.body)
        if found:
            return html.unescape(found.group(1))
    return None


def ok(at: AppTest) -> AppTest:
    """The run ended without an exception or an error message."""
    assert not at.exception, at.exception
    assert not at.error, at.error.values
    return at


def download_payload(managers: list[MediaFileManager], at: AppTest, key: str) -> bytes:
    """What the download button `key` gives: its file, made with the page or (deferred) on the click.
    `managers` is the `downloads` fixture of tests/pages/conftest.py."""
    button = next(button for button in at.get("download_button") if button.key == key)
    url = button.proto.url or managers[-1].execute_deferred(button.proto.deferred_file_id)
    return bytes(managers[-1].storage.get_file(url.rsplit("/", 1)[-1].split(".")[0]).content)  # type: ignore[attr-defined]
