"""The demo sandbox (billing/sandbox.py): demo data in a database of its own, never in the real books."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from billing import audit, invoices, sandbox, users
from billing.errors import PermissionDeniedError, SessionEndedError, StateError
from billing.store.db import Database, utcnow
from billing.store.schema import audit_events
from billing.store.schema import invoices as invoice_table
from tests.conftest import ACCOUNTANT, ADMIN, TODAY, Seed, assert_refused, draft, event_count, header, line, snapshot
from tests.test_cli import run


def count_invoices(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(invoice_table)).scalar_one())


def last_actions(db: Database, n: int) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(audit_events.c.action).order_by(audit_events.c.id.desc()).limit(n)).scalars()
        return list(reversed(list(rows)))


def without_audit(tables: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: rows for name, rows in tables.items() if not name.startswith("audit_")}


def test_the_sandbox_holds_the_demo_and_the_books_stay_untouched(db: Database, seeded: Seed) -> None:
    before = snapshot(db)
    box = sandbox.create_sandbox(db, ADMIN, TODAY)
    assert box.url != db.url and Path(box.path or "").parent == Path(db.path or "").parent / "sandbox"
    assert count_invoices(box) >= 10_000 and count_invoices(db) == 0
    assert without_audit(snapshot(db)) == without_audit(before)  # not one demo row in the books
    assert last_actions(db, 1) == ["sandbox.create"]
    assert audit.verify_chain(db, ADMIN).ok and audit.verify_chain(box, ADMIN).ok  # two chains, each whole
    own_files = {p.name for p in (Path(db.path or "").parent / "sandbox").glob(".*")}
    assert {".installation_id", ".audit_key"} <= own_files  # its own keys, beside its own file

    # The real books' first invoice is number 1, whatever the sandbox holds.
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    invoices.issue_invoice(db, ADMIN, invoice_id, today=TODAY)
    assert header(db, invoice_id).number == "INV-2025-00001"


def test_a_sandbox_is_made_once_and_deleted_whole(db: Database, seeded: Seed) -> None:
    box = sandbox.create_sandbox(db, ADMIN, TODAY)
    assert sandbox.open_sandbox(db) is box
    with pytest.raises(StateError, match="exists already"):
        sandbox.create_sandbox(db, ADMIN, TODAY)
    assert sandbox.delete_sandbox(db, ADMIN)
    assert not sandbox.sandbox_folder(db.url).exists() and sandbox.open_sandbox(db) is None
    assert last_actions(db, 2) == ["sandbox.create", "sandbox.delete"]
    assert audit.verify_chain(db, ADMIN).ok
    assert not sandbox.delete_sandbox(db, ADMIN)
    again = sandbox.create_sandbox(db, ADMIN, TODAY)  # a fresh one: its own installation id and chain
    assert count_invoices(again) >= 10_000 and audit.verify_chain(again, ADMIN).ok


def test_the_sandbox_acts_only_for_live_sessions_of_the_real_books(db: Database, seeded: Seed) -> None:
    users.create_user(db, ADMIN, "olga", "a long owner secret", "accountant")
    token = "a-session-token"
    users.start_session(db, "olga", token, utcnow() + timedelta(hours=1))
    user = users.session_user(db, token)
    assert user is not None and user.actor.session is not None
    box = sandbox.create_sandbox(db, ADMIN, TODAY)
    drafted = invoices.create_draft(box, user.actor, {"customer_id": 1, "lines": [line(1)]})
    assert drafted > 10_100  # after the demo's invoices, in the sandbox only
    assert count_invoices(db) == 0
    users.end_session(db, token)  # signing out of the portal ends the sandbox too
    with pytest.raises(SessionEndedError):
        invoices.create_draft(box, user.actor, {"customer_id": 1, "lines": [line(1)]})


def test_only_an_admin_creates_or_deletes_a_sandbox(db: Database, seeded: Seed) -> None:
    assert_refused(db, lambda: sandbox.create_sandbox(db, ACCOUNTANT, TODAY), PermissionDeniedError)
    assert not sandbox.sandbox_folder(db.url).exists()
    box = sandbox.create_sandbox(db, ADMIN, TODAY)
    events = event_count(db)
    with pytest.raises(PermissionDeniedError):
        sandbox.delete_sandbox(db, ACCOUNTANT)
    assert sandbox.open_sandbox(db) is box and event_count(db) == events


def test_the_cli_demo_loads_the_database_and_demo_sandbox_leaves_it_empty(tmp_path: Path) -> None:
    result = run(tmp_path, "demo", "--sandbox", "--scale", "S", "--as-of", "2026-11-25")
    assert result.returncode == 0, result.stderr
    assert "Created the demo sandbox (scale S)" in result.stdout and "the books are untouched" in result.stdout
    real = Database(f"duckdb:///{tmp_path}/cli.duckdb")
    box = Database(sandbox.sandbox_url(real.url))
    try:
        assert count_invoices(real) == 0 and count_invoices(box) >= 10_000
    finally:
        real.dispose()
        box.dispose()
    again = run(tmp_path, "demo", "--sandbox")
    assert again.returncode != 0 and "exists already" in again.stderr and "Traceback" not in again.stderr
