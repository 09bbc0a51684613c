"""Every page on PostgreSQL: the demo data S copied from DuckDB with `copy-to` (billing.database_copy) into the
throwaway cluster of `pg_url`; each page of the menu opens for the admin without an error, and the main flows
that write (a customer created, an invoice issued) work there as on DuckDB."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from portal import AS_OF, app_as, file_url, ok, open_page

from billing import customers, invoices
from billing.database_copy import copy_database
from billing.permissions import SYSTEM
from billing.store.db import Database, forget_database, get_database
from tests.conftest import PG_BIN
from ui.pages import PAGES, PageSpec

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists() and not os.environ.get("CI"),
                                reason="PostgreSQL 15 server binaries are not installed")


@pytest.fixture(scope="module")
def pg_demo(pg_url: str, demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The demo data S on PostgreSQL, and the folder holding its keys (./data for the tests of this module)."""
    folder = tmp_path_factory.mktemp("pg_pages")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        source = Database(file_url(demo_template))
        try:
            copy_database(source, SYSTEM, pg_url)
        finally:
            source.dispose()
    yield pg_url, folder
    forget_database(pg_url)


@pytest.fixture
def pg_db(pg_demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Database:
    url, folder = pg_demo
    monkeypatch.chdir(folder)
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    return get_database(url)


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_every_page_opens_on_postgresql(pg_db: Database, spec: PageSpec) -> None:
    at = ok(open_page("admin", spec.script))
    assert at.title or at.header or at.subheader


def test_a_customer_is_created_on_the_customers_page_on_postgresql(pg_db: Database) -> None:
    at = app_as("accountant", "app_pages/customers.py")
    next(e for e in at.text_input if e.label == "Name *").set_value("Postgres Widgets Ltd")
    next(e for e in at.button if e.label == "Create customer").click()
    ok(at.run())
    assert [t.value for t in at.title] == ["Postgres Widgets Ltd"]
    rows, total = customers.search_customers(pg_db, SYSTEM, "Postgres Widgets")
    assert total == 1 and rows[0]["name"] == "Postgres Widgets Ltd"


def test_an_invoice_view_and_the_invoice_list_show_the_books_on_postgresql(pg_db: Database) -> None:
    rows, total = invoices.list_invoices(pg_db, SYSTEM, as_of=AS_OF, limit=1, status="open")
    assert total > 0
    at = ok(open_page("admin", "app_pages/invoices.py", invoice=rows[0].id))
    assert at.subheader.values == [f"Invoice {rows[0].number}"]
    with pg_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM invoices")).scalar_one() == 10_146
