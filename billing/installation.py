"""Which installation a DuckDB database belongs to: a random id kept in the database and in a file beside it.

The file, `.installation_id`, sits next to the cookie key (outside git, mode 0600) and is written the
first time an installation's database is migrated. From then on the portal and every command refuse
a database that does not carry the same id: a file deleted under the running server (DuckDB creates
an empty one at the next start), an empty file put in its place or another installation's file is
never taken for this installation's books, and the set-up page is not offered to whoever comes first.
Only `python -m billing adopt-database` binds the installation to such a database.

PostgreSQL has no file here: a PostgreSQL database is the administrator's to keep (README).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Connection

from billing import audit
from billing.auth_keys import key_file
from billing.errors import BillingError
from billing.permissions import Actor, require
from billing.store import installation as installation_store
from billing.store.db import Database, utcnow

ID_FILE = ".installation_id"
_PUT_BACK = "Put this installation's file back, or run `python -m billing adopt-database` on the server"


class ForeignDatabaseError(BillingError):
    """This database is not this installation's: the portal will not use it."""


def id_file(database_url: str) -> Path:
    """Where the installation id lives: beside the cookie key."""
    return key_file(database_url).with_name(ID_FILE)


def recorded_id(database_url: str) -> str | None:
    """The installation id in the file, or None while no installation has been set up here."""
    try:
        text = id_file(database_url).read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def check_database(db: Database) -> None:
    """Raise ForeignDatabaseError unless the database carries this installation's id (or no installation
    has been set up here yet). Runs before migrations, so nothing is written into a foreign file, and
    a missing file is refused before DuckDB creates an empty one."""
    if db.path is None:
        return
    expected = recorded_id(db.url)
    if expected is None:
        return
    if not db.path.exists():
        raise ForeignDatabaseError("The database file is missing, but this installation has had one: the portal "
                                   f"will not start on a new, empty one. {_PUT_BACK} and restore a backup.")
    db.check_file()
    with db.connect() as conn:
        found = installation_store.read_installation_id(conn)
    if found is None:
        raise ForeignDatabaseError("The database file carries no installation id (it is empty, or older than this "
                                   f"installation): the portal will not use it. {_PUT_BACK} to use this one.")
    if found != expected:
        raise ForeignDatabaseError("The database file belongs to another installation: the portal will not use it. "
                                   f"{_PUT_BACK} to use this one.")


def claim_database(db: Database) -> None:
    """After migrations: the first start of an installation writes the database's id into the file."""
    if db.path is None:
        return
    with db.connect() as conn:
        found = installation_store.read_installation_id(conn)
    if found is None:  # removed by hand after migration 5: refuse rather than guess
        raise ForeignDatabaseError(f"The database file carries no installation id. {_PUT_BACK} to use this one.")
    if not _write_new(id_file(db.url), found) and recorded_id(db.url) != found:
        # Another process set up this installation with another database at the same moment.
        raise ForeignDatabaseError(f"The database file belongs to another installation. {_PUT_BACK} to use this one.")


def adopt_database(db: Database, actor: Actor) -> tuple[str | None, str]:
    """Bind this installation to the database at its URL, whatever id it carries (the explicit admin step).

    The database takes the installation's id (or, before any installation was set up here, the file is
    written with the database's). Returns (the id the database carried, the id it carries now); the
    change is in the audit trail.
    """
    require(db, actor, "settings.write")
    from billing.store.migrations import apply_migrations

    with db.connect() as conn:  # before migrating: a new file's fresh id is not one it "carried"
        before = installation_store.read_installation_id(conn)
    apply_migrations(db)  # not db.migrate(): that refuses this very database
    target = recorded_id(db.url)
    if target is None:
        target = before or installation_store.new_installation_id()
        _write_new(id_file(db.url), target)

    def work(conn: Connection) -> None:
        installation_store.bind_installation(conn, target, utcnow())
        audit.record(conn, actor, "database.adopt", "database", "installation",
                     before={"installation_id": before}, after={"installation_id": target})

    if before != target:
        db.transaction(work)
    return before, target


def _write_new(path: Path, installation_id: str) -> bool:
    """Create the file with the id (O_EXCL, 0600: two processes starting at once cannot both write one);
    False if it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(installation_id + "\n")
    return True
