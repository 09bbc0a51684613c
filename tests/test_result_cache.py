"""Results kept until their tables are written (billing.store.result_cache), and the reports and look-ups kept so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from billing import catalog, customers, payments, reports, settings, users
from billing.errors import SessionEndedError
from billing.models import CompanyIn
from billing.store.db import Database, request_scope, utcnow
from billing.store.result_cache import BOOKS, ResultCache
from billing.store.schema import login_attempts, products
from tests.conftest import ADMIN, ANALYST, TODAY, Seed, issued, line
from tests.test_permissions import session_actor


class Counted:
    """A computation that counts how often it ran."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> list[dict[str, int]]:
        self.runs += 1
        return [{"run": self.runs}]


def test_a_result_is_kept_until_its_table_is_written(db: Database) -> None:
    compute = Counted()
    assert db.results.get("k", ("products",), compute) == [{"run": 1}]
    assert db.results.get("k", ("products",), compute) == [{"run": 1}]
    db.transaction(lambda conn: conn.execute(sa.update(products).values(name="x")))
    assert db.results.get("k", ("products",), compute) == [{"run": 2}]


def test_a_write_elsewhere_keeps_it(db: Database) -> None:
    compute = Counted()
    db.results.get("k", ("customers",), compute)
    db.transaction(lambda conn: conn.execute(sa.update(products).values(name="x")))
    db.transaction(lambda conn: conn.execute(sa.text("SELECT 1")))  # read in a transaction: nothing written
    assert db.results.get("k", ("customers",), compute) == [{"run": 1}]


def test_bookkeeping_keeps_the_books_results(db: Database) -> None:
    compute = Counted()
    db.results.get("report", (BOOKS,), compute)
    db.transaction(lambda conn: conn.execute(login_attempts.insert().values(username="x", occurred_at=utcnow(),
                                                                            success=False)))
    db.results.get("report", (BOOKS,), compute)
    assert compute.runs == 1
    db.transaction(lambda conn: conn.execute(sa.update(products).values(name="x")))
    db.results.get("report", (BOOKS,), compute)
    assert compute.runs == 2


def test_raw_sql_that_writes_makes_everything_stale(db: Database) -> None:
    compute = Counted()
    db.results.get("k", ("products",), compute)
    db.transaction(lambda conn: conn.exec_driver_sql("UPDATE customers SET name = name"))
    db.results.get("k", ("products",), compute)
    assert compute.runs == 2


def test_a_failed_transaction_counts_nothing(db: Database) -> None:
    compute = Counted()
    db.results.get("k", ("products",), compute)

    def fails(conn: sa.Connection) -> None:
        conn.execute(sa.update(products).values(name="x"))
        raise ValueError("rolled back")

    with pytest.raises(ValueError, match="rolled back"):
        db.transaction(fails)
    db.results.get("k", ("products",), compute)
    assert compute.runs == 1


def test_a_result_read_in_a_request_s_snapshot_is_used_but_not_kept(db: Database) -> None:
    """An API request reads through one snapshot, begun at its first read: a write committed since then has moved
    the counts, so what the request computes could be kept under counts newer than what it saw."""
    compute = Counted()
    with request_scope():
        with db.connect() as conn:  # the request's first read: its snapshot begins
            conn.execute(sa.select(products.c.id)).all()
        db.transaction(lambda conn: conn.execute(sa.update(products).values(name="x")))  # another request's write
        assert db.results.get("k", ("products",), compute) == [{"run": 1}]
    assert db.results.get("k", ("products",), compute) == [{"run": 2}]  # not kept: computed again
    assert db.results.get("k", ("products",), compute) == [{"run": 2}]


def test_the_caller_gets_a_copy() -> None:
    cache = ResultCache(enabled=True)
    frame = pd.DataFrame({"a": [Decimal("1.00")]})
    cache.get("rows", (), lambda: [{"a": 1}])[0]["a"] = 99
    cache.get("frame", (), lambda: frame)["a"] = Decimal("5")
    assert cache.get("rows", (), lambda: [{"a": 2}]) == [{"a": 1}]
    assert cache.get("frame", (), lambda: frame)["a"].tolist() == [Decimal("1.00")]


def test_a_kept_record_s_table_is_copied_too(db: Database, seeded: Seed) -> None:
    issued(db, seeded.acme, line(seeded.s19))
    first = reports.customer_statement(db, ADMIN, seeded.acme, "EUR", date(2020, 1, 1), TODAY)
    first.entries["debit"] = Decimal("0")
    first.notes.append("changed by a caller")
    again = reports.customer_statement(db, ADMIN, seeded.acme, "EUR", date(2020, 1, 1), TODAY)
    assert again.entries["debit"].tolist() == [Decimal("119.00")]
    assert again.notes == []


def test_a_kept_statement_follows_a_payment(db: Database, seeded: Seed) -> None:
    invoice_id = issued(db, seeded.acme, line(seeded.s19))
    before = reports.customer_statement(db, ADMIN, seeded.acme, "EUR", date(2020, 1, 1), TODAY)
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "19.00", "currency": "EUR",
                                        "received_on": TODAY, "method": "bank_transfer"},
                            [(invoice_id, Decimal("19.00"))])
    after = reports.customer_statement(db, ADMIN, seeded.acme, "EUR", date(2020, 1, 1), TODAY)
    assert (before.closing_balance, after.closing_balance) == (Decimal("119.00"), Decimal("100.00"))


def test_nothing_is_kept_where_other_processes_write() -> None:
    cache = ResultCache(enabled=False)  # PostgreSQL: Database(url).results
    compute = Counted()
    cache.get("k", (), compute)
    cache.get("k", (), compute)
    assert compute.runs == 2


def test_lookups_follow_changes(db: Database, seeded: Seed) -> None:
    assert catalog.list_products(db, ADMIN)
    catalog.create_product(db, ADMIN, {"sku": "ZEB", "name": "Zebra", "unit_price": "5.00",
                                          "tax_rate_id": seeded.s19})
    assert "Zebra" in [p["name"] for p in catalog.list_products(db, ADMIN)]
    total = customers.search_customers(db, ADMIN, "", limit=1000)[1]
    customers.create_customer(db, ADMIN, {"name": "Newcomer GmbH", "email": "new@example.com", "country": "DE",
                                          "currency": "EUR"})
    assert customers.search_customers(db, ADMIN, "", limit=1000)[1] == total + 1
    company = settings.get_company(db)
    assert company is not None
    fields = CompanyIn.model_fields
    settings.save_company(db, ADMIN, {**{k: v for k, v in company.items() if k in fields}, "legal_name": "Renamed AG"})
    assert (settings.get_company(db) or {})["legal_name"] == "Renamed AG"


def test_a_kept_report_follows_an_issued_invoice(db: Database, seeded: Seed) -> None:
    filters = reports.ReportFilters(date(2025, 1, 1), date(2025, 12, 31))
    before = reports.dashboard(db, ADMIN, filters, TODAY)
    assert reports.dashboard(db, ADMIN, filters, TODAY).equals(before)
    issued(db, seeded.acme, line(seeded.s19))
    after = reports.dashboard(db, ADMIN, filters, TODAY)
    assert after["invoiced"].sum() == before["invoiced"].sum() + Decimal("119.00")


def test_a_kept_report_still_checks_the_session(db: Database, seeded: Seed) -> None:
    viewer, token = session_actor(db, "viewer", "analyst")
    filters = reports.ReportFilters(date(2025, 1, 1), date(2025, 12, 31))
    kept = reports.dashboard(db, viewer, filters, TODAY)
    users.end_session(db, token)
    with pytest.raises(SessionEndedError):
        reports.dashboard(db, viewer, filters, TODAY)
    assert reports.dashboard(db, ANALYST, filters, TODAY).equals(kept)
