"""Helpers for AppTest page tests: a seeded database and a signed-in app for a role."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.components.v2 import manifest_scanner
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from billing import settings, signing, users
from billing.demo import load_demo
from billing.permissions import ROLES, SYSTEM
from billing.store.db import Database, forget_database, get_database

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "purple tugboat jingles at noon"
AS_OF = date(2026, 11, 25)


def seeded_database(tmp_path: Path, demo: bool = True) -> Database:
    """A database with a company, one user per role (username = role) and, by default, demo data S."""
    os.environ["BILLING_BCRYPT_ROUNDS"] = "4"
    url = f"duckdb:///{tmp_path}/app.duckdb"
    os.environ["BILLING_DATABASE_URL"] = url
    forget_database(url)
    db = get_database(url)
    settings.save_company(db, SYSTEM, {"legal_name": "Acme Consulting GmbH", "address": "Hauptstr. 1\n10115 Berlin",
                                       "country": "DE", "tax_id": "DE123456789", "base_currency": "EUR",
                                       "timezone": "Europe/Berlin", "bank_details": "IBAN DE89 3704 0044 0532 0130 00"})
    users.create_user(db, None, "admin", PASSWORD, "admin", name="Ada Admin")
    for role in ROLES[1:]:
        users.create_user(db, SYSTEM, role, PASSWORD, role, name=role.capitalize())
    if demo:
        load_demo(db, SYSTEM, "S", AS_OF)
    return db


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


def ok(at: AppTest) -> AppTest:
    """The run ended without an exception or an error message."""
    assert not at.exception, at.exception
    assert not at.error, at.error.values
    return at


@pytest.fixture(name="downloads")
def recorded_downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MediaFileManager]]:
    """The media file managers of the apps under test: they hold a download button's payload."""
    managers: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, storage: Any) -> None:
            super().__init__(storage)
            self.storage = storage
            managers.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    yield managers


def download_payload(managers: list[MediaFileManager], at: AppTest, key: str) -> bytes:
    """What the download button `key` gives: its file, made with the page or (deferred) on the click."""
    button = next(button for button in at.get("download_button") if button.key == key)
    url = button.proto.url or managers[-1].execute_deferred(button.proto.deferred_file_id)
    return bytes(managers[-1].storage.get_file(url.rsplit("/", 1)[-1].split(".")[0]).content)  # type: ignore[attr-defined]


# Fixtures for page-test modules: importing `scan_components_once, page_template, page_db` into a
# test module registers them there as `template` and `db`.


@pytest.fixture(scope="module", autouse=True)
def scan_components_once() -> Iterator[None]:
    """Every new AppTest scans all installed packages for custom components (~0.6 s); the answer
    cannot change during a test run, so scan once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests",
                      functools.cache(manifest_scanner.scan_component_manifests))
        yield


@pytest.fixture(scope="module", name="template")
def page_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data S seeded once per module; each test works on its own copy of the file."""
    folder = tmp_path_factory.mktemp("page_template")
    seeded_database(folder)
    forget_database(os.environ["BILLING_DATABASE_URL"])
    return folder / "app.duckdb"


@pytest.fixture(name="db")
def page_db(template: Path, tmp_path: Path) -> Iterator[Database]:
    shutil.copyfile(template, tmp_path / "app.duckdb")
    url = f"duckdb:///{tmp_path}/app.duckdb"
    signing.copy_installation_files(f"duckdb:///{template}", url)  # the audit chain's key and head go with it
    os.environ["BILLING_DATABASE_URL"] = url
    yield get_database(url)
    forget_database(url)
