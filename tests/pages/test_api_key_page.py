"""AppTest of the Users page's API keys panel: a key made (shown once), listed, revoked with a confirmation."""

from __future__ import annotations

from portal import app_as

from billing import api_access
from billing.permissions import SYSTEM
from billing.store.db import Database


def test_an_admin_creates_lists_and_revokes_an_api_key(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    assert "No API keys yet." in [c.value for c in at.caption]
    at.selectbox(key="api_key_user").select("accountant")
    next(s for s in at.selectbox if s.label == "Key's role").select("accountant")
    next(t for t in at.text_input if t.label == "Key name").input("Web shop")
    at = next(b for b in at.button if b.label == "Create API key").click().run()
    assert not at.exception and not at.error
    secret = at.code[0].value
    (key,) = api_access.list_keys(db, SYSTEM)
    assert (key.username, key.role, key.name) == ("accountant", "accountant", "Web shop")
    assert secret.startswith(f"bk_{key.id}_") and api_access.key_actor(db, secret).username == "accountant"
    assert at.dataframe[-1].value["Status"].tolist() == ["Live"]
    at = next(b for b in at.button if b.label == "Revoke API key").click().run()
    assert api_access.list_keys(db, SYSTEM)[0].revoked_at is None  # not without the confirmation
    next(c for c in at.checkbox if c.label.startswith("Yes, revoke this key")).check()
    at = next(b for b in at.button if b.label == "Revoke API key").click().run()
    assert api_access.list_keys(db, SYSTEM)[0].revoked_at is not None
    assert not at.code and secret not in str(at.dataframe[-1].value)


def test_a_key_above_the_users_role_is_refused_on_the_page(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    at.selectbox(key="api_key_user").select("analyst")
    next(s for s in at.selectbox if s.label == "Key's role").select("admin")
    next(t for t in at.text_input if t.label == "Key name").input("Too much")
    at = next(b for b in at.button if b.label == "Create API key").click().run()
    assert any("cannot be higher" in e.value for e in at.error)
    assert api_access.list_keys(db, SYSTEM) == []
