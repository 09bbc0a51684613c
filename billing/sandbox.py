"""The demo sandbox: invented books in a database of their own beside the real one, never mixed with them.

The sandbox is a DuckDB file in `sandbox/` next to the real database's key files (`data/sandbox/billing.duckdb`
by default, also when the real books are on PostgreSQL), with key files of its own in that folder (installation
id, audit key, ...): its audit chain is its own, and deleting it removes the folder, so the real books' chain and
numbering never see a demo row. Who may act there is the real installation's to say: the sandbox's Database
checks users and sign-in sessions in the real one (`Database.accounts`), so signing out or being disabled ends
access to both at once. Nothing is ever sent from it: no worker reads its outbox or webhooks.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from billing import audit, settings
from billing.auth_keys import key_file
from billing.errors import StateError
from billing.models import CompanyIn
from billing.permissions import Actor, require
from billing.store.db import Database, forget_database, get_database

FOLDER = "sandbox"
FILE = "billing.duckdb"


def sandbox_folder(real_url: str) -> Path:
    """The sandbox's folder: beside the real installation's key files."""
    return key_file(real_url).parent / FOLDER


def sandbox_url(real_url: str) -> str:
    return f"duckdb:///{sandbox_folder(real_url) / FILE}"


def sandbox_exists(real_db: Database) -> bool:
    return (sandbox_folder(real_db.url) / FILE).exists()


def open_sandbox(real_db: Database) -> Database | None:
    """The sandbox's Database (its users and sessions are the real installation's), or None if there is none."""
    return _opened(real_db) if sandbox_exists(real_db) else None


def _opened(real_db: Database) -> Database:
    sandbox = get_database(sandbox_url(real_db.url))  # created and migrated on first use
    sandbox.accounts = real_db
    return sandbox


def create_sandbox(real_db: Database, actor: Actor, as_of: date, scale: str = "S",
                   company: CompanyIn | None = None) -> Database:
    """Create the sandbox with the company's profile and the demo data of `scale` (an admin's act, recorded in the
    real audit trail without touching the books). Refused while one exists."""
    require(real_db, actor, "settings.write")
    if sandbox_exists(real_db):
        raise StateError("A demo sandbox exists already: open it, or delete it first.")
    from billing.demo import load_demo  # NumPy and Arrow: imported only when asked for

    profile = company or _profile(real_db)
    sandbox_folder(real_db.url).mkdir(parents=True, exist_ok=True)
    try:
        sandbox = _opened(real_db)
        settings.save_company(sandbox, actor, profile)
        summary = load_demo(sandbox, actor, scale, as_of)
    except BaseException:
        _remove(real_db)  # nothing half-made stays behind
        raise
    real_db.transaction(lambda conn: audit.record(conn, actor, "sandbox.create", "database", "sandbox",
                                                  after={"scale": scale, "invoices": summary.invoices}))
    return sandbox


def delete_sandbox(real_db: Database, actor: Actor) -> bool:
    """Delete the sandbox and its folder (an admin's act, recorded in the real audit trail); False if none."""
    require(real_db, actor, "settings.write")
    if not sandbox_folder(real_db.url).exists():
        return False
    _remove(real_db)
    real_db.transaction(lambda conn: audit.record(conn, actor, "sandbox.delete", "database", "sandbox"))
    return True


def _remove(real_db: Database) -> None:
    forget_database(sandbox_url(real_db.url))
    shutil.rmtree(sandbox_folder(real_db.url), ignore_errors=True)


def _profile(real_db: Database) -> CompanyIn:
    """The real company's profile for the sandbox's documents; an invented one before the set-up (the CLI)."""
    stored: dict[str, Any] = settings.get_company(real_db) or {}
    if not stored:
        return CompanyIn(legal_name="Demo Trading GmbH", country="DE", address="Hauptstr. 1\n10115 Berlin")
    return CompanyIn.model_validate({name: value for name, value in stored.items()
                                     if name in CompanyIn.model_fields and value is not None})
