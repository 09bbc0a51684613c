"""The same services on PostgreSQL: moving off DuckDB is a change of BILLING_DATABASE_URL.

Starts a throwaway PostgreSQL 15 cluster on 127.0.0.1 (initdb + pg_ctl, about a second).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from billing import audit, catalog, credit_notes, customers, invoices, payments, settings
from billing.permissions import SYSTEM
from billing.store.db import Database
from billing.verify import verify_database
from tests.conftest import PG_BIN

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
