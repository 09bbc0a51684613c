"""billing.imports: CSV files of customers and products, all rows or none, every problem by row and column;
large files imported in short transactions, so that other users' writes go on meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from billing import catalog, customers, imports
from billing.store import imports as import_store
from billing.store.db import Database
from billing.store.schema import audit_events
from billing.store.schema import customers as customers_table
from billing.store.schema import products as products_table
from tests.conftest import ADMIN, Seed, Templates, assert_refused, copy_template, database_url, event_count, snapshot
from ui.tables import problem_frame

REPO = Path(__file__).resolve().parent.parent


def customer_file(rows: int, start: int = 0) -> bytes:
    lines = ["name,email,country,currency,terms_days"]
    lines += [f"Customer {n},ap{n}@customer.example,DE,EUR,{n % 60}" for n in range(start, start + rows)]
    return ("\n".join(lines) + "\n").encode()


def problems_of(db: Database, kind: str, content: bytes) -> list[str]:
    """The problems an import is refused with; the database (and the staging table) as before."""
    error = assert_refused(db, lambda: imports.import_csv(db, ADMIN, kind, content), imports.ImportProblemsError)
    assert isinstance(error, imports.ImportProblemsError)
    assert staged_rows(db, kind) == 0
    return list(error.problems)


def staged_rows(db: Database, kind: str) -> int:
    staging = import_store.staging_table(imports.TABLES[kind])
    with db.connect() as conn:
        if not sa.inspect(conn).has_table(staging.name):
            return 0
        return int(conn.execute(sa.select(sa.func.count()).select_from(staging)).scalar_one())


def count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# --- what a file may hold (issue 8, point 13) -------------------------------------------------------------------------

def test_a_column_named_twice_in_the_header_is_refused_by_name(db: Database) -> None:
    # csv.DictReader kept the last of the two cells: 'Second name' was imported, 'First name' dropped.
    content = b"name,email,name\nFirst name,a@b.example,Second name\n"
    assert problems_of(db, "customers", content) == [
        "Row 1: Name: the header names this column 2 times (columns 1, 3): name it once"]


def test_cells_beyond_the_header_are_refused_by_row_and_column(db: Database) -> None:
    # They were dropped without a word: a shifted row lost its last cell.
    content = b"name,currency\nAcme,EUR\nBeta,EUR,30,x\nGamma,USD\n"
    assert problems_of(db, "customers", content) == [
        "Row 3: Column 3: an extra cell ('30'); the header names 2 columns",
        "Row 3: Column 4: an extra cell ('x'); the header names 2 columns"]


def test_empty_cells_beyond_the_header_hold_nothing_and_are_read(db: Database) -> None:
    assert imports.import_csv(db, ADMIN, "customers", b"name,currency\nAcme,EUR,,\n") == 1


@pytest.mark.parametrize("column", ["name", "notes"])
def test_a_cell_longer_than_the_csv_limit_is_refused_by_row_and_column(db: Database, column: str) -> None:
    # The csv module raised 'field larger than field limit (131072)', which reached the user as a generic error.
    long = "x" * (imports.MAX_CELL + 1)
    content = f"name,notes\nAcme,short\n{long if column == 'name' else 'Beta'},{long if column == 'notes' else ''}\n"
    assert problems_of(db, "customers", content.encode()) == [
        f"Row 3: {column.capitalize()}: the cell holds 131,073 characters; a cell can hold at most 131,072"]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_rows_may_end_as_any_spreadsheet_ends_them(db: Database, end: str) -> None:
    # A bare CR (old Mac spreadsheets) raised "new-line character seen in unquoted field".
    content = end.join(["name,notes", 'Acme,"two\nlines"', "Beta,"]) + end
    assert imports.import_csv(db, ADMIN, "customers", content.encode()) == 2
    with db.connect() as conn:
        assert conn.execute(sa.select(customers_table.c.notes).where(customers_table.c.name == "Acme")).scalar_one() \
            == "two\nlines"


def test_an_sku_twice_in_the_file_names_both_rows(db: Database, seeded: Seed) -> None:
    content = (f"name,sku,unit_price,tax_rate_id\nA,X-1,1.00,{seeded.s19}\nB,X-2,1.00,{seeded.s19}\n"
               f"C,X-1,2.00,{seeded.s19}\n").encode()
    assert problems_of(db, "products", content) == ["Row 4: SKU: 'X-1' is also in row 2"]


@pytest.mark.parametrize(("problem", "row", "column"), [
    ("Row 1: Name: the header names this column 2 times (columns 1, 3): name it once", 1, "Name"),
    ("Row 3: Column 4: an extra cell ('x'); the header names 2 columns", 3, "Column 4"),
    ("Row 3: Notes: the cell holds 131,073 characters; a cell can hold at most 131,072", 3, "Notes"),
])
def test_each_problem_shows_in_the_row_and_column_of_the_problem_table(problem: str, row: int, column: str) -> None:
    shown = problem_frame([problem])
    assert (shown["Row"][0], shown["Column"][0]) == (row, column)


# --- staged in short transactions, moved in at once (issue 8, point 8) ------------------------------------------------

def test_an_import_adds_every_row_in_file_order_with_one_audit_event(db: Database) -> None:
    before = event_count(db)
    seen: list[tuple[float, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(imports, "BATCH_ROWS", 2)
        assert imports.import_csv(db, ADMIN, "customers", customer_file(5), progress=lambda *p: seen.append(p)) == 5
    with db.connect() as conn:
        names = conn.execute(sa.select(customers_table.c.name).order_by(customers_table.c.id)).scalars().all()
        event = conn.execute(sa.select(audit_events).order_by(audit_events.c.id.desc())).mappings().first()
    assert names == [f"Customer {n}" for n in range(5)]
    assert event is not None and event["action"] == "customers.import" and event_count(db) == before + 1
    assert staged_rows(db, "customers") == 0
    shares = [share for share, _ in seen]
    assert shares == sorted(shares) and shares[-1] == 1.0 and seen[-1][1] == "Imported 5 customers"
    assert [what for _, what in seen if what.startswith("Saved")] == [
        "Saved 2 of 5 rows", "Saved 4 of 5 rows", "Saved 5 of 5 rows"]  # one transaction each


def test_a_failure_while_staging_leaves_the_database_as_it_was(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = import_store.stage
    batches: list[int] = []

    def fail_on_the_second(conn: sa.Connection, **arguments: object) -> None:
        batches.append(1)
        if len(batches) == 2:
            raise OSError("disk gone")
        stage(conn, **arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    monkeypatch.setattr(import_store, "stage", fail_on_the_second)
    assert_refused(db, lambda: imports.import_csv(db, ADMIN, "customers", customer_file(5)), OSError)
    assert staged_rows(db, "customers") == 0


def test_an_sku_taken_while_the_rows_were_staged_refuses_the_whole_import(db: Database, seeded: Seed) -> None:
    content = f"name,sku,unit_price,tax_rate_id\nA,X-1,1.00,{seeded.s19}\nB,X-2,1.00,{seeded.s19}\n".encode()

    def meanwhile(_share: float, what: str) -> None:
        if what.startswith("Adding"):  # another user creates a product with the second SKU just now
            catalog.create_product(db, ADMIN, {"name": "Taken", "sku": "X-2", "unit_price": "5",
                                               "tax_rate_id": seeded.s19})

    before = count(db, products_table)
    with pytest.raises(imports.ImportProblemsError) as refused:
        imports.import_csv(db, ADMIN, "products", content, progress=meanwhile)
    assert refused.value.problems == ("Row 3: SKU: 'X-2' already exists",)
    assert count(db, products_table) == before + 1 and staged_rows(db, "products") == 0


@pytest.mark.slow
def test_other_writes_go_on_during_a_large_import_and_numbers_stay_unique(db: Database) -> None:
    """One transaction for 30k rows made every other write wait for all of it (~25 s here, 82 s for 100k): one
    write at most could finish while the import ran. Now each waits at most for one batch or the last
    transaction, so writes keep finishing while it runs. (Counted, not timed: a loaded machine stretches both.)"""
    rows = 30_000
    during: list[int] = []  # writes that finished while the import was still running
    result: list[int | BaseException] = []

    def run_import() -> None:
        try:
            result.append(imports.import_csv(db, ADMIN, "customers", customer_file(rows)))
        except BaseException as exc:  # reported by the assertion below
            result.append(exc)

    importer = threading.Thread(target=run_import)
    importer.start()
    created = []
    while importer.is_alive() or not created:
        created.append(customers.create_customer(db, ADMIN, {"name": f"Walk-in {len(created)}", "currency": "EUR"}))
        if importer.is_alive():
            during.append(created[-1])
        time.sleep(0.02)
    importer.join()
    assert result == [rows]
    assert len(during) >= 3, f"only {len(during)} writes finished during the import"
    with db.connect() as conn:
        ids = conn.execute(sa.select(customers_table.c.id, customers_table.c.name)).all()
    assert len(ids) == rows + len(created) and len({i for i, _ in ids}) == len(ids)
    assert {i for i, name in ids if name.startswith("Walk-in")} == set(created)


CHILD = """
import sys, time
from billing import imports
from billing.permissions import SYSTEM
from billing.store.db import Database
from tests.test_imports import customer_file

db = Database(sys.argv[1])
db.migrate()
imports.BATCH_ROWS = 10

def staged(share, what):
    if what == "Saved 20 of 50 rows":
        print("staged", flush=True)
        time.sleep(60)  # killed here

imports.import_csv(db, SYSTEM, "customers", customer_file(50), progress=staged)
"""


@pytest.mark.timeout(120)
def test_an_import_killed_midway_leaves_nothing_and_the_next_import_clears_its_rows(
        tmp_path: Path, templates: Templates) -> None:
    url = database_url(copy_template(templates.empty, tmp_path / "killed.duckdb"))
    child = subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "staged", child.stderr
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    db = Database(url)
    try:
        db.migrate()
        before = snapshot(db)
        assert count(db, customers_table) == 0 and staged_rows(db, "customers") == 20  # staged, not imported
        assert imports.import_csv(db, ADMIN, "customers", customer_file(3, start=100)) == 3
        assert staged_rows(db, "customers") == 0
        with db.connect() as conn:
            names = conn.execute(sa.select(customers_table.c.name)).scalars().all()
        assert sorted(names) == ["Customer 100", "Customer 101", "Customer 102"]
        assert len(snapshot(db)["audit_events"]) == len(before["audit_events"]) + 1
    finally:
        db.dispose()


def test_a_stray_quote_that_pulls_rows_into_one_name_is_refused_where_it_starts(db: Database) -> None:
    """A quote left open in row 3 and closed in row 5 made one customer of three rows ('Beta,EUR,...Delta')."""
    content = (b'name,currency,email\r\nAlpha,EUR,a@x.de\r\n"Beta,EUR,b@x.de\r\nGamma,EUR,g@x.de\r\n'
               b'Delta",EUR,d@x.de\r\nEps,EUR,e@x.de\r\n')
    error = assert_refused(db, lambda: imports.import_csv(db, ADMIN, "customers", content), imports.ImportProblemsError)
    assert list(error.problems) == [
        "Row 3: Name: must be one line of text, without line breaks, tabs or control characters"]


@pytest.mark.parametrize("name", ["Acme\nGmbH", "Acme\tGmbH", "Acme\x00", "Acme \u202egnp.exe"])
def test_names_with_line_breaks_or_control_characters_are_refused(db: Database, name: str) -> None:
    assert_refused(db, lambda: customers.create_customer(db, ADMIN, {"name": name}), match="Name: must be one line")


def test_an_address_keeps_its_line_breaks_but_no_other_control_characters(db: Database) -> None:
    customer = customers.create_customer(db, ADMIN, {"name": "Acme", "address": "Hauptstr. 1\r\n10115 Berlin"})
    assert customers.get_customer(db, ADMIN, customer)["address"] == "Hauptstr. 1\r\n10115 Berlin"
    assert_refused(db, lambda: customers.create_customer(db, ADMIN, {"name": "Beta", "address": "x\x07"}),
                   match="Address: must not hold control characters")
