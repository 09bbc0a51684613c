"""`verify` (billing.verify, billing.seals): every money-relevant column of issued documents, their lines,
allowances and VAT, of payments and allocations is sealed by the audit event that wrote it; a change made
outside the program shows, whether the rows were written one by one, loaded in bulk, or by an older version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from billing import credit_notes, invoices, payments, seals
from billing.demo import load_demo
from billing.permissions import SYSTEM
from billing.store import integrity
from billing.store.db import Database
from billing.store.schema import metadata
from billing.verify import verify_database
from tests.conftest import ADMIN, TODAY, Billed, Seed, line
from tests.test_audit import as_older_version


@dataclass(frozen=True)
class Books:
    """The billed invoices a (paid in full), b (credited in full), c (open); an invoice d with a charge;
    payment p (allocated to a); credit note cn (of b)."""

    a: int
    b: int
    c: int
    d: int
    p: int
    cn: int


@pytest.fixture
def books(db: Database, seeded: Seed, billed: Billed) -> Books:
    p = payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "119.00", "currency": "EUR",
                                            "received_on": TODAY}, allocate=[(billed.a, "119.00")])
    cn = credit_notes.create_credit_note(db, ADMIN, billed.b, TODAY)
    d = invoices.create_draft(db, ADMIN, {"customer_id": seeded.acme, "lines": [line(seeded.s19, "2", "10.00")],
                                          "allowance_charges": [{"is_charge": True, "amount": "5.00",
                                                                  "tax_rate_id": seeded.s19, "reason": "Freight"}]})
    invoices.issue_invoice(db, ADMIN, d, today=TODAY)
    assert verify_database(db, SYSTEM).ok, verify_database(db, SYSTEM).problems
    return Books(billed.a, billed.b, billed.c, d, p, cn)


def tampered(db: Database, sql: str, **values: Any) -> list[str]:
    """Run `sql` behind the program's back (as anyone who can write the file can); the problems verify finds."""
    with db.engine.begin() as conn:
        for statement in sql.split(";"):
            conn.execute(sa.text(statement), values)
    return verify_database(db, SYSTEM).problems


def test_a_raised_payment_amount_is_detected(db: Database, books: Books) -> None:
    """Passed verify before: nothing checked a payment's amount against anything but its allocations."""
    problems = tampered(db, "UPDATE payments SET amount = amount + 100 WHERE id = :p", p=books.p)
    assert problems == [f"payment {books.p}: its amount, date or allocations differ from what audit event 16 "
                        "sealed (changed outside the program)"]


def test_a_changed_invoice_number_is_detected(db: Database, books: Books) -> None:
    """Passed verify before: nothing checked an issued invoice's number."""
    problems = tampered(db, "UPDATE invoices SET number = 'INV-2025-00099' WHERE id = :a", a=books.a)
    assert problems == ["INV-2025-00099: its number, amounts, lines or VAT differ from what audit event 11 sealed "
                        "(changed outside the program)"]


def copied(table: str, where: str, **replaced: str) -> str:
    """SQL copying the rows of `table` matching `where`, some columns replaced by SQL expressions."""
    columns = ", ".join(replaced.get(c.name, f'"{c.name}"') for c in metadata.tables[table].columns)
    return f"INSERT INTO {table} SELECT {columns} FROM {table} WHERE {where}"


# Each changes one sealed column (or row) so that the totals and balances alone would not tell.
CHANGES = [
    pytest.param("UPDATE invoices SET issue_date = DATE '2025-01-02' WHERE id = :c", id="issue_date"),
    pytest.param("UPDATE invoices SET due_date = DATE '2026-01-01' WHERE id = :c", id="due_date"),
    pytest.param("UPDATE invoices SET customer_id = 2 WHERE id = :c", id="customer"),
    pytest.param("UPDATE invoices SET currency = 'USD' WHERE id = :c", id="currency"),
    pytest.param("UPDATE invoices SET status = 'void', is_open = false WHERE id = :c", id="status"),
    pytest.param("UPDATE invoices SET kind = 'credit_note' WHERE id = :c", id="kind"),
    pytest.param("UPDATE invoices SET prepaid = 1 WHERE id = :c", id="prepaid"),
    pytest.param("UPDATE invoices SET credited_invoice_id = :c WHERE id = :cn", id="credited_invoice"),
    pytest.param("UPDATE invoices SET status = 'draft', number = NULL WHERE id = :c", id="back_to_draft"),
    pytest.param("DELETE FROM invoice_lines WHERE invoice_id = :c; DELETE FROM invoice_taxes WHERE invoice_id = :c;"
                 "DELETE FROM sales_facts WHERE invoice_id = :c; DELETE FROM invoices WHERE id = :c", id="deleted"),
    pytest.param("UPDATE invoice_lines SET product_id = 1 WHERE invoice_id = :c", id="line_product"),
    pytest.param("UPDATE invoice_lines SET credits_line = 7 WHERE invoice_id = :cn", id="line_credited"),
    pytest.param("UPDATE invoice_lines SET quantity = 2, unit_price = 10 WHERE invoice_id = :c", id="line_price"),
    pytest.param("UPDATE invoice_allowances SET percent = 0 WHERE invoice_id = :d", id="allowance"),
    pytest.param("UPDATE invoice_taxes SET vat_rate = 19.5 WHERE invoice_id = :c", id="tax"),
    pytest.param("UPDATE payments SET received_on = DATE '2024-12-31' WHERE id = :p", id="payment_date"),
    pytest.param("UPDATE payments SET customer_id = 2 WHERE id = :p", id="payment_customer"),
    pytest.param("UPDATE payments SET kind = 'refund' WHERE id = :p", id="payment_kind"),
    pytest.param("DELETE FROM payments WHERE id = :p", id="payment_deleted"),
    pytest.param("UPDATE allocations SET allocated_on = DATE '2025-01-01' WHERE payment_id = :p",
                 id="allocation_date"),
    pytest.param(copied("payments", "id = :p", id="99"), id="payment_inserted"),
    pytest.param(copied("allocations", "payment_id = :p", id="99", amount="0"), id="allocation_inserted"),
    pytest.param(";".join([copied("invoices", "id = :c", id="99", number="'INV-2025-00098'"),
                           copied("invoice_lines", "invoice_id = :c", invoice_id="99"),
                           copied("invoice_taxes", "invoice_id = :c", invoice_id="99")]), id="invoice_inserted"),
]


@pytest.mark.parametrize("sql", CHANGES)
def test_any_change_to_a_sealed_column_is_detected(db: Database, books: Books, sql: str) -> None:
    problems = tampered(db, sql, **{k: v for k, v in vars(books).items() if f":{k}" in sql})
    assert any("audit event" in problem for problem in problems), problems


def test_every_legitimate_change_keeps_the_seals_in_step(db: Database, seeded: Seed, books: Books) -> None:
    on = date(2025, 3, 20)
    extra = payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "30.00", "currency": "EUR",
                                                "received_on": on})
    payments.allocate_payment(db, ADMIN, extra, [(books.c, "10.00")], on)
    payments.apply_credit(db, ADMIN, seeded.acme, "EUR", books.d, "5.00", on)
    payments.refund_credit(db, ADMIN, seeded.acme, "EUR", "15.00", on)
    credit_notes.create_credit_note(db, ADMIN, books.a, on)  # a was paid: its allocation is released to credit
    payments.reverse_payment(db, ADMIN, extra, on, "Bounced")
    report = verify_database(db, SYSTEM)
    assert report.ok, report.problems


@pytest.fixture
def demo(tmp_path: Any) -> Any:
    database = Database(f"duckdb:///{tmp_path}/demo.duckdb")
    database.migrate()
    load_demo(database, SYSTEM, "S", as_of=date(2026, 11, 25))
    yield database
    database.dispose()


def test_bulk_loaded_documents_and_payments_are_sealed_by_the_load(demo: Database) -> None:
    assert verify_database(demo, SYSTEM).ok
    with demo.connect() as conn:
        open_id, draft_id = (conn.execute(sa.text(
            f"SELECT min(id) FROM invoices WHERE {where}")).scalar_one() for where in
            ("status = 'issued' AND kind = 'invoice' AND paid_amount = 0 AND credited_amount = 0", "status = 'draft'"))
    invoices.void_invoice(demo, ADMIN, open_id, "Entered twice", today=date(2026, 11, 25))
    invoices.issue_invoice(demo, ADMIN, draft_id, today=date(2026, 11, 25))
    assert verify_database(demo, SYSTEM).ok, verify_database(demo, SYSTEM).problems
    problems = tampered(demo, "UPDATE payments SET amount = amount + 1 WHERE id = 7;"
                              "UPDATE invoices SET number = 'X-1' WHERE id = 10005")
    assert problems == ["documents 10,000-19,999: differ from what audit event 1 sealed (changed outside the program)",
                        "payments 1-9,999: differ from what audit event 1 sealed (changed outside the program)"]


def test_documents_of_an_older_version_are_sealed_by_the_first_keyed_event(db: Database, books: Books) -> None:
    as_older_version(db)
    # An unkeyed chain sealed nothing: until the next write, only totals and balances are checked.
    assert verify_database(db, SYSTEM).ok
    invoices.void_invoice(db, ADMIN, books.c, "Mistake", today=TODAY)  # the first keyed event seals everything
    assert verify_database(db, SYSTEM).ok, verify_database(db, SYSTEM).problems
    problems = tampered(db, "UPDATE invoices SET number = 'INV-2025-00099' WHERE id = :a", a=books.a)
    assert problems == ["documents 1-9,999: differ from what audit event 20 sealed (changed outside the program)"]


def test_both_ways_of_reading_rows_give_the_same_seals(db: Database, books: Books) -> None:
    """Seals are written from rows read one by one (SQLAlchemy) and checked from rows read in bulk (Arrow)."""
    with db.connect() as conn:
        bulk_documents = list(integrity.issued_documents(conn, in_bulk=True))
        one_by_one = [integrity.issued_document(conn, document[0]["id"]) for document in bulk_documents]
        bulk_payments = list(integrity.payments_with_allocations(conn, in_bulk=True))
        one_payment = [integrity.payment_with_reversals(conn, p["id"])[0] for p, _ in bulk_payments]
    assert len(bulk_documents) == 5 and one_by_one == bulk_documents
    assert [seals.document_digest(d) for d in bulk_documents] == [seals.document_digest(d) for d in one_by_one if d]
    assert one_payment == bulk_payments
    assert repr(bulk_documents[0][0]["payable"]) == "Decimal('119')"  # no trailing zeros, whichever way


def test_issuing_seals_the_invoice_from_what_it_wrote_as_it_reads_back(db: Database, books: Books,
                                                                       seeded: Seed) -> None:
    """issue_draft seals the document from the values it wrote (no read-back): the very digest of its stored rows."""
    odd = invoices.create_draft(db, ADMIN, {"customer_id": seeded.acme, "lines": [
        line(seeded.s19, "2.5", "19.999", discount_percent="12.5"),
        line(seeded.s7, "3", "0.10", discount_amount="0.05")],
        "allowance_charges": [{"is_charge": False, "percent": "2.5", "tax_rate_id": seeded.s7, "reason": "Loyalty"}]})
    invoices.issue_invoice(db, ADMIN, odd, today=TODAY)
    with db.connect() as conn:
        for document_id in (books.d, odd):
            after = conn.execute(sa.text("SELECT after FROM audit_events WHERE action = 'invoice.issue' "
                                         "AND entity_id = :id"), {"id": str(document_id)}).scalar_one()
            stored = integrity.issued_document(conn, document_id)
            assert stored is not None
            assert json.loads(after)["sealed"]["documents"][str(document_id)] == ["issued",
                                                                                  seals.document_digest(stored)]


def test_recording_a_payment_seals_it_from_what_it_wrote_as_it_reads_back(db: Database, books: Books,
                                                                          seeded: Seed) -> None:
    """_record seals the new payment and its allocations from the rows it wrote: the digest of its rows read back."""
    several = payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "150.00", "currency": "EUR",
                                                  "received_on": TODAY}, allocate="auto")
    unallocated = payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "10.50", "currency": "EUR",
                                                      "received_on": TODAY})
    with db.connect() as conn:
        read_back = {payment_id: integrity.payment_with_reversals(conn, payment_id)
                     for payment_id in (books.p, several, unallocated)}
        events = dict(conn.execute(sa.text("SELECT entity_id, after FROM audit_events WHERE action = 'payment.record'"))
                      .tuples().all())
    assert len(read_back[several][0][1]) >= 2 and not read_back[unallocated][0][1]
    for payment_id, [(stored, allocations)] in read_back.items():
        through = allocations[-1]["id"] if allocations else 0
        assert json.loads(events[str(payment_id)])["sealed"]["payments"][str(payment_id)] == [
            through, seals.payment_digests(stored, allocations, [through])[through]]
