"""The same services and every command on PostgreSQL: moving off DuckDB is a change of BILLING_DATABASE_URL.

On the throwaway PostgreSQL 15 cluster of `pg_url` (tests/conftest.py); the commands run in this process
through `billing.cli.main`, each on a database of its own in that cluster.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from PIL import Image

from billing import audit, catalog, credit_notes, customers, invoices, payments, settings
from billing.cli import main
from billing.imports import TABLES
from billing.permissions import SYSTEM
from billing.store import imports as import_store
from billing.store import schema
from billing.store.db import Database, utcnow
from billing.verify import verify_database
from billing.webhooks import endpoints, worker
from tests.conftest import PG_BIN
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists() and not os.environ.get("CI"),
                                reason="PostgreSQL 15 server binaries are not installed")


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    db.migrate()
    settings.save_company(db, SYSTEM, {"legal_name": "Acme GmbH", "base_currency": "EUR", "timezone": "Europe/Berlin"})
    yield db
    db.dispose()


def test_invoice_payment_credit_lifecycle_on_postgresql(pg: Database) -> None:
    customer = customers.create_customer(pg, SYSTEM, {"name": "Müller AG", "currency": "EUR", "terms_days": 14})
    r19 = catalog.create_tax_rate(pg, SYSTEM, {"name": "VAT 19%", "category": "S", "percent": "19"})
    r7 = catalog.create_tax_rate(pg, SYSTEM, {"name": "VAT 7%", "category": "S", "percent": "7"})
    invoice_id = invoices.create_draft(pg, SYSTEM, {"customer_id": customer, "lines": [
        {"description": "Consulting", "quantity": "3", "unit_price": "120", "tax_rate_id": r19,
         "discount_percent": "10"},
        {"description": "Book", "quantity": "2", "unit_price": "19.99", "tax_rate_id": r7}],
        "allowance_charges": [{"is_charge": True, "reason": "Shipping", "amount": "5", "tax_rate_id": r19}]})
    number = invoices.issue_invoice(pg, SYSTEM, invoice_id, today=date(2026, 11, 1))
    assert number == "INV-2026-00001"
    view = invoices.get_invoice(pg, SYSTEM, invoice_id, as_of=date(2026, 11, 25))
    # 3 x 120 less 10% = 324.00, books 39.98, shipping 5.00; VAT 19% of 329.00 = 62.51, 7% of 39.98 = 2.80
    assert view.totals.payable == Decimal("434.29") == view.header.payable
    payment = payments.record_payment(pg, SYSTEM, {"customer_id": customer, "amount": "100.00", "currency": "EUR",
                                                   "received_on": date(2026, 11, 20)}, allocate="auto")
    credit_notes.create_credit_note(pg, SYSTEM, invoice_id, today=date(2026, 11, 21), lines=[
        {"description": "Book returned", "quantity": "1", "unit_price": "19.99", "tax_rate_id": r7}])
    assert invoices.get_invoice(pg, SYSTEM, invoice_id, as_of=date(2026, 11, 25)).balance == Decimal("312.90")
    payments.reverse_payment(pg, SYSTEM, payment, date(2026, 11, 22), "bounced")
    view = invoices.get_invoice(pg, SYSTEM, invoice_id, as_of=date(2026, 11, 25))
    assert view.balance == Decimal("412.90")
    assert view.status == "overdue"
    _rows, total = invoices.list_invoices(pg, SYSTEM, as_of=date(2026, 11, 25), customer_id=customer)
    assert total == 2
    assert audit.verify_chain(pg, SYSTEM).ok
    assert verify_database(pg, SYSTEM).ok


def test_webhooks_on_postgresql(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_WEBHOOKS_ALLOW_PRIVATE", "1")
    customer = customers.create_customer(pg, SYSTEM, {"name": "Hooked KG", "currency": "EUR"})
    rate = catalog.create_tax_rate(pg, SYSTEM, {"name": "VAT 19% hooks", "category": "S", "percent": "19"})
    with receiver() as got:
        endpoint, got.secret = endpoints.create_endpoint(pg, SYSTEM, got.url, ["invoice.issued", "invoice.paid"])
        invoice_id = invoices.create_draft(pg, SYSTEM, {"customer_id": customer, "lines": [
            {"description": "Setup", "quantity": "1", "unit_price": "100", "tax_rate_id": rate}]})
        invoices.issue_invoice(pg, SYSTEM, invoice_id, today=date(2026, 11, 1))
        payments.record_payment(pg, SYSTEM, {"customer_id": customer, "amount": "119.00", "currency": "EUR",
                                             "received_on": date(2026, 11, 2)}, allocate=[(invoice_id, "119.00")])
        assert worker.take_lease(pg, "elsewhere:1:x", utcnow())
        assert not worker.run_once(pg).held  # another live holder has the lease
        worker.release_lease(pg, "elsewhere:1:x")
        assert worker.run_once(pg).delivered == 2
    assert sorted(item.event["type"] for item in got.received) == ["invoice.issued", "invoice.paid"]
    assert all(item.signed for item in got.received)
    endpoints.delete_endpoint(pg, SYSTEM, endpoint.id)


def test_concurrent_issues_are_gapless_on_postgresql(pg: Database) -> None:
    customer = customers.create_customer(pg, SYSTEM, {"name": "Parallel Ltd", "currency": "EUR"})
    rate = catalog.create_tax_rate(pg, SYSTEM, {"name": "VAT 20%", "category": "S", "percent": "20"})
    drafts = [invoices.create_draft(pg, SYSTEM, {"customer_id": customer, "lines": [
        {"description": "Item", "quantity": "1", "unit_price": "10", "tax_rate_id": rate}]}) for _ in range(40)]
    numbers: list[str] = []
    errors: list[BaseException] = []

    def issue(chunk: list[int]) -> None:
        try:
            numbers.extend(invoices.issue_invoice(pg, SYSTEM, d, today=date(2026, 11, 2)) for d in chunk)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(drafts[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(sequence[0], sequence[0] + 40))
    assert audit.verify_chain(pg, SYSTEM).ok


# Tables whose rows a restore does not take over as they are: the restore's own audit event and the new
# head, and each database's migration dates.
_OWN_TO_EACH_DATABASE = frozenset({"audit_events", "audit_head", "schema_version"})
OWNER_PASSWORD = "purple tugboat jingles at noon"


def new_database(pg_url: str, name: str) -> str:
    """A new, empty database in the test cluster, and its URL."""
    url = sa.engine.make_url(pg_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(hide_password=False)


def cli(folder: Path, url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run a command as `python -m billing` would, in `folder` (key files in its ./data), on `url`:
    (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.chdir(folder)
        patch.setenv("BILLING_DATABASE_URL", url)
        patch.setenv("BILLING_BCRYPT_ROUNDS", "4")
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def books(backup: Path) -> dict[str, tuple[int, str]]:
    """Row count and content checksum of every table of a backup whose rows a restore takes over as they are."""
    with zipfile.ZipFile(backup) as archive:
        tables = json.loads(archive.read("manifest.json"))["tables"]
    return {name: (table["rows"], table["content_sha256"]) for name, table in tables.items()
            if name not in _OWN_TO_EACH_DATABASE}


def count_rows(url: str, table: sa.Table) -> int:
    db = Database(url)
    try:
        with db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def demo_pg(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A PostgreSQL database set up by the commands as a new user would (init, an administrator, the demo at
    scale S), and the folder they ran in."""
    folder = tmp_path_factory.mktemp("cli")
    url = new_database(pg_url, "cli_demo")
    assert cli(folder, url, "init")[0] == 0
    code, out, err = cli(folder, url, "create-user", "owner", stdin=f"{OWNER_PASSWORD}\n")
    assert (code, out, err) == (0, "Created admin 'owner'.\n", "")
    code, out, err = cli(folder, url, "demo", "--scale", "S", "--as-of", "2026-11-25")
    assert code == 0, err
    assert "1,000 customers, 10,000 invoices" in out
    return folder, url


def test_the_demo_on_postgresql_verifies_and_loads_only_into_an_empty_database(demo_pg: tuple[Path, str]) -> None:
    folder, url = demo_pg
    code, out, _err = cli(folder, url, "verify")
    assert code == 0, out
    assert "All checks passed." in out
    assert count_rows(url, schema.invoices) == 10_146
    code, _out, err = cli(folder, url, "demo", "--scale", "S")
    assert code == 2 and "empty database" in err


def test_backups_restore_across_engines_with_the_same_rows_and_checksums(demo_pg: tuple[Path, str], pg_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL -> a new DuckDB file -> a new PostgreSQL database. Each restore also checks every table it
    loaded against the checksums the other engine wrote into the manifest."""
    folder, url = demo_pg
    logo = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(logo, "PNG")  # bytea on PostgreSQL, BLOB on DuckDB
    monkeypatch.chdir(folder)  # the installation's keys, as the commands use them
    db = Database(url)
    try:
        settings.save_company(db, SYSTEM, {"legal_name": "Acme GmbH", "base_currency": "EUR"}, logo=logo.getvalue())
    finally:
        db.dispose()
    from_postgres, from_duckdb, again = folder / "pg.zip", folder / "duckdb.zip", folder / "again.zip"
    assert cli(folder, url, "backup", str(from_postgres))[0] == 0

    duckdb_url = f"duckdb:///{folder}/data/restored.duckdb"  # beside ./data's keys: the same installation
    assert cli(folder, duckdb_url, "init")[0] == 0
    code, out, err = cli(folder, duckdb_url, "restore", str(from_postgres))
    assert code == 0, err
    assert "invoices 10,146" in out
    code, out, _err = cli(folder, duckdb_url, "verify")
    assert code == 0, out
    assert cli(folder, duckdb_url, "backup", str(from_duckdb))[0] == 0

    empty = new_database(pg_url, "cli_restored")
    assert cli(folder, empty, "init")[0] == 0
    code, out, err = cli(folder, empty, "restore", str(from_duckdb))
    assert code == 0, err
    code, out, _err = cli(folder, empty, "verify")
    assert code == 0, out
    assert cli(folder, empty, "backup", str(again))[0] == 0

    assert books(from_postgres) == books(from_duckdb) == books(again)
    assert books(again)["invoice_lines"][0] == 50_939
    restored = Database(empty)
    try:
        assert (settings.get_company(restored) or {})["logo"] == logo.getvalue()
    finally:
        restored.dispose()


def test_a_csv_import_on_postgresql_adds_every_row_or_none(pg_url: str, tmp_path: Path) -> None:
    url = new_database(pg_url, "cli_import")
    assert cli(tmp_path, url, "init")[0] == 0
    good, bad, unknown_rate = tmp_path / "good.csv", tmp_path / "bad.csv", tmp_path / "products.csv"
    good.write_text('name,email,country,currency,terms_days,notes\nMüller AG,ap@mueller.example,DE,EUR,14,\n'
                    '"Zeta ""Z"" Ltd",,GB,GBP,30,"Second floor\nBack door"\n')
    code, out, err = cli(tmp_path, url, "import", "customers", str(good))
    assert (code, out, err) == (0, "Imported 2 customers.\n", "")
    db = Database(url)
    try:
        with db.connect() as conn:
            table = schema.customers
            rows = conn.execute(sa.select(table.c.name, table.c.email, table.c.notes).order_by(table.c.id)).all()
        assert [tuple(row) for row in rows] == [("Müller AG", "ap@mueller.example", ""),
                                                ("Zeta \"Z\" Ltd", "", "Second floor\nBack door")]
    finally:
        db.dispose()
    events = count_rows(url, schema.audit_events)

    bad.write_text("name,email,country,currency,terms_days\nGood Ltd,g@good.example,DE,EUR,14\n,bad,DE,EUR,x\n")
    code, _out, err = cli(tmp_path, url, "import", "customers", str(bad))
    assert code == 2 and "Nothing was imported" in err and "Row 3" in err
    # Refused only once staged (COPY into the staging table): an unknown tax rate.
    unknown_rate.write_text("name,sku,unit_price,tax_rate_id\nA,X-1,1.00,999\n")
    code, _out, err = cli(tmp_path, url, "import", "products", str(unknown_rate))
    assert code == 2 and "Nothing was imported" in err
    assert count_rows(url, schema.customers) == 2
    assert count_rows(url, schema.audit_events) == events
    assert count_rows(url, import_store.staging_table(TABLES["products"])) == 0
    assert cli(tmp_path, url, "verify")[0] == 0


def test_a_bank_statement_imports_in_bulk_on_postgresql_and_each_line_once(pg: Database) -> None:
    from billing.bank import service

    statement = (Path(__file__).parent / "data" / "bank" / "camt053.xml").read_bytes()
    report = service.import_statement(pg, SYSTEM, statement, "camt053.xml")
    assert (report.lines_in_file, report.lines_new) == (6, 6)
    again = service.import_statement(pg, SYSTEM, statement, "camt053.xml")
    assert (again.lines_in_file, again.lines_new) == (6, 0)
    rows, total = service.list_lines(pg, SYSTEM, limit=100)
    assert total == 6
    assert len({row["id"] for row in rows}) == 6
    assert Decimal("119.00") in {row["amount"] for row in rows}
