"""The Database under storage failures: its file deleted or replaced under it, its write-ahead log deleted,
a full disk, a file held by another process. Each is refused with one clear message and never retried."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from billing import backup, customers
from billing.errors import ConflictError, DatabaseLockedError, DatabaseReplacedError, DiskFullError, StorageError
from billing.store.db import Database, storage_error
from billing.store.schema import customers as customers_table
from tests.conftest import ADMIN, Billed, Seed, Templates, copy_template, database_url

REPO = Path(__file__).resolve().parent.parent

# Obtained for real: DuckDB 2.0.1 committing into a full 2 MB tmpfs, and a second process opening a file
# the first holds; PostgreSQL 15 on a full disk (SQLSTATE 53100).
DUCKDB_DISK_FULL = ('TransactionContext Error: Failed to commit: Could not write file "/tmp/tiny/full.duckdb.wal": '
                    "No space left on device")
DUCKDB_LOCKED = ('IO Error: Could not set lock on file "/srv/data/billing.duckdb": Conflicting lock is held in '
                 "/usr/bin/python3.11 (PID 16170). See also https://duckdb.org/docs/current/connect/concurrency")
DUCKDB_WAL_MISMATCH = ('IO Error: Failure while replaying WAL file "/srv/data/billing.duckdb.wal": WAL does not '
                       "match database file.")
POSTGRES_DISK_FULL = 'could not extend file "base/16384/16425": No space left on device'


def new_customer(db: Database, name: str = "Late GmbH") -> int:
    return customers.create_customer(db, ADMIN, {"name": name, "country": "DE", "currency": "EUR"})


def customer_names(db: Database) -> set[str]:
    with db.connect() as conn:
        return set(conn.execute(sa.select(customers_table.c.name)).scalars())


def delete_database_files(path: Path) -> None:
    path.unlink()
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


# --- the file deleted or replaced under a running Database --------------------------------------------------------

def test_a_write_after_the_file_is_deleted_is_refused(db: Database, db_path: Path, seeded: Seed) -> None:
    before = customer_names(db)
    delete_database_files(db_path)
    with pytest.raises(DatabaseReplacedError, match=r"^The database file was deleted or replaced while the server "
                                                    r"was running: nothing was saved\."):
        new_customer(db)
    assert customer_names(db) == before  # reads still show the books (a backup can still be downloaded)
    assert not db_path.exists()  # and nothing was written to a new file in its place


def test_a_backup_still_rescues_the_books_after_the_file_is_deleted(db: Database, db_path: Path, billed: Billed,
                                                                    tmp_path: Path) -> None:
    delete_database_files(db_path)
    report = backup.backup_database(db, ADMIN, tmp_path / "rescue.zip")  # what the README tells the admin to do
    assert report.tables["invoices"] == 3 and report.tables["customers"] == 4


def test_a_write_after_the_file_is_replaced_by_an_empty_one_is_refused(db: Database, db_path: Path, seeded: Seed,
                                                                         templates: Templates) -> None:
    stranger = copy_template(templates.empty, db_path.with_name("empty.duckdb"))
    os.replace(stranger, db_path)
    with pytest.raises(DatabaseReplacedError):
        new_customer(db)
    check = Database(database_url(copy_template(db_path, db_path.with_name("check.duckdb"))))
    try:
        assert customer_names(check) == set()  # the empty file got nothing either
    finally:
        check.dispose()


def test_a_file_deleted_while_the_work_runs_is_not_committed(db: Database, db_path: Path, seeded: Seed) -> None:
    before = customer_names(db)

    def work(conn: sa.Connection) -> None:
        conn.execute(customers_table.insert().values(name="Late GmbH", currency="EUR", terms_days=30, archived=False,
                                                     created_at=datetime(2025, 3, 10)))
        delete_database_files(db_path)

    with pytest.raises(DatabaseReplacedError):
        db.transaction(work)
    assert customer_names(db) == before


def test_the_file_check_costs_microseconds(db: Database) -> None:
    with db.connect():
        pass
    start = time.perf_counter()
    for _ in range(1000):
        db.check_file()
    assert (time.perf_counter() - start) / 1000 < 1e-3  # ~2 µs idle; generous for a loaded machine


CHILD_DELETES_THE_LOG = """
import os, sys
from billing import backup, customers
from billing.permissions import SYSTEM
from billing.store.db import Database
db = Database("duckdb:///" + sys.argv[1])
path = sys.argv[1]
customers.create_customer(db, SYSTEM, {"name": "Before GmbH", "country": "DE", "currency": "EUR"})
os.remove(path + ".wal")  # someone 'cleans up' *.wal while the server runs
customers.create_customer(db, SYSTEM, {"name": "After GmbH", "country": "DE", "currency": "EUR"})
os._exit(0)  # like kill -9: DuckDB gets no chance to checkpoint at close
"""


def test_commits_survive_a_crash_after_the_write_ahead_log_was_deleted(tmp_path: Path, templates: Templates) -> None:
    path = copy_template(templates.seeded, tmp_path / "log.duckdb")
    url = database_url(path)
    result = subprocess.run([sys.executable, "-c", CHILD_DELETES_THE_LOG, str(path)], cwd=REPO, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    db = Database(url)
    try:
        assert {"Before GmbH", "After GmbH"} <= customer_names(db)
    finally:
        db.dispose()


# --- a full disk ------------------------------------------------------------------------------------------------

def test_a_full_disk_is_reported_at_once_not_retried_as_a_conflict(db: Database, seeded: Seed) -> None:
    calls = []

    def work(conn: sa.Connection) -> None:
        calls.append(1)
        raise sa.exc.OperationalError("COMMIT", {}, duckdb.TransactionException(DUCKDB_DISK_FULL))

    with pytest.raises(DiskFullError, match=r"^The disk is full: nothing was saved\. Free some space"):
        db.transaction(work)
    assert calls == [1]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MB file system (a tmpfs), where root may mount one; else the test is skipped."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the file system has no byte left."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_write_on_a_really_full_disk_says_the_disk_is_full(tiny_disk: Path, templates: Templates) -> None:
    path = copy_template(templates.seeded, tiny_disk / "full.duckdb")
    db = Database(database_url(path))
    try:
        new_customer(db, "Fits GmbH")
        filler = fill(tiny_disk)
        start = time.perf_counter()
        with pytest.raises(DiskFullError) as caught:
            customers.create_customer(db, ADMIN, {"name": "No Room GmbH", "country": "DE", "currency": "EUR",
                                                  "notes": "x" * 4000})
        assert time.perf_counter() - start < 2  # one attempt, not 30 retries
        assert caught.value.message.startswith("The disk is full: nothing was saved.")
        assert "No space left on device" in str(caught.value.__cause__)
        filler.unlink()
        new_customer(db, "Room Again GmbH")  # the database is fine once there is space
        assert {"Fits GmbH", "Room Again GmbH"} <= customer_names(db)
        assert "No Room GmbH" not in customer_names(db)
    finally:
        db.dispose()


# --- what each failure message means ----------------------------------------------------------------------------

class DiskFull(Exception):
    sqlstate = "53100"


@pytest.mark.parametrize(("orig", "expected", "start"), [
    (duckdb.TransactionException(DUCKDB_DISK_FULL), DiskFullError, "The disk is full: nothing was saved."),
    (DiskFull(POSTGRES_DISK_FULL), DiskFullError, "The disk is full: nothing was saved."),
    (OSError(28, "No space left on device"), DiskFullError, "The disk is full"),
    (duckdb.IOException(DUCKDB_LOCKED), DatabaseLockedError,
     "The database file is held by another process (PID 16170), normally the running server: stop the server first, "
     "or use Settings > Backup and verify"),
    (duckdb.IOException(DUCKDB_WAL_MISMATCH), DatabaseReplacedError,
     "The database file does not match its write-ahead log"),
    (duckdb.IOException('IO Error: Could not write file "/srv/x.duckdb": Permission denied'), StorageError,
     "The database file could not be read or written (Permission denied): nothing was saved."),
])
def test_storage_failures_get_one_clear_sentence(orig: Exception, expected: type[StorageError], start: str) -> None:
    error = storage_error(sa.exc.OperationalError("COMMIT", {}, orig))
    assert type(error) is expected
    assert error is not None and error.message.startswith(start)
    assert "\n" not in error.message


@pytest.mark.parametrize("message", ["TransactionContext Error: Conflict on update!",
                                     "Constraint Error: Duplicate key", "could not serialize access"])
def test_other_failures_are_not_storage_failures(message: str) -> None:
    assert storage_error(sa.exc.OperationalError("UPDATE", {}, Exception(message))) is None


def test_conflicts_are_still_retried(db: Database, seeded: Seed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    calls: list[int] = []

    def work(conn: sa.Connection, succeed_at: int) -> int:
        calls.append(1)
        if len(calls) < succeed_at:
            raise sa.exc.OperationalError("UPDATE", {}, duckdb.TransactionException(
                "TransactionContext Error: Conflict on update!"))
        return len(calls)

    assert db.transaction(lambda conn: work(conn, 3)) == 3
    calls.clear()
    with pytest.raises(ConflictError):
        db.transaction(lambda conn: work(conn, 100))
    assert len(calls) == 30


def test_opening_a_file_another_process_holds_says_so(db_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(db_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        db = Database(database_url(db_path))
        with pytest.raises(DatabaseLockedError, match=rf"\(PID {holder.pid}\), normally the running server"):
            db.migrate()
        db.dispose()
    finally:
        holder.kill()
        holder.wait()
