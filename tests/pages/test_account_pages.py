"""My account (app_pages/account.py) and the password change required after an admin set the password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from portal import PASSWORD, ROOT, app_as, ok
from streamlit.testing.v1 import AppTest

from billing import auth_keys, users
from billing.errors import AuthenticationError
from billing.permissions import Actor
from billing.store.db import Database

PAGE = "app_pages/account.py"
NEW = "a password only I know, at last"
ADMIN = Actor("admin", "admin")


def change(at: AppTest, current: str, new: str, repeat: str | None = None) -> AppTest:
    values = {"Current password": current, "New password": new, "Repeat new password": repeat or new}
    for label, value in values.items():
        next(t for t in at.text_input if t.label == label).input(value)
    next(b for b in at.button if b.label == "Change password").click()
    return at.run()


def browser_tab(db: Database, username: str) -> tuple[AppTest, str]:
    """A tab signed in with a browser's session (what the gate takes from the cookie)."""
    token, expires = auth_keys.issue_token("k" * 40, username, timedelta(hours=1))
    users.start_session(db, username, token, expires)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_token"] = token
    return at, token


@pytest.mark.parametrize("role", ["admin", "accountant", "analyst"])
def test_every_role_has_its_account_page(db: Database, role: str) -> None:
    at = ok(app_as(role, PAGE))
    assert at.title[0].value == "My account"
    assert any(role in m.value for m in at.markdown)


def test_a_user_changes_their_own_password_and_their_other_sessions_end(db: Database) -> None:
    at, token = browser_tab(db, "analyst")
    _, other = browser_tab(db, "analyst")
    at.switch_page(PAGE).run()
    at = change(at, "not my password at all", NEW)
    assert [e.value for e in at.error] == ["The current password is not right."]
    at = change(at, PASSWORD, NEW, "a typo in the repeat")
    assert [e.value for e in at.error] == ["The two passwords do not match."]
    at = ok(change(at, PASSWORD, NEW))
    assert users.session_user(db, token) is not None and users.session_user(db, other) is None
    assert users.authenticate(db, "analyst", NEW).username == "analyst"
    with pytest.raises(AuthenticationError):
        users.authenticate(db, "analyst", PASSWORD)


def test_a_password_an_admin_set_is_changed_before_anything_else(db: Database) -> None:
    users.update_user(db, ADMIN, "accountant", password="set by the admin for you")
    at, token = browser_tab(db, "accountant")
    at.query_params["customer"] = "3"
    at.switch_page("app_pages/customers.py").run()
    ok(at)
    assert "Choose your own password" in "\n".join(m.value for m in at.markdown)
    assert not at.title  # no page of the portal yet
    assert "Sign out" in [b.label for b in at.button]
    at = ok(change(at, "set by the admin for you", NEW))
    assert len(at.title) == 1 and "Choose your own password" not in "\n".join(m.value for m in at.markdown)
    assert at.query_params["customer"] == "3"  # the page asked for, customer 3 open
    user = users.get_user(db, "accountant")
    assert user is not None and not user.must_change_password
    assert users.session_user(db, token) is not None  # still signed in, with the password of their own
