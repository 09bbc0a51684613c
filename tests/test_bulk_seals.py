"""billing.bulk_seals: the column-wise seals of whole tables are the digests seals.py computes one by one."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from billing import bulk_seals, credit_notes, invoices, payments, seals
from billing.store import integrity
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Billed, Seed, draft, issued, line


def test_column_wise_seals_are_the_row_wise_ones(db: Database, seeded: Seed, billed: Billed) -> None:
    # Text that repr() escapes, the finest price, a charge and an allowance, a credit note, a void, drafts
    # between issued documents (their lines are read too), and payments with several allocations and a reversal.
    issued(db, seeded.acme, line(seeded.s19, "0.0001", "0.000001", "Tiny"), line(seeded.s7, "3", "1999.99"),
           allowance_charges=[{"is_charge": True, "amount": "5.00", "tax_rate_id": seeded.s19,
                               "reason": "O'Brien \"freight\" \\ € ✓"},
                              {"is_charge": False, "percent": "2.5", "tax_rate_id": seeded.s7, "reason": ""}])
    draft(db, seeded.acme, line(seeded.s19))
    credit_notes.create_credit_note(db, ADMIN, billed.b, TODAY)
    invoices.void_invoice(db, ADMIN, issued(db, seeded.usd, line(seeded.e0, "1", "10")), "Twice", today=TODAY)
    draft(db, seeded.jpy, line(seeded.s19, "1", "1000"))
    paid = payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "amount": "150.00", "currency": "EUR",
                                               "received_on": TODAY},
                                   allocate=[(billed.a, "50.00"), (billed.c, "0.01")])
    payments.reverse_payment(db, ADMIN, paid, TODAY, "Bounced")
    with db.connect() as conn:
        row_wise = {document[0]["id"]: seals.document_digest(document)
                    for document in integrity.issued_documents(conn, in_bulk=True)}
        column_wise = dict(digest for batch in integrity.document_batches(conn)
                           for digest in bulk_seals.document_digests(batch))
        payment_seals = {payment["id"]: seals.payment_digests(payment, allocations, [10**9])[10**9]
                         for payment, allocations in integrity.payments_with_allocations(conn, in_bulk=True)}
        payment_column_wise = dict(digest for batch in integrity.payment_batches(conn)
                                   for digest in bulk_seals.payment_digests(batch))
    assert len(row_wise) == 6 and column_wise == row_wise
    assert len(payment_seals) == 2 and payment_column_wise == payment_seals


def test_decimals_print_as_python_prints_them_even_past_six_places() -> None:
    texts = pa.chunked_array([["12.5", "-0.000001", None], ["0.0000001", "100"]])
    assert bulk_seals._reprs(texts, numeric=True).to_pylist() == [
        repr(Decimal("12.5")), repr(Decimal("-0.000001")), "None", "Decimal('1E-7')", repr(Decimal("100"))]
    assert bulk_seals._reprs(pa.chunked_array([["12.5", None]]), numeric=True).to_pylist() == [
        "Decimal('12.5')", "None"]
