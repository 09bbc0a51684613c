"""Backups (billing.backup) made by older versions of the program restore into the current schema, with
what later migrations derive from the data rebuilt; backups of a newer version are refused."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from billing import backup, payments
from billing.errors import ValidationError
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.verify import verify_database
from tests.conftest import ADMIN, TODAY, Billed, Seed, snapshot

# What each older schema did not have yet: tables, and columns of tables.
LINES_4 = {"invoice_lines": ["credits_line"]}
OLDER: dict[int, tuple[set[str], dict[str, list[str]]]] = {
    1: ({"sales_facts", "collection_facts"}, {"invoices": ["first_activity_on", "last_activity_on", "is_open"],
                                              **LINES_4}),
    2: (set(), {"invoices": ["is_open"], **LINES_4}),
    3: (set(), LINES_4),
}


def as_older_backup(source: Path, target: Path, version: int) -> None:
    """Rewrite a backup as the given older schema version would have written it."""
    missing_tables, missing_columns = OLDER[version]
    with zipfile.ZipFile(source) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest["schema_version"] = version
    with zipfile.ZipFile(target, "w") as out:
        for name in list(manifest["tables"]):
            if name in missing_tables:
                del manifest["tables"][name]
                continue
            table = pq.read_table(io.BytesIO(files[f"{name}.parquet"]))
            table = table.drop_columns(missing_columns.get(name, []))
            buffer = io.BytesIO()
            pq.write_table(table, buffer, compression="zstd")
            out.writestr(f"{name}.parquet", buffer.getvalue())
            manifest["tables"][name] = {"rows": table.num_rows,
                                        "file_sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                                        "content_sha256": backup._checksum(table)}
        out.writestr("manifest.json", json.dumps(manifest))


@pytest.mark.parametrize("version", sorted(OLDER))
def test_a_backup_of_an_older_schema_restores_and_verifies(db: Database, seeded: Seed, billed: Billed,
                                                           tmp_path: Path, version: int) -> None:
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "119.00", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(billed.a, "119.00")])
    current = tmp_path / "current.zip"
    backup.backup_database(db, SYSTEM, current)
    before = snapshot(db)
    older = tmp_path / f"v{version}.zip"
    as_older_backup(current, older, version)
    counts = backup.restore_database(db, SYSTEM, older)
    assert counts["invoices"] == 3
    report = verify_database(db, SYSTEM)
    assert report.ok, report.problems
    audit = ("audit_events", "audit_head")  # the restore itself is audited
    after = snapshot(db)
    assert {k: v for k, v in after.items() if k not in audit} == \
        {k: v for k, v in before.items() if k not in audit}  # the derived data rebuilt exactly
    with db.connect() as conn:
        flags = dict(conn.execute(sa.text("SELECT id, is_open FROM invoices")).all())
    assert flags == {billed.a: False, billed.b: True, billed.c: True}


def test_a_backup_of_a_newer_schema_is_refused_and_changes_nothing(db: Database, billed: Billed,
                                                                   tmp_path: Path) -> None:
    current = tmp_path / "current.zip"
    backup.backup_database(db, SYSTEM, current)
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(current) as archive, zipfile.ZipFile(newer, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name == "manifest.json":
                data = json.dumps({**json.loads(data), "schema_version": 99}).encode()
            out.writestr(name, data)
    before = snapshot(db)
    with pytest.raises(ValidationError, match="newer version of this program"):
        backup.restore_database(db, SYSTEM, newer)
    assert snapshot(db) == before
