"""Fixtures for the page tests (AppTest): the app under test opens a copy of a portal database made once.

`portal_template` (company and one user per role) and `demo_template` (the same with demo data S) are built
once per session; `database_copy` gives a test its own copy of one and points the app at it
(BILLING_DATABASE_URL, through monkeypatch). `db` is such a copy of the demo data; `demo_db` is one copy per
module for the tests that only read. A module with records of its own builds its template from
`portal_template` with `copy_portal` (tests/portal.py) and copies it per test with `database_copy`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from portal import copy_portal, seeded_database
from streamlit.components.v2 import manifest_scanner
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import app_test as app_test_module

from billing.store.db import Database, forget_database, get_database


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """bcrypt at its lowest cost for the users the templates and the pages create (~0.2 s each otherwise)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BILLING_BCRYPT_ROUNDS", "4")
        yield


@pytest.fixture(scope="session", autouse=True)
def scan_components_once() -> Iterator[None]:
    """Every new AppTest scans all installed packages for custom components (~0.6 s); the answer
    cannot change during a test run, so scan once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests",
                      functools.cache(manifest_scanner.scan_component_manifests))
        yield


@pytest.fixture(scope="session")
def portal_template(tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None) -> Path:
    """The folder of a closed database with the company and one user per role (username = role), no demo data."""
    folder = tmp_path_factory.mktemp("portal")
    forget_database(seeded_database(folder, demo=False).url)
    return folder


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None) -> Path:
    """The folder of a closed database with the company, its users and demo data S (as of portal.AS_OF)."""
    folder = tmp_path_factory.mktemp("demo")
    forget_database(seeded_database(folder).url)
    return folder


@pytest.fixture
def database_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Database]]:
    """A function that copies a template folder's database into this test's folder, points the app under
    test at the copy (BILLING_DATABASE_URL) and opens it; closed again after the test."""
    urls: list[str] = []

    def open_copy(template: Path) -> Database:
        url = copy_portal(template, tmp_path)
        monkeypatch.setenv("BILLING_DATABASE_URL", url)
        urls.append(url)
        return get_database(url)

    yield open_copy
    for url in urls:
        forget_database(url)


@pytest.fixture
def db(database_copy: Callable[[Path], Database], demo_template: Path) -> Database:
    """This test's own copy of the demo data S, which the app under test opens."""
    return database_copy(demo_template)


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Database]:
    """One copy of the demo data S for a whole module: for `demo_db`."""
    url = copy_portal(demo_template, tmp_path_factory.mktemp("shared_demo"))
    yield get_database(url)
    forget_database(url)


@pytest.fixture
def demo_db(shared_demo: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The demo data S shared by the tests of a module, which the app under test opens: only for tests that
    do not write (cheaper than `db`)."""
    monkeypatch.setenv("BILLING_DATABASE_URL", shared_demo.url)
    return shared_demo


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[MediaFileManager]:
    """The media file managers of the apps under test: they hold a download button's payload
    (read it with portal.download_payload)."""
    managers: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, storage: Any) -> None:
            super().__init__(storage)
            self.storage = storage
            managers.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    return managers
