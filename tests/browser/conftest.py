"""Real-browser fixtures, reusable by every browser test (helpers in browser/harness.py):

- `server(database=None, **env)`: a factory starting a fresh `streamlit run app.py` on a prepared database
  file (an empty one when None); every server it started is stopped after the test, and the logs of the
  servers a test used are attached to its report when it fails.
- `prepared_template` / `fresh_database`: a database with a company and one user per role (username =
  role, password `portal.PASSWORD`) plus `clerk` (accountant, for lockout tests), and a private copy.
- `shared_server`: one server for the whole session on a copy of that database (do not lock or disable
  its users); `page_as(role, server=None)`: a page in its own context, signed in through the form.
- pytest-playwright's `new_context` / `browser`, with Debian's Chromium (never `playwright install`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from browser.harness import CHROMIUM, CHROMIUM_ARGS, Server, copy_database, prepared_database, sign_in, start_server

_SERVERS = pytest.StashKey[list[Server]]()
# The first run after signing in imports the dashboard's libraries (plotly, pandas): seconds on a busy machine.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"{CHROMIUM} missing: apt-get install -y chromium")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        for server in item.stash.get(_SERVERS, []):
            report.sections.append((f"streamlit log ({server.url})", server.log_text()[-20_000:]))
    return report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "accept_downloads": True, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Factory: `server(database=None, **env)` starts a fresh server; all are stopped after the test."""
    started: list[Server] = []
    request.node.stash.setdefault(_SERVERS, [])

    def start(database: Path | None = None, **env: str) -> Server:
        if database is None:
            database = tmp_path / f"empty-{len(started)}" / "app.duckdb"
            database.parent.mkdir()
        running = start_server(database, **env)
        started.append(running)
        request.node.stash[_SERVERS].append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared database built once per session; copy it with `fresh_database`."""
    return prepared_database(tmp_path_factory.mktemp("template"))


@pytest.fixture
def fresh_database(prepared_template: Path, tmp_path: Path) -> Path:
    """A private copy of the prepared database (its own folder, so its own cookie key)."""
    return copy_database(prepared_template, tmp_path / "db")


@pytest.fixture(scope="session")
def _shared(prepared_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(copy_database(prepared_template, tmp_path_factory.mktemp("shared")))
    yield running
    running.stop()


@pytest.fixture
def shared_server(request: pytest.FixtureRequest, _shared: Server) -> Server:
    """A server on a prepared database, shared by the session: do not lock or disable its users."""
    request.node.stash.setdefault(_SERVERS, []).append(_shared)
    return _shared


@pytest.fixture
def page_as(request: pytest.FixtureRequest, new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """Factory: `page_as(role, server=None)` a page in its own context, signed in as the user `role` (on
    `shared_server` unless another server is given; the shared one is started only when needed)."""

    def open_page(role: str, server: Server | None = None) -> Page:
        target = server if server is not None else request.getfixturevalue("shared_server")
        return sign_in(new_context().new_page(), target, role)

    return open_page


