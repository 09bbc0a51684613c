"""AppTest of the demo sandbox in the portal: the banner on every page, the switch, and deleting it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from portal import AS_OF, app_as, ok
from streamlit.testing.v1 import AppTest

from billing import sandbox
from billing.permissions import ADMIN, Actor
from billing.store.db import Database
from ui.sandbox import BANNER

ROOT_ACTOR = Actor("admin", ADMIN)


@pytest.fixture
def db(database_copy: Callable[[Path], Database], portal_template: Path) -> Database:
    """Real books with the company and one user per role, and a demo sandbox beside them."""
    real = database_copy(portal_template)
    sandbox.create_sandbox(real, ROOT_ACTOR, AS_OF)
    return real


def banner_shown(at: AppTest) -> bool:
    return any(BANNER in warning.value for warning in at.warning)


def click(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click()
    return ok(at.run())


def sidebar_labels(at: AppTest) -> list[str]:
    return [button.label for button in at.sidebar.button]


def test_every_page_in_the_sandbox_carries_the_banner_and_shows_its_data(db: Database) -> None:
    at = ok(app_as("accountant"))
    assert not banner_shown(at) and "Open the demo sandbox" in sidebar_labels(at)
    at = click(at, "Open the demo sandbox")
    assert banner_shown(at) and "Back to my real books" in sidebar_labels(at)
    for page in ("app_pages/invoices.py", "app_pages/customers.py", "app_pages/payments.py", "app_pages/account.py"):
        at.switch_page(page)
        at = ok(at.run())
        assert banner_shown(at), page
    at.switch_page("app_pages/invoices.py")
    at = ok(at.run())
    assert any("INV-" in str(frame.value) for frame in at.dataframe) or "INV-" in str(at.markdown)
    at = click(at, "Back to my real books")
    assert not banner_shown(at) and "Open the demo sandbox" in sidebar_labels(at)


def test_the_owner_lands_in_the_sandbox_after_the_setup_link(db: Database) -> None:
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=30)
    at.session_state["auth_username"] = "admin"
    at.query_params["demo"] = "open"
    at = ok(at.run())
    assert banner_shown(at) and "demo" not in at.query_params


def test_a_deleted_sandbox_sends_its_tabs_back_to_the_real_books(db: Database) -> None:
    at = click(ok(app_as("admin")), "Open the demo sandbox")
    other = click(ok(app_as("analyst")), "Open the demo sandbox")
    at.switch_page("app_pages/settings.py")
    at = ok(at.run())
    at = click(at, "Delete it now")
    assert not sandbox.sandbox_exists(db) and not banner_shown(at)
    assert "Create a demo sandbox" in [button.label for button in at.button]
    other = other.run()
    assert not banner_shown(other)
    assert any("The demo sandbox was deleted" in warning.value for warning in other.warning)
    assert not any(button == "Open the demo sandbox" for button in sidebar_labels(other))


def test_the_settings_page_creates_a_sandbox_for_an_admin_only(database_copy: Callable[[Path], Database],
                                                               portal_template: Path) -> None:
    real = database_copy(portal_template)
    accountant = app_as("accountant")
    assert "Open the demo sandbox" not in sidebar_labels(ok(accountant))
    at = app_as("admin", "app_pages/settings.py", timeout=60)
    at = click(at, "Create a demo sandbox")
    assert sandbox.sandbox_exists(real)
    assert "Open the demo sandbox" in sidebar_labels(at)
