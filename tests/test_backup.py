"""Backups (billing.backup): signed by the installation; a backup lacking tables, users or documents, or not
signed by this installation (unless trusted), is refused and changes nothing; backups made by older versions
of the program restore into the current schema, with what later migrations derive from the data rebuilt;
backups of a newer version are refused."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from billing import api_access, audit, backup, payments, signing
from billing.errors import ValidationError
from billing.permissions import SYSTEM
from billing.store import audit_files, bulk, schema
from billing.store.bank_schema import BANK_TABLES
from billing.store.db import Database
from billing.store.schema import audit_events, invoices, users
from billing.store.schema import payments as payments_table
from billing.verify import verify_database
from tests.conftest import ADMIN, TODAY, Billed, Seed, assert_refused, snapshot

# What each older schema did not have yet: tables, and columns of tables.
LINES_4 = {"invoice_lines": ["credits_line"]}
API_7 = {"api_keys", "idempotency_keys"}
CUSTOMERS_7 = {"customers": ["updated_at"]}
COMPANY_8 = {"company": ["iban", "bic"]}
BANK_6 = {table.name for table in BANK_TABLES}
_PARTY = ["street", "additional_line", "city", "postcode", "subdivision", "legal_id", "tax_registration",
          "electronic_address", "electronic_scheme"]
PARTY_10 = {"customers": _PARTY, "company": [*_PARTY, "contact_name", "contact_phone", "contact_email"],
            "invoices": ["buyer_reference", "order_reference", "delivery_date", "period_start", "period_end",
                         "payment_means", "mandate_reference", "payment_terms", "exemption_reason", "exemption_code",
                         "seller_party", "buyer_party"]}

DIRECT_DEBIT_19 = {"company": ["creditor_id"], "customers": ["iban"]}


def _merged(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for part in parts:
        for table, columns in part.items():
            merged[table] = [*merged.get(table, []), *columns]
    return merged


OLDER: dict[int, tuple[set[str], dict[str, list[str]]]] = {
    1: ({"sales_facts", "collection_facts"} | BANK_6 | API_7,
        _merged({"invoices": ["first_activity_on", "last_activity_on", "is_open"]}, LINES_4, CUSTOMERS_7, COMPANY_8,
                PARTY_10)),
    2: (BANK_6 | API_7, _merged({"invoices": ["is_open"]}, LINES_4, CUSTOMERS_7, COMPANY_8, PARTY_10)),
    3: (BANK_6 | API_7, _merged(LINES_4, CUSTOMERS_7, COMPANY_8, PARTY_10)),
    5: (BANK_6 | API_7, _merged(CUSTOMERS_7, COMPANY_8, PARTY_10)),
    6: (API_7, _merged(CUSTOMERS_7, COMPANY_8, PARTY_10)),
    7: (set(), _merged(COMPANY_8, PARTY_10)),
    8: (set(), PARTY_10),
    18: (set(), DIRECT_DEBIT_19),
}


def add_owner(db: Database) -> None:
    """The owner account every real installation has (the shared test databases have no users)."""
    with db.engine.begin() as conn:
        conn.execute(users.insert().values(username="owner", name="Owner", role="admin", password_hash="x",
                                           active=True, created_at=TODAY, password_changed_at=TODAY))


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
                                        "content_sha256": backup.content_checksum(table)}
        out.writestr("manifest.json", json.dumps(manifest))


@pytest.mark.parametrize("version", sorted(OLDER))
def test_a_backup_of_an_older_schema_restores_and_verifies(db: Database, seeded: Seed, billed: Billed,
                                                           tmp_path: Path, version: int) -> None:
    add_owner(db)
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "119.00", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(billed.a, "119.00")])
    current = tmp_path / "current.zip"
    backup.backup_database(db, SYSTEM, current)
    before = snapshot(db)
    older = tmp_path / f"v{version}.zip"
    as_older_backup(current, older, version)
    counts = backup.restore_database(db, SYSTEM, older, trust_unsigned=True)  # older versions did not sign
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
    assert_refused(db, lambda: backup.restore_database(db, SYSTEM, newer, trust_unsigned=True), ValidationError,
                   "newer version of this program")


# --- what a restore refuses -----------------------------------------------------------------------

BOOKS = ("users", "invoices", "invoice_lines", "invoice_taxes", "payments", "allocations", "auth_sessions")


def rewrite(source: Path, target: Path, edit: Any, key: bytes | None = None) -> None:
    """Copy a backup through `edit(manifest, files)`; re-sign it with `key` (as a backup made by a program
    with a bug would be signed), or leave the old signature (as an attacker without the key must)."""
    with zipfile.ZipFile(source) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        files = {name: archive.read(name) for name in archive.namelist() if name != "manifest.json"}
    edit(manifest, files)
    if key is not None:
        manifest["signature"] = backup._signature(key, manifest)
    with zipfile.ZipFile(target, "w") as out:
        for name, data in files.items():
            out.writestr(name, data)
        out.writestr("manifest.json", json.dumps(manifest))


def drop_books(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    for name in BOOKS:
        del manifest["tables"][name]
        del files[f"{name}.parquet"]


def made_backup(db: Database, tmp_path: Path) -> Path:
    add_owner(db)
    path = tmp_path / "backup.zip"
    backup.backup_database(db, SYSTEM, path)
    return path


def assert_restore_refused(db: Database, path: Path, match: str, trust_unsigned: bool = False) -> None:
    """Refused with a readable message; the database, and the chain's head recorded beside it, as before."""
    head = signing.head_path(db.url)
    assert head is not None
    recorded = audit_files.read_head(head)
    assert_refused(db, lambda: backup.restore_database(db, SYSTEM, path, trust_unsigned=trust_unsigned),
                   ValidationError, match)
    assert audit_files.read_head(head) == recorded


def test_a_backup_stripped_of_the_books_is_refused_naming_what_is_missing(db: Database, billed: Billed,
                                                                         tmp_path: Path) -> None:
    """The attack that restored "successfully" and emptied the books: tables removed from the zip and the
    manifest. Refused by the signature; trusted, or signed again by a faulty program, refused as incomplete."""
    stripped, resigned, original = tmp_path / "stripped.zip", tmp_path / "resigned.zip", made_backup(db, tmp_path)
    rewrite(original, stripped, drop_books)
    rewrite(original, resigned, drop_books, signing.backup_key(db.url))
    assert_restore_refused(db, stripped, "not signed by this installation")
    missing = "lacks the tables allocations, auth_sessions, invoice_lines, invoice_taxes, invoices, payments, users"
    assert_restore_refused(db, stripped, missing, trust_unsigned=True)
    assert_restore_refused(db, resigned, missing)


def test_a_backup_without_an_administrator_is_refused(db: Database, billed: Billed, tmp_path: Path) -> None:
    def no_users(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        table = pq.read_table(io.BytesIO(files["users.parquet"])).slice(0, 0)
        files["users.parquet"] = parquet(table, manifest, "users")

    emptied = tmp_path / "no-users.zip"
    rewrite(made_backup(db, tmp_path), emptied, no_users, signing.backup_key(db.url))
    assert_restore_refused(db, emptied, "no active administrator")


def parquet(table: pa.Table, manifest: dict[str, Any], name: str) -> bytes:
    """The Parquet file of `table`, with its manifest entry updated to match."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    manifest["tables"][name] = {"rows": table.num_rows, "file_sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                                "content_sha256": backup.content_checksum(table, name)}
    return buffer.getvalue()


def test_a_backup_holding_fewer_documents_than_it_states_is_refused(db: Database, billed: Billed,
                                                                    tmp_path: Path) -> None:
    def lose_an_invoice(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        stated = manifest["tables"]["invoices"]["rows"]
        files["invoices.parquet"] = parquet(pq.read_table(io.BytesIO(files["invoices.parquet"])).slice(1),
                                            manifest, "invoices")
        manifest["tables"]["invoices"]["rows"] = stated

    short = tmp_path / "short.zip"
    rewrite(made_backup(db, tmp_path), short, lose_an_invoice, signing.backup_key(db.url))
    assert_restore_refused(db, short, "Table invoices in the backup is damaged")


def test_an_edited_manifest_is_refused(db: Database, billed: Billed, tmp_path: Path) -> None:
    def later(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        manifest["created_at"] = "2030-01-01T00:00:00"

    edited = tmp_path / "edited.zip"
    rewrite(made_backup(db, tmp_path), edited, later)
    assert_restore_refused(db, edited, "not signed by this installation")


def test_a_signed_backup_restores_exactly_and_verifies(db: Database, seeded: Seed, billed: Billed,
                                                      tmp_path: Path) -> None:
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "119.00", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(billed.a, "119.00")])
    path = made_backup(db, tmp_path)
    before = snapshot(db)
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "5.00", "currency": "EUR",
                                        "received_on": TODAY})
    backup.restore_database(db, SYSTEM, path)
    after = snapshot(db)
    assert after["audit_events"][:-1] == before["audit_events"]  # the chain as it was, then the restore
    assert {k: v for k, v in after.items() if not k.startswith("audit")} == \
        {k: v for k, v in before.items() if not k.startswith("audit")}
    assert verify_database(db, SYSTEM).ok, verify_database(db, SYSTEM).problems
    head = signing.head_path(db.url)
    assert head is not None
    recorded = audit_files.read_head(head)
    assert recorded is not None and recorded.last_id == len(after["audit_events"])  # moved back on purpose


def test_a_backup_of_another_installation_restores_only_when_trusted(db: Database, seeded: Seed, billed: Billed,
                                                                    tmp_path: Path) -> None:
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "50.00", "currency": "EUR",
                                        "received_on": TODAY}, allocate=[(billed.a, "50.00")])
    path = made_backup(db, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = Database(f"duckdb:///{elsewhere}/other.duckdb")
    try:
        other.migrate()
        assert_restore_refused(other, path, "not signed by this installation")
        counts = backup.restore_database(other, SYSTEM, path, trust_unsigned=True)
        assert counts["invoices"] == 3
        report = verify_database(other, SYSTEM)
        assert report.ok, report.problems
        with other.connect() as conn:
            last = conn.execute(sa.select(audit_events.c.after).order_by(audit_events.c.id.desc())).scalars().first()
            assert conn.execute(sa.select(sa.func.sum(payments_table.c.amount))).scalar_one() == 50
            assert conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar_one() == 3
        restore_event = json.loads(last or "{}")
        assert restore_event["signed"] is False and restore_event["rechained_events"] == counts["audit_events"]
        # Its chain now verifies under this installation's key, and only under it.
        key = signing.audit_key(other.url, create=False)
        assert key is not None and key != signing.audit_key(db.url, create=False)
        assert audit.verify_chain(other, SYSTEM).ok
    finally:
        other.dispose()


def test_a_lost_head_file_is_recovered_by_a_backup_and_a_restore(db: Database, seeded: Seed, billed: Billed,
                                                                  tmp_path: Path) -> None:
    """README: with the head file gone, writes stop; backing up and restoring records the head anew."""
    path = made_backup(db, tmp_path)
    head = signing.head_path(db.url)
    assert head is not None
    head.unlink()
    assert_refused(db, lambda: payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "1.00",
                                                                   "currency": "EUR", "received_on": TODAY}))
    backup.restore_database(db, SYSTEM, path)
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "1.00", "currency": "EUR",
                                        "received_on": TODAY})
    assert verify_database(db, SYSTEM).ok, verify_database(db, SYSTEM).problems


@pytest.mark.parametrize(("table", "message"), [("customers", "Table customers in the backup does not fit"),
                                                ("audit_events", "The audit trail in this backup is broken"),
                                                ("users", "no active administrator")])
def test_a_trusted_backup_with_a_table_of_another_shape_is_refused(db: Database, billed: Billed, tmp_path: Path,
                                                                   table: str, message: str) -> None:
    def reshaped(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        files[f"{table}.parquet"] = parquet(pa.table({"id": ["not a number"]}), manifest, table)

    odd = tmp_path / "odd.zip"
    rewrite(made_backup(db, tmp_path), odd, reshaped)
    assert_restore_refused(db, odd, message, trust_unsigned=True)


def test_api_keys_are_in_a_backup_as_hashes_and_work_after_a_restore(db: Database, tmp_path: Path) -> None:
    add_owner(db)
    key, secret = api_access.create_key(db, SYSTEM, "owner", "accountant", "web shop")
    backup.backup_database(db, SYSTEM, tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        assert "api_keys.parquet" in archive.namelist()
        assert secret.encode() not in archive.read("api_keys.parquet")
    api_access.revoke_key(db, SYSTEM, key.id)
    backup.restore_database(db, SYSTEM, tmp_path / "b.zip")
    assert api_access.key_actor(db, secret).role == "accountant"


def test_a_table_whose_columns_a_migration_appended_dumps_in_the_schemas_order(db: Database) -> None:
    """A file migrated from an older version has the columns it gained at the end of its tables (company's iban
    and bic came after its updated_at): read in the schema's order, its backup or copy is the same as a new file's."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE company DROP COLUMN bic"))
        conn.execute(sa.text("ALTER TABLE company ADD COLUMN bic VARCHAR"))
    with db.connect() as conn:
        dumped = bulk.dump_table(conn, "company")
    assert dumped.schema == bulk.arrow_schema(schema.company)
