"""The installation id (billing.installation): a database file deleted, emptied or swapped for another
installation's is refused at start until `adopt-database`; a new installation, a restart and a restore work."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from billing import backup, customers, installation, users
from billing.errors import PermissionDeniedError
from billing.installation import ForeignDatabaseError
from billing.permissions import SYSTEM
from billing.store import installation as installation_store
from billing.store.db import Database
from billing.store.migrations import MIGRATIONS
from billing.store.schema import audit_events, schema_version
from billing.verify import verify_database
from tests.conftest import ACCOUNTANT, ADMIN, Seed, Templates, copy_template, database_url


def opened(path: Path) -> Database:
    """The database at `path` as the server or a command opens it (migrate checks the installation)."""
    db = Database(database_url(path))
    try:
        db.migrate()
    except BaseException:
        db.dispose()
        raise
    return db


def carried_id(path: Path) -> str | None:
    db = Database(database_url(path))
    try:
        with db.connect() as conn:
            return installation_store.read_installation_id(conn)
    finally:
        db.dispose()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A new installation's folder, its database created and migrated there once."""
    folder = tmp_path / "data"
    folder.mkdir()
    opened(folder / "billing.duckdb").dispose()
    return folder


def other_installation(tmp_path: Path, templates: Templates) -> Path:
    """A database file made by another installation (its own folder, its own id)."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = copy_template(templates.empty, folder / "billing.duckdb")
    db = Database(database_url(path))
    try:
        installation.adopt_database(db, SYSTEM)  # its first start there writes its file; the id is its own
    finally:
        db.dispose()
    return path


def test_a_new_installation_writes_its_id_beside_the_cookie_key(home: Path) -> None:
    id_file = home / ".installation_id"
    assert id_file.read_text().strip() == carried_id(home / "billing.duckdb")
    assert len(id_file.read_text().strip()) == 32
    assert stat.S_IMODE(id_file.stat().st_mode) == 0o600
    assert installation.id_file(database_url(home / "billing.duckdb")) == id_file


def test_a_restart_opens_the_same_database(home: Path) -> None:
    before = (home / ".installation_id").read_text()
    db = opened(home / "billing.duckdb")
    db.dispose()
    assert (home / ".installation_id").read_text() == before


def test_a_deleted_database_is_refused_and_not_recreated_empty(home: Path) -> None:
    path = home / "billing.duckdb"
    path.unlink()
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    with pytest.raises(ForeignDatabaseError, match=r"^The database file is missing, but this installation has had "
                                                   r"one: the portal will not start on a new, empty one\."):
        opened(path)
    assert not path.exists()


def test_an_empty_database_file_put_in_its_place_is_refused(home: Path) -> None:
    path = home / "billing.duckdb"
    path.unlink()
    duckdb.connect(str(path)).close()  # a new, empty DuckDB file: no tables, no id
    with pytest.raises(ForeignDatabaseError, match="carries no installation id"):
        opened(path)
    assert carried_id(path) is None  # refused before migrating: nothing was written into it


def test_another_installations_database_is_refused(home: Path, tmp_path: Path, templates: Templates) -> None:
    path = home / "billing.duckdb"
    os.replace(other_installation(tmp_path, templates), path)
    with pytest.raises(ForeignDatabaseError, match=r"^The database file belongs to another installation: the portal "
                                                   r"will not use it\. .*`python -m billing adopt-database`"):
        opened(path)


def test_verify_does_not_pass_a_foreign_database(home: Path, tmp_path: Path, templates: Templates) -> None:
    path = home / "billing.duckdb"
    os.replace(other_installation(tmp_path, templates), path)
    db = Database(database_url(path))
    try:
        # verify_database alone would say all is well (an empty file is consistent); the check says whose it is
        assert verify_database(db, ADMIN).ok
        with pytest.raises(ForeignDatabaseError):
            installation.check_database(db)
    finally:
        db.dispose()


def test_adopting_binds_the_installation_to_the_database(home: Path, tmp_path: Path, templates: Templates) -> None:
    path = home / "billing.duckdb"
    ours = (home / ".installation_id").read_text().strip()
    os.replace(other_installation(tmp_path, templates), path)
    theirs = carried_id(path)
    db = Database(database_url(path))
    try:
        assert installation.adopt_database(db, SYSTEM) == (theirs, ours)
        with db.connect() as conn:
            event = conn.execute(sa.select(audit_events).order_by(audit_events.c.id.desc())).mappings().first()
        assert event is not None and event["action"] == "database.adopt" and ours in event["after"]
        assert installation.adopt_database(db, SYSTEM) == (ours, ours)  # again: nothing to do
    finally:
        db.dispose()
    opened(path).dispose()
    assert carried_id(path) == ours == (home / ".installation_id").read_text().strip()


def test_adopting_a_missing_database_creates_one_of_this_installation(home: Path) -> None:
    path = home / "billing.duckdb"
    path.unlink()
    db = Database(database_url(path))
    try:
        before, now = installation.adopt_database(db, SYSTEM)
    finally:
        db.dispose()
    assert before is None and now == (home / ".installation_id").read_text().strip()
    opened(path).dispose()


def test_adopting_needs_the_settings_permission(home: Path) -> None:
    db = Database(database_url(home / "billing.duckdb"))
    try:
        with pytest.raises(PermissionDeniedError):
            installation.adopt_database(db, ACCOUNTANT)
    finally:
        db.dispose()


def test_an_installation_older_than_the_id_gets_one_at_its_first_start(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    db = Database(database_url(path))
    with db.engine.begin() as conn:  # the schema as version 4 left it, no id file yet
        schema_version.create(conn)
        for version, migration in MIGRATIONS[:4]:
            migration(conn)
            conn.execute(schema_version.insert().values(version=version, applied_at=sa.func.now()))
    db.dispose()
    assert carried_id(path) is None
    opened(path).dispose()
    assert carried_id(path) == (tmp_path / ".installation_id").read_text().strip()


def test_a_restore_keeps_this_installations_id(db: Database, db_path: Path, seeded: Seed, tmp_path: Path) -> None:
    ours = (db_path.parent / ".installation_id").read_text().strip()
    users.create_user(db, None, "owner", "purple tugboat jingles at noon", "admin")  # a restore needs an admin
    own_backup = tmp_path / "own.zip"
    backup.backup_database(db, ADMIN, own_backup)
    with zipfile.ZipFile(own_backup) as archive:
        assert "installation.parquet" not in archive.namelist()  # the id belongs to the file, not to the books
    customers.create_customer(db, ADMIN, {"name": "After Backup GmbH", "country": "DE", "currency": "EUR"})
    backup.restore_database(db, ADMIN, own_backup)
    db.dispose()
    assert carried_id(db_path) == ours
    restarted = opened(db_path)
    try:
        assert "After Backup GmbH" not in {c["name"] for c in customers.search_customers(restarted, ADMIN, "After")[0]}
    finally:
        restarted.dispose()
