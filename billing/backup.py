"""Consistent backups: every table from one snapshot into a zip of Parquet files and a manifest
with row counts and SHA-256 checksums; restore verifies them before anything is replaced."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from billing import audit
from billing.errors import ValidationError
from billing.permissions import Actor, require
from billing.store import bulk, schema
from billing.store.db import Database, utcnow
from billing.store.migrations import DATA_STEPS, MIGRATIONS

FORMAT = "billing-backup/1"


@dataclass(frozen=True)
class BackupReport:
    path: Path
    tables: dict[str, int]


def _checksum(table: pa.Table) -> str:
    """SHA-256 of a table's content, independent of how its rows happen to be chunked in memory.

    Arrow's in-memory buffers differ for equal data (chunking, validity bitmaps); an uncompressed
    Parquet encoding of the combined table with fixed settings does not.
    """
    sink = io.BytesIO()
    pq.write_table(table.combine_chunks(), sink, compression="none", row_group_size=1 << 20, write_statistics=False)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def backup_database(db: Database, actor: Actor, path: Path) -> BackupReport:
    """Write a backup of the whole database to `path` (a .zip), from one consistent snapshot."""
    require(db, actor, "settings.write")
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": utcnow().isoformat(),
                                "schema_version": MIGRATIONS[-1][0], "tables": {}}
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".partial")
    with db.engine.begin() as conn, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        raw = db.raw_duckdb(conn)
        for name in bulk.table_names():
            table = bulk.dump_table(conn, raw, name)
            buffer = io.BytesIO()
            pq.write_table(table, buffer, compression="zstd")
            archive.writestr(f"{name}.parquet", buffer.getvalue())
            manifest["tables"][name] = {"rows": table.num_rows,
                                        "file_sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                                        "content_sha256": _checksum(table)}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    tmp.replace(path)
    return BackupReport(path, {k: v["rows"] for k, v in manifest["tables"].items()})


def read_backup(path: Path) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """Read and check a backup: every table present, row counts and checksums as in the manifest."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(f"'{path}' is not a readable backup file.") from exc
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise ValidationError("The backup has no valid manifest.") from exc
        if manifest.get("format") != FORMAT:
            raise ValidationError("This file is not a backup made by this program.")
        tables = {}
        for name, expected in manifest["tables"].items():
            if name not in bulk.table_names():
                raise ValidationError(f"The backup holds an unknown table '{name}'.")
            damaged = ValidationError(f"Table {name} in the backup is damaged (row count or checksum differs).")
            try:
                data = archive.read(f"{name}.parquet")
            except (KeyError, zipfile.BadZipFile) as exc:
                raise damaged from exc
            if hashlib.sha256(data).hexdigest() != expected["file_sha256"]:
                raise damaged
            table = pq.read_table(io.BytesIO(data))
            if table.num_rows != expected["rows"]:
                raise damaged
            tables[name] = table
    return manifest, tables


def restore_database(db: Database, actor: Actor, path: Path) -> dict[str, int]:
    """Replace the database's contents with a verified backup, in one transaction; re-check counts."""
    require(db, actor, "settings.write")
    manifest, tables = read_backup(Path(path))
    version, current = manifest["schema_version"], MIGRATIONS[-1][0]
    if not isinstance(version, int) or not 1 <= version <= current:
        raise ValidationError(f"The backup was made by a newer version of this program (schema {version}, this "
                              f"one has {current}); update the program before restoring it.")

    def work(conn: Any) -> dict[str, int]:
        raw = db.raw_duckdb(conn)
        bulk.truncate_all(conn)
        for name, table in tables.items():
            if name == "schema_version":
                continue
            bulk.load_arrow(conn, raw, schema.metadata.tables[name], table)
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
            restored = bulk.dump_table(conn, raw, name).select(table.column_names)  # the backup's columns
            if _checksum(restored) != manifest["tables"][name]["content_sha256"]:
                raise ValidationError(f"Restored table {name} differs from the backup (checksum).")
        for table_name, seq in (("customers", "customers_id_seq"), ("invoices", "invoices_id_seq"),
                                ("payments", "payments_id_seq"), ("allocations", "allocations_id_seq"),
                                ("products", "products_id_seq"), ("tax_rates", "tax_rates_id_seq"),
                                ("login_attempts", "login_attempts_id_seq")):
            bulk.advance_sequence(conn, seq, bulk.max_id(conn, table_name))
        audit.record(conn, actor, "database.restore", "database", "restore",
                     after={"backup_created_at": manifest["created_at"], "tables": counts})
        return counts

    return db.transaction(work)
