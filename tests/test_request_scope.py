"""One connection per request (billing.store.db.request_scope) behaves as a fresh connection per operation did;
the company profile kept in memory (billing.store.company_profile) follows every change of the row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from billing import catalog, customers, invoices, payments, settings, signing
from billing.errors import ValidationError
from billing.store import audit as audit_store
from billing.store import audit_files
from billing.store.company_profile import company_profile
from billing.store.db import Database, request_scope, utcnow
from billing.store.schema import company
from billing.store.schema import customers as customers_table
from tests.conftest import ADMIN, Seed

PROFILE = {"legal_name": "Acme GmbH", "address": "Hauptstr. 1\n10115 Berlin", "country": "DE", "base_currency": "EUR",
           "timezone": "Europe/Berlin"}


def name_of(db: Database, customer_id: int) -> str:
    with db.connect() as conn:
        return str(conn.execute(sa.select(customers_table.c.name).where(customers_table.c.id == customer_id))
                   .scalar_one())


def test_a_request_reads_on_one_connection_and_returns_it(db: Database, seeded: Seed) -> None:
    checkouts: list[object] = []
    sa.event.listen(db.engine, "checkout", lambda *args: checkouts.append(args[0]))
    with request_scope():
        for _ in range(3):
            name_of(db, seeded.acme)
        customers.update_customer(db, ADMIN, seeded.acme, {"name": "Acme Renamed", "country": "DE", "currency": "EUR"})
        assert name_of(db, seeded.acme) == "Acme Renamed"  # the write ended the old snapshot: the next read sees it
    assert len(checkouts) == 2  # the reads'; after the write gave it back, the read after it took one again
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_audit_head_file_is_written_when_the_write_commits_not_when_the_request_ends(db: Database) -> None:
    # The head file is written when the connection of a commit goes back to the pool: inside the write lock, so in
    # commit order, as it was with a fresh connection per write.
    path = signing.head_path(db.url)
    assert path is not None
    with request_scope():
        with db.connect() as conn:
            last_id, _ = audit_store.head(conn)
        customers.create_customer(db, ADMIN, {"name": "Head GmbH", "country": "DE", "currency": "EUR"})
        head = audit_files.read_head(path)  # nothing read since the write
        assert head is not None and head.last_id == last_id + 1


def test_a_write_in_a_request_sees_what_others_committed_after_its_first_read(db: Database, seeded: Seed) -> None:
    other = Database(db.url)  # another connection pool on the same file, as another request would use
    with request_scope():
        before = name_of(db, seeded.acme)
        with other.engine.begin() as conn:
            conn.execute(customers_table.update().where(customers_table.c.id == seeded.acme).values(name="Meanwhile"))
        assert name_of(db, seeded.acme) == before  # reads of one request share their snapshot

        def read_in_write(conn: sa.Connection) -> str:
            return str(conn.execute(sa.select(customers_table.c.name).where(customers_table.c.id == seeded.acme))
                       .scalar_one())

        assert db.transaction(read_in_write) == "Meanwhile"
    other.dispose()


def test_a_failed_statement_does_not_spoil_the_next_read(db: Database, seeded: Seed) -> None:
    with request_scope():
        with pytest.raises(sa.exc.DBAPIError), db.connect() as conn:
            conn.exec_driver_sql("SELECT no_such_column FROM customers")
        assert name_of(db, seeded.acme)
        with pytest.raises(ValidationError):
            customers.update_customer(db, ADMIN, seeded.acme, {"name": ""})
        assert name_of(db, seeded.acme)


def test_a_memo_is_read_once_per_request(db: Database) -> None:
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    with request_scope():
        assert (db.memo(("x",), read), db.memo(("x",), read)) == (1, 1)
    with request_scope():
        assert db.memo(("x",), read) == 2
    assert db.memo(("x",), read) == 3  # outside a request: every time


def test_the_company_profile_follows_each_save(db: Database) -> None:
    settings.save_company(db, ADMIN, PROFILE)
    assert settings.get_company(db)["legal_name"] == "Acme GmbH"  # type: ignore[index]
    settings.save_company(db, ADMIN, {**PROFILE, "legal_name": "Acme AG"})
    assert settings.get_company(db)["legal_name"] == "Acme AG"  # type: ignore[index]


def test_a_change_by_another_process_is_seen_at_once(db: Database) -> None:
    settings.save_company(db, ADMIN, PROFILE)
    with db.connect() as conn:
        kept = company_profile(conn)
    assert kept is not None
    kept["legal_name"] = "changed by the caller"  # a copy: the kept profile is not changed
    other = Database(db.url)  # its own engine: what another server process on the same database would write
    with other.engine.begin() as conn:
        conn.execute(company.update().values(legal_name="Acme SE", updated_at=utcnow() + timedelta(seconds=1)))
    other.dispose()
    with db.connect() as conn:
        assert company_profile(conn)["legal_name"] == "Acme SE"  # type: ignore[index]


def test_company_today_is_in_the_company_time_zone(db: Database) -> None:
    settings.save_company(db, ADMIN, {**PROFILE, "timezone": "Pacific/Kiritimati"})
    with request_scope():
        today = settings.company_today(db)
    assert today in {(utcnow() + timedelta(hours=14)).date(), (utcnow() + timedelta(hours=14, seconds=-5)).date()}


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    db.migrate()
    settings.save_company(db, ADMIN, PROFILE)
    yield db
    db.dispose()


def test_a_request_on_postgresql_writes_reads_and_survives_a_failed_statement(pg: Database) -> None:
    customer = customers.create_customer(pg, ADMIN, {"name": "Müller AG", "currency": "EUR", "terms_days": 14})
    rate = catalog.create_tax_rate(pg, ADMIN, {"name": "VAT 19%", "category": "S", "percent": "19"})
    with request_scope():
        draft = invoices.create_draft_shown(pg, ADMIN, {"customer_id": customer, "lines": [
            {"description": "Consulting", "quantity": "3", "unit_price": "120", "tax_rate_id": rate}]},
            date(2026, 11, 2))
        assert draft == invoices.get_invoice(pg, ADMIN, draft.id, as_of=date(2026, 11, 2))
        with pytest.raises(sa.exc.DBAPIError), pg.connect() as conn:  # PostgreSQL aborts the transaction
            conn.exec_driver_sql("SELECT no_such_column FROM invoices")
        invoices.issue_invoice(pg, ADMIN, draft.id, today=date(2026, 11, 2))
        shown = payments.record_payment_shown(pg, ADMIN, {"customer_id": customer, "amount": "428.40",
                                                          "currency": "EUR", "received_on": date(2026, 11, 3)},
                                              [(draft.id, "428.40")])
        assert shown == payments.get_payment(pg, ADMIN, shown["id"])
        assert invoices.get_invoice(pg, ADMIN, draft.id, as_of=date(2026, 11, 3)).status == "paid"
    assert pg.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_postgresql_company_changes_by_another_process_are_seen(pg: Database) -> None:
    with pg.connect() as conn:
        assert company_profile(conn)["legal_name"] == "Acme GmbH"  # type: ignore[index]
    other = Database(pg.url)
    settings.save_company(other, ADMIN, {**PROFILE, "legal_name": "Acme AG"})
    other.dispose()
    with pg.connect() as conn:
        assert company_profile(conn)["legal_name"] == "Acme AG"  # type: ignore[index]
