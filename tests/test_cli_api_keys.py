"""`python -m billing api-key create|list|revoke`, run as a real subprocess on a temp database."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import OWNER_PASSWORD, run

from billing import api_access
from billing.errors import AuthenticationError
from billing.store.db import Database


def test_a_key_is_created_shown_once_listed_and_revoked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tmp_path, "create-user", "owner", "--role", "admin", stdin=OWNER_PASSWORD + "\n").returncode == 0
    too_high = run(tmp_path, "api-key", "create", "owner", "--role", "admin", "--name", "")
    assert too_high.returncode == 2 and "Name the key" in too_high.stderr
    created = run(tmp_path, "api-key", "create", "owner", "--role", "accountant", "--name", "web shop")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    listed = run(tmp_path, "api-key", "list")
    assert key_id in listed.stdout and "accountant" in listed.stdout and "never" in listed.stdout
    assert secret not in listed.stdout
    monkeypatch.setenv("BILLING_DATABASE_URL", f"duckdb:///{tmp_path}/cli.duckdb")
    monkeypatch.chdir(tmp_path)  # the key files beside the database, as the commands had them
    db = Database(f"duckdb:///{tmp_path}/cli.duckdb")
    try:
        assert api_access.key_actor(db, secret).role == "accountant"
    finally:
        db.dispose()
    assert run(tmp_path, "api-key", "revoke", key_id).returncode == 0
    assert "revoked" in run(tmp_path, "api-key", "list", "--user", "owner").stdout
    again = run(tmp_path, "api-key", "revoke", key_id)
    assert again.returncode == 2 and "no live API key" in again.stderr
    db = Database(f"duckdb:///{tmp_path}/cli.duckdb")
    try:
        with pytest.raises(AuthenticationError):
            api_access.key_actor(db, secret)
    finally:
        db.dispose()
