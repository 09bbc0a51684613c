"""Consistent backups: every table from one snapshot into a zip of Parquet files and a manifest with row
counts and SHA-256 checksums, signed with the installation's backup key (HMAC-SHA256, billing.signing).

Restore refuses, before anything is replaced: a manifest whose signature is missing or wrong (unless
the administrator trusts the backup, `trust_unsigned`), a backup lacking any table of its schema
version, a table whose row count or checksum differs, and a backup without an active administrator.
It then replaces everything in one transaction and checks every table's rows against the backup,
so a refused restore leaves the database exactly as it was.

A valid signature proves that the backup was made by an installation holding this key (normally this
one) and was not changed since. It does not prove that the books were right when it was made (that
is what `verify` checks). A backup trusted without a valid signature has its audit chain chained
again under this installation's key, and the restore event says it was taken on trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from billing import audit, signing
from billing.errors import ValidationError
from billing.permissions import Actor, require
from billing.store import automation_schema, bank_schema, bulk, mail_schema, schema, webhook_schema
from billing.store.db import Database, utcnow
from billing.store.migrations import DATA_STEPS, GENESIS_HASH, MIGRATIONS

FORMAT = "billing-backup/1"
# The tables a later migration created: a backup of an older schema version does not have them.
TABLES_ADDED_IN = {2: frozenset({"sales_facts", "collection_facts"}),
                   6: frozenset(table.name for table in bank_schema.BANK_TABLES),
                   7: frozenset({"api_keys", "idempotency_keys"}),
                   11: frozenset(table.name for table in webhook_schema.WEBHOOK_TABLES),
                   12: frozenset(table.name for table in mail_schema.MAIL_TABLES),
                   13: frozenset(table.name for table in automation_schema.AUTOMATION_TABLES)}
_UNSIGNED = ("This backup is not signed by this installation: it was made by another installation or by an "
             "older version of the program, or it was changed since. Restore it only if you know where it comes "
             "from, with `python -m billing restore --trust-unsigned PATH` (README: 'Backups').")


@dataclass(frozen=True)
class BackupReport:
    path: Path
    tables: dict[str, int]


@dataclass(frozen=True)
class Backup:
    """A backup read and checked: its manifest, its tables, and whether this installation signed it."""

    manifest: dict[str, Any]
    tables: dict[str, pa.Table]
    signed: bool


def tables_of_version(version: int) -> set[str]:
    """Every table a backup of this schema version holds."""
    later = {name for added, names in TABLES_ADDED_IN.items() if added > version for name in names}
    return set(bulk.table_names()) - later


def content_checksum(table: pa.Table, name: str | None = None) -> str:
    """SHA-256 of a table's content, independent of how its rows happen to be chunked in memory.

    Arrow's in-memory buffers differ for equal data (chunking, validity bitmaps); an uncompressed
    Parquet encoding of the combined table with fixed settings does not. A table without a primary
    key has no row order (`name`): its rows are sorted first.
    """
    if name is not None and not schema.metadata.tables[name].primary_key.columns and table.num_rows:
        table = table.sort_by([(column, "ascending") for column in table.column_names])
    sink = io.BytesIO()
    pq.write_table(table.combine_chunks(), sink, compression="none", row_group_size=1 << 20, write_statistics=False)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _signature(key: bytes, manifest: dict[str, Any]) -> str:
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    return signing.sign(key, json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode())


def backup_database(db: Database, actor: Actor, path: Path) -> BackupReport:
    """Write a signed backup of the whole database to `path` (a .zip), from one consistent snapshot."""
    require(db, actor, "settings.write")
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": utcnow().isoformat(),
                                "schema_version": MIGRATIONS[-1][0], "tables": {}}
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".partial")
    with db.engine.begin() as conn, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in bulk.table_names():
            table = bulk.dump_table(conn, name)
            buffer = io.BytesIO()
            pq.write_table(table, buffer, compression="zstd")
            archive.writestr(f"{name}.parquet", buffer.getvalue())
            manifest["tables"][name] = {"rows": table.num_rows,
                                        "file_sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                                        "content_sha256": content_checksum(table, name)}
        manifest["signature"] = _signature(signing.backup_key(db.url), manifest)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    tmp.replace(path)
    return BackupReport(path, {k: v["rows"] for k, v in manifest["tables"].items()})


def read_backup(path: Path, key: bytes, trust_unsigned: bool = False) -> Backup:
    """Read and check a backup: signed with `key` (unless trusted), every table of its schema version
    present, row counts and checksums as in the manifest."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(f"'{path}' is not a readable backup file.") from exc
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
            if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict):
                raise ValueError("no tables")
        except (KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ValidationError("The backup has no valid manifest.") from exc
        if manifest.get("format") != FORMAT:
            raise ValidationError("This file is not a backup made by this program.")
        version, current = manifest.get("schema_version"), MIGRATIONS[-1][0]
        if not isinstance(version, int) or not 1 <= version <= current:
            raise ValidationError(f"The backup was made by a newer version of this program (schema {version}, this "
                                  f"one has {current}); update the program before restoring it.")
        signed = signing.same_signature(_signature(key, manifest), manifest.get("signature"))
        if not signed and not trust_unsigned:
            raise ValidationError(_UNSIGNED)
        unknown = sorted(set(manifest["tables"]) - set(bulk.table_names()))
        if unknown:
            raise ValidationError(f"The backup holds an unknown table '{unknown[0]}'.")
        missing = sorted(tables_of_version(version) - set(manifest["tables"]))
        if missing:
            raise ValidationError(f"The backup is incomplete: it lacks the tables {', '.join(missing)}. Nothing was "
                                  "restored.")
        return Backup(manifest, {name: _read_table(archive, name, expected)
                                 for name, expected in manifest["tables"].items()}, signed)


def _read_table(archive: zipfile.ZipFile, name: str, expected: Any) -> pa.Table:
    damaged = ValidationError(f"Table {name} in the backup is damaged (row count or checksum differs).")
    try:
        data = archive.read(f"{name}.parquet")
        if hashlib.sha256(data).hexdigest() != expected["file_sha256"]:
            raise damaged
        table = pq.read_table(io.BytesIO(data))
        if table.num_rows != expected["rows"]:
            raise damaged
    except (KeyError, TypeError, zipfile.BadZipFile, pa.ArrowException) as exc:
        raise damaged from exc
    return table


def restore_database(db: Database, actor: Actor, path: Path, *, trust_unsigned: bool = False) -> dict[str, int]:
    """Replace the database's contents with a checked backup, in one transaction; re-check every table.

    `trust_unsigned`: restore a backup this installation did not sign (another installation's, an
    older version's), on the administrator's word.
    """
    require(db, actor, "settings.write")
    backup = read_backup(Path(path), signing.backup_key(db.url), trust_unsigned)
    manifest, tables = backup.manifest, dict(backup.tables)
    version = int(manifest["schema_version"])
    _check_administrator(tables["users"])
    events = tables["audit_events"].to_pylist()
    try:
        if backup.signed:
            # The chain is this installation's: keyed from its first event that verifies with the key.
            key = signing.audit_key(db.url)
            assert key is not None  # created when missing
            keyed_from = next((e["id"] for e in events if audit.keyed_hash(e, key) == e["hash"]), len(events) + 1)
            expected = {name: manifest["tables"][name]["content_sha256"] for name in tables}
        else:
            tables.update(_resealed_chain(db, events, tables["audit_events"].schema, tables["audit_head"].schema))
            keyed_from = 1
            expected = {name: content_checksum(table, name) for name, table in tables.items()}
    except (KeyError, TypeError, AttributeError, pa.ArrowException) as exc:
        raise ValidationError("The audit trail in this backup cannot be read. Nothing was restored.") from exc

    def work(conn: Any) -> dict[str, int]:
        bulk.truncate_all(conn)
        for name, table in tables.items():
            if name == "schema_version":
                continue
            try:
                bulk.load_arrow(conn, schema.metadata.tables[name], table)
            except sa.exc.DBAPIError as exc:
                raise ValidationError(f"Table {name} in the backup does not fit this program's tables (its columns "
                                      "or values). Nothing was restored.") from exc
        bulk.refresh_statistics(conn, tables)
        # A backup of an older schema lacks what later migrations derive: derive it from the loaded data.
        for step_version, derive in DATA_STEPS.items():
            if step_version > version:
                derive(conn)
        counts = {name: bulk.count_rows(conn, name) for name in tables}
        for name, table in tables.items():
            if name == "schema_version":
                continue
            if counts[name] != table.num_rows:
                raise ValidationError(f"Restoring {name} gave {counts[name]} rows, expected {table.num_rows}.")
            restored = bulk.dump_table(conn, name).select(table.column_names)  # the backup's columns
            if content_checksum(restored, name) != expected[name]:
                raise ValidationError(f"Restored table {name} differs from the backup (checksum).")
        bulk.advance_sequences(conn)
        audit.restart_chain(conn, keyed_from)
        audit.record(conn, actor, "database.restore", "database", "restore",
                     after={"backup_created_at": manifest.get("created_at"), "tables": counts, "signed": backup.signed,
                            **({} if backup.signed else {"rechained_events": len(events)})})
        return counts

    return db.transaction(work)


def _check_administrator(users: pa.Table) -> None:
    """Refuse a backup that would leave nobody able to administer the portal (and the set-up page open)."""
    try:
        admins = pc.sum(pc.and_(pc.equal(users["role"], "admin"), users["active"])).as_py() or 0
    except (KeyError, pa.ArrowException):  # no such columns, or not of their types
        admins = 0
    if not admins:
        raise ValidationError("The backup holds no active administrator: restoring it would lock everyone out and "
                              "open the set-up page to the first visitor. Nothing was restored.")


def _resealed_chain(db: Database, events: list[dict[str, Any]], events_schema: pa.Schema,
                    head_schema: pa.Schema) -> dict[str, pa.Table]:
    """The audit tables of a trusted backup, chained again under this installation's key."""
    problem = audit.chain_break(events)
    if problem:
        raise ValidationError(f"The audit trail in this backup is broken ({problem}). Nothing was restored.")
    key = signing.audit_key(db.url)
    assert key is not None  # created when missing
    rows = audit.resealed(events, key)
    head = {"id": [1], "last_id": [rows[-1]["id"] if rows else 0],
            "last_hash": [rows[-1]["hash"] if rows else GENESIS_HASH]}
    return {"audit_events": pa.Table.from_pylist(rows, schema=events_schema),
            "audit_head": pa.table(head, schema=head_schema)}
