"""billing.customer_overview: open balances per currency, the documents timeline, the audit trail."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing import credit_notes, customer_overview, invoices, payments
from billing.errors import PermissionDeniedError
from billing.store.db import Database
from tests.conftest import ACCOUNTANT, ADMIN, ANALYST, TODAY, Seed, draft, issued, line


def pay(db: Database, customer_id: int, amount: str, currency: str = "EUR", on: date = TODAY,
        allocate: list[tuple[int, str]] | None = None) -> int:
    return payments.record_payment(db, ADMIN, {"customer_id": customer_id, "amount": amount, "currency": currency,
                                               "received_on": on, "reference": f"ref {amount}"}, allocate=allocate)


def test_no_documents_no_balances(db: Database, seeded: Seed) -> None:
    assert customer_overview.open_balances(db, ANALYST, seeded.acme, TODAY) == []
    assert customer_overview.documents_timeline(db, ANALYST, seeded.acme) == ([], 0)


def test_open_balance_splits_overdue_by_due_date(db: Database, seeded: Seed) -> None:
    # acme has 14 days terms: issued 30 days ago is overdue, issued today is not.
    old = issued(db, seeded.acme, line(seeded.s19, unit_price="100.00"), today=TODAY - timedelta(days=30))
    issued(db, seeded.acme, line(seeded.s19, unit_price="50.00"))
    pay(db, seeded.acme, "19.00", allocate=[(old, "19.00")])
    [balance] = customer_overview.open_balances(db, ANALYST, seeded.acme, TODAY)
    assert balance == customer_overview.OpenBalance("EUR", Decimal("159.50"), Decimal("100.00"), 2, 1)
    assert str(balance.outstanding) == "159.50"  # rounded to the currency, not the store's 4 decimals


def test_paid_draft_and_void_invoices_are_not_open(db: Database, seeded: Seed) -> None:
    paid = issued(db, seeded.acme, line(seeded.s19, unit_price="10.00"))
    pay(db, seeded.acme, "11.90", allocate=[(paid, "11.90")])
    draft(db, seeded.acme, line(seeded.s19))
    voided = issued(db, seeded.acme, line(seeded.s19))
    invoices.void_invoice(db, ADMIN, voided, "typo", TODAY)
    assert customer_overview.open_balances(db, ANALYST, seeded.acme, TODAY) == []


def test_credit_note_reduces_the_open_balance(db: Database, seeded: Seed) -> None:
    invoice = issued(db, seeded.acme, line(seeded.s19, unit_price="100.00"))
    credit_notes.create_credit_note(db, ADMIN, invoice, TODAY, reason="returned",
                                lines=[line(seeded.s19, unit_price="40.00")])
    [balance] = customer_overview.open_balances(db, ANALYST, seeded.acme, TODAY)
    assert balance.outstanding == Decimal("71.40")


def test_balances_are_kept_per_currency(db: Database, seeded: Seed) -> None:
    issued(db, seeded.jpy, line(seeded.s19, unit_price="1000"))
    invoices.create_draft(db, ADMIN, {"customer_id": seeded.jpy, "currency": "EUR",
                                      "lines": [line(seeded.s19, unit_price="10.00")]})
    drafts, _ = invoices.list_invoices(db, ADMIN, TODAY, customer_id=seeded.jpy, status="draft")
    invoices.issue_invoice(db, ADMIN, drafts[0].id, today=TODAY)
    result = {b.currency: b.outstanding for b in customer_overview.open_balances(db, ANALYST, seeded.jpy, TODAY)}
    assert result == {"EUR": Decimal("11.90"), "JPY": Decimal("1190")}


def test_timeline_lists_documents_and_payments_newest_first_in_pages(db: Database, seeded: Seed) -> None:
    first = issued(db, seeded.acme, line(seeded.s19), today=TODAY - timedelta(days=10))
    pay(db, seeded.acme, "50.00", on=TODAY - timedelta(days=5))
    draft(db, seeded.acme, line(seeded.s19))
    rows, total = customer_overview.documents_timeline(db, ANALYST, seeded.acme, limit=2, offset=0)
    assert total == 3
    assert [(r["kind"], r["detail"]) for r in rows] == [("invoice", "draft"), ("payment", "bank_transfer")]
    rest, _ = customer_overview.documents_timeline(db, ANALYST, seeded.acme, limit=2, offset=2)
    assert [(r["id"], r["amount"], r["on"]) for r in rest] == [(first, Decimal("119.00"), TODAY - timedelta(days=10))]


def test_timeline_only_shows_this_customer(db: Database, seeded: Seed) -> None:
    issued(db, seeded.beta, line(seeded.s19))
    pay(db, seeded.beta, "5.00")
    assert customer_overview.documents_timeline(db, ANALYST, seeded.acme)[1] == 0


def test_audit_trail_has_the_customer_and_its_documents(db: Database, seeded: Seed) -> None:
    invoice = issued(db, seeded.acme, line(seeded.s19))
    pay(db, seeded.acme, "10.00")
    issued(db, seeded.beta, line(seeded.s19))
    rows, total = customer_overview.audit_trail(db, ADMIN, seeded.acme)
    actions = [r["action"] for r in rows]
    assert total == len(rows) == 4
    assert actions == ["payment.record", "invoice.issue", "invoice.create_draft", "customer.create"]
    assert {r["entity_id"] for r in rows if r["entity"] == "invoice"} == {str(invoice)}


@pytest.mark.parametrize("actor", [ACCOUNTANT, ANALYST])
def test_audit_trail_needs_audit_permission(db: Database, seeded: Seed, actor: object) -> None:
    with pytest.raises(PermissionDeniedError):
        customer_overview.audit_trail(db, actor, seeded.acme)  # type: ignore[arg-type]
