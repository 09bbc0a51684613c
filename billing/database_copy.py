"""Copy a whole database to another engine (DuckDB -> PostgreSQL and back), proven table by table.

The source is read from one snapshot; the target, which must be empty, is loaded in one transaction
(on PostgreSQL its indexes are built once, after the load) and before the commit every table is proven
equal to the source's: each engine fingerprints its own rows in SQL (`bulk.table_fingerprint`: the row
count and sums of every row's MD5), so a changed, missing or extra row refuses the copy without the
copy being read back. Then `verify` runs on the target. A refused or failed copy leaves the target as
it was. The report gives each table's rows and the content checksum of backups (of the source's rows).

The copy stays this installation's: the files that go with the books (audit and backup keys, the
cookie and API token keys) are carried to the target's folder when it has none, and refused when it
holds different ones (another installation's); the audit chain's recorded head is set to the copied
chain's; a DuckDB target is bound to this installation's id. The copy is exact, so its own record, a
`database.copy` event, goes into the source's audit trail after the copy succeeded.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import audit, installation, signing
from billing.auth_keys import KEY_FILE as COOKIE_KEY_FILE
from billing.backup import content_checksum
from billing.errors import ValidationError
from billing.permissions import Actor, require
from billing.store import bulk, schema
from billing.store import installation as installation_store
from billing.store.db import Database, utcnow
from billing.store.migrations import apply_migrations, seed_new_database
from billing.store.snapshots import read_ahead
from billing.verify import verify_database

# Called with the rows copied so far, the rows to copy in all, and the table being copied.
Progress = Callable[[int, int, str], None]
# Each database's own: the migrations it ran (and the audit head and number series its migrations seed,
# which an empty target holds and the copy replaces).
_OWN_TABLES = frozenset({"schema_version"})
_SEEDED_BY_MIGRATIONS = frozenset({"schema_version", "series", "audit_head"})
_CARRIED_FILES = (signing.AUDIT_KEY_FILE, signing.BACKUP_KEY_FILE, signing.API_TOKEN_KEY_FILE, COOKIE_KEY_FILE)


@dataclass(frozen=True)
class TableProof:
    """One table as copied: its rows and content checksum (SHA-256), the same on both engines."""

    rows: int
    checksum: str


@dataclass(frozen=True)
class CopyReport:
    target: str  # the target's URL, without its password
    tables: dict[str, TableProof]
    documents_verified: int
    audit_events: int


def _quiet(_done: int, _total: int, _table: str) -> None:
    """A progress callback that shows nothing."""


def copy_database(source: Database, actor: Actor, target_url: str, progress: Progress = _quiet) -> CopyReport:
    """Copy every table of `source` into the empty database at `target_url` and prove the copy."""
    require(source, actor, "settings.write")
    shown = sa.engine.make_url(target_url).render_as_string(hide_password=True)
    if sa.engine.make_url(target_url) == sa.engine.make_url(source.url):
        raise ValidationError("The target is the database being copied: name another one.")
    _check_carried_files(source.url, target_url)
    signing.key_path(target_url, COOKIE_KEY_FILE).parent.mkdir(parents=True, exist_ok=True)  # for the chain's head
    target = Database(target_url)
    try:
        apply_migrations(target)  # not migrate(): a new DuckDB file beside this installation's id is refused there
        with target.connect() as conn:
            _check_empty(conn, shown)
        with source.connect() as reading:  # one snapshot (REPEATABLE READ on PostgreSQL)
            installation_id = installation_store.read_installation_id(reading)
            keyed_from = audit.chain_keys(source.url).keyed_from or 1
            proofs = target.transaction(lambda conn: _copy_tables(reading, conn, keyed_from, progress))
        _carry_files(source.url, target_url)
        _bind_installation(target, installation_id)
        report = verify_database(target, actor)
        if not report.ok:
            target.transaction(_empty_again)
            raise ValidationError(f"The copy at {shown} does not verify ({report.problems[0]}): it was emptied "
                                  "again. Run `verify` here to see what the books lack.")
    finally:
        target.dispose()

    def record(conn: Connection) -> None:
        audit.record(conn, actor, "database.copy", "database", "copy",
                     after={"target": shown, "tables": {name: proof.rows for name, proof in proofs.items()}})

    source.transaction(record)
    return CopyReport(shown, proofs, report.documents_checked, report.audit_events)


def _empty_again(conn: Connection) -> None:
    bulk.truncate_all(conn)
    seed_new_database(conn)
    audit.restart_chain(conn, 1)


def _check_empty(conn: Connection, shown: str) -> None:
    for name in bulk.table_names():
        if name not in _SEEDED_BY_MIGRATIONS and bulk.count_rows(conn, name):
            raise ValidationError(f"The database at {shown} is not empty (its table {name} holds rows): copy only "
                                  "into a new, empty database. Nothing was copied.")


def _copy_tables(source: Connection, target: Connection, keyed_from: int, progress: Progress) -> dict[str, TableProof]:
    """Load every table into the target and compare it with the source's rows, in the target's transaction."""
    names = [name for name in bulk.table_names() if name not in _OWN_TABLES]
    totals = {name: bulk.count_rows(source, name) for name in names}
    total, done = sum(totals.values()), 0
    bulk.truncate_all(target)
    bulk.allow_big_sorts(target)
    for conn in (source, target):
        bulk.without_jit(conn)
    proofs: dict[str, TableProof] = {}
    with ThreadPoolExecutor(1, thread_name_prefix="copy-proof") as pool:
        with bulk.indexes_deferred(target, names):
            # The source reads its next table (and its checksum is taken) while the target loads this one.
            for name, rows, checksum in read_ahead(_dumped(source, name) for name in names):
                progress(done, total, name)
                bulk.load_arrow(target, schema.metadata.tables[name], rows)
                proofs[name] = TableProof(rows.num_rows, checksum)
                done += rows.num_rows
            progress(done, total, "checking")
            # Each side fingerprints its own rows in SQL, the copy is not read back out of the target; the
            # source (read by nothing else from here on) in a thread while the target builds its indexes.
            originals = pool.submit(lambda: {name: bulk.table_fingerprint(source, name) for name in names})
        bulk.refresh_statistics(target, names)
        for name, proof in proofs.items():
            copied = bulk.table_fingerprint(target, name)
            if copied != originals.result()[name]:
                raise ValidationError(f"The copy of table {name} differs from the original ({copied[0]:,} rows, "
                                      f"{proof.rows:,} expected). Nothing was copied.")
    bulk.advance_sequences(target)
    audit.restart_chain(target, keyed_from)  # the copied chain's head, recorded beside the target
    progress(total, total, "done")
    return proofs


def _dumped(source: Connection, name: str) -> tuple[str, pa.Table, str]:
    """A table of the source with its content checksum (that of backups)."""
    rows = bulk.dump_table(source, name)
    return name, rows, content_checksum(rows, name)


def _check_carried_files(source_url: str, target_url: str) -> None:
    """Refuse a target whose folder holds another installation's keys: the copied chain would not verify."""
    for name in _CARRIED_FILES:
        here, there = signing.key_path(source_url, name), signing.key_path(target_url, name)
        if here != there and here.exists() and there.exists() and here.read_bytes() != there.read_bytes():
            raise ValidationError(f"The target's folder holds another installation's key ({there}): copy into a "
                                  "folder of its own, or beside this installation's files. Nothing was copied.")


def _carry_files(source_url: str, target_url: str) -> None:
    for name in _CARRIED_FILES:
        here, there = signing.key_path(source_url, name), signing.key_path(target_url, name)
        if here != there and here.exists() and not there.exists():
            there.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(here, there)


def _bind_installation(target: Database, source_id: str | None) -> None:
    """A DuckDB target carries this installation's id: the one recorded in its folder, else the source's."""
    if target.path is None:
        return
    wanted = installation.recorded_id(target.url) or source_id or installation_store.new_installation_id()
    with target.connect() as conn:
        found = installation_store.read_installation_id(conn)
    if found != wanted:
        target.transaction(lambda conn: installation_store.bind_installation(conn, wanted, utcnow()))
    installation.claim_database(target)

